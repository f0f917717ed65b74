"""Remember the Cue (issue 17.2): the example scene only a policy with memory solves.

The cue is observed at an episode's first decision only; the turn at the end of the corridor must
match it. With Use Memory (the shipped Brain) the greedy success on unseen episodes is ≥ 0.9 on
every seed; without memory a policy can only guess (about 0.5). The tree's equality with the
Python spec and a short training run are in test_examples.py, with the other examples.
"""

import importlib
import statistics

import bpy
import numpy as np
import pytest

from devtools import boot

M = boot.MODULE
Session = importlib.import_module(M + ".env.session").Session
cm = importlib.import_module(M + ".examples.cue_memory")
A = importlib.import_module(M + ".env.academy")

pytestmark = pytest.mark.lts


def _scene(agents: int = 16, **kwargs):
    import torch

    torch.set_num_threads(1)
    bpy.ops.wm.read_homefile(use_empty=True)
    return cm.build(bpy.context.scene, agents=agents, **kwargs)


def _trained(steps: int, seed: int, memory: bool = True, stacked: int = 1) -> float:
    scene = _scene(use_memory=memory)
    brain = scene.academy.brains[cm.BRAIN]
    brain.ppo.stacked_observations = stacked
    session = Session(scene, training=True, steps=steps, seed=seed).start()
    session.run()
    assert session.error is None
    learner = session.brain(cm.BRAIN).learner
    assert (type(learner).__name__ == "RecurrentPPOLearner") == (memory or stacked > 1)
    session.finish(store=True)
    return cm.success_rate(scene, episodes=320, seed=10_000 + seed)


def test_the_cue_is_seen_at_the_first_decision_only_and_the_lamp_shows_it():
    scene = _scene(agents=4)
    scene.academy.brains[0].brain_type = "HEURISTIC"
    session = Session(scene, training=False, steps=0, seed=3, stats_window=100).start()
    try:
        state = session.brain(cm.BRAIN)
        agents = [scene.objects[f"Cue Agent.{i:03d}"] for i in range(4)]
        lamps = [scene.objects[f"Cue Lamp.{i:03d}"] for i in range(4)]
        cues = set()
        for _ in range(6):
            for t in range(cm.CORRIDOR + 1):
                obs = state.last_obs
                cue = np.array([a["cue"] for a in agents])
                cues.update(cue.tolist())
                np.testing.assert_allclose(obs[:, 0], cue if t == 0 else 0.0)  # the cue, then nothing
                np.testing.assert_allclose(obs[:, 1], t / cm.CORRIDOR)
                np.testing.assert_allclose(obs[:, 2], float(t == cm.CORRIDOR))
                if t == 0:  # the lamp is lit in the cue's colour: red (−1) or green (+1)
                    rg = np.array([lamp.active_material.diffuse_color[:2] for lamp in lamps])
                    np.testing.assert_allclose(rg, [(cm.GREEN if c > 0 else cm.RED)[:2] for c in cue], atol=1e-6)
                session.rollout(1)
                if t == 0:
                    assert all(
                        tuple(lamp.active_material.diffuse_color[:3]) == pytest.approx(cm.DARK) for lamp in lamps
                    )
            assert state.terminated.all() and state.success.all()  # the Heuristic turns the right way
            np.testing.assert_allclose(state.rewards, 1.0)
        assert cues == {-1.0, 1.0}
        assert session.stats[cm.BRAIN].success_rate == 1.0 and session.stats[cm.BRAIN].mean_length == 5
    finally:
        session.finish()
    for obj in (*agents, *lamps):  # Play left the scene as built
        assert tuple(obj.location) == pytest.approx((0.0, 0.0 if obj in agents else -1.0, 0.1))
    assert all(tuple(lamp.active_material.diffuse_color[:3]) == pytest.approx(cm.DARK) for lamp in lamps)
    assert [a["cue"] for a in agents] == [1.0] * 4


def test_the_wrong_turn_costs_one_and_ends_the_episode():
    scene = _scene(agents=2)
    session = Session(scene, training=False, steps=0, external=[cm.BRAIN], seed=0).start()
    brain = scene.academy.brains[0]
    assert brain.brain_type == "TRAINING" and brain.ppo.use_memory  # the shipped Brain learns with memory
    try:
        state = session.brain(cm.BRAIN)
        agents = [scene.objects[f"Cue Agent.{i:03d}"] for i in range(2)]
        for _ in range(cm.CORRIDOR + 1):
            cue = np.array([a["cue"] for a in agents])
            session.step(cm.BRAIN, (cue < 0).astype(np.int64))  # always the other goal
        assert state.terminated.all() and not state.success.any()
        np.testing.assert_allclose(state.rewards, -1.0)
    finally:
        session.finish(store=False)


def test_use_memory_learns_the_cue_and_no_memory_guesses():
    """CI length (4k agent steps a run, ~7 s): a guess cannot reach 0.9 on 320 episodes of 3 seeds."""
    with_memory = [_trained(4096, seed) for seed in range(3)]
    assert min(with_memory) >= 0.9, with_memory
    without = _trained(4096, 0, memory=False)
    assert 0.3 <= without <= 0.65, without


@pytest.mark.slow
def test_memory_needed_at_full_length_on_three_seeds():
    """The shipped budget (Training Steps 12,000): Use Memory and Stacked Observations 5 (the whole
    episode) ≥ 0.9 on every seed; no memory about chance on every seed."""
    steps = 12_000
    for kind, memory, stacked in (("memory", True, 1), ("stacked", False, 5)):
        rates = [_trained(steps, seed, memory, stacked) for seed in range(3)]
        assert min(rates) >= 0.9, (kind, rates)
    rates = [_trained(steps, seed, memory=False) for seed in range(3)]
    assert max(rates) <= 0.65 and statistics.median(rates) >= 0.35, rates
