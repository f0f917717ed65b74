"""GAE against a per-agent reference loop; the sum tree and replay memory."""

from __future__ import annotations

import numpy as np

from academy_pure.training import compute_gae
from academy_pure.training.buffers import ReplayBuffer, SumTree
from academy_pure.training.normalize import RunningMeanStd


def reference_gae(rewards, values, dones, last_values, gamma, lam):
    T, N = rewards.shape
    adv = np.zeros((T, N))
    for n in range(N):
        gae = 0.0
        for t in reversed(range(T)):
            nv = last_values[n] if t == T - 1 else values[t + 1, n]
            nd = 1.0 - dones[t, n]
            delta = rewards[t, n] + gamma * nv * nd - values[t, n]
            gae = delta + gamma * lam * nd * gae
            adv[t, n] = gae
    return adv, adv + values


def test_gae_matches_reference():
    rng = np.random.default_rng(0)
    T, N = 17, 5
    rewards = rng.normal(size=(T, N)).astype(np.float32)
    values = rng.normal(size=(T, N)).astype(np.float32)
    dones = rng.random((T, N)) < 0.2
    last = rng.normal(size=N).astype(np.float32)
    adv, ret = compute_gae(rewards, values, dones, last, 0.99, 0.95)
    ref_adv, ref_ret = reference_gae(rewards, values, dones, last, 0.99, 0.95)
    np.testing.assert_allclose(adv, ref_adv, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ret, ref_ret, rtol=1e-5, atol=1e-5)


def test_gae_lambda_one_is_discounted_return():
    rewards = np.ones((3, 1), np.float32)
    values = np.zeros((3, 1), np.float32)
    dones = np.array([[False], [False], [True]])
    _, ret = compute_gae(rewards, values, dones, np.array([100.0], np.float32), 0.5, 1.0)
    np.testing.assert_allclose(ret[:, 0], [1.75, 1.5, 1.0])  # the done step ignores last_values


def test_running_mean_std_matches_numpy():
    rng = np.random.default_rng(1)
    data = rng.normal(3.0, 2.0, size=(1000, 3))
    rms = RunningMeanStd((3,), epsilon=0.0 + 1e-12)
    for chunk in np.split(data, 10):
        rms.update(chunk)
    np.testing.assert_allclose(rms.mean, data.mean(0), rtol=1e-6)
    np.testing.assert_allclose(rms.var, data.var(0), rtol=1e-6)


def test_sum_tree_sampling_proportional():
    tree = SumTree(5)
    tree.set(np.arange(5), np.array([1.0, 0.0, 3.0, 0.0, 6.0]))
    assert tree.total == 10.0
    np.testing.assert_array_equal(tree.find(np.array([0.5, 1.5, 3.9, 4.1, 9.99])), [0, 2, 2, 4, 4])
    tree.set(np.array([4]), np.array([1.0]))
    assert tree.total == 5.0


def test_replay_buffer_wraps_and_prioritises():
    rb = ReplayBuffer(8, {"obs": (2,)}, {"obs": np.float32}, prioritized=True)
    for i in range(3):
        obs = {"obs": np.full((4, 2), i, np.float32)}
        rb.add(obs, np.arange(4), np.ones(4), obs, np.zeros(4), np.full(4, 0.99))
    assert len(rb) == 8 and rb.pos == 4
    assert set(rb.obs["obs"][:, 0]) == {1.0, 2.0}
    rb.update_priorities(np.arange(8), np.array([0, 0, 0, 0, 0, 0, 0, 100.0]))
    idx, w = rb.sample(64, np.random.default_rng(0), beta=1.0)
    assert (idx == 7).mean() > 0.9
    assert w.max() == 1.0
