"""A Brain set to SAC trains a continuous scene through a Session, stores its model and plays it back."""

import importlib

import bpy
import numpy as np
import pytest

from devtools import boot

M = boot.MODULE
A = importlib.import_module(M + ".env.academy")
brain_store = importlib.import_module(M + ".env.brain_store")
Session = importlib.import_module(M + ".env.session").Session
bb = importlib.import_module(M + ".examples.balance_ball")
grid = importlib.import_module(M + ".examples.grid_world")

pytestmark = pytest.mark.lts


def _sac_balance_ball(agents: int = 2):
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bb.build(bpy.context.scene, agents=agents, use_nodes=False)
    brain = scene.academy.brains[0]
    brain.algorithm = "SAC"
    sac = brain.sac
    sac.learning_starts, sac.batch_size, sac.hidden_units = 40, 16, 16  # a few cheap updates
    return scene, brain


def test_a_sac_brain_trains_stores_and_resumes_its_model():
    scene, brain = _sac_balance_ball()
    session = Session(scene, training=True, steps=200, seed=0).start()
    try:
        session.rollout(60)  # 120 agent steps: learning starts at 40
        learner = session.brain(brain.name).learner
        assert learner.algorithm == "sac" and learner.gradient_steps_done > 0
        stats = session.learner_stats()[brain.name]
        assert {"critic_loss", "actor_loss", "ent_coef", "q_value"} <= set(stats)
    finally:
        session.finish(store=True)
    described = brain_store.describe_state(brain)
    assert described["algorithm"] == "sac" and brain.trained_steps == 120
    stored = brain_store.stored_state(brain)

    again = Session(scene, training=True, steps=200, seed=0).start()
    try:
        resumed = again.brain(brain.name).learner
        assert resumed.total_steps == 120  # resumed from the stored model, not a fresh one
        first = learner.model.state_dict()
        for k, v in resumed.model.state_dict().items():
            assert v.equal(first[k]), k
    finally:
        again.finish(store=False)
    assert brain_store.stored_state(brain) == stored

    brain.brain_type = "INFERENCE"  # plays the stored model (numpy forward pass), actions within the bounds
    play = Session(scene, training=False, steps=0, seed=0).start()
    try:
        play.rollout(5)
        assert play.agent_steps == 10
    finally:
        play.finish(store=False)


def test_sac_on_discrete_actions_is_refused_naming_the_brain():
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = grid.build(bpy.context.scene, agents=2, algorithm="SAC")
    with pytest.raises(A.AcademyError, match=r"Brain '.*' uses SAC, which needs continuous actions"):
        Session(scene, training=True, steps=100, seed=0).start()


def test_sac_settings_reach_the_learner():
    scene, brain = _sac_balance_ball()
    brain.sac.tau, brain.sac.auto_entropy = 0.25, False
    config = brain.config()
    assert type(config).__name__ == "SACConfig" and config.tau == 0.25 and config.auto_entropy is False
    assert np.isclose(config.learning_rate, 3e-4)


def _steps_to_100(seed: int, budget: int) -> int | None:
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bb.build(bpy.context.scene)  # the example: 12 agents
    brain = scene.academy.brains[0]
    brain.algorithm, brain.sac.hidden_units = "SAC", 64  # bench/bench_sac.py's settings
    session = Session(scene, training=True, steps=budget, seed=seed).start()
    (stats,) = session.stats.values()
    try:
        while session.tick(0.5):
            if stats.full and stats.mean_return >= 100.0 - 1e-6:
                return stats.agent_steps
        return None
    finally:
        session.finish(store=False)


@pytest.mark.slow
def test_sac_balances_the_ball_in_under_half_ppos_steps():
    """Issue 17.1's goal: mean reward 100 in at most half the 42k agent steps PPO takes (bench/results/sac.md).

    A 12-agent window of perfect 1000-decision episodes needs 12k agent steps at the least, so the
    goal leaves SAC about 9k agent steps to learn; median of 3 seeds (an unreached run counts as never).
    """
    reached = [_steps_to_100(seed, 21_000) for seed in range(3)]
    assert np.median([r if r is not None else np.inf for r in reached]) <= 21_000, reached
