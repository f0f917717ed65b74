"""A PPO Brain with memory (issue 17.2): its settings build the recurrent learner, the model is stored,
and Play carries each agent's memory, clearing it when that agent's episode starts again."""

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

pytestmark = pytest.mark.lts


def _memory_balance_ball(stacked: int = 2):
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bb.build(bpy.context.scene, agents=2, use_nodes=False)
    scene.academy.max_steps = 4  # short episodes: Play meets episode ends within a few decisions
    brain = scene.academy.brains[0]
    brain.algorithm = "PPO"
    ppo = brain.ppo
    ppo.num_steps, ppo.minibatch_size, ppo.num_epochs, ppo.hidden_units = 8, 16, 1, 8
    ppo.use_memory, ppo.memory_size, ppo.sequence_length, ppo.stacked_observations = True, 6, 4, stacked
    return scene, brain


def test_memory_settings_train_store_and_play_with_memory_cleared_at_episode_starts():
    scene, brain = _memory_balance_ball()
    session = Session(scene, training=True, steps=64, seed=0).start()
    try:
        session.rollout(10)
        learner = session.brain(brain.name).learner
        assert type(learner).__name__ == "RecurrentPPOLearner" and learner.num_updates >= 1
        assert learner.memory_size == 6 and learner.stack.k == 2 and learner.model.memory.hidden_size == 6
    finally:
        session.finish(store=True)
    assert brain_store.describe_state(brain)["algorithm"] == "ppo"

    brain.brain_type = "INFERENCE"
    play = Session(scene, training=False, steps=0, seed=0).start()
    try:
        runner = play.academy.brains[brain.name].runner
        assert runner.policy.has_memory and runner.policy.memory_size == 6
        cleared = []
        reset = runner.policy.reset_memory
        runner.policy.reset_memory = lambda rows=None: (cleared.append(np.array(rows)), reset(rows))
        play.rollout(6)  # Max Episode Steps 4: both agents start a new episode once
        assert runner.policy.memory.shape == (2, 6) and np.any(runner.policy.memory != 0)
        assert cleared and all(rows.dtype == bool and rows.shape == (2,) for rows in cleared)
        assert np.logical_or.reduce(cleared).all()
    finally:
        play.finish(store=False)


def test_memory_with_self_play_is_refused_naming_the_brain():
    scene, brain = _memory_balance_ball(stacked=1)
    brain.self_play.enabled = True
    with pytest.raises(A.AcademyError, match=rf"Brain '{brain.name}' has Self-Play on and memory"):
        Session(scene, training=True, steps=64, seed=0).start()


def test_worker_processes_refuse_memory_and_gail_naming_the_brain(tmp_path, monkeypatch):
    """Neither the memory nor GAIL's demonstrations reach worker processes yet: refused before any starts."""
    workers = importlib.import_module(M + ".drivers.workers")
    scene, brain = _memory_balance_ball()
    with pytest.raises(A.AcademyError, match=rf"Brain '{brain.name}' has memory .*does not carry memory yet"):
        workers.train_workers(scene, tmp_path / "memory", workers=1, steps=100, progress=False)
    brain.ppo.use_memory, brain.ppo.stacked_observations, brain.ppo.gail_strength = False, 1, 0.5
    demos = importlib.import_module(M + ".env.demos")
    monkeypatch.setattr(demos, "attach_bc", lambda *args: None)  # the refusal comes before the demonstrations
    with pytest.raises(A.AcademyError, match=rf"Brain '{brain.name}' uses GAIL: its demonstrations do not reach"):
        workers.train_workers(scene, tmp_path / "gail", workers=1, steps=100, progress=False)
