"""Tennis, after ML-Agents' Tennis seed: two rackets on one Brain keep a ball going over a net.

Each arena (eight side by side along Y, for throughput) holds two rackets, a ball, a net and the
floor. The game is played in the X–Z plane: team 0 plays on the −X half, team 1 on the +X half,
and both are agents of one Brain. Everything an agent observes is in its own frame (distances
from the net, the ball's velocity towards its own back line), so one policy serves either side.

Actions (one discrete branch, the seed's four): toward the net, away from the net, jump, no-op.

Rewards (the issue's reading of the seed):

- +0.1 to the agent that hit the ball last when the ball crosses over the net;
- −0.1 to the last hitter when the ball lands out (beyond a back line) or hits the net;
- +0.1 to the agent that did not hit last when the ball lands in the court (nobody is rewarded
  for a serve that lands: nobody hit it).

The episode (the rally) ends when the ball touches the floor or the net. The ball's radius is the
reset parameter ``ball_size`` (drawn at every reset, 0.2–0.3; the ball's scale carries it, so
both rackets read the one value the ball has). The ball counts the hits of its rally in
``ball["rally"][2]`` (and remembers the last hitter's team in ``ball["rally"][3]``, −1 after a
serve); :class:`RallyCounter` turns that into hits per rally. Heuristic Brains run a hand-made
controller (stand where the ball comes down), which rallies until Max Steps.

The ball flies a scripted ballistic path, written by the behaviour itself (no rigid body): its
velocity lives in a custom property (``ball["rally"][0:2]``) that the writes integrate every
frame under gravity, and a hit sets a fixed return velocity towards the other half (plus half the
racket's vertical speed, so a jumping hit flies longer). Why not Blender's rigid bodies, as
Balance Ball uses: a racket is a box that only slides and jumps, so a physical return would
depend on contact details Bullet resolves differently from frame to frame, and the one rule that
matters (a hit sends the ball over the net, the hitter's place and timing decide where it lands:
too close to the net goes long, too far back goes into the net) would have to be learned through
them; the scripted flight keeps that rule exact and cheap, and bakes like any written
property. Both rackets write the ball with the same values (each computes both rackets'
hits from the same state, its own racket and the ``Other`` slot), so it does not matter which
writes last.

Every frame is written (writes repeat between decisions); the agents decide every
:data:`DECISION_PERIOD` frames. The windows a hit or the net is detected in are wider than the
ball travels between two checks, so nothing is skipped.
"""

from __future__ import annotations

import math

import bpy

from ..core import specs as S
from ..env.behaviours import set_behaviour
from .balance_ball import _cube_mesh, _material, _sphere_mesh

BRAIN = "Tennis"
ARENAS = 8
SPACING = 6.0  # arenas side by side along Y
DECISION_PERIOD = 2
MAX_STEPS = 1000  # decisions: a long rally is truncated after 2000 frames
FPS = 25
DT = 1.0 / FPS
GRAVITY = 9.81
HALF_COURT = 8.0  # each half is 8 units deep (the net at x = 0)
NET_HEIGHT = 1.0
NET_HALF = 0.15  # half the net's thickness
RACKET_HALF_W = 0.2  # half the racket's thickness along X
RACKET_HALF_H = 0.6  # half its height; standing, its bottom touches the floor
REST_Z = RACKET_HALF_H
NEAREST_NET = 0.5  # a racket stays this far from the net
STEP = 0.25  # units per frame, toward or away from the net
JUMP_SPEED = 6.0
HIT_VX = 7.0  # the return's speed along X, toward the other half
HIT_VZ = 5.5  # its upward speed
JUMP_GAIN = 0.5  # of the racket's vertical speed added to the return's
SERVE_X = 3.0  # the serve starts this far inside the receiver's half
SERVE_Z = 4.0
BASE_RADIUS = 0.25  # the ball mesh's radius at scale 1
BALL_SIZE = (0.2, 0.3)  # the reset parameter's range (radius)
ACTIONS = ("Toward Net", "Away", "Jump", "No-op")

BALL, OTHER = "slot:Ball", "slot:Other"


def _prop(obj: str, path: str, index: int = -1) -> S.Expr:
    if index < 0 and path in ("location", "scale"):
        return S.Property(obj, path, size_=3)
    return S.Property(obj, path, index=index)


def _and(*terms: S.Expr) -> S.Expr:
    out = terms[0]
    for t in terms[1:]:
        out = S.Binary("AND", out, t)
    return out


def _cmp(func: str, a, b) -> S.Expr:
    return S.Compare(func, S.as_expr(a), S.as_expr(b))


class _Ball:
    """The ball's state as expressions (read once per pass: every write sees the frame's start).

    Its flight lives in one custom array property, ``ball["rally"]`` = (vx, vz, hits, last hitter's
    team): one read and one write per racket and frame instead of four.
    """

    def __init__(self) -> None:
        self.location = _prop(BALL, "location")
        self.x, self.y, self.z = self.location[0], self.location[1], self.location[2]
        self.rally = S.Property(BALL, '["rally"]', size_=4)
        self.vx, self.vz, self.hits, self.last = (self.rally[i] for i in range(4))
        self.radius = _prop(BALL, "scale", 0) * BASE_RADIUS


def _toward_net() -> S.Expr:
    """+1 for team 0 (on −X, the net is toward +X), −1 for team 1."""
    return 1.0 - S.Team() * 2.0


def _hits(racket: str, toward_net: S.Expr, ball: _Ball) -> S.Expr:
    """1 when ``racket`` hits the ball this frame: the ball overlaps it, coming toward its back line."""
    location = _prop(racket, "location")
    x, z = location[0], location[2]
    reach_x = ball.radius + RACKET_HALF_W
    reach_z = ball.radius + RACKET_HALF_H
    return _and(
        _cmp("LESS_THAN", S.Unary("ABSOLUTE", ball.x - x), reach_x),
        _cmp("LESS_THAN", S.Unary("ABSOLUTE", ball.z - z), reach_z),
        _cmp("LESS_THAN", ball.vx * toward_net, 0.0),
    )


def _ball_writes(ball: _Ball) -> tuple[S.Write, ...]:
    d = _toward_net()
    mine, other = _hits(S.SELF, d, ball), _hits(OTHER, -d, ball)
    hit = mine + other
    miss = 1.0 - hit
    my_vz, other_vz = _prop(S.SELF, '["vz"]'), _prop(OTHER, '["vz"]')
    vx = ball.vx * miss + (mine - other) * d * HIT_VX
    vz = (ball.vz - GRAVITY * DT) * miss + mine * (HIT_VZ + my_vz * JUMP_GAIN) + other * (HIT_VZ + other_vz * JUMP_GAIN)
    last = ball.last * miss + mine * S.Team() + other * (1.0 - S.Team())
    return (
        S.Write(BALL, '["rally"]', S.Concat((vx, vz, ball.hits + hit, last))),
        S.Write(BALL, "location", S.Concat((ball.x + vx * DT, ball.y, ball.z + vz * DT))),
    )


def _racket_writes() -> tuple[S.Write, ...]:
    d = _toward_net()
    location, vz = _prop(S.SELF, "location"), _prop(S.SELF, '["vz"]')
    x, y, z = location[0], location[1], location[2]
    action = S.Action(0)
    # distance from the net: toward the net shrinks it; kept inside the own half
    depth = -(x * d)
    move = S.Select(action, tuple(S.as_expr(v) for v in (-STEP, STEP, 0.0, 0.0)))
    new_depth = S.Clamp(depth + move, NEAREST_NET, HALF_COURT)
    airborne = _cmp("GREATER_THAN", z, REST_Z + 1e-4)
    jump = _and(_cmp("EQUAL", action, 2.0), S.Unary("NOT", airborne))
    new_vz = airborne * (vz - GRAVITY * DT) + jump * JUMP_SPEED
    new_z = z + new_vz * DT
    landed = _cmp("LESS_EQUAL", new_z, REST_Z)
    return (
        S.Write(S.SELF, "location", S.Concat((-(new_depth * d), y, S.Binary("MAXIMUM", new_z, S.as_expr(REST_Z))))),
        S.Write(S.SELF, '["vz"]', new_vz * S.Unary("NOT", landed)),
    )


def _events(ball: _Ball) -> dict[str, S.Expr]:
    """The rally's events at a decision, each 0 or 1."""
    grounded = _cmp("LESS_EQUAL", ball.z - ball.radius, 0.0)
    inside = _cmp("LESS_EQUAL", S.Unary("ABSOLUTE", ball.x), HALF_COURT)
    net = _and(
        _cmp("LESS_THAN", S.Unary("ABSOLUTE", ball.x), ball.radius + NET_HALF),
        _cmp("LESS_THAN", ball.z - ball.radius, NET_HEIGHT),
    )
    crossed = S.Unary("ABSOLUTE", S.Changed(_cmp("GREATER_THAN", ball.x, 0.0)))
    return {
        "ground": _and(grounded, inside),
        "out": _and(grounded, S.Unary("NOT", inside)),
        "net": net,
        "over": _and(crossed, S.Unary("NOT", net)),
    }


def behaviour() -> S.Behaviour:
    """The Tennis behaviour as a spec."""
    ball = _Ball()
    d = _toward_net()
    ev = _events(ball)
    team = S.Team()
    hit_last = _cmp("EQUAL", ball.last, team)
    someone_hit = _cmp("GREATER_EQUAL", ball.last, 0.0)
    me = S.SELF
    my_location = _prop(me, "location")
    depth = -(my_location[0] * d)
    ball_depth = -(ball.x * d)
    observations = (
        depth * (1.0 / HALF_COURT),
        my_location[2] - REST_Z,
        ball_depth * (1.0 / HALF_COURT),
        ball.z * (1.0 / SERVE_Z),
        -(ball.vx * d) * (1.0 / HIT_VX),
        ball.vz * (1.0 / HIT_VZ),
        (ball_depth - depth) * (1.0 / HALF_COURT),
        _prop(OTHER, "location")[0] * d * (1.0 / HALF_COURT),
        ball.radius * 4.0,
    )
    # where the ball comes down to racket height: z(t) = z + vz t - g t²/2 = REST_Z
    height = ball.z - REST_Z
    discriminant = S.Binary("MAXIMUM", ball.vz * ball.vz + height * (2.0 * GRAVITY), S.as_expr(0.0))
    fall = (ball.vz + S.Unary("SQRT", discriminant)) * (1.0 / GRAVITY)
    target = S.Clamp(ball_depth - (ball.vx * d) * fall, NEAREST_NET, HALF_COURT)
    # the serve: to a random side, dropped from SERVE_Z, drifting toward the receiver's back line
    receiver_toward_net = 1.0 - _cmp("GREATER_THAN", S.Random(0.0, 1.0, stream=1), 0.5) * 2.0
    serve_vx = -(receiver_toward_net * S.Random(1.0, 3.0, stream=2))
    on_reset = (
        S.Write(BALL, "scale", S.ResetParam("ball_size") * (1.0 / BASE_RADIUS)),
        S.Write(BALL, "location", -(receiver_toward_net * SERVE_X), index=0),
        S.Write(BALL, "location", S.as_expr(SERVE_Z), index=2),
        S.Write(BALL, '["rally"]', S.Concat((serve_vx, S.Const((0.0, 0.0, -1.0))))),
        S.Write(me, "location", -(S.Random(2.0, 7.0, stream=3) * d), index=0),
        S.Write(me, "location", S.as_expr(REST_Z), index=2),
        S.Write(me, '["vz"]', S.as_expr(0.0)),
    )
    return S.Behaviour(
        name="Tennis",
        observations=observations,
        actions=S.DiscreteActions((ACTIONS,)),
        writes=_racket_writes() + _ball_writes(ball),
        rewards=(
            S.Reward(ev["over"] * hit_last * 0.1, name="Over the net"),
            S.Reward(S.Binary("OR", ev["out"], ev["net"]) * hit_last * -0.1, name="Out or net"),
            S.Reward(_and(ev["ground"], someone_hit, S.Unary("NOT", hit_last)) * 0.1, name="Landed"),
        ),
        ends=(
            S.End(ev["ground"], name="Ground"),
            S.End(ev["out"], name="Out"),
            S.End(ev["net"], name="Net"),
        ),
        on_reset=on_reset,
        # a hand-made controller for Heuristic brains: stand where the ball will be once it has fallen
        # to racket height (its flight extrapolated in the own frame), step by step
        heuristic=S.Switch(
            _cmp("GREATER_THAN", target - depth, STEP),
            S.as_expr(1.0),
            S.Switch(_cmp("LESS_THAN", target - depth, -STEP), S.as_expr(0.0), S.as_expr(3.0)),
        ),
    )


class RallyCounter:
    """Counts hits per rally in a Tennis scene, whatever steps it (training, evaluation, playback).

    Two frame handlers run before the Academy's: one before each frame's writes remembers every
    ball's hits; one after the frame (before the Academy ends and resets the rally) adds
    what the frame hit. Rallies are the episodes the Academy ended, one per arena (two agents).
    Use as a context manager; :meth:`mean` is total hits / rallies ended since it was entered.
    """

    def __init__(self, scene: bpy.types.Scene):
        self.balls = [o for o in scene.objects if o.name.startswith("Ball.")]
        self.before = [0.0] * len(self.balls)
        self.hits = 0.0

    def _pre(self, scene, *_args) -> None:
        self.before = [float(b["rally"][2]) for b in self.balls]

    def _post(self, scene, *_args) -> None:
        self.hits += sum(max(0.0, float(b["rally"][2]) - h) for b, h in zip(self.balls, self.before, strict=True))

    def __enter__(self) -> RallyCounter:
        bpy.app.handlers.frame_change_pre.insert(0, self._pre)
        bpy.app.handlers.frame_change_post.insert(0, self._post)
        return self

    def __exit__(self, *exc) -> None:
        bpy.app.handlers.frame_change_pre.remove(self._pre)
        bpy.app.handlers.frame_change_post.remove(self._post)

    def mean(self, episodes: int) -> float:
        """Mean hits per rally, given the Brain's episodes ended since entering (two per rally)."""
        rallies = episodes / 2
        return self.hits / rallies if rallies else 0.0


def configure_brain(scene: bpy.types.Scene) -> None:
    """The Brain and its PPO settings that reach 10 hits per rally (bench/results/tennis.md)."""
    academy = scene.academy
    brain = academy.brains.get(BRAIN) or academy.brains.add()
    brain.name, brain.brain_type, brain.algorithm = BRAIN, "TRAINING", "PPO"
    ppo = brain.ppo
    ppo.hidden_units, ppo.num_layers = 64, 2
    ppo.learning_rate = 3e-4
    ppo.num_steps, ppo.minibatch_size, ppo.num_epochs = 128, 512, 4
    ppo.gamma, ppo.gae_lambda = 0.99, 0.95
    ppo.normalize_obs = True
    ppo.ent_coef = 0.01
    academy.training_steps = 300_000


def build(scene: bpy.types.Scene | None = None, agents: int = ARENAS * 2) -> bpy.types.Scene:
    """Build Tennis into ``scene`` (default: a new scene named "Tennis"); return it.

    ``agents``: rackets (two per arena; an odd count is rounded up). The agents store the
    Python-built spec: Tennis has no behaviour node tree yet.
    """
    if scene is None:
        scene = bpy.data.scenes.new("Tennis")
    arenas = max(1, math.ceil(agents / 2))
    scene.frame_start, scene.frame_end, scene.frame_current = 1, 250, 1
    scene.render.fps, scene.render.fps_base = FPS, 1.0
    academy = scene.academy
    academy.decision_period = DECISION_PERIOD
    academy.max_steps = MAX_STEPS
    param = academy.reset_parameters.get("ball_size") or academy.reset_parameters.add()
    param.name, param.mode = "ball_size", "UNIFORM"
    param.minimum, param.maximum = BALL_SIZE
    param.value = BASE_RADIUS
    configure_brain(scene)

    collection = bpy.data.collections.new("Tennis")
    scene.collection.children.link(collection)
    racket_mesh = _cube_mesh("Racket", RACKET_HALF_W * 2, 1.0, RACKET_HALF_H * 2)
    net_mesh = _cube_mesh("Net", NET_HALF * 2, SPACING * 0.8, NET_HEIGHT)
    floor_mesh = _cube_mesh("Court", HALF_COURT * 2, SPACING * 0.8, 0.05)
    ball_mesh = _sphere_mesh("Ball", BASE_RADIUS)
    for mesh, rgba in ((racket_mesh, (0.2, 0.4, 0.9, 1)), (net_mesh, (0.9, 0.9, 0.9, 1)),
                       (floor_mesh, (0.2, 0.6, 0.3, 1)), (ball_mesh, (0.9, 0.9, 0.1, 1))):  # fmt: skip
        mesh.materials.append(_material(f"Tennis {mesh.name}", rgba))
    spec = behaviour()
    for k in range(arenas):
        y = k * SPACING
        floor = bpy.data.objects.new(f"Court.{k:03d}", floor_mesh)
        floor.location = (0.0, y, -0.025)
        net = bpy.data.objects.new(f"Net.{k:03d}", net_mesh)
        net.location = (0.0, y, NET_HEIGHT / 2)
        ball = bpy.data.objects.new(f"Ball.{k:03d}", ball_mesh)
        ball.location = (-SERVE_X, y, SERVE_Z)
        ball["rally"] = [0.0, 0.0, 0.0, -1.0]
        rackets = []
        for team, side in ((0, -1.0), (1, 1.0)):
            racket = bpy.data.objects.new(f"Racket {'AB'[team]}.{k:03d}", racket_mesh)
            racket.location = (side * 4.0, y, REST_Z)
            racket["vz"] = 0.0
            rackets.append(racket)
        for obj in (floor, net, ball, *rackets):
            collection.objects.link(obj)
        for team, racket in enumerate(rackets):
            agent = racket.academy_agent
            agent.enabled, agent.brain, agent.team = True, BRAIN, team
            for name, obj in (("Ball", ball), ("Other", rackets[1 - team])):
                slot = agent.objects.add()
                slot.name, slot.object = name, obj
            set_behaviour(racket, spec)

    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    collection.objects.link(camera)
    camera.location = (0.0, -14.0, 6.0)
    camera.rotation_euler = (math.radians(78), 0.0, 0.0)
    scene.camera = camera
    light = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
    light.rotation_euler = (math.radians(40), math.radians(10), 0.0)
    collection.objects.link(light)
    return scene


def random_pair(scene: bpy.types.Scene) -> None:
    """Make the scene's rackets a random pair: a Heuristic Brain choosing each action uniformly."""
    import dataclasses

    spec = dataclasses.replace(behaviour(), heuristic=S.Unary("FLOOR", S.Random(0.0, len(ACTIONS) - 1e-6, stream=9)))
    for obj in scene.objects:
        if obj.academy_agent.enabled and obj.academy_agent.brain == BRAIN:
            set_behaviour(obj, spec)
    scene.academy.brains[BRAIN].brain_type = "HEURISTIC"
