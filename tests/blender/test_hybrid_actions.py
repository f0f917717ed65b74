"""Hybrid actions from nodes: a Continuous Action and a Discrete Action node in one tree give an agent
both; it trains with PPO, plays, bakes and resumes; what cannot take hybrid actions says so by name."""

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
AcademyError = importlib.import_module(M + ".env.academy").AcademyError
BrainError = importlib.import_module(M + ".env.brain_store").BrainError

MAX_STEPS = 12


def dash_tree():
    """An agent on the X axis: branch "Move: Left, Right" picks the direction (-1, +1), continuous
    "Speed" in [0, 1] how far it goes each frame; the reward is the step's move. The best return is
    MAX_STEPS (Right at full speed); a random policy's is about 0, one that learned only Right (with
    its first speeds, under 0.5 on average) at most about 5."""
    tree = bpy.data.node_groups.new("Dash", "AcademyNodeTree")
    tf = tree.nodes.new("AcademyTransformNode")
    sep = tree.nodes.new("AcademySeparateNode")
    tree.links.new(tf.outputs["Location"], sep.inputs[0])
    obs = tree.nodes.new("AcademyObserveNode")
    tree.links.new(sep.outputs["X"], obs.inputs[0])
    speed = tree.nodes.new("AcademyContinuousActionNode")
    speed.size, speed.low, speed.high = 1, 0.0, 1.0
    move = tree.nodes.new("AcademyDiscreteActionNode")
    move.branches = "Move: Left, Right"
    direction = tree.nodes.new("AcademySelectNode")
    direction.inputs["Option 0"].default_value = -1.0
    direction.inputs["Option 1"].default_value = 1.0
    tree.links.new(move.outputs["Move"], direction.inputs["Index"])
    step = tree.nodes.new("AcademyMathNode")
    step.operation = "MULTIPLY"
    tree.links.new(direction.outputs[0], step.inputs["A"])
    tree.links.new(speed.outputs["Action 1"], step.inputs["B"])
    write = tree.nodes.new("AcademySetTransformNode")
    write.axis, write.mode = "X", "ADD"
    tree.links.new(step.outputs[0], write.inputs["Value"])
    reward = tree.nodes.new("AcademyRewardNode")
    tree.links.new(step.outputs[0], reward.inputs[0])
    heuristic = tree.nodes.new("AcademyHeuristicActionNode")
    heuristic.size = 2
    heuristic.inputs[0].default_value = 0.5  # half speed
    heuristic.inputs[1].default_value = 1.0  # Right
    return tree


def dash_scene(agents: int = 2, brain_type: str = "HEURISTIC", seed: int = 0):
    bpy.ops.wm.read_homefile(use_empty=True)
    tree = dash_tree()
    scene = bpy.context.scene
    scene.academy.decision_period = 1
    scene.academy.max_steps = MAX_STEPS
    scene.academy.seed = seed
    brain = scene.academy.brains.add()
    brain.name, brain.brain_type = "B", brain_type
    for i in range(agents):
        obj = bpy.data.objects.new(f"Agent{i}", None)
        scene.collection.objects.link(obj)
        obj.academy_agent.enabled, obj.academy_agent.brain = True, "B"
        obj.academy_agent.behaviour_tree = tree
    return scene


def _play(scene, frames: int) -> np.ndarray:
    session = Session(scene, training=False, steps=0).start()
    xs = []
    for _ in range(frames):
        scene.frame_set(scene.frame_current + 1)
        xs.append([o.location.x for o in scene.objects])
    assert session.error is None, session.error
    session.finish(store=False)
    return np.array(xs)


def test_both_action_nodes_make_hybrid_actions_indexed_continuous_first():
    bpy.ops.wm.read_homefile(use_empty=True)
    behaviour = nodes.compiled(dash_tree()).behaviour
    assert behaviour.actions == S.HybridActions(
        S.ContinuousActions(1, 0.0, 1.0), S.DiscreteActions((("Left", "Right"),))
    )
    slots = {e.index for w in behaviour.writes for e in S.walk(w.value) if isinstance(e, S.Action)}
    assert slots == {0, 1}  # Speed is slot 0, the Move branch slot 1
    space = brains.action_space(behaviour.actions)
    assert space.describe() == "Hybrid(1 continuous, branches [2])"


def test_a_heuristic_brain_drives_both_parts():
    """Right at half speed: every frame X grows by 0.5 (the branch's choice and the continuous value
    both reach their write)."""
    xs = _play(dash_scene(), 6)
    np.testing.assert_allclose(np.diff(xs[:, 0]), 0.5, atol=1e-6)


def test_a_second_action_node_of_one_kind_or_one_in_another_tree_names_the_node():
    bpy.ops.wm.read_homefile(use_empty=True)
    tree = dash_tree()
    extra = tree.nodes.new("AcademyDiscreteActionNode")
    problem = nodes.validate(tree, None)[0]
    assert problem[0] in ("Discrete Action", extra.name) and "one action node of each kind" in problem[1]
    tree.nodes.remove(extra)
    # the Continuous Action node inside a group: the branches would not know where they start
    inner = bpy.data.node_groups.new("Inner", "AcademyNodeTree")
    inner.nodes.new("AcademyContinuousActionNode").size = 1
    cont = tree.nodes["Continuous Action"]
    tree.nodes.remove(cont)
    tree.nodes.new("AcademyGroupNode").node_tree = inner
    problem = nodes.validate(tree, None)[0]
    assert problem[0] == "Discrete Action" and "in the same tree" in problem[1]


def _train(steps: int, seed: int, agents: int = 4, **brain_settings):
    import torch

    torch.set_num_threads(1)
    scene = dash_scene(agents, "TRAINING", seed)
    brain = scene.academy.brains["B"]
    brain.algorithm = "PPO"
    brain.ppo.num_steps, brain.ppo.learning_rate = 32, 1e-3
    for key, value in brain_settings.items():
        setattr(brain.ppo, key, value)
    session = Session(scene, training=True, steps=steps).start()
    session.run()
    assert session.error is None, session.error
    (stats,) = session.stats.values()
    session.finish(store=True)
    return scene, stats


def _learner_of(scene):
    from importlib import import_module

    store = import_module(M + ".env.brain_store")
    factory = import_module(M + ".training.factory")
    return factory.learner_from_state(store.load(store.stored_state(scene.academy.brains["B"]), "B"))


def test_a_hybrid_brain_trains_plays_bakes_and_resumes():
    """Median of three seeds well above what either part alone earns (at most about 5; random about 0); then
    the first Brain plays its model (Right at nearly full speed), bakes a take that replays the
    rollout exactly, and resumes training from its stored model where it stopped."""
    B = importlib.import_module(M + ".bake")
    runs = [_train(2400, seed) for seed in (1, 2, 0)]  # each run opens a new file: the last one's scene lives on
    returns = [stats.mean_return for _, stats in runs]
    assert np.median(returns) > 9.0, returns
    scene = runs[-1][0]
    learner = _learner_of(scene)
    assert learner.action_space.describe() == "Hybrid(1 continuous, branches [2])" and learner.num_updates > 0
    brain = scene.academy.brains["B"]
    brain.brain_type = "INFERENCE"
    xs = _play(scene, 8)
    assert (np.diff(xs, axis=0) > 0.6).all(), xs  # every agent, every frame: Right, fast
    result = B.bake(scene, "B", 1, 30, seed=3)
    assert sorted(result.objects) == ["Agent0", "Agent1", "Agent2", "Agent3"]
    assert result.max_error < 1e-4 and not result.mismatched
    assert result.matrices["Agent0"][:, 0, 3].max() > 8  # nearly 1 a frame until the episode's reset
    brain.brain_type = "TRAINING"
    before = learner.total_steps
    session = Session(scene, training=True, steps=400).start()
    session.run()
    assert session.error is None, session.error
    session.finish(store=True)
    again = _learner_of(scene)
    assert again.total_steps == before + 400 and again.num_updates > learner.num_updates


def test_what_cannot_take_hybrid_actions_names_the_brain(tmp_path):
    io = importlib.import_module(M + ".env.brain_io")
    for algorithm in ("DQN", "SAC"):
        scene = dash_scene(2, "TRAINING")
        scene.academy.brains["B"].algorithm = algorithm
        with pytest.raises(AcademyError, match=f"Brain 'B' uses {algorithm}, which cannot learn hybrid actions"):
            Session(scene, training=True, steps=10).start()
    scene = dash_scene(2, "TRAINING")
    scene.academy.brains["B"].ppo.use_memory = True
    with pytest.raises(AcademyError, match="Brain 'B': memory .* is not built for hybrid actions"):
        Session(scene, training=True, steps=10).start()
    scene, _ = _train(64, seed=0, agents=2)
    brain = scene.academy.brains["B"]
    for fmt, convention, message in (
        ("SB3", "academy", "Brain 'B': cannot export to Stable-Baselines3: the model's actions are hybrid"),
        ("ONNX", "mlagents", "Brain 'B': hybrid actions .* export in the academy convention only"),
    ):
        with pytest.raises(io.BrainIOError, match=message):
            io.export_brain(brain, tmp_path / "x", fmt=fmt, convention=convention)
    brain.brain_type = "INFERENCE"
    brain.demos.record = True
    with pytest.raises(BrainError, match="Brain 'B': Record Demonstrations is on, but demonstrations of hybrid"):
        Session(scene, training=False, steps=0).start()


def test_player_and_external_runners_fill_both_parts_and_respect_masks():
    """Player keys: indices below the continuous size are axes, the next ones the branches; external
    (gym) actions have blocked choices replaced; the continuous values pass through clipped or as given."""
    space = brains.sp.Hybrid(brains.sp.Box((1,), 0.0, 1.0), (2, 3))
    player = importlib.import_module(M + ".env.player")
    runner = brains.PlayerRunner("B", None, space, 2, [("W", 0, 0.7), ("D", 1, 1), ("E", 2, 2)])
    player.pressed.update({"W", "D", "E"})
    try:
        np.testing.assert_allclose(runner.decide(None), [[0.7, 1, 2], [0.7, 1, 2]])
        mask = np.array([[True, False, True, True, True], [True, True, True, True, False]])
        np.testing.assert_allclose(runner.decide(None, None, mask), [[0.7, 0, 2], [0.7, 1, 0]])
    finally:
        player.pressed.difference_update({"W", "D", "E"})
    with pytest.raises(BrainError, match="key Q is bound to action 3, but there are only 3"):
        brains.PlayerRunner("B", None, space, 2, [("Q", 3, 1)])
    external = brains.ExternalRunner("B", None, space, 2)
    np.testing.assert_array_equal(external.decide(None), np.zeros((2, 3), np.float32))
    external.next_actions = np.array([[0.25, 1, 2], [0.5, 1, 2]], np.float32)
    np.testing.assert_allclose(external.decide(None, None, mask), [[0.25, 0, 2], [0.5, 1, 0]])


def test_worker_processes_train_a_hybrid_brain(tmp_path):
    """Two workers fill the rollout (raw Gaussian samples and choices in one float array) and the
    driver's update learns from it; the stored model goes on from there."""
    workers = importlib.import_module(M + ".drivers.workers")
    scene = dash_scene(4, "TRAINING", 0)
    brain = scene.academy.brains["B"]
    brain.ppo.num_steps, brain.ppo.learning_rate = 32, 1e-3
    result = workers.train_workers(scene, tmp_path / "out", workers=2, steps=600, seed=0, progress=False)
    learner = _learner_of(scene)
    assert result.summary["updates"] >= 4 and learner.total_steps == result.summary["brains"]["B"]["agent_steps"]
    assert learner.action_space.describe() == "Hybrid(1 continuous, branches [2])" and learner.num_updates >= 4


def test_the_gymnasium_wrapper_refuses_hybrid_actions_by_name():
    pytest.importorskip("gymnasium")
    gym_mod = importlib.import_module(M + ".drivers.gym")
    with pytest.raises(TypeError, match=r"Hybrid\(1 continuous, branches \[2\]\): hybrid actions .* no gymnasium"):
        gym_mod.make_env(dash_scene(1, "TRAINING"), "B")
