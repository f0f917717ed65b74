"""Action Mask nodes: a masked choice is never taken (Training, Inference, Heuristic, Player, gym), the
learner learns with the mask, and a mask that names nothing or disables a whole branch names its node."""

import importlib

import bpy
import numpy as np
import pytest

from devtools import boot

M = boot.MODULE
S = importlib.import_module(M + ".core.specs")
nodes = importlib.import_module(M + ".nodes")
Session = importlib.import_module(M + ".env.session").Session
brains = importlib.import_module(M + ".env.brains")

pytestmark = pytest.mark.lts

LIMIT = 2.0  # Right is allowed while x < LIMIT, Left while x > -LIMIT


def walker_tree(mask: bool = True, reward_right: bool = False):
    """One agent walks along X: "Move: Left, Stay, Right" adds -1, 0, +1 each frame; it observes its X.
    With ``mask``: Right only while x < LIMIT, Left only while x > -LIMIT. The reward is the step's
    move (+1 Right, -1 Left), or with ``reward_right`` only 1 for Right."""
    tree = bpy.data.node_groups.new("Walker", "AcademyNodeTree")
    tf = tree.nodes.new("AcademyTransformNode")
    sep = tree.nodes.new("AcademySeparateNode")
    tree.links.new(tf.outputs["Location"], sep.inputs[0])
    obs = tree.nodes.new("AcademyObserveNode")
    tree.links.new(sep.outputs["X"], obs.inputs[0])
    act = tree.nodes.new("AcademyDiscreteActionNode")
    act.branches = "Move: Left, Stay, Right"
    select = tree.nodes.new("AcademySelectNode")
    for i, v in enumerate((-1.0, 0.0, 1.0)):
        select.inputs[f"Option {i}"].default_value = v
    tree.links.new(act.outputs["Move"], select.inputs["Index"])
    move = tree.nodes.new("AcademySetTransformNode")
    move.axis, move.mode = "X", "ADD"
    tree.links.new(select.outputs[0], move.inputs["Value"])
    reward = tree.nodes.new("AcademyRewardNode")
    if reward_right:
        pay = tree.nodes.new("AcademySelectNode")
        for i, v in enumerate((0.0, 0.0, 1.0)):
            pay.inputs[f"Option {i}"].default_value = v
        tree.links.new(act.outputs["Move"], pay.inputs["Index"])
        tree.links.new(pay.outputs[0], reward.inputs[0])
    else:
        tree.links.new(select.outputs[0], reward.inputs[0])
    if mask:
        for choice, op in (("Right", "LESS_THAN"), ("Left", "GREATER_THAN")):
            cmp = tree.nodes.new("AcademyCompareNode")
            cmp.operation = op
            cmp.inputs["B"].default_value = LIMIT if choice == "Right" else -LIMIT
            tree.links.new(sep.outputs["X"], cmp.inputs["A"])
            node = tree.nodes.new("AcademyActionMaskNode")
            node.name = f"Mask {choice}"
            node.branch, node.choice = "Move", choice
            tree.links.new(cmp.outputs[0], node.inputs["Enabled"])
    heuristic = tree.nodes.new("AcademyHeuristicActionNode")
    heuristic.size = 1
    heuristic.inputs[0].default_value = 2.0  # always Right
    return tree


def walker_scene(agents: int = 2, brain_type: str = "HEURISTIC", seed: int = 0, **tree_kwargs):
    """An empty file with ``agents`` walkers (the walker tree) of one Brain "B"."""
    bpy.ops.wm.read_homefile(use_empty=True)
    tree = walker_tree(**tree_kwargs)
    scene = bpy.context.scene
    scene.academy.decision_period = 1
    scene.academy.max_steps = 12
    scene.academy.seed = seed
    brain = scene.academy.brains.add()
    brain.name, brain.brain_type = "B", brain_type
    for i in range(agents):
        obj = bpy.data.objects.new(f"Agent{i}", None)
        scene.collection.objects.link(obj)
        obj.academy_agent.enabled, obj.academy_agent.brain = True, "B"
        obj.academy_agent.behaviour_tree = tree
    return scene


def _recording(session):
    """Wrap the Brain's runner: every decision's (mask, actions)."""
    state = session.academy.brains["B"]
    seen = []
    decide = state.runner.decide

    def recorded(obs, heuristic=None, mask=None):
        actions = decide(obs, heuristic, mask)
        seen.append((None if mask is None else mask.copy(), np.asarray(actions).reshape(len(actions), -1).copy()))
        return actions

    state.runner.decide = recorded
    return seen


def _never_masked(seen) -> int:
    """Assert no decision took a masked choice; the number of decisions where a mask blocked something."""
    blocking = 0
    for mask, actions in seen:
        assert mask is not None
        rows = np.arange(len(actions))
        assert mask[rows, actions[:, 0]].all(), (mask, actions)
        blocking += int((~mask).any())
    return blocking


def _play(scene, frames: int):
    session = Session(scene, training=False, steps=0).start()
    seen = _recording(session)
    xs = []
    for _ in range(frames):
        scene.frame_set(scene.frame_current + 1)
        xs.append([o.location.x for o in scene.objects])
    assert session.error is None, session.error
    session.finish(store=False)
    return seen, np.array(xs)


def test_the_tree_compiles_its_masks_by_branch_and_choice_names():
    bpy.ops.wm.read_homefile(use_empty=True)
    tree = walker_tree()
    masks = nodes.compiled(tree).behaviour.masks
    assert [(m.name, m.branch, m.choice) for m in masks] == [("Mask Left", 0, 0), ("Mask Right", 0, 2)]
    again = S.Behaviour.from_json(nodes.compiled(tree).behaviour.to_json())
    assert again.masks == masks


def test_a_heuristic_brain_never_takes_a_masked_choice():
    """Always Right: past the limit Right is masked, so the agent steps back (the first enabled
    choice, Left) and never goes beyond LIMIT; without the mask it walks on."""
    seen, xs = _play(walker_scene(), 10)
    assert _never_masked(seen) > 0
    assert xs.max() <= LIMIT + 1
    _, free = _play(walker_scene(mask=False), 10)
    assert free.max() > LIMIT + 1


def test_a_player_brain_never_takes_a_masked_choice():
    runner = brains.PlayerRunner("B", None, brains.sp.Discrete(3), 2, [("D", 0, 2)])
    player = importlib.import_module(M + ".env.player")
    player.pressed.add("D")
    try:
        mask = np.array([[True, True, False], [True, True, True]])
        np.testing.assert_array_equal(runner.decide(None, None, mask), [0, 2])
    finally:
        player.pressed.discard("D")


def test_external_actions_that_a_mask_blocks_are_replaced_and_the_mask_is_shown():
    runner = brains.ExternalRunner("B", None, brains.sp.MultiDiscrete([3, 2]), 2)
    runner.next_actions = np.array([[2, 1], [2, 1]])
    mask = np.array([[True, True, False, True, False], [False, True, True, True, True]])
    np.testing.assert_array_equal(runner.decide(None, None, mask), [[0, 0], [2, 1]])
    assert runner.last_mask is mask


def _train(tree_kwargs, steps: int, seed: int, agents: int = 4, fast: bool = False):
    import torch

    torch.set_num_threads(1)
    scene = walker_scene(agents, "TRAINING", seed, **tree_kwargs)
    brain = scene.academy.brains["B"]
    brain.algorithm = "PPO"
    if fast:  # many small updates: learns walking Right within a short run
        brain.ppo.num_steps, brain.ppo.learning_rate = 32, 1e-3
    session = Session(scene, training=True, steps=steps).start()
    seen = _recording(session)
    session.run()
    assert session.error is None, session.error
    (stats,) = session.stats.values()
    session.finish(store=True)
    return scene, seen, stats


def test_training_and_inference_never_take_a_masked_choice():
    scene, seen, _ = _train({}, 600, seed=1)
    assert len(seen) > 100
    assert _never_masked(seen) > 0
    brain = scene.academy.brains["B"]
    brain.brain_type = "INFERENCE"
    brain.deterministic = False  # sampled: a masked choice would come up now and then
    seen, xs = _play(scene, 30)
    assert _never_masked(seen) > 0
    assert np.abs(xs).max() <= LIMIT + 1


def test_learning_with_the_mask_differs_from_without():
    """Only Right pays. Masked past LIMIT, an agent earns at most LIMIT Rights and then one for every
    step back, so its mean return is bounded whatever it learns; unmasked, PPO learns to walk Right
    beyond that bound (a random policy earns a third of the steps, below it). Median of three seeds."""
    steps = 12  # max_steps of walker_scene
    bound = LIMIT + (steps - LIMIT) / 2
    assert steps / 3 < bound < steps
    free, masked = [], []
    for seed in range(3):
        _, seen, stats = _train({"mask": False, "reward_right": True}, 2400, seed, fast=True)
        assert all(m is None for m, _ in seen)
        free.append(stats.mean_return)
        _, seen, stats = _train({"reward_right": True}, 2400, seed, fast=True)
        assert _never_masked(seen) > 0
        masked.append(stats.mean_return)
    assert max(masked) <= bound + 1e-9, masked
    assert np.median(free) > bound, free


def test_masks_naming_nothing_or_everything_name_their_node():
    bpy.ops.wm.read_homefile(use_empty=True)
    tree = walker_tree()
    tree.nodes["Mask Right"].choice = "Jump"
    problem = nodes.validate(tree, None)[0]
    assert problem[0] == "Mask Right" and "no choice 'Jump'" in problem[1] and "Left, Stay, Right" in problem[1]
    tree.nodes["Mask Right"].choice = "Right"
    tree.nodes["Mask Right"].branch = "Fly"
    problem = nodes.validate(tree, None)[0]
    assert problem[0] == "Mask Right" and "branch 'Fly' does not exist" in problem[1]
    tree.nodes["Mask Right"].branch = "Move"
    assert not nodes.validate(tree, None)
    # every choice off, constant: refused when compiling
    for choice in ("Left", "Stay", "Right"):
        node = tree.nodes.new("AcademyActionMaskNode")
        node.name, node.choice = f"Off {choice}", choice
        node.inputs["Enabled"].default_value = False
    problem = nodes.validate(tree, None)[0]
    assert "disable every choice" in problem[1] and "Off Stay" in problem[1]


def test_a_mask_that_disables_a_whole_branch_at_a_decision_names_the_agent_and_masks():
    scene = walker_scene(agents=1)
    tree = bpy.data.node_groups["Walker"]
    node = tree.nodes.new("AcademyActionMaskNode")
    node.name, node.choice = "Never Stay", "Stay"
    node.inputs["Enabled"].default_value = False
    # Left needs x > LIMIT + 5 too: at x = 0 Right is the only choice; after it Right too is blocked once past LIMIT
    tree.nodes["Mask Left"].inputs["Enabled"].default_value = False
    tree.links.remove(tree.nodes["Mask Left"].inputs["Enabled"].links[0])
    session = Session(scene, training=False, steps=0).start()
    for _ in range(6):
        scene.frame_set(scene.frame_current + 1)
    assert session.error is not None
    message = str(session.error)
    assert "Agent0" in message and "Mask Left" in message and "Never Stay" in message and "Mask Right" in message
    session.finish(store=False)


def test_a_mask_on_continuous_actions_names_its_node():
    bpy.ops.wm.read_homefile(use_empty=True)
    tree = bpy.data.node_groups.new("C", "AcademyNodeTree")
    tf = tree.nodes.new("AcademyTransformNode")
    obs = tree.nodes.new("AcademyObserveNode")
    tree.links.new(tf.outputs["Location"], obs.inputs[0])
    tree.nodes.new("AcademyContinuousActionNode").size = 1
    tree.nodes.new("AcademyRewardNode")
    node = tree.nodes.new("AcademyActionMaskNode")
    node.choice = "0"
    problem = nodes.validate(tree, None)[0]
    assert problem[0] == node.name and "only discrete actions" in problem[1]


def test_a_mask_inside_a_group_is_named_by_its_path():
    bpy.ops.wm.read_homefile(use_empty=True)
    tree = walker_tree()
    inner = bpy.data.node_groups.new("Inner", "AcademyNodeTree")
    node = inner.nodes.new("AcademyActionMaskNode")
    node.name, node.choice = "Deep Mask", "Jump"
    group = tree.nodes.new("AcademyGroupNode")
    group.name, group.node_tree = "Group", inner
    problem = nodes.validate(tree, None)[0]
    assert problem[0] == "Group > Deep Mask" and "no choice 'Jump'" in problem[1]
    node.choice = "Stay"
    assert [m.name for m in nodes.compiled(tree).behaviour.masks][-1] == "Group > Deep Mask"
