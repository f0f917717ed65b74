"""Balance Ball, after ML-Agents' 3DBall: twelve platforms each keep a ball on top.

Each platform is an agent. It observes its tilt (2), the ball's position relative to it (3) and
the ball's velocity (3); it tilts itself about X and Y (2 continuous actions, at most 2° per frame,
clamped to ±25°); it earns +0.1 per decision while the ball stays on and −1 when the ball falls,
which ends its episode. The ball is a rigid body on the kinematic platform. At each reset the
platform gets a random tilt (±10°) and the ball a random offset (±1.5) four units above it.
"""

from __future__ import annotations

import math

import bpy

from ..core import specs as S
from ..core.names import TREE_IDNAME
from ..env.academy import set_behaviour
from .trees import TreeBuilder

BRAIN = "3DBall"
GRID = (4, 3)
SPACING = 8.0
PLATFORM_SIZE = 5.0
BALL_RADIUS = 0.5
BALL_HEIGHT = 4.0
DECISION_PERIOD = 5
MAX_STEPS = 1000  # decisions: 5000 frames, as ML-Agents' 3DBall
FPS = 50  # Unity's fixed timestep, 0.02 s


def behaviour() -> S.Behaviour:
    """The Balance Ball behaviour as a spec (the node tree builds the same)."""
    ball = "slot:Ball"
    offset = S.Location(ball) - S.Location(S.SELF)
    fell = S.Binary(
        "OR",
        S.Compare("LESS_THAN", offset[2], S.as_expr(-2.0)),
        S.Binary(
            "OR",
            S.Compare("GREATER_THAN", S.Unary("ABSOLUTE", offset[0]), S.as_expr(3.0)),
            S.Compare("GREATER_THAN", S.Unary("ABSOLUTE", offset[1]), S.as_expr(3.0)),
        ),
    )
    tilt = S.Rotation(S.SELF)
    max_tilt = math.radians(25.0)
    per_frame = math.radians(2.0)
    return S.Behaviour(
        name="Balance Ball",
        observations=(tilt[0], tilt[1], offset, S.Velocity(ball)),
        actions=S.ContinuousActions(2, -1.0, 1.0),
        writes=(
            S.Write(
                S.SELF, "rotation_euler", S.Action(0) * per_frame, index=0, mode="ADD", low=-max_tilt, high=max_tilt
            ),
            S.Write(
                S.SELF, "rotation_euler", S.Action(1) * per_frame, index=1, mode="ADD", low=-max_tilt, high=max_tilt
            ),
        ),
        rewards=(S.Reward(S.Unary("NOT", fell) * 0.1, name="Balanced"),),
        ends=(S.End(fell, reward=-1.0, success=False, name="Ball fell"),),
        on_reset=(
            S.Write(S.SELF, "rotation_euler", S.Random(-math.radians(10), math.radians(10)), index=0),
            S.Write(S.SELF, "rotation_euler", S.Random(-math.radians(10), math.radians(10)), index=1),
            S.Write(ball, "location", S.Random(-1.5, 1.5), index=0, mode="ADD"),
            S.Write(ball, "location", S.Random(-1.5, 1.5), index=1, mode="ADD"),
        ),
        # a hand-made controller for Heuristic brains: tilt towards a target that pushes the ball back to
        # the centre (proportional to its offset and velocity); it balances for whole episodes
        heuristic=S.Concat(
            (
                ((offset[1] + S.Velocity(ball)[1]) * 0.05 - tilt[0]) / (per_frame * DECISION_PERIOD),
                (-(offset[0] + S.Velocity(ball)[0]) * 0.05 - tilt[1]) / (per_frame * DECISION_PERIOD),
            )
        ),
    )


def behaviour_tree(name: str = "Balance Ball") -> bpy.types.NodeTree:
    """The Balance Ball behaviour as a node tree: it compiles to exactly :func:`behaviour`."""
    tree = bpy.data.node_groups.new(name, TREE_IDNAME)

    build = TreeBuilder(tree)
    node, link, const = build.node, build.link, build.const

    ball = node("AcademyObjectNode", "Ball", -900, 0, source="SLOT", slot="Ball")
    me = node("AcademyTransformNode", "Platform Transform", -700, 200)
    ball_tf = node("AcademyTransformNode", "Ball Transform", -700, 0)
    link(ball, "Object", ball_tf, "Object")
    velocity = node("AcademyVelocityNode", "Ball Velocity", -700, -200)
    link(ball, "Object", velocity, "Object")
    offset = node("AcademyVectorMathNode", "Offset", -500, 100, operation="SUBTRACT")
    link(ball_tf, "Location", offset, "A")
    link(me, "Location", offset, "B")
    tilt = node("AcademySeparateNode", "Tilt", -500, 300)
    link(me, "Rotation", tilt, "Vector")
    off = node("AcademySeparateNode", "Offset XYZ", -300, 0)
    link(offset, "Result", off, "Vector")
    vel = node("AcademySeparateNode", "Velocity XYZ", -300, -250)
    link(velocity, "Linear", vel, "Vector")

    observe = node("AcademyObserveNode", "Observe", 0, 400)
    for src, out in ((tilt, "X"), (tilt, "Y"), (offset, "Result"), (velocity, "Linear")):
        link(src, out, observe, "Observations")

    # the ball fell: below the platform, or more than 3 units off centre on X or Y
    below = node("AcademyCompareNode", "Below", -100, 100, operation="LESS_THAN")
    link(off, "Z", below, "A")
    const(below, "B", -2.0)
    comps = []
    for axis in ("X", "Y"):
        absolute = node("AcademyMathNode", f"Abs {axis}", -100, -100 if axis == "X" else -250, operation="ABSOLUTE")
        link(off, axis, absolute, "A")
        far = node("AcademyCompareNode", f"Off {axis}", 50, -100 if axis == "X" else -250, operation="GREATER_THAN")
        link(absolute, "Value", far, "A")
        const(far, "B", 3.0)
        comps.append(far)
    off_xy = node("AcademyBooleanNode", "Off XY", 200, -150, operation="OR")
    link(comps[0], "Result", off_xy, "A")
    link(comps[1], "Result", off_xy, "B")
    fell = node("AcademyBooleanNode", "Fell", 350, 0, operation="OR")
    link(below, "Result", fell, "A")
    link(off_xy, "Result", fell, "B")

    kept = node("AcademyBooleanNode", "Kept", 500, 100, operation="NOT")
    link(fell, "Result", kept, "A")
    scaled = node("AcademyMathNode", "Per Decision", 650, 100, operation="MULTIPLY")
    link(kept, "Result", scaled, "A")
    const(scaled, "B", 0.1)
    reward = node("AcademyRewardNode", "Balanced", 850, 100)
    link(scaled, "Value", reward, "Value")
    end = node("AcademyEndEpisodeNode", "Ball fell", 850, -50, success=False, reward=-1.0)
    link(fell, "Result", end, "Condition")

    action = node("AcademyContinuousActionNode", "Tilt Action", 300, 500, size=2, low=-1.0, high=1.0)
    max_tilt, per_frame = math.radians(25.0), math.radians(2.0)
    for i, axis in enumerate(("X", "Y")):
        step = node("AcademyMathNode", f"Tilt Step {axis}", 550, 550 - 150 * i, operation="MULTIPLY")
        link(action, f"Action {i + 1}", step, "A")
        const(step, "B", per_frame)
        write = node(
            "AcademySetTransformNode", f"Write 1 Tilt {axis}", 750, 550 - 150 * i, channel="ROTATION", axis=axis,
            mode="ADD", use_clamp=True, low=-max_tilt, high=max_tilt,
        )  # fmt: skip
        link(step, "Value", write, "Value")

    # at every reset: a random tilt (one draw for both axes, as the spec's Random) and a random ball offset
    tilt_random = node("AcademyRandomNode", "Random Tilt", 550, 900, low=-math.radians(10), high=math.radians(10))
    shift_random = node("AcademyRandomNode", "Random Shift", 550, 750, low=-1.5, high=1.5)
    for i, axis in enumerate(("X", "Y")):
        write = node("AcademySetTransformNode", f"Write 2 Reset Tilt {axis}", 750, 950 - 100 * i,
                     channel="ROTATION", axis=axis, when="RESET")  # fmt: skip
        link(tilt_random, "Value", write, "Value")
    for i, axis in enumerate(("X", "Y")):
        write = node("AcademySetTransformNode", f"Write 3 Reset Ball {axis}", 750, 750 - 100 * i,
                     channel="LOCATION", axis=axis, when="RESET", mode="ADD")  # fmt: skip
        link(shift_random, "Value", write, "Value")
        link(ball, "Object", write, "Object")

    # the hand-made controller for Heuristic brains (see behaviour())
    heuristic = node("AcademyHeuristicActionNode", "Heuristic", 1100, -400, size=2)
    scale = per_frame * DECISION_PERIOD
    for i, (src, vsrc, sign, tilt_axis) in enumerate((("Y", "Y", 1, "X"), ("X", "X", -1, "Y"))):
        y = -400 - 200 * i
        add = node("AcademyMathNode", f"H{i} Sum", 100, y, operation="ADD")
        link(off, src, add, "A")
        link(vel, vsrc, add, "B")
        if sign < 0:
            neg = node("AcademyMathNode", f"H{i} Negate", 250, y, operation="NEGATE")
            link(add, "Value", neg, "A")
            add = neg
        gain = node("AcademyMathNode", f"H{i} Gain", 400, y, operation="MULTIPLY")
        link(add, "Value", gain, "A")
        const(gain, "B", 0.05)
        diff = node("AcademyMathNode", f"H{i} Target", 550, y, operation="SUBTRACT")
        link(gain, "Value", diff, "A")
        link(tilt, tilt_axis, diff, "B")
        div = node("AcademyMathNode", f"H{i} Per Frame", 800, y, operation="DIVIDE")
        link(diff, "Value", div, "A")
        const(div, "B", scale)
        link(div, "Value", heuristic, f"Action {i + 1}")
    return tree


def _material(name: str, rgba) -> bpy.types.Material:
    mat = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    mat.diffuse_color = rgba
    return mat


def _cube_mesh(name: str, sx: float, sy: float, sz: float) -> bpy.types.Mesh:
    mesh = bpy.data.meshes.new(name)
    xs, ys, zs = sx / 2, sy / 2, sz / 2
    verts = [(x, y, z) for x in (-xs, xs) for y in (-ys, ys) for z in (-zs, zs)]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    mesh.from_pydata(verts, [], faces)
    return mesh


def _sphere_mesh(name: str, radius: float, segments: int = 16, rings: int = 8) -> bpy.types.Mesh:
    mesh = bpy.data.meshes.new(name)
    verts = [(0.0, 0.0, radius)]
    for r in range(1, rings):
        phi = math.pi * r / rings
        for s in range(segments):
            theta = 2 * math.pi * s / segments
            verts.append(
                (
                    radius * math.sin(phi) * math.cos(theta),
                    radius * math.sin(phi) * math.sin(theta),
                    radius * math.cos(phi),
                )
            )
    verts.append((0.0, 0.0, -radius))
    faces = []
    for s in range(segments):
        faces.append((0, 1 + s, 1 + (s + 1) % segments))
    for r in range(rings - 2):
        a, b = 1 + r * segments, 1 + (r + 1) * segments
        for s in range(segments):
            faces.append((a + s, b + s, b + (s + 1) % segments, a + (s + 1) % segments))
    last = len(verts) - 1
    base = 1 + (rings - 2) * segments
    for s in range(segments):
        faces.append((base + (s + 1) % segments, base + s, last))
    mesh.from_pydata(verts, [], faces)
    for poly in mesh.polygons:
        poly.use_smooth = True
    return mesh


def build(scene: bpy.types.Scene | None = None, agents: int = 12, use_nodes: bool = True) -> bpy.types.Scene:
    """Build Balance Ball into ``scene`` (default: a new scene named "Balance Ball"); return it.

    ``use_nodes``: the platforms share one behaviour node tree (:func:`behaviour_tree`); else each
    stores the Python-built spec (:func:`behaviour`).
    """
    if scene is None:
        scene = bpy.data.scenes.new("Balance Ball")
    if scene.rigidbody_world is None:
        with bpy.context.temp_override(scene=scene):
            bpy.ops.rigidbody.world_add()
    world = scene.rigidbody_world
    if world.collection is None:
        world.collection = bpy.data.collections.new("RigidBodyWorld")
    world.substeps_per_frame = 4
    world.solver_iterations = 10
    world.point_cache.frame_start = 1
    world.point_cache.frame_end = 250
    scene.frame_start, scene.frame_end, scene.frame_current = 1, 250, 1
    scene.render.fps, scene.render.fps_base = FPS, 1.0

    collection = bpy.data.collections.new("Balance Ball")
    scene.collection.children.link(collection)
    platform_mat = _material("Platform", (0.25, 0.45, 0.85, 1.0))
    ball_mat = _material("Ball", (0.95, 0.55, 0.1, 1.0))
    platform_mesh = _cube_mesh("Platform", PLATFORM_SIZE, PLATFORM_SIZE, 0.5)
    platform_mesh.materials.append(platform_mat)
    ball_mesh = _sphere_mesh("Ball", BALL_RADIUS)
    ball_mesh.materials.append(ball_mat)

    academy = scene.academy
    academy.decision_period = DECISION_PERIOD
    academy.max_steps = MAX_STEPS
    brain = academy.brains.get(BRAIN) or academy.brains.add()
    brain.name, brain.brain_type, brain.algorithm = BRAIN, "TRAINING", "PPO"
    ppo = brain.ppo
    ppo.hidden_units, ppo.num_layers = 64, 2
    ppo.learning_rate = 3e-4
    ppo.num_steps, ppo.minibatch_size, ppo.num_epochs = 64, 256, 4
    ppo.gamma, ppo.gae_lambda = 0.99, 0.95
    ppo.normalize_obs = True
    ppo.ent_coef = 0.0
    academy.training_steps = 150_000

    spec = None if use_nodes else behaviour()
    tree = behaviour_tree() if use_nodes else None
    cols, _rows = GRID
    for i in range(agents):
        x, y = (i % cols) * SPACING, (i // cols) * SPACING
        platform = bpy.data.objects.new(f"Platform.{i:03d}", platform_mesh)
        ball = bpy.data.objects.new(f"Ball.{i:03d}", ball_mesh)
        collection.objects.link(platform)
        collection.objects.link(ball)
        platform.location = (x, y, 0.0)
        ball.location = (x, y, BALL_HEIGHT)
        for obj in (platform, ball):
            world.collection.objects.link(obj)
        platform.rigid_body.type = "PASSIVE"
        platform.rigid_body.kinematic = True
        platform.rigid_body.collision_shape = "BOX"
        ball.rigid_body.type = "ACTIVE"
        ball.rigid_body.collision_shape = "SPHERE"
        ball.rigid_body.mass = 1.0
        ball.rigid_body.friction = 0.5
        ball.rigid_body.restitution = 0.0
        agent = platform.academy_agent
        agent.enabled, agent.brain = True, BRAIN
        slot = agent.objects.add()
        slot.name, slot.object = "Ball", ball
        if tree is not None:
            agent.behaviour_tree = tree
        else:
            set_behaviour(platform, spec)

    camera_data = bpy.data.cameras.new("Camera")
    camera_data.lens = 30.0  # the whole 4 × 3 grid in view
    camera = bpy.data.objects.new("Camera", camera_data)
    collection.objects.link(camera)
    centre_x, centre_y = (cols - 1) * SPACING / 2, (_rows - 1) * SPACING / 2
    camera.location = (centre_x, centre_y - 30.0, 22.0)
    camera.rotation_euler = (math.radians(55), 0.0, 0.0)
    scene.camera = camera
    light = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
    light.rotation_euler = (math.radians(40), math.radians(10), 0.0)
    collection.objects.link(light)
    return scene
