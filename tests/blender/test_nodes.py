"""The behaviour node tree: sockets, nodes, compiling into specs, validation, groups, parity with Python specs."""

import importlib

import bpy
import pytest

from devtools import boot

M = boot.MODULE
S = importlib.import_module(M + ".env.specs")
bb = importlib.import_module(M + ".examples.balance_ball")
nodes = importlib.import_module(M + ".nodes")
Session = importlib.import_module(M + ".env.session").Session

pytestmark = pytest.mark.lts


def balance_ball(agents=2, use_nodes=True, brain_type="HEURISTIC"):
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bb.build(bpy.context.scene, agents=agents, use_nodes=use_nodes)
    scene.academy.brains[0].brain_type = brain_type
    return scene


def test_balance_ball_tree_compiles_to_the_python_spec():
    scene = balance_ball()
    tree = bpy.data.node_groups["Balance Ball"]
    compiled = nodes.compiled(tree).behaviour
    python = bb.behaviour()
    for part in ("observations", "actions", "writes", "rewards", "ends", "on_reset", "heuristic", "cameras"):
        assert getattr(compiled, part) == getattr(python, part), part
    assert compiled == python
    platforms = [o for o in scene.objects if o.academy_agent.enabled]
    assert all(p.academy_agent.behaviour_tree == tree for p in platforms)
