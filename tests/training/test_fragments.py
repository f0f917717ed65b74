"""Rollouts collected by worker learners and learned from by the driver's (training/fragments.py)."""

from __future__ import annotations

import numpy as np
import pytest

from academy_pure.training import Box, Discrete, PPOConfig, make_learner
from academy_pure.training.fragments import ingest_fragments, load_policy, policy_arrays, take_fragment

T = 8
CFG = PPOConfig(num_steps=T, minibatch_size=16, num_epochs=2, normalize_obs=True, normalize_reward=True)


def _collect(learner, obs_steps, rng):
    """Act and observe over ``obs_steps`` (T+1 batches); episodes end at random."""
    for t in range(T):
        learner.act(obs_steps[t])
        n = learner.num_agents
        done = rng.random(n) < 0.2
        learner.observe(rng.normal(size=n), done, np.zeros(n, bool), obs_steps[t + 1])
    assert learner.update_ready


def _workers_and_driver(seed=0):
    obs_space, act_space = Box((3,)), Discrete(4)
    driver = make_learner(CFG, obs_space, act_space, num_agents=6, seed=seed, auto_update=False)
    workers = [
        make_learner(CFG, obs_space, act_space, num_agents=n, seed=10 + i, auto_update=False)
        for i, n in enumerate((2, 4))
    ]
    for w in workers:
        load_policy(w, policy_arrays(driver))
    return driver, workers


def test_the_driver_learns_from_the_workers_rollouts_side_by_side():
    driver, workers = _workers_and_driver()
    rng = np.random.default_rng(1)
    raw = (rng.normal(size=(T + 1, 6, 3)) * 5 + 2).astype(np.float32)
    parts = []
    for w, cols in zip(workers, (slice(0, 2), slice(2, 6)), strict=True):
        _collect(w, raw[:, cols], rng)
        parts.append(take_fragment(w))
        assert not w.update_ready and w._t == 0  # a new rollout starts
    ingest_fragments(driver, parts)
    assert driver.update_ready and driver.total_steps == T * 6
    np.testing.assert_array_equal(driver.buf_actions, np.concatenate([p["actions"] for p in parts], axis=1))
    np.testing.assert_array_equal(driver.buf_logp[:, 2:], parts[1]["logp"])
    np.testing.assert_array_equal(driver.last_values[:2], parts[0]["last_values"])
    # the merged normaliser is the one that saw every raw observation (T acting batches of all agents)
    seen = raw[:T].reshape(-1, 3).astype(np.float64)
    rms = driver.obs_proc.rms["obs"]
    np.testing.assert_allclose(rms.mean, seen.mean(axis=0) * len(seen) / rms.count, rtol=1e-6)
    assert rms.count == pytest.approx(1e-4 + len(seen))
    assert driver.reward_scaler.rms.count == pytest.approx(1e-4 + T * 6)
    before = {k: v.copy() for k, v in policy_arrays(driver).items() if k.startswith("model/")}
    driver.update()
    assert driver.num_updates == 1 and not driver.update_ready
    after = policy_arrays(driver)
    assert any(not np.array_equal(before[k], after[k]) for k in before)
    # the new weights and normalisers reach the workers: they act as the driver does
    probe = raw[0, :2]
    load_policy(workers[0], after)
    np.testing.assert_array_equal(workers[0].predict(probe), driver.predict(probe))


def test_ingesting_refuses_fragments_that_do_not_fill_the_batch():
    driver, workers = _workers_and_driver()
    rng = np.random.default_rng(2)
    raw = rng.normal(size=(T + 1, 2, 3)).astype(np.float32)
    _collect(workers[0], raw, rng)
    with pytest.raises(ValueError, match="fragments of 2 agents for a learner of 6"):
        ingest_fragments(driver, [take_fragment(workers[0])])
    with pytest.raises(RuntimeError, match="not full"):
        take_fragment(workers[0])
