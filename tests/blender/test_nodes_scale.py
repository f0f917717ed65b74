"""Big and deep behaviour trees: compiling is linear in the nodes, shared outputs are not re-walked,
and a chain deeper than ``specs.MAX_DEPTH`` is refused on the node where it goes past the limit.

No timings: what is counted is the work (link scans, node evaluations, size computations).
"""

import importlib

import bpy
import numpy as np
import pytest

from devtools import boot
from devtools.trees import math_tree

M = boot.MODULE
S = importlib.import_module(M + ".core.specs")
expressions = importlib.import_module(M + ".core.expressions")  # where the math sizes are worked out
nodes = importlib.import_module(M + ".nodes")
compile_mod = importlib.import_module(M + ".nodes.compile")
Session = importlib.import_module(M + ".env.session").Session

pytestmark = pytest.mark.lts


@pytest.fixture(autouse=True)
def empty_file():
    bpy.ops.wm.read_homefile(use_empty=True)


def _count(monkeypatch, owner, name):
    calls = [0]
    original = getattr(owner, name)
    fget = original.fget if isinstance(original, property) else None

    def counted(*args, **kwargs):
        calls[0] += 1
        return fget(*args, **kwargs) if fget else original(*args, **kwargs)

    monkeypatch.setattr(owner, name, property(counted) if fget else counted)
    return calls


def _one_decision(tree):
    """The reward of one decision of an agent whose Heuristic Brain runs ``tree``."""
    scene = bpy.context.scene
    obj = bpy.data.objects.new("Agent", None)
    scene.collection.objects.link(obj)
    brain = scene.academy.brains.add()
    brain.name, brain.brain_type = "B", "HEURISTIC"
    obj.academy_agent.enabled, obj.academy_agent.brain, obj.academy_agent.behaviour_tree = True, "B", tree
    session = Session(scene, training=False, steps=1).start()
    session.run()
    assert session.error is None
    returns = session.brain("B").stats.episode_return.copy()
    session.finish(store=False)
    return returns


@pytest.mark.parametrize("maths", [100, 400])
def test_a_wide_tree_compiles_in_one_pass_over_its_links(monkeypatch, maths):
    """Blender's ``socket.links`` scans every link of the tree: reading it per input made compiling O(n²)."""
    tree, made = math_tree(maths, "fan")
    link_scans = _count(monkeypatch, bpy.types.NodeSocket, "links")
    evaluations = _count(monkeypatch, compile_mod.Compiler, "_evaluate")
    behaviour = compile_mod.compile_tree(tree).behaviour
    assert behaviour.observation_size == 3 + maths
    assert link_scans[0] == 0
    assert evaluations[0] == maths + 1  # each Math node and the Transform node, once


def test_shared_outputs_are_walked_once(monkeypatch):
    """60 nodes each reading the previous one twice: 2**60 paths, but 60 sizes to work out, and it runs."""
    tree, _ = math_tree(60, "diamond")
    broadcasts = _count(monkeypatch, expressions, "_broadcast")
    compiled = compile_mod.compile_tree(tree)
    assert 0 < broadcasts[0] <= 60 * 2
    assert sum(1 for _ in S.walk(compiled.behaviour.rewards[0].value)) == 60 + 2  # 60 Binary, 2 Const leaves
    assert np.allclose(_one_decision(tree), 2.0**59)  # M0 = 0 + 1, each next one doubles it


def test_a_chain_at_the_depth_limit_compiles_and_runs_and_one_more_is_refused_on_its_node():
    limit = S.MAX_DEPTH
    tree, made = math_tree(limit - 1, "chain")  # each Math adds a level above its constant leaf
    behaviour = compile_mod.compile_tree(tree).behaviour
    assert behaviour.rewards[0].value.depth == limit
    assert np.allclose(_one_decision(tree), limit - 1)  # 0 + 1 + 1 + ...

    extra = tree.nodes.new("AcademyMathNode")
    extra.name = "One Too Many"
    tree.links.new(made[-1].outputs[0], extra.inputs["A"])
    tree.links.new(extra.outputs[0], tree.nodes["Reward"].inputs[0])
    errors = nodes.validate(tree)
    assert errors == [("One Too Many", f"output 'Value' is more than {limit} operations deep; simplify the chain")]
