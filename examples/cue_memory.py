"""Remember the Cue: a lamp shows red or green at the start; walk the corridor, take the matching goal.

Each area is a short corridor. At every reset the lamp at its start lights red or green (at
random); the agent sees the cue only at its first decision (the observation is zero afterwards and
the lamp goes out once it moves). It walks one cell forward per decision, then at the end of the
corridor turns left (the red goal) or right (the green goal): the goal of the cue's colour gives +1
and success, the other −1; either ends the episode. Observations: the cue (−1 red, +1 green, 0
after the first decision), how far along the corridor it is, and whether it stands at the turn.
One discrete branch: Left, Right (only the choice at the turn matters).

Without memory the choice at the turn is a guess (success 0.5); the Brain ships with PPO and Use
Memory on (a GRU), which learns it (see docs/training.md, Memory, and ``bench/bench_memory.py
--scene``). The Heuristic Action takes the right turn by reading the hidden cue. The task without
Blender is ``devtools/cue_task.py``.
"""

from __future__ import annotations

import bpy

from ..core import specs as S
from ..core.names import TREE_IDNAME
from ..env.behaviours import set_behaviour
from .trees import TreeBuilder

BRAIN = "RememberTheCue"
TREE = "Remember the Cue"
CORRIDOR = 4  # cells to walk before the turn: decisions per episode = CORRIDOR + 1
SPACING = 6.0
MAX_STEPS = 10  # a safety net: every episode ends at its turn, CORRIDOR + 1 decisions in
CUE = '["cue"]'
LAMP_COLOUR = "active_material.diffuse_color"  # each lamp has its own material: seen in Solid view and renders
RED, GREEN, DARK = (1.0, 0.1, 0.1), (0.1, 0.9, 0.2), (0.15, 0.15, 0.15)


def behaviour() -> S.Behaviour:
    """The Remember the Cue behaviour as a spec (the node tree builds the same)."""
    me, lamp = S.SELF, "slot:Lamp"
    cue = S.Property(me, CUE)
    first = S.Compare("LESS_THAN", S.StepInfo("STEP"), S.as_expr(0.5))
    x, y = S.Property(me, "location", index=0), S.Property(me, "location", index=1)
    at_turn = S.Compare("GREATER_THAN", y, S.as_expr(CORRIDOR - 0.5))
    turn = S.Select(S.Action(0), (S.as_expr(-1.0), S.as_expr(1.0)))  # Left, Right
    side = x * cue  # +1 on the goal of the cue's colour (green is right, red left), −1 on the other
    sign = S.Unary("FLOOR", S.Random(0.0, 2.0, stream=1)) * S.as_expr(2.0) - S.as_expr(1.0)
    rgb = S.Concat((S.as_expr(0.55) - sign * S.as_expr(0.45), S.as_expr(0.5) + sign * S.as_expr(0.4), S.as_expr(0.15)))
    colour = S.Concat((rgb, S.Const((1.0,))))  # red for −1, green for +1
    return S.Behaviour(
        name=TREE,
        observations=(cue * first, y * S.as_expr(1.0 / CORRIDOR), at_turn),
        actions=S.DiscreteActions((("Left", "Right"),)),
        writes=(
            S.Write(me, "location", S.Switch(at_turn, turn, S.as_expr(0.0)), index=0),
            S.Write(me, "location", S.as_expr(1.0), index=1, mode="ADD", low=0.0, high=float(CORRIDOR)),
            S.Write(lamp, LAMP_COLOUR, S.Concat((S.Const(DARK), S.Const((1.0,))))),  # the lamp goes out
        ),
        ends=(
            S.End(S.Compare("GREATER_THAN", side, S.as_expr(0.5)), reward=1.0, success=True, name="Matching Goal"),
            S.End(S.Compare("LESS_THAN", side, S.as_expr(-0.5)), reward=-1.0, success=False, name="Other Goal"),
        ),
        on_reset=(S.Write(me, CUE, sign), S.Write(lamp, LAMP_COLOUR, colour)),
        heuristic=S.Compare("GREATER_THAN", cue, S.as_expr(0.0)),
    )


def behaviour_tree(name: str = TREE) -> bpy.types.NodeTree:
    """The Remember the Cue behaviour as a node tree: it compiles to exactly :func:`behaviour`.

    Four framed rows: what the agent sees (the cue at its first decision only, via Step Info; how
    far along it is; whether it is at the turn), how it moves (a step forward every decision; at the
    turn, left or right), how its episode ends (on the goal of the cue's colour or the other), and
    what each reset draws (the cue, and the lamp's colour showing it).
    """
    tree = bpy.data.node_groups.new(name, TREE_IDNAME)
    build = TreeBuilder(tree)
    frame, node, link, const = build.frame, build.node, build.link, build.const

    # what the agent sees: the cue only while Step Info's Step is 0, its progress, the turn
    sees = frame("Sees", -1400, 1000)
    cue = node("AcademyPropertyNode", "Cue", -1400, 950, sees, path=CUE)
    step = node("AcademyStepInfoNode", "Episode Step", -1400, 800, sees)
    first = node("AcademyCompareNode", "First Decision", -1200, 800, sees, operation="LESS_THAN")
    link(step, "Step", first, "A")
    const(first, "B", 0.5)
    seen = node("AcademyMathNode", "Cue Seen", -1000, 950, sees, operation="MULTIPLY")
    link(cue, "Value", seen, "A")
    link(first, "Result", seen, "B")
    forward = node("AcademyPropertyNode", "Forward", -1400, 650, sees, path="location", index=1)
    progress = node("AcademyMathNode", "Progress", -1000, 700, sees, operation="MULTIPLY")
    link(forward, "Value", progress, "A")
    const(progress, "B", 1.0 / CORRIDOR)
    at_turn = node("AcademyCompareNode", "At the Turn", -1000, 500, sees, operation="GREATER_THAN")
    link(forward, "Value", at_turn, "A")
    const(at_turn, "B", CORRIDOR - 0.5)
    observe = node("AcademyObserveNode", "Observe", -750, 800, sees)
    for source, out in ((seen, "Value"), (progress, "Value"), (at_turn, "Result")):
        link(source, out, observe, "Observations")

    # how it moves: the turn (only at the end of the corridor), one cell forward, the lamp goes out
    moves = frame("Moves", -1400, 350)
    action = node("AcademyDiscreteActionNode", "Turn", -1400, 300, moves, branches="Turn: Left, Right")
    side = node("AcademySelectNode", "Turn Side", -1200, 300, moves, count=2)
    link(action, "Turn", side, "Index")
    const(side, "Option 0", -1.0)
    const(side, "Option 1", 1.0)
    only = node("AcademySwitchNode", "Only at the Turn", -1000, 300, moves)
    link(at_turn, "Result", only, "Switch")
    link(side, "Value", only, "True")
    const(only, "False", 0.0)
    write = node("AcademySetTransformNode", "Write 1 Turn", -750, 300, moves, channel="LOCATION", axis="X")
    link(only, "Output", write, "Value")
    node("AcademySetTransformNode", "Write 2 Walk", -750, 100, moves, channel="LOCATION", axis="Y", mode="ADD",
         use_clamp=True, low=0.0, high=float(CORRIDOR))  # fmt: skip
    const(tree.nodes["Write 2 Walk"], "Value", 1.0)
    lamp = node("AcademyObjectNode", "Lamp", -1000, -50, moves, source="SLOT", slot="Lamp")
    out = node("AcademySetColourNode", "Write 3 Lamp Out", -750, -100, moves, target="MATERIAL")
    link(lamp, "Object", out, "Object")
    out.inputs["Colour"].default_value = DARK

    # ends: x × cue is +1 on the goal of the cue's colour (green right, red left) and −1 on the other
    ends = frame("Ends", -1400, -300)
    across = node("AcademyPropertyNode", "Across", -1400, -350, ends, path="location", index=0)
    match = node("AcademyMathNode", "Side of the Cue", -1200, -350, ends, operation="MULTIPLY")
    link(across, "Value", match, "A")
    link(cue, "Value", match, "B")
    for i, (label, op, bound, reward, success) in enumerate(
        (("Matching Goal", "GREATER_THAN", 0.5, 1.0, True), ("Other Goal", "LESS_THAN", -0.5, -1.0, False))
    ):
        y = -350 - 200 * i
        on = node("AcademyCompareNode", f"On {label}", -1000, y, ends, operation=op)
        link(match, "Value", on, "A")
        const(on, "B", bound)
        end = node("AcademyEndEpisodeNode", f"End {i + 1} {label}", -750, y, ends, label=label, success=success,
                   reward=reward)  # fmt: skip
        link(on, "Result", end, "Condition")

    # at every reset: the cue (−1 red or +1 green) and the lamp's colour showing it
    reset = frame("New Cue at Reset", -1400, -800)
    rnd = node("AcademyRandomNode", "Random Cue", -1400, -850, reset, low=0.0, high=2.0, stream=1)
    whole = node("AcademyMathNode", "Floor Cue", -1200, -850, reset, operation="FLOOR")
    link(rnd, "Value", whole, "A")
    double = node("AcademyMathNode", "Double Cue", -1000, -850, reset, operation="MULTIPLY")
    link(whole, "Value", double, "A")
    const(double, "B", 2.0)
    sign = node("AcademyMathNode", "Cue Sign", -800, -850, reset, operation="SUBTRACT")
    link(double, "Value", sign, "A")
    const(sign, "B", 1.0)
    write = node("AcademySetPropertyNode", "Reset 1 Cue", -550, -850, reset, path=CUE, when="RESET")
    link(sign, "Value", write, "Value")
    combine = node("AcademyCombineNode", "Lamp Colour", -800, -1150, reset, count=3)
    for i, (label, op, base, scale) in enumerate((("Red", "SUBTRACT", 0.55, 0.45), ("Green", "ADD", 0.5, 0.4))):
        y = -1050 - 200 * i
        scaled = node("AcademyMathNode", f"{label} Swing", -1200, y, reset, operation="MULTIPLY")
        link(sign, "Value", scaled, "A")
        const(scaled, "B", scale)
        channel = node("AcademyMathNode", f"{label} Channel", -1000, y, reset, operation=op)
        const(channel, "A", base)
        link(scaled, "Value", channel, "B")
        link(channel, "Value", combine, combine.inputs[i].identifier)
    const(combine, combine.inputs[2].identifier, 0.15)
    lamp_reset = node("AcademyObjectNode", "Lamp (Reset)", -800, -1400, reset, label="Lamp", source="SLOT",
                      slot="Lamp")  # fmt: skip
    show = node("AcademySetColourNode", "Reset 2 Lamp", -550, -1150, reset, when="RESET", target="MATERIAL")
    link(lamp_reset, "Object", show, "Object")
    link(combine, "Vector", show, "Colour")

    # the Heuristic Brain's answer: read the hidden cue, turn right on green
    hint = frame("Heuristic", -1400, -1550)
    green = node("AcademyCompareNode", "Cue Is Green", -1200, -1600, hint, operation="GREATER_THAN")
    link(cue, "Value", green, "A")
    const(green, "B", 0.0)
    heuristic = node("AcademyHeuristicActionNode", "Heuristic", -1000, -1600, hint, size=1)
    link(green, "Result", heuristic, "Action 1")
    return tree


def _material(name: str, rgb) -> bpy.types.Material:
    mat = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    mat.diffuse_color = (*rgb, 1.0)
    return mat


def _box(name: str, sx: float, sy: float, height: float, y0: float = 0.0) -> bpy.types.Mesh:
    """A box ``sx`` × ``sy`` × ``height`` standing on z = 0, centred on (0, ``y0``)."""
    mesh = bpy.data.meshes.new(name)
    hx, hy = sx / 2, sy / 2
    verts = [(x, y0 + y, z) for x in (-hx, hx) for y in (-hy, hy) for z in (0.0, height)]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    mesh.from_pydata(verts, [], faces)
    return mesh


def build(
    scene: bpy.types.Scene | None = None, agents: int = 16, use_nodes: bool = True, use_memory: bool = True
) -> bpy.types.Scene:
    """Build Remember the Cue into ``scene`` (default: a new scene), ``agents`` corridors side by side.

    ``use_nodes``: the agents share one behaviour node tree (:func:`behaviour_tree`); else each
    stores the Python-built spec (:func:`behaviour`). ``use_memory``: the Brain's Use Memory (on:
    the settings that learn the task; off: the same Brain without memory, to compare).
    """
    if scene is None:
        scene = bpy.data.scenes.new(TREE)
    scene.frame_start, scene.frame_end, scene.frame_current = 1, 250, 1
    collection = bpy.data.collections.new(TREE)
    scene.collection.children.link(collection)
    parts_of = {  # mesh (width, length, height), colour, place in the area (the start cell is its origin)
        "Agent": ((0.6, 0.6, 0.5), (0.2, 0.4, 1.0), (0.0, 0.0, 0.1)),
        "Lamp": ((0.5, 0.5, 0.9), RED, (0.0, -1.0, 0.1)),
        "Red Goal": ((0.8, 0.8, 0.2), RED, (-1.0, float(CORRIDOR), 0.1)),
        "Green Goal": ((0.8, 0.8, 0.2), GREEN, (1.0, float(CORRIDOR), 0.1)),
    }
    meshes = {"Floor": _box("Cue Floor", 3.0, CORRIDOR + 2.0, 0.1, y0=(CORRIDOR - 1) / 2)}
    meshes["Floor"].materials.append(_material("Cue Floor", (0.3, 0.3, 0.3)))
    for name, (size, rgb, _) in parts_of.items():
        meshes[name] = _box(f"Cue {name}", *size)
        meshes[name].materials.append(_material(f"Cue {name}", rgb))

    academy = scene.academy
    academy.decision_period = 1
    academy.max_steps = MAX_STEPS
    brain = academy.brains.get(BRAIN) or academy.brains.add()
    brain.name, brain.brain_type, brain.algorithm = BRAIN, "TRAINING", "PPO"
    ppo = brain.ppo  # devtools/cue_task.py's settings (bench/bench_memory.py)
    ppo.learning_rate, ppo.num_steps, ppo.minibatch_size, ppo.hidden_units = 1e-3, 64, 256, 32
    ppo.use_memory, ppo.memory_size, ppo.sequence_length = use_memory, 32, 16
    academy.training_steps = 12_000

    spec = None if use_nodes else behaviour()
    tree = behaviour_tree() if use_nodes else None
    for i in range(agents):
        floor = bpy.data.objects.new(f"Cue Floor.{i:03d}", meshes["Floor"])
        floor.location = (i * SPACING, 0.0, -0.1)
        collection.objects.link(floor)
        objs = {}
        for name, (_, rgb, place) in parts_of.items():
            mesh = meshes[name]
            if name == "Lamp":  # its own material: the lamp's colour is each area's own cue
                mesh = mesh.copy()
                mesh.materials[0] = _material(f"Cue Lamp.{i:03d}", DARK)
            obj = bpy.data.objects.new(f"Cue {name}.{i:03d}", mesh)
            obj.parent = floor  # the agent observes its own location: cells in the area's frame
            obj.location = place
            obj.color = (*rgb, 1.0)
            collection.objects.link(obj)
            objs[name] = obj
        agent = objs["Agent"]
        agent["cue"] = 1.0
        settings = agent.academy_agent
        settings.enabled, settings.brain = True, BRAIN
        slot = settings.objects.add()
        slot.name, slot.object = "Lamp", objs["Lamp"]
        if tree is not None:
            settings.behaviour_tree = tree
        else:
            set_behaviour(agent, spec)
    return scene


def success_rate(scene: bpy.types.Scene, episodes: int = 200, seed: int = 10_000) -> float:
    """Play the scene's trained Brain (Inference, most probable action) on ``episodes`` new episodes
    drawn from ``seed``; return the fraction that reached the goal of the cue's colour.

    The Brain must hold a trained model (train it first: Train, or ``Session(...).run()`` then
    ``finish(store=True)``); its type is put back as it was.
    """
    from ..env.session import Session

    brain = scene.academy.brains[BRAIN]
    kind, brain.brain_type = brain.brain_type, "INFERENCE"
    try:
        play = Session(scene, training=False, steps=0, seed=seed, stats_window=episodes, deterministic=True).start()
        try:
            stats = play.stats[BRAIN]
            while stats.episodes < episodes:
                play.rollout(CORRIDOR + 1)
            return float(stats.success_rate)
        finally:
            play.finish(store=False)
    finally:
        brain.brain_type = kind
