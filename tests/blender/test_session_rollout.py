"""Session.rollout(n): whole fragments of exactly n decisions, ending at a frame boundary (issue 13.1)."""

import dataclasses
import importlib

import bpy
import numpy as np
import pytest

from devtools import boot

M = boot.MODULE
S = importlib.import_module(M + ".core.specs")
A = importlib.import_module(M + ".env.academy")
AcademyError = A.AcademyError
Session = importlib.import_module(M + ".env.session").Session
bb = importlib.import_module(M + ".examples.balance_ball")

pytestmark = pytest.mark.lts


def falling_balls(agents=2, brain_type="HEURISTIC"):
    """Balance Ball whose heuristic never tilts: balls fall, so episodes end within a rollout."""
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bb.build(bpy.context.scene, agents=agents, use_nodes=False)
    scene.academy.brains[0].brain_type = brain_type
    spec = dataclasses.replace(bb.behaviour(), heuristic=S.Const((0.0, 0.0)))
    for obj in scene.objects:
        if obj.academy_agent.enabled:
            A.set_behaviour(obj, spec)
    return scene


def _rollouts(seed: int, sizes) -> tuple[list, np.ndarray]:
    scene = falling_balls()
    session = Session(scene, training=False, steps=0, seed=seed).start()
    try:
        fragments = [session.rollout(n) for n in sizes]
        (name,) = session.brains
        return fragments, session.brain(name).last_obs.copy()
    finally:
        session.finish(store=False)


def test_rollout_collects_exactly_n_decisions_and_ends_on_the_decision_frame():
    scene = falling_balls(agents=2)
    period = scene.academy.decision_period
    session = Session(scene, training=False, steps=0, seed=4).start()
    (name,) = session.brains
    start_frame, start_decisions = scene.frame_current, session.decisions
    fragment = session.rollout(7)
    assert fragment.decisions == 7 == session.decisions - start_decisions
    assert fragment.frames == 7 * period  # whole frames, and not one past the last decision
    assert fragment.frame == scene.frame_current == start_frame + 7 * period
    assert fragment.agent_steps == fragment.brains[name].agent_steps == 2 * 7 == session.agent_steps
    assert fragment.brains[name].reward == pytest.approx(0.1 * 2 * 7)  # no ball falls this early
    more = session.rollout(300)
    assert more.decisions == 300 and more.agent_steps == 2 * 300
    assert more.brains[name].episodes == session.stats[name].episodes > 0  # the balls fell
    # every episode ended by a fall: +0.1 per decision before it, -1 on it; the running ones +0.1 per decision
    stats = session.stats[name]
    assert len(stats.recent_returns) == stats.episodes  # all of them still in the window
    ended_steps = sum(stats.recent_lengths)
    running = 2 * 307 - ended_steps
    expected = sum(stats.recent_returns) + 0.1 * running
    assert fragment.brains[name].reward + more.brains[name].reward == pytest.approx(expected)
    session.finish(store=False)
    with pytest.raises(AcademyError, match="not running"):
        session.rollout(1)


def test_the_same_seed_gives_the_same_rollout_however_it_is_cut():
    whole, obs = _rollouts(seed=5, sizes=[250])
    again, obs_again = _rollouts(seed=5, sizes=[250])
    assert whole == again
    np.testing.assert_array_equal(obs, obs_again)
    cut, obs_cut = _rollouts(seed=5, sizes=[1, 99, 150])
    assert sum(f.decisions for f in cut) == 250 and cut[-1].frame == whole[0].frame
    assert sum(f.brains["3DBall"].reward for f in cut) == pytest.approx(whole[0].brains["3DBall"].reward)
    assert sum(f.brains["3DBall"].episodes for f in cut) == whole[0].brains["3DBall"].episodes
    np.testing.assert_array_equal(obs_cut, obs)
    other, obs_other = _rollouts(seed=6, sizes=[250])
    assert not np.array_equal(obs_other, obs)


def test_a_training_rollout_ends_after_the_learning_update_it_started():
    import torch

    torch.set_num_threads(1)
    scene = bb.build(_empty(), agents=2, use_nodes=False)
    scene.academy.brains[0].brain_type = "TRAINING"
    num_steps = scene.academy.brains[0].ppo.num_steps
    session = Session(scene, training=True, steps=10_000, seed=0).start()
    try:
        for _ in range(num_steps + 2):  # one of these decisions starts the first learning update
            fragment = session.rollout(1)
            assert fragment.decisions == 1 and fragment.frame == scene.frame_current
            assert not session.update_pending  # completed before returning: the Brain acted on its decision
        assert session.update_slices > 0  # it ran in slices, between frames
    finally:
        session.finish(store=False)


def _empty():
    bpy.ops.wm.read_homefile(use_empty=True)
    return bpy.context.scene
