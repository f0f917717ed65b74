"""Each Brain's statistics are its own (issue 13): a Heuristic Brain beside a Training one no longer
mixes its episodes into the Training Brain's mean reward, curve, TensorBoard run or target."""

import importlib

import bpy
import numpy as np
import pytest

from devtools import boot

M = boot.MODULE
Session = importlib.import_module(M + ".env.session").Session
bb = importlib.import_module(M + ".examples.balance_ball")
tensorboard = importlib.import_module(M + ".core.tensorboard")

pytestmark = pytest.mark.lts


def training_beside_heuristic(agents: int = 8):
    """Balance Ball: half the platforms learn (Brain '3DBall'), half balance by rule (Brain 'Rule')."""
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bb.build(bpy.context.scene, agents=agents)
    scene.academy.max_steps = 50  # the rule balances for ever: its episodes end here (return about 5)
    rule = scene.academy.brains.add()
    rule.name, rule.brain_type = "Rule", "HEURISTIC"
    for i in range(agents // 2, agents):
        scene.objects[f"Platform.{i:03d}"].academy_agent.brain = "Rule"
    return scene


def test_the_training_brain_stores_its_own_mean_reward_curve_and_tensorboard_run(tmp_path):
    import torch

    torch.set_num_threads(1)
    scene = training_beside_heuristic()
    session = Session(scene, training=True, steps=3000, seed=0, tensorboard=tmp_path).start()
    session.run()
    learner = session.brain(bb.BRAIN).learner
    mine, rule = session.stats[bb.BRAIN], session.stats["Rule"]
    session.finish(store=True)

    # the learner sees only its Brain's transitions: the same episodes, the same returns
    assert mine.episodes == learner.episodes.episodes > 0 and rule.episodes > 0
    assert session.episodes == mine.episodes + rule.episodes
    assert mine.agent_steps + rule.agent_steps == session.agent_steps
    own = list(learner.episodes.recent_returns)[-mine.window :]
    assert mine.mean_return == pytest.approx(np.mean(own))
    assert abs(mine.mean_return - rule.mean_return) > 0.1  # the rule balances better than a beginner
    brain = scene.academy.brains[bb.BRAIN]
    assert brain.mean_reward == pytest.approx(mine.mean_return)
    # the stored curve is the Brain's own, over its own agent steps
    stored = np.asarray(brain["academy_curve"]).reshape(-1, 3)
    assert np.allclose(stored, np.asarray(mine.curve, dtype=float)) and len(stored) >= 2
    assert stored[-1, 0] <= mine.agent_steps < session.agent_steps
    # one TensorBoard run per Brain, each with its own means
    for name, stats in session.stats.items():
        (events,) = (tmp_path / name).glob("events.out.tfevents.*")
        rewards = [v for _s, tag, v in tensorboard.read_scalars(events) if tag == "Environment/Cumulative Reward"]
        assert rewards == pytest.approx([p.mean_return for p in stats.curve])
    tags = {tag for _s, tag, _v in tensorboard.read_scalars(next((tmp_path / bb.BRAIN).glob("events.*")))}
    assert {"Policy/Learning Rate", "Policy/Entropy"} <= tags, tags


@pytest.mark.parametrize("rule_target", [None, 1e9])
def test_a_target_is_each_brains_own_and_only_training_brains_get_the_shared_one(rule_target):
    scene = training_beside_heuristic(agents=4)
    targets = {None: -1000.0} | ({} if rule_target is None else {"Rule": rule_target})
    session = Session(scene, training=True, steps=600, targets=targets).start()
    session.run()
    mine, rule = session.stats[bb.BRAIN], session.stats["Rule"]
    session.finish(store=False)
    # -1000 is reached at the first episode end with a full window, counted in the Brain's own steps
    assert mine.target == -1000.0 and mine.reached_at is not None and mine.reached_at.steps <= mine.agent_steps
    assert rule.target == rule_target and rule.reached_at is None and rule.episodes > 0


def test_a_target_for_a_brain_not_running_is_refused_naming_it():
    scene = training_beside_heuristic(agents=4)
    with pytest.raises(Exception, match="Brain 'Nobody'"):
        Session(scene, training=True, steps=100, targets={"Nobody": 1.0})
    assert [o.name for o in scene.objects if o.academy_agent.enabled]  # the scene is intact


def test_headless_summary_is_keyed_by_brain_and_stops_when_every_targeted_brain_reached(tmp_path):
    headless = importlib.import_module(M + ".drivers.headless")
    scene = training_beside_heuristic(agents=4)
    result = headless.train(
        scene, tmp_path, steps=3000, target_reward={bb.BRAIN: -1000.0}, stop_at_target=True, progress=False
    )
    summary = result.summary
    mine, rule = summary["brains"][bb.BRAIN], summary["brains"]["Rule"]
    assert summary["trained"] == [bb.BRAIN] and mine["type"] == "TRAINING" and rule["type"] == "HEURISTIC"
    assert mine["steps_to_target"] is not None and rule["steps_to_target"] is None and rule["target_reward"] is None
    assert summary["stopped_at_target"] and summary["agent_steps"] < 3000
    assert summary["episodes"] == mine["episodes"] + rule["episodes"]
    assert mine["mean_episode_reward"] != rule["mean_episode_reward"]
    assert sorted(p.name for p in (tmp_path / "tensorboard").iterdir()) == [bb.BRAIN, "Rule"]


def test_the_session_shows_each_brain_through_a_read_only_view():
    scene = training_beside_heuristic(agents=4)
    session = Session(scene, training=True, steps=200, stats_window=40).start()
    try:
        assert session.brains == (bb.BRAIN, "Rule") and session.trained == (bb.BRAIN,)
        mine, rule = session.brain(bb.BRAIN), session.brain("Rule")
        assert mine.agents == ("Platform.000", "Platform.001") and rule.agents == ("Platform.002", "Platform.003")
        assert mine.learner is not None and rule.learner is None
        assert mine.last_obs.shape == (2, mine.obs_space.shape[0])
        assert session.stats["Rule"].window == 40  # stats_window: at least this many episodes per mean
        with pytest.raises(AttributeError):
            mine.last_obs = None
        with pytest.raises(KeyError, match="Brain 'Nobody' is not running"):
            session.brain("Nobody")
        session.tick(600.0)
        assert set(session.learner_stats()) == {bb.BRAIN} and session.error is None
    finally:
        session.finish(store=False)
