"""Behaviour trees of any size, for the scale tests and ``bench/bench_compile.py`` (needs bpy)."""

from importlib import import_module

import bpy

from devtools import boot


def math_tree(maths: int, shape: str):
    """Observe Self's location, one action, and ``maths`` Math nodes wired as ``shape``:
    "fan" (each into Observe), "chain" (each into the next's A; the last is the reward) or
    "diamond" (each into both A and B of the next: 2**maths paths through the tree)."""
    tree = bpy.data.node_groups.new(shape, import_module(f"{boot.MODULE}.core.names").TREE_IDNAME)
    tf = tree.nodes.new("AcademyTransformNode")
    obs = tree.nodes.new("AcademyObserveNode")
    tree.links.new(tf.outputs["Location"], obs.inputs[0])
    act = tree.nodes.new("AcademyContinuousActionNode")
    tree.nodes.new("AcademyHeuristicActionNode").size = act.size  # acts as a Heuristic Brain: zeros
    reward = tree.nodes.new("AcademyRewardNode")
    made, prev = [], None
    for i in range(maths):
        m = tree.nodes.new("AcademyMathNode")
        m.name = f"M{i}"
        m.inputs["B"].default_value = 1.0
        if shape == "fan":
            tree.links.new(m.outputs[0], obs.inputs[0])
        elif prev is not None:
            tree.links.new(prev.outputs[0], m.inputs["A"])
            if shape == "diamond":
                tree.links.new(prev.outputs[0], m.inputs["B"])
        made.append(m)
        prev = m
    if shape != "fan":
        tree.links.new(prev.outputs[0], reward.inputs[0])
    return tree, made
