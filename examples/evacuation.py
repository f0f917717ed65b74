"""Evacuation, the fire-fighter example of the Armory DRLA thread: leave the room, avoid fire and furniture.

Each agent is a character in its own 10 × 10 room. It walks forward or back and turns left or
right (two discrete branches), sees with ray perception (9 rays over 180°, tags: wall, furniture,
fire, exit) and knows the direction of the exit sign relative to itself. Reaching the exit gives
+1 (success); walking into fire −1 and into furniture −0.5 end the episode (failure); every
decision costs −0.003 and walking towards the exit earns 0.1 per metre. At each reset the start,
the exit, two fires and two pieces of furniture are placed at random, so every room is new.
"""

from __future__ import annotations

import math

import bpy

from ..core import specs as S
from ..core.names import TREE_IDNAME
from ..env.behaviours import set_behaviour
from .trees import TreeBuilder

BRAIN = "Evacuation"
ROOM = 10.0
SPACING = 16.0
MAX_STEPS = 250
FPS = 24
STEP = 0.3  # metres per decision
TURN = math.radians(20.0)  # per decision
TAGS = ("wall", "furniture", "fire", "exit")
HAZARDS = (("Fire", 2, 0.8, "fire"), ("Furniture", 2, 0.6, "furniture"))


def behaviour() -> S.Behaviour:
    """The Evacuation behaviour as a spec (the node tree builds the same)."""
    me = S.SELF
    heading = S.Property(me, "rotation_euler", index=2)
    move = S.Select(S.Action(0), (S.as_expr(0.0), S.as_expr(STEP), S.as_expr(-STEP * 0.5)))  # stay/forward/back
    turn = S.Select(S.Action(1), (S.as_expr(0.0), S.as_expr(TURN), S.as_expr(-TURN)))  # none/left/right
    inside = ROOM / 2 - 0.4
    ends = [S.End(S.Compare("LESS_THAN", S.Distance(me, "slot:Exit"), S.as_expr(0.9)), 1.0, True, "Exit")]
    stream = 10
    resets = [
        S.Write(me, "location", S.Random(-3.5, 3.5, stream=1), index=0),
        S.Write(me, "location", S.as_expr(-3.5), index=1),
        S.Write(me, "rotation_euler", S.Random(-1.2, 1.2, stream=2), index=2),
        S.Write("slot:Exit", "location", S.Random(-3.5, 3.5, stream=3), index=0),
    ]
    for name, count, radius, _tag in HAZARDS:
        for k in range(count):
            slot = f"slot:{name}{k + 1}"
            penalty = -1.0 if name == "Fire" else -0.5
            hit = S.Compare("LESS_THAN", S.Distance(me, slot), S.as_expr(radius + 0.3))
            ends.append(S.End(hit, penalty, False, f"{name} {k + 1}"))
            resets.append(S.Write(slot, "location", S.Random(-4.0, 4.0, stream=stream), index=0))
            resets.append(S.Write(slot, "location", S.Random(-1.5, 2.0, stream=stream + 1), index=1))
            stream += 2
    return S.Behaviour(
        name="Evacuation",
        observations=(
            S.RayPerception(me, rays=9, angle=180.0, length=12.0, tags=TAGS, forward="Y", offset=0.5),
            S.Direction(me, "slot:Exit", local=True),
            S.Distance(me, "slot:Exit") * (1.0 / ROOM),
        ),
        actions=S.DiscreteActions((("Stay", "Forward", "Back"), ("Straight", "Left", "Right"))),
        writes=(
            S.Write(me, "location", -S.Unary("SINE", heading) * move, index=0, mode="ADD", low=-inside, high=inside),
            S.Write(me, "location", S.Unary("COSINE", heading) * move, index=1, mode="ADD", low=-inside, high=inside),
            S.Write(me, "rotation_euler", turn, index=2, mode="ADD"),
        ),
        rewards=(
            S.Reward(S.as_expr(-0.003), name="Hurry"),
            # metres walked towards the exit this decision (velocity · direction × frame time), a small
            # guide that makes standing still worse than exploring
            S.Reward(S.VectorMath("DOT", S.Velocity(me), S.Direction(me, "slot:Exit")) * (0.1 / FPS), name="Progress"),
        ),
        ends=tuple(ends),
        on_reset=tuple(resets),
    )


def behaviour_tree(name: str = "Evacuation") -> bpy.types.NodeTree:
    """The Evacuation behaviour as a node tree: it compiles to exactly :func:`behaviour`.

    Five framed bands, read left to right: what the evacuee observes (rays, the exit's direction and
    distance), how it walks and turns (two discrete branches), its rewards, when its episode ends
    (the exit, each fire and piece of furniture), and the random room it starts in at each reset.
    """
    tree = bpy.data.node_groups.new(name, TREE_IDNAME)

    build = TreeBuilder(tree)
    frame, node, link, const = build.frame, build.node, build.link, build.const

    def slot(name, x, y, parent, role):  # an Agent Object node; several per slot keep the bands apart
        return node("AcademyObjectNode", f"{name} ({role})", x, y, parent, label=name, source="SLOT", slot=name)

    # what it observes: a fan of rays, the exit's direction in its own frame and the exit's distance / room size
    observes = frame("Observes", -1400, 1300)
    rays = node("AcademyRayPerceptionNode", "Rays", -1400, 1250, observes, rays=9, angle=180.0, length=12.0,
                tags=", ".join(TAGS), forward="Y", offset=0.5)  # fmt: skip
    exit_obj = slot("Exit", -1400, 900, observes, "Observe")
    to_exit = node("AcademyDistanceNode", "Exit Direction", -1200, 900, observes, local=True)
    link(exit_obj, "Object", to_exit, "To")
    near = node("AcademyMathNode", "Distance / Room", -1000, 850, observes, operation="MULTIPLY")
    link(to_exit, "Distance", near, "A")
    const(near, "B", 1.0 / ROOM)
    observe = node("AcademyObserveNode", "Observe", -750, 1050, observes)
    for src, out in ((rays, "Rays"), (to_exit, "Direction"), (near, "Value")):
        link(src, out, observe, "Observations")

    # how it moves: walk forward or back along its heading (kept inside the room), turn left or right
    moves = frame("Moves", -1400, 600)
    action = node("AcademyDiscreteActionNode", "Actions", -1400, 550, moves,
                  branches="Move: Stay, Forward, Back; Turn: Straight, Left, Right")  # fmt: skip
    heading = node("AcademyPropertyNode", "Heading", -1400, 250, moves, path="rotation_euler", index=2)
    walk = node("AcademySelectNode", "Walk Step", -1150, 600, moves, count=3)
    link(action, "Move", walk, "Index")
    for k, value in enumerate((0.0, STEP, -STEP * 0.5)):
        const(walk, f"Option {k}", value)
    turn = node("AcademySelectNode", "Turn Step", -1150, 0, moves, count=3)
    link(action, "Turn", turn, "Index")
    for k, value in enumerate((0.0, TURN, -TURN)):
        const(turn, f"Option {k}", value)
    sine = node("AcademyMathNode", "Sine", -1150, 300, moves, operation="SINE")
    link(heading, "Value", sine, "A")
    cosine = node("AcademyMathNode", "Cosine", -1150, 150, moves, operation="COSINE")
    link(heading, "Value", cosine, "A")
    negate = node("AcademyMathNode", "Negate", -950, 300, moves, operation="NEGATE")
    link(sine, "Value", negate, "A")
    inside = ROOM / 2 - 0.4
    for i, (axis, src, y) in enumerate((("X", negate, 400), ("Y", cosine, 150))):
        along = node("AcademyMathNode", f"Walk {axis}", -750, y, moves, operation="MULTIPLY")
        link(src, "Value", along, "A")
        link(walk, "Value", along, "B")
        write = node("AcademySetTransformNode", f"Write {i + 1} Walk {axis}", -500, y, moves, channel="LOCATION",
                     axis=axis, mode="ADD", use_clamp=True, low=-inside, high=inside)  # fmt: skip
        link(along, "Value", write, "Value")
    write = node("AcademySetTransformNode", "Write 3 Turn", -500, -100, moves, channel="ROTATION", axis="Z",
                 mode="ADD")  # fmt: skip
    link(turn, "Value", write, "Value")

    # rewards: a small cost per decision, and 0.1 per metre walked towards the exit (velocity · direction × frame time)
    rewards = frame("Rewards", -1400, -350)
    hurry = node("AcademyRewardNode", "Reward 1 Hurry", -500, -400, rewards, label="Hurry")
    const(hurry, "Value", -0.003)
    velocity = node("AcademyVelocityNode", "Velocity", -1200, -550, rewards)
    exit_obj = slot("Exit", -1400, -750, rewards, "Reward")
    towards = node("AcademyDistanceNode", "Exit Direction (World)", -1200, -750, rewards)
    link(exit_obj, "Object", towards, "To")
    dot = node("AcademyVectorMathNode", "Towards Exit", -950, -600, rewards, operation="DOT")
    link(velocity, "Linear", dot, "A")
    link(towards, "Direction", dot, "B")
    metres = node("AcademyMathNode", "Metres per Decision", -750, -600, rewards, operation="MULTIPLY")
    link(dot, "Result", metres, "A")
    const(metres, "B", 0.1 / FPS)
    progress = node("AcademyRewardNode", "Reward 2 Progress", -500, -600, rewards, label="Progress")
    link(metres, "Value", progress, "Value")

    # when the episode ends: at the exit (success, +1), in a fire (−1) or in furniture (−0.5)
    ends = frame("Episode Ends", -1400, -1000)
    hazards = [("Exit", 0.9, 1.0, True)]
    for hazard, count, radius, _tag in HAZARDS:
        for k in range(count):
            hazards.append((f"{hazard} {k + 1}", radius + 0.3, -1.0 if hazard == "Fire" else -0.5, False))
    for i, (what, reach, reward, success) in enumerate(hazards):
        y = -1050 - 200 * i
        obj = slot(what.replace(" ", ""), -1400, y, ends, "End")
        dist = node("AcademyDistanceNode", f"To {what}", -1200, y, ends)
        link(obj, "Object", dist, "To")
        close = node("AcademyCompareNode", f"At {what}", -1000, y, ends, operation="LESS_THAN")
        link(dist, "Distance", close, "A")
        const(close, "B", reach)
        end = node("AcademyEndEpisodeNode", f"End {i + 1} {what}", -800, y, ends, label=what, success=success,
                   reward=reward)  # fmt: skip
        link(close, "Result", end, "Condition")

    # at every reset: a random start and heading, a random exit along the north wall, random fires and furniture
    reset = frame("Random Room at Reset", -1400, -2100)
    rows = [  # (write name, object slot or None for the evacuee, channel, axis, (Min, Max, stream) or a value)
        ("Start X", None, "LOCATION", "X", (-3.5, 3.5, 1)),
        ("Start Y", None, "LOCATION", "Y", -3.5),
        ("Start Heading", None, "ROTATION", "Z", (-1.2, 1.2, 2)),
        ("Exit X", "Exit", "LOCATION", "X", (-3.5, 3.5, 3)),
    ]
    stream = 10
    for hazard, count, _radius, _tag in HAZARDS:
        for k in range(count):
            rows.append((f"{hazard} {k + 1} X", f"{hazard}{k + 1}", "LOCATION", "X", (-4.0, 4.0, stream)))
            rows.append((f"{hazard} {k + 1} Y", f"{hazard}{k + 1}", "LOCATION", "Y", (-1.5, 2.0, stream + 1)))
            stream += 2
    targets = {}
    for i, (what, target, channel, axis, value) in enumerate(rows):
        y = -2150 - 220 * i
        write = node("AcademySetTransformNode", f"Reset {i + 1} {what}", -900, y, reset, channel=channel, axis=axis,
                     when="RESET")  # fmt: skip
        if isinstance(value, tuple):
            low, high, stream = value
            rnd = node("AcademyRandomNode", f"Random {what}", -1150, y, reset, low=low, high=high, stream=stream)
            link(rnd, "Value", write, "Value")
        else:
            const(write, "Value", value)
        if target is not None:
            if target not in targets:
                targets[target] = slot(target, -1400, y, reset, "Reset")
            link(targets[target], "Object", write, "Object")
    return tree


def _material(name: str, rgba) -> bpy.types.Material:
    mat = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    mat.diffuse_color = rgba
    return mat


def _box(name: str, sx: float, sy: float, sz: float, rgba) -> bpy.types.Mesh:
    mesh = bpy.data.meshes.new(name)
    x, y = sx / 2, sy / 2
    verts = [(a, b, c) for a in (-x, x) for b in (-y, y) for c in (0.0, sz)]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    mesh.from_pydata(verts, [], faces)
    mesh.materials.append(_material(name, rgba))
    return mesh


def build(scene: bpy.types.Scene | None = None, agents: int = 8, use_nodes: bool = True) -> bpy.types.Scene:
    """Build Evacuation into ``scene`` (default: a new scene).

    ``use_nodes``: the evacuees share one behaviour node tree (:func:`behaviour_tree`); else each
    stores the Python-built spec (:func:`behaviour`).
    """
    if scene is None:
        scene = bpy.data.scenes.new("Evacuation")
    scene.frame_start, scene.frame_end, scene.frame_current = 1, 500, 1
    scene.render.fps, scene.render.fps_base = FPS, 1.0
    collection = bpy.data.collections.new("Evacuation")
    scene.collection.children.link(collection)
    half = ROOM / 2
    meshes = {
        "Floor": _box("Evacuation Floor", ROOM, ROOM, 0.05, (0.35, 0.33, 0.3, 1.0)),
        "WallX": _box("Evacuation Wall X", ROOM, 0.2, 1.5, (0.8, 0.8, 0.78, 1.0)),
        "WallY": _box("Evacuation Wall Y", 0.2, ROOM, 1.5, (0.8, 0.8, 0.78, 1.0)),
        "Exit": _box("Evacuation Exit", 1.2, 0.3, 2.0, (0.1, 0.9, 0.3, 1.0)),
        "Fire": _box("Evacuation Fire", 1.6, 1.6, 1.0, (1.0, 0.3, 0.05, 1.0)),
        "Furniture": _box("Evacuation Furniture", 1.2, 1.2, 0.8, (0.45, 0.3, 0.15, 1.0)),
        "Agent": _box("Evacuation Agent", 0.5, 0.5, 1.0, (0.2, 0.4, 1.0, 1.0)),
    }

    academy = scene.academy
    academy.decision_period = 1
    academy.max_steps = MAX_STEPS
    brain = academy.brains.get(BRAIN) or academy.brains.add()
    brain.name, brain.brain_type, brain.algorithm = BRAIN, "TRAINING", "PPO"
    ppo = brain.ppo
    ppo.learning_rate, ppo.num_steps, ppo.minibatch_size, ppo.num_epochs = 3e-4, 128, 256, 4
    ppo.gamma, ppo.gae_lambda, ppo.ent_coef = 0.99, 0.95, 0.01
    ppo.hidden_units, ppo.num_layers, ppo.normalize_obs = 128, 2, False
    academy.training_steps = 200_000

    spec = None if use_nodes else behaviour()
    tree = behaviour_tree() if use_nodes else None
    for i in range(agents):
        floor = bpy.data.objects.new(f"Room.{i:03d}", meshes["Floor"])
        floor.location = (i * SPACING, 0.0, 0.0)
        collection.objects.link(floor)

        def child(name, mesh, location, tag=None, *, room=floor, index=i):
            obj = bpy.data.objects.new(f"{name}.{index:03d}", meshes[mesh])
            obj.parent = room
            obj.location = location
            if tag:
                obj["academy_tag"] = tag
            collection.objects.link(obj)
            return obj

        child("Wall North", "WallX", (0.0, half, 0.0), "wall")
        child("Wall South", "WallX", (0.0, -half, 0.0), "wall")
        child("Wall East", "WallY", (half, 0.0, 0.0), "wall")
        child("Wall West", "WallY", (-half, 0.0, 0.0), "wall")
        exit_sign = child("Exit", "Exit", (0.0, half - 0.3, 0.0), "exit")
        slots = {"Exit": exit_sign}
        for name, count, _radius, tag in HAZARDS:
            for k in range(count):
                slots[f"{name}{k + 1}"] = child(f"{name} {k + 1}", name, (2.0 * k - 1.0, 0.0, 0.0), tag)
        person = child("Evacuee", "Agent", (0.0, -3.5, 0.0))
        agent = person.academy_agent
        agent.enabled, agent.brain = True, BRAIN
        for slot_name, obj in slots.items():
            slot = agent.objects.add()
            slot.name, slot.object = slot_name, obj
        if tree is not None:
            agent.behaviour_tree = tree
        else:
            set_behaviour(person, spec)
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    camera.location = (SPACING * (agents - 1) / 2, -SPACING * 1.6, SPACING * 1.4)
    camera.rotation_euler = (math.radians(50), 0.0, 0.0)
    collection.objects.link(camera)
    scene.camera = camera
    return scene
