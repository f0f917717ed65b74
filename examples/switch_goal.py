"""Switch Goal, after ML-Agents' Pyramids: press the switch so the goal appears, then reach it.

Each area is a 7 × 7 grid with an agent, a switch and a goal. The goal is shown (and counts) only
once the agent has stood on the switch; reaching it then gives +1 and ends the episode. Nothing
else is rewarded: the reward is sparse, and a random walk rarely finds both in turn. The agent
moves one cell per decision (one branch: Stay, Up, Down, Left, Right) and observes its cell, the
switch's and (once pressed) the goal's offsets, and whether it pressed the switch. At each reset
the agent, switch and goal go to random cells (the switch in another column than the agent, the
goal in another column than the switch).

:func:`keyframe_demonstrations` animates the scripted optimal path (to the switch, then to the
goal) for a handful of episodes on the first area, reads the animation back as demonstrations
(``env.keyframe_demos``) into the Brain's Demonstrations, and removes the keys from the agent (the
Action stays in the file, with a fake user, to look at). The behaviour's Heuristic Action is the
same scripted path. The agents share one behaviour node tree (:func:`behaviour_tree`), which
compiles to exactly the Python spec (:func:`behaviour`).
"""

from __future__ import annotations

import bpy
import numpy as np

from .. import compat
from ..core import specs as S
from ..core.names import TREE_IDNAME
from ..env.behaviours import set_behaviour
from .trees import TreeBuilder

BRAIN = "SwitchGoal"
CELLS = 7
HALF = (CELLS - 1) // 2
SPACING = 10.0
MAX_STEPS = 40
PRESSED = '["pressed"]'
CHOICES = ("Stay", "Up", "Down", "Left", "Right")
MOVES = {0: (0, 0), 1: (0, 1), 2: (0, -1), 3: (-1, 0), 4: (1, 0)}


def behaviour() -> S.Behaviour:
    """The Switch Goal behaviour as a spec (the node tree builds the same)."""
    me, switch, goal, floor = S.SELF, "slot:Switch", "slot:Goal", "slot:Floor"
    pressed = S.Property(me, PRESSED)
    on_switch = S.Compare("LESS_THAN", S.Distance(me, switch), S.as_expr(0.5))
    on_goal = S.Compare("LESS_THAN", S.Distance(me, goal), S.as_expr(0.5))
    here = S.Location(me, relative_to=floor)
    to_switch = S.Location(switch, relative_to=me)
    to_goal = S.Location(goal, relative_to=me)
    choice = S.Action(0)

    def step(values) -> S.Expr:
        return S.Select(choice, tuple(S.as_expr(float(v)) for v in values))

    def cell(stream: int) -> S.Expr:
        return S.Unary("FLOOR", S.Random(0.0, float(CELLS), stream=stream))

    def other_cell(base: S.Expr, stream: int) -> S.Expr:
        offset = S.Unary("FLOOR", S.Random(1.0, float(CELLS), stream=stream))
        return S.Binary("MODULO", base + offset, S.as_expr(float(CELLS)))

    # the scripted path: to the switch until pressed, then to the goal; x first, then y
    tx = S.Switch(pressed, to_goal[0], to_switch[0])
    ty = S.Switch(pressed, to_goal[1], to_switch[1])
    half, minus_half = S.as_expr(0.5), S.as_expr(-0.5)
    heuristic = S.Switch(
        S.Compare("GREATER_THAN", tx, half),
        S.as_expr(4.0),
        S.Switch(
            S.Compare("LESS_THAN", tx, minus_half),
            S.as_expr(3.0),
            S.Switch(
                S.Compare("GREATER_THAN", ty, half),
                S.as_expr(1.0),
                S.Switch(S.Compare("LESS_THAN", ty, minus_half), S.as_expr(2.0), S.as_expr(0.0)),
            ),
        ),
    )
    ax, ay = cell(1), cell(2)
    sx, sy = other_cell(ax, 3), cell(4)
    gx, gy = other_cell(sx, 5), cell(6)
    centre = float(HALF)
    return S.Behaviour(
        name="Switch Goal",
        observations=(
            here[0],
            here[1],
            to_switch[0],
            to_switch[1],
            to_goal[0] * pressed,
            to_goal[1] * pressed,
            pressed,
        ),  # fmt: skip
        actions=S.DiscreteActions((CHOICES,)),
        writes=(
            S.Write(me, "location", step(m[0] for m in MOVES.values()), index=0, mode="ADD", low=-HALF, high=HALF),
            S.Write(me, "location", step(m[1] for m in MOVES.values()), index=1, mode="ADD", low=-HALF, high=HALF),
            S.Write(me, PRESSED, S.Binary("MAXIMUM", pressed, on_switch)),
            S.Write(goal, "scale", S.Binary("MAXIMUM", pressed, S.as_expr(0.05))),  # the goal appears
        ),
        ends=(S.End(S.Binary("MULTIPLY", pressed, on_goal), reward=1.0, success=True, name="Goal"),),
        on_reset=(
            S.Write(me, PRESSED, S.as_expr(0.0)),
            S.Write(goal, "scale", S.as_expr(0.05)),
            S.Write(me, "location", ax - centre, index=0),
            S.Write(me, "location", ay - centre, index=1),
            S.Write(switch, "location", sx - centre, index=0),
            S.Write(switch, "location", sy - centre, index=1),
            S.Write(goal, "location", gx - centre, index=0),
            S.Write(goal, "location", gy - centre, index=1),
        ),
        heuristic=heuristic,
    )


def behaviour_tree(name: str = "Switch Goal") -> bpy.types.NodeTree:
    """The Switch Goal behaviour as a node tree: it compiles to exactly :func:`behaviour`.

    Five framed rows, read left to right: what the agent observes (its cell, the offsets to the
    switch and, once pressed, to the goal), how it moves (one branch → a cell step on X and Y),
    the switch (pressing it shows the goal) and the end (+1 at the goal once pressed), the scripted
    Heuristic Action (to the switch, then the goal; X first), and the new cells at each reset.
    """
    tree = bpy.data.node_groups.new(name, TREE_IDNAME)
    build = TreeBuilder(tree)
    frame, node, link, const = build.frame, build.node, build.link, build.const

    # what it observes: its cell on the floor, the offsets to the switch and (once pressed) to the goal, pressed
    sees = frame("Observes", -1600, 1200)
    objs = {s: node("AcademyObjectNode", s, -1600, 1150 - 150 * i, sees, source="SLOT", slot=s)
            for i, s in enumerate(("Floor", "Switch", "Goal"))}  # fmt: skip
    me = node("AcademySelfNode", "Self", -1600, 700, sees)
    pressed = node("AcademyPropertyNode", "Pressed", -1600, 600, sees, path=PRESSED)
    here = node("AcademyTransformNode", "Cell", -1350, 1150, sees)
    link(objs["Floor"], "Object", here, "Relative To")
    offsets = {}
    for i, target in enumerate(("Switch", "Goal")):
        to = node("AcademyTransformNode", f"To {target}", -1350, 950 - 200 * i, sees)
        link(objs[target], "Object", to, "Object")
        link(me, "Self", to, "Relative To")
        offsets[target] = node("AcademySeparateNode", f"To {target} XY", -1150, 950 - 200 * i, sees)
        link(to, "Location", offsets[target], "Vector")
    cell = node("AcademySeparateNode", "Cell XY", -1150, 1150, sees)
    link(here, "Location", cell, "Vector")
    observe = node("AcademyObserveNode", "Observe", -500, 1000, sees)
    for axis in "XY":
        link(cell, axis, observe, "Observations")
    for axis in "XY":
        link(offsets["Switch"], axis, observe, "Observations")
    for axis in "XY":  # the goal's offset only once pressed (0 before: it is not there yet)
        shown = node("AcademyMathNode", f"Goal {axis} if Pressed", -850, 850 - 120 * "XY".index(axis), sees,
                     operation="MULTIPLY")  # fmt: skip
        link(offsets["Goal"], axis, shown, "A")
        link(pressed, "Value", shown, "B")
        link(shown, "Value", observe, "Observations")
    link(pressed, "Value", observe, "Observations")

    # how it moves: the chosen direction → one cell on X or Y, kept inside the grid
    moves = frame("Moves", -1600, 400)
    action = node("AcademyDiscreteActionNode", "Move", -1600, 300, moves, branches="Move: " + ", ".join(CHOICES))
    for i, axis in enumerate("XY"):
        y = 350 - 250 * i
        select = node("AcademySelectNode", f"Step {axis}", -1350, y, moves, count=len(MOVES))
        link(action, "Move", select, "Index")
        for k, step in MOVES.items():
            const(select, f"Option {k}", float(step[i]))
        write = node("AcademySetTransformNode", f"Write {i + 1} Move {axis}", -1100, y, moves, channel="LOCATION",
                     axis=axis, mode="ADD", use_clamp=True, low=-float(HALF), high=float(HALF))  # fmt: skip
        link(select, "Value", write, "Value")

    # the switch: standing on it presses it for the episode and shows the goal; the goal then ends it with +1
    switch = frame("Switch and Goal", -1600, -200)
    near = {}
    for i, target in enumerate(("Switch", "Goal")):
        dist = node("AcademyDistanceNode", f"To {target} Distance", -1600, -250 - 200 * i, switch)
        link(objs[target], "Object", dist, "To")
        near[target] = node("AcademyCompareNode", f"On {target}", -1400, -250 - 200 * i, switch,
                            operation="LESS_THAN")  # fmt: skip
        link(dist, "Distance", near[target], "A")
        const(near[target], "B", 0.5)
    press = node("AcademyMathNode", "Stays Pressed", -1150, -250, switch, operation="MAXIMUM")
    link(pressed, "Value", press, "A")
    link(near["Switch"], "Result", press, "B")
    keep = node("AcademySetPropertyNode", "Write 3 Press", -900, -250, switch, path=PRESSED)
    link(press, "Value", keep, "Value")
    size = node("AcademyMathNode", "Goal Size", -1150, -100, switch, operation="MAXIMUM")
    link(pressed, "Value", size, "A")
    const(size, "B", 0.05)
    show = node("AcademySetTransformNode", "Write 4 Show Goal", -900, -100, switch, channel="SCALE")
    link(objs["Goal"], "Object", show, "Object")
    link(size, "Value", show, "Value")
    reached = node("AcademyMathNode", "Pressed and On Goal", -1150, -450, switch, operation="MULTIPLY")
    link(pressed, "Value", reached, "A")
    link(near["Goal"], "Result", reached, "B")
    end = node("AcademyEndEpisodeNode", "End 1 Goal", -900, -450, switch, label="Goal", success=True, reward=1.0)
    link(reached, "Value", end, "Condition")

    # the scripted path (Heuristic Action): towards the switch until pressed, then the goal; X first, then Y
    script = frame("Heuristic: the Scripted Path", -1600, -750)
    target = {}
    for i, axis in enumerate("XY"):
        pick = node("AcademySwitchNode", f"Target {axis}", -1600, -800 - 200 * i, script)
        link(pressed, "Value", pick, "Switch")
        link(offsets["Goal"], axis, pick, "True")
        link(offsets["Switch"], axis, pick, "False")
        target[axis] = pick
    choice = None
    tests = (("X", "GREATER_THAN", 0.5, 4.0), ("X", "LESS_THAN", -0.5, 3.0), ("Y", "GREATER_THAN", 0.5, 1.0),
             ("Y", "LESS_THAN", -0.5, 2.0))  # fmt: skip
    for i, (axis, op, bound, value) in reversed(list(enumerate(tests))):  # the innermost choice first
        test = node("AcademyCompareNode", f"Test {i + 1} {CHOICES[int(value)]}", -1350, -800 - 150 * i, script,
                    operation=op)  # fmt: skip
        link(target[axis], "Output", test, "A")
        const(test, "B", bound)
        pick = node("AcademySwitchNode", f"Choose {i + 1} {CHOICES[int(value)]}", -1100, -800 - 150 * i, script)
        link(test, "Result", pick, "Switch")
        const(pick, "True", value)
        if choice is None:
            const(pick, "False", 0.0)  # Stay
        else:
            link(choice, "Output", pick, "False")
        choice = pick
    heuristic = node("AcademyHeuristicActionNode", "Heuristic", -850, -800, script, size=1)
    link(choice, "Output", heuristic, "Action 1")

    # at every reset: not pressed, the goal hidden, random cells for the agent, the switch (another column
    # than the agent) and the goal (another column than the switch), centred on the area (-3..3)
    reset = frame("New Episode at Reset", -1600, -1500)
    unpress = node("AcademySetPropertyNode", "Reset 1 Not Pressed", -150, -1550, reset, path=PRESSED, when="RESET")
    const(unpress, "Value", 0.0)
    hide = node("AcademySetTransformNode", "Reset 2 Hide Goal", -150, -1700, reset, channel="SCALE", when="RESET")
    link(objs["Goal"], "Object", hide, "Object")
    const(hide, "Value", 0.05)
    rows = (("Agent X", 1, 0.0, None), ("Agent Y", 2, 0.0, None), ("Switch X", 3, 1.0, "Agent X"),
            ("Switch Y", 4, 0.0, None), ("Goal X", 5, 1.0, "Switch X"), ("Goal Y", 6, 0.0, None))  # fmt: skip
    cells = {}
    for i, (row, stream, low, other) in enumerate(rows):
        y = -1850 - 230 * i
        rnd = node("AcademyRandomNode", f"Random {row}", -1600, y, reset, low=low, high=float(CELLS), stream=stream)
        floor = node("AcademyMathNode", f"Floor {row}", -1400, y, reset, operation="FLOOR")
        link(rnd, "Value", floor, "A")
        cell_node = floor
        if other is not None:  # (other cell + a step of 1..6) mod 7: any cell but the other one
            add = node("AcademyMathNode", f"Step from {other}", -1200, y, reset, operation="ADD")
            link(cells[other], "Value", add, "A")
            link(floor, "Value", add, "B")
            cell_node = node("AcademyMathNode", f"Wrap {row}", -1000, y, reset, operation="MODULO")
            link(add, "Value", cell_node, "A")
            const(cell_node, "B", float(CELLS))
        cells[row] = cell_node
        centred = node("AcademyMathNode", f"Centre {row}", -800, y, reset, operation="SUBTRACT")
        link(cell_node, "Value", centred, "A")
        const(centred, "B", float(HALF))
        part, axis = row.split()
        write = node("AcademySetTransformNode", f"Reset {i + 3} {row}", -150, y, reset, channel="LOCATION",
                     axis=axis, when="RESET")  # fmt: skip
        link(centred, "Value", write, "Value")
        if part != "Agent":
            link(objs[part], "Object", write, "Object")
    return tree


def _box(name: str, size: float, height: float) -> bpy.types.Mesh:
    mesh = bpy.data.meshes.new(name)
    h = size / 2
    verts = [(x, y, z) for x in (-h, h) for y in (-h, h) for z in (0.0, height)]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    mesh.from_pydata(verts, [], faces)
    return mesh


def build(
    scene: bpy.types.Scene | None = None, agents: int = 8, demonstrations: int = 6, use_nodes: bool = True
) -> bpy.types.Scene:
    """Build Switch Goal into ``scene`` (default: a new scene), with ``demonstrations`` keyframed
    episodes read into the Brain's Demonstrations (0: none; see :func:`keyframe_demonstrations`).

    ``use_nodes``: the agents share one behaviour node tree (:func:`behaviour_tree`); else each
    stores the Python-built spec (:func:`behaviour`).
    """
    if scene is None:
        scene = bpy.data.scenes.new("Switch Goal")
    scene.frame_start, scene.frame_end, scene.frame_current = 1, 250, 1
    collection = bpy.data.collections.new("Switch Goal")
    scene.collection.children.link(collection)
    meshes = {
        "Floor": _box("SG Floor", CELLS, 0.1),
        "Agent": _box("SG Agent", 0.8, 0.5),
        "Switch": _box("SG Switch", 0.9, 0.1),
        "Goal": _box("SG Goal", 0.8, 0.8),
    }
    academy = scene.academy
    academy.decision_period = 1
    academy.max_steps = MAX_STEPS
    brain = academy.brains.get(BRAIN) or academy.brains.add()
    brain.name, brain.brain_type, brain.algorithm = BRAIN, "TRAINING", "PPO"
    ppo = brain.ppo
    ppo.learning_rate, ppo.num_steps, ppo.minibatch_size, ppo.num_epochs = 3e-4, 128, 256, 4
    ppo.gamma, ppo.ent_coef = 0.98, 0.01
    academy.training_steps = 200_000
    spec = None if use_nodes else behaviour()
    tree = behaviour_tree() if use_nodes else None
    for i in range(agents):
        floor = bpy.data.objects.new(f"SG Floor.{i:03d}", meshes["Floor"])
        floor.location = (i * SPACING, 0.0, -0.1)
        collection.objects.link(floor)
        parts = {}
        for name in ("Agent", "Switch", "Goal"):
            obj = bpy.data.objects.new(f"SG {name}.{i:03d}", meshes[name])
            obj.parent = floor
            collection.objects.link(obj)
            parts[name] = obj
        parts["Agent"].location = (-HALF, -HALF, 0.1)
        parts["Switch"].location = (0.0, 0.0, 0.1)
        parts["Goal"].location = (HALF, HALF, 0.1)
        parts["Goal"].scale = (0.05, 0.05, 0.05)
        agent = parts["Agent"]
        agent["pressed"] = 0.0
        settings = agent.academy_agent
        settings.enabled, settings.brain = True, BRAIN
        for slot_name, obj in (("Switch", parts["Switch"]), ("Goal", parts["Goal"]), ("Floor", floor)):
            slot = settings.objects.add()
            slot.name, slot.object = slot_name, obj
        if tree is not None:
            settings.behaviour_tree = tree
        else:
            set_behaviour(agent, spec)
    if demonstrations:
        keyframe_demonstrations(scene, demonstrations)
    return scene


def scripted_episodes(episodes: int, seed: int = 0) -> list[dict]:
    """``episodes`` random starts and the scripted optimal path of each (cells, x then y)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(episodes):
        a = rng.integers(-HALF, HALF + 1, size=2)
        s = np.array([(a[0] + rng.integers(1, CELLS) + HALF) % CELLS - HALF, rng.integers(-HALF, HALF + 1)])
        g = np.array([(s[0] + rng.integers(1, CELLS) + HALF) % CELLS - HALF, rng.integers(-HALF, HALF + 1)])
        path, choices, pressed = [a.copy()], [], False
        pos = a.copy()
        while True:
            if pressed and (pos == g).all():
                break
            target = g if pressed else s
            d = target - pos
            c = 4 if d[0] > 0 else 3 if d[0] < 0 else 1 if d[1] > 0 else 2 if d[1] < 0 else 0
            pressed = pressed or bool((pos == s).all())  # seen by the next decision
            pos = pos + np.array(MOVES[c])
            path.append(pos.copy())
            choices.append(c)
        out.append({"agent": np.array(path), "switch": s, "goal": g, "choices": choices})
    return out


def _key(obj, frames, xs, ys) -> None:
    """Constant keys of ``obj``'s location X and Y at ``frames`` (a new Action, Z keeps its value)."""
    action = compat.new_layered_action(f"Demo {obj.name}")
    action.use_fake_user = True
    slot = compat.action_slot(action, obj)
    bag = compat.channelbag(action, slot, ensure=True)
    for index, values in ((0, xs), (1, ys)):
        fc = bag.fcurves.new("location", index=index)
        kp = fc.keyframe_points
        kp.add(len(frames))
        co = np.empty(2 * len(frames), dtype=np.float32)
        co[0::2], co[1::2] = frames, values
        kp.foreach_set("co", co)
        kp.foreach_set("interpolation", np.zeros(len(frames), dtype=np.int32))  # CONSTANT
        fc.update()
    ad = obj.animation_data or obj.animation_data_create()
    ad.action = action
    ad.action_slot = slot


def keyframe_demonstrations(scene, episodes: int = 6, seed: int = 0, keep_keys: bool = False):
    """Keyframe ``episodes`` scripted episodes on the first area, read them into the Brain's
    Demonstrations and (unless ``keep_keys``) take the keys off again; returns
    ``(entry, KeyframeDemos, scripted episodes)``."""
    from ..env.keyframe_demos import add_from_keyframes

    runs = scripted_episodes(episodes, seed)
    agent = scene.objects["SG Agent.000"]
    switch, goal = scene.objects["SG Switch.000"], scene.objects["SG Goal.000"]
    placed = {obj.name: obj.location.copy() for obj in (agent, switch, goal)}
    frames, tracks = [], {"agent": ([], []), "switch": ([], []), "goal": ([], [])}
    frame = scene.frame_start
    for run in runs:  # one decision per frame; the next episode starts at the frame after the goal
        for pos in run["agent"]:
            frames.append(frame)
            tracks["agent"][0].append(pos[0])
            tracks["agent"][1].append(pos[1])
            for name in ("switch", "goal"):
                tracks[name][0].append(run[name][0])
                tracks[name][1].append(run[name][1])
            frame += 1
    for obj, name in ((agent, "agent"), (switch, "switch"), (goal, "goal")):
        _key(obj, np.array(frames, float), np.array(tracks[name][0], float), np.array(tracks[name][1], float))
    brain = scene.academy.brains[BRAIN]
    try:
        entry, read = add_from_keyframes(scene, brain, frames[0], frames[-1], agents=[agent.name])
    finally:
        if not keep_keys:
            for obj in (agent, switch, goal):
                obj.animation_data.action = None
                obj.location = placed[obj.name]  # where the build put it, not the last key
    return entry, read, runs
