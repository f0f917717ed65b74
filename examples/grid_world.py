"""Grid World, after ML-Agents' GridWorld: reach the green goal, avoid the red pit, from pixels only.

Each of the areas is a 5 × 5 grid with an agent (blue), a goal (green, +1 and the episode ends)
and a pit (red, −1 and the episode ends); every decision costs −0.01. The agent moves one cell up,
down, left or right (one discrete branch of four choices). It sees only a top-down orthographic
camera image of its own area (FAST camera mode, 32 × 32 RGB). At each reset the agent, goal and
pit move to random distinct cells.
"""

from __future__ import annotations

import bpy

from ..core import specs as S
from ..core.names import TREE_IDNAME
from ..env.behaviours import set_behaviour
from .trees import TreeBuilder

BRAIN = "GridWorld"
CELLS = 5
SPACING = 10.0
RESOLUTION = 32
MAX_STEPS = 30
HALF = (CELLS - 1) // 2  # cells run from -HALF to +HALF in each area's local frame


def behaviour() -> S.Behaviour:
    """The Grid World behaviour as a spec (the node tree builds the same)."""
    me, goal, pit = S.SELF, "slot:Goal", "slot:Pit"
    on_goal = S.Compare("LESS_THAN", S.Distance(me, goal), S.as_expr(0.5))
    on_pit = S.Compare("LESS_THAN", S.Distance(me, pit), S.as_expr(0.5))
    choice = S.Action(0)  # Up, Down, Left, Right
    dx = S.Select(choice, (S.as_expr(0.0), S.as_expr(0.0), S.as_expr(-1.0), S.as_expr(1.0)))
    dy = S.Select(choice, (S.as_expr(1.0), S.as_expr(-1.0), S.as_expr(0.0), S.as_expr(0.0)))

    def cell(stream: int) -> S.Expr:  # a random cell index 0..CELLS-1
        return S.Unary("FLOOR", S.Random(0.0, float(CELLS), stream=stream))

    def other_cell(base: S.Expr, stream: int) -> S.Expr:  # a random index different from ``base``
        step = S.Unary("FLOOR", S.Random(1.0, float(CELLS), stream=stream))
        return S.Binary("MODULO", base + step, S.as_expr(float(CELLS)))

    ax, ay = cell(1), cell(2)
    gx, gy = other_cell(ax, 3), cell(4)  # the goal is in another column than the agent
    px, py = other_cell(ax, 5), other_cell(gy, 6)  # the pit: another column than the agent, row than the goal
    centre = float(HALF)
    return S.Behaviour(
        name="Grid World",
        cameras=(S.Camera("slot:Eye", RESOLUTION, RESOLUTION, grayscale=False, mode="FAST"),),
        actions=S.DiscreteActions((("Up", "Down", "Left", "Right"),)),
        writes=(
            S.Write(me, "location", dx, index=0, mode="ADD", low=-HALF, high=HALF),
            S.Write(me, "location", dy, index=1, mode="ADD", low=-HALF, high=HALF),
        ),
        rewards=(S.Reward(S.as_expr(-0.01), name="Hurry"),),
        ends=(
            S.End(on_goal, reward=1.0, success=True, name="Goal"),
            S.End(on_pit, reward=-1.0, success=False, name="Pit"),
        ),
        on_reset=(
            S.Write(me, "location", ax - centre, index=0),
            S.Write(me, "location", ay - centre, index=1),
            S.Write(goal, "location", gx - centre, index=0),
            S.Write(goal, "location", gy - centre, index=1),
            S.Write(pit, "location", px - centre, index=0),
            S.Write(pit, "location", py - centre, index=1),
        ),
    )


def behaviour_tree(name: str = "Grid World") -> bpy.types.NodeTree:
    """The Grid World behaviour as a node tree: it compiles to exactly :func:`behaviour`.

    Four framed rows, read left to right: what the agent sees (its camera), how it moves (one
    discrete branch → a cell step on X and Y), what it is rewarded for and when its episode ends
    (goal, pit), and where the agent, goal and pit start at each reset (random distinct cells).
    """
    tree = bpy.data.node_groups.new(name, TREE_IDNAME)

    build = TreeBuilder(tree)
    frame, node, link, const = build.frame, build.node, build.link, build.const

    # what the agent sees: only its own area's top-down camera
    sees = frame("Sees", -1400, 1000)
    eye = node("AcademyObjectNode", "Eye", -1400, 950, sees, source="SLOT", slot="Eye")
    camera = node("AcademyCameraNode", "Eye Camera", -1150, 950, sees, mode="FAST", kind="COLOR",
                  width=RESOLUTION, height=RESOLUTION, grayscale=False)  # fmt: skip
    link(eye, "Object", camera, "Camera")
    observe = node("AcademyObserveNode", "Observe", -850, 950, sees)
    link(camera, "Image", observe, "Observations")

    # how it moves: the chosen direction → one cell on X or Y, kept inside the grid
    moves = frame("Moves", -1400, 650)
    action = node("AcademyDiscreteActionNode", "Move", -1400, 550, moves, branches="Move: Up, Down, Left, Right")
    for i, (axis, steps) in enumerate((("X", (0.0, 0.0, -1.0, 1.0)), ("Y", (1.0, -1.0, 0.0, 0.0)))):
        y = 600 - 250 * i
        select = node("AcademySelectNode", f"Step {axis}", -1150, y, moves, count=4)
        link(action, "Move", select, "Index")
        for k, value in enumerate(steps):
            const(select, f"Option {k}", value)
        write = node("AcademySetTransformNode", f"Write {i + 1} Move {axis}", -850, y, moves, channel="LOCATION",
                     axis=axis, mode="ADD", use_clamp=True, low=-float(HALF), high=float(HALF))  # fmt: skip
        link(select, "Value", write, "Value")

    # rewards and ends: a small cost per decision; the goal (+1, success) or the pit (−1) ends the episode
    ends = frame("Rewards and Ends", -1400, 100)
    hurry = node("AcademyRewardNode", "Hurry", -850, 50, ends)
    const(hurry, "Value", -0.01)
    for i, (slot, reward, success) in enumerate((("Goal", 1.0, True), ("Pit", -1.0, False))):
        y = -150 - 200 * i
        obj = node("AcademyObjectNode", slot, -1400, y, ends, source="SLOT", slot=slot)
        dist = node("AcademyDistanceNode", f"To {slot}", -1200, y, ends)
        link(obj, "Object", dist, "To")
        near = node("AcademyCompareNode", f"On {slot}", -1000, y, ends, operation="LESS_THAN")
        link(dist, "Distance", near, "A")
        const(near, "B", 0.5)
        end = node("AcademyEndEpisodeNode", f"End {i + 1} {slot}", -800, y, ends, label=slot,
                   success=success, reward=reward)  # fmt: skip
        link(near, "Result", end, "Condition")

    # at every reset: random cells (0..4) for the agent, the goal (another column than the agent) and the pit
    # (another column than the agent, another row than the goal); cells are centred on the area (−2..2)
    reset = frame("New Cells at Reset", -1400, -550)
    rows = (  # (row name, stream, random Min, cell it must differ from)
        ("Agent X", 1, 0.0, None),
        ("Agent Y", 2, 0.0, None),
        ("Goal X", 3, 1.0, "Agent X"),
        ("Goal Y", 4, 0.0, None),
        ("Pit X", 5, 1.0, "Agent X"),
        ("Pit Y", 6, 1.0, "Goal Y"),
    )
    cells = {}
    targets = {"Agent": None, "Goal": None, "Pit": None}
    for i, (row, stream, low, other) in enumerate(rows):
        y = -600 - 230 * i
        rnd = node("AcademyRandomNode", f"Random {row}", -1400, y, reset, low=low, high=float(CELLS), stream=stream)
        floor = node("AcademyMathNode", f"Floor {row}", -1200, y, reset, operation="FLOOR")
        link(rnd, "Value", floor, "A")
        cell = floor
        if other is not None:  # (other cell + a step of 1..4) mod 5: any cell but the other one
            add = node("AcademyMathNode", f"Step from {other}", -1000, y, reset, operation="ADD")
            link(cells[other], "Value", add, "A")
            link(floor, "Value", add, "B")
            wrap = node("AcademyMathNode", f"Wrap {row}", -800, y, reset, operation="MODULO")
            link(add, "Value", wrap, "A")
            const(wrap, "B", float(CELLS))
            cell = wrap
        cells[row] = cell
        centred = node("AcademyMathNode", f"Centre {row}", -600, y, reset, operation="SUBTRACT")
        link(cell, "Value", centred, "A")
        const(centred, "B", float(HALF))
        part, axis = row.split()
        write = node("AcademySetTransformNode", f"Reset {i + 1} {row}", -150, y, reset, channel="LOCATION",
                     axis=axis, when="RESET")  # fmt: skip
        link(centred, "Value", write, "Value")
        if part != "Agent":
            if targets[part] is None:
                targets[part] = node("AcademyObjectNode", f"{part} (Reset)", -380, y, reset, label=part,
                                     source="SLOT", slot=part)  # fmt: skip
            link(targets[part], "Object", write, "Object")
    return tree


def _material(name: str, rgba) -> bpy.types.Material:
    mat = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    mat.diffuse_color = rgba
    return mat


def _box(name: str, size: float, height: float) -> bpy.types.Mesh:
    mesh = bpy.data.meshes.new(name)
    h, z = size / 2, height
    verts = [(x, y, zz) for x in (-h, h) for y in (-h, h) for zz in (0.0, z)]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    mesh.from_pydata(verts, [], faces)
    return mesh


def build(
    scene: bpy.types.Scene | None = None, agents: int = 8, algorithm: str = "DQN", use_nodes: bool = True
) -> bpy.types.Scene:
    """Build Grid World into ``scene`` (default: a new scene); ``algorithm``: DQN or PPO.

    ``use_nodes``: the agents share one behaviour node tree (:func:`behaviour_tree`); else each
    stores the Python-built spec (:func:`behaviour`).
    """
    if scene is None:
        scene = bpy.data.scenes.new("Grid World")
    scene.frame_start, scene.frame_end, scene.frame_current = 1, 250, 1
    collection = bpy.data.collections.new("Grid World")
    scene.collection.children.link(collection)
    colours = {
        "Floor": (0.25, 0.25, 0.25, 1.0),
        "Agent": (0.2, 0.4, 1.0, 1.0),
        "Goal": (0.1, 0.9, 0.2, 1.0),
        "Pit": (1.0, 0.1, 0.1, 1.0),
    }
    meshes = {}
    for name, rgba in colours.items():
        size, height = (CELLS, 0.1) if name == "Floor" else (0.8, 0.3)
        mesh = _box(name, size, height)
        mesh.materials.append(_material(f"Grid {name}", rgba))
        meshes[name] = mesh
    camera_data = bpy.data.cameras.new("Grid Eye")
    camera_data.type = "ORTHO"
    camera_data.ortho_scale = float(CELLS)
    camera_data.clip_start, camera_data.clip_end = 0.1, 20.0

    academy = scene.academy
    academy.decision_period = 1
    academy.max_steps = MAX_STEPS
    brain = academy.brains.get(BRAIN) or academy.brains.add()
    brain.name, brain.brain_type, brain.algorithm = BRAIN, "TRAINING", algorithm
    dqn = brain.dqn
    dqn.learning_rate, dqn.buffer_size, dqn.learning_starts = 5e-4, 50_000, 1_000
    dqn.batch_size, dqn.train_freq, dqn.gradient_steps = 64, 1, 1
    dqn.target_update_interval, dqn.exploration_fraction, dqn.exploration_final_eps = 1_000, 0.3, 0.02
    dqn.gamma, dqn.vis_encoder, dqn.cnn_features = 0.95, "compact", 128
    ppo = brain.ppo
    ppo.learning_rate, ppo.num_steps, ppo.minibatch_size, ppo.num_epochs = 5e-4, 64, 128, 4
    ppo.gamma, ppo.ent_coef, ppo.vis_encoder, ppo.cnn_features = 0.95, 0.01, "compact", 128
    ppo.activation = "relu"
    academy.training_steps = 100_000

    spec = None if use_nodes else behaviour()
    tree = behaviour_tree() if use_nodes else None
    for i in range(agents):
        x = i * SPACING
        floor = bpy.data.objects.new(f"Floor.{i:03d}", meshes["Floor"])
        floor.location = (x, 0.0, -0.1)
        collection.objects.link(floor)
        parts = {}
        for name in ("Agent", "Goal", "Pit"):
            obj = bpy.data.objects.new(f"{name}.{i:03d}", meshes[name])
            obj.parent = floor  # positions are cells in the area's own frame
            collection.objects.link(obj)
            parts[name] = obj
        parts["Agent"].location = (0.0, 0.0, 0.1)
        parts["Goal"].location = (1.0, 1.0, 0.1)
        parts["Pit"].location = (-1.0, -1.0, 0.1)
        eye = bpy.data.objects.new(f"Eye.{i:03d}", camera_data)
        eye.parent = floor
        eye.location = (0.0, 0.0, 10.0)
        collection.objects.link(eye)
        agent = parts["Agent"].academy_agent
        agent.enabled, agent.brain = True, BRAIN
        for slot_name, obj in (("Goal", parts["Goal"]), ("Pit", parts["Pit"]), ("Eye", eye)):
            slot = agent.objects.add()
            slot.name, slot.object = slot_name, obj
        if tree is not None:
            agent.behaviour_tree = tree
        else:
            set_behaviour(parts["Agent"], spec)
    scene.camera = bpy.data.objects.get("Eye.000")
    return scene
