"""The per-agent activity mask of ``observe``: inactive rows are not learned from and leave stats alone."""

from __future__ import annotations

import numpy as np
import pytest

from academy_pure.training import Box, Discrete, DQNConfig, PPOConfig, compute_gae, make_learner

N = 4
PPO_CFG = PPOConfig(num_steps=16, minibatch_size=16, num_epochs=2, normalize_reward=True)
DQN_CFG = DQNConfig(learning_starts=16, train_freq=4, gradient_steps=2, batch_size=8, target_update_interval=5)


def activity(steps: int, seed: int = 0) -> np.ndarray:
    """(steps, N) mask: agent 0 always real; the others end episodes and wait a few steps before reset."""
    rng = np.random.default_rng(seed)
    act = np.ones((steps, N), bool)
    for i in range(1, N):
        t = int(rng.integers(2, 6))
        while t < steps:
            gap = int(rng.integers(1, 4))
            act[t + 1 : t + 1 + gap, i] = False  # the step at t ended the episode (see drive)
            t += 1 + gap + int(rng.integers(2, 6))
    act[:, N - 1] &= np.arange(steps) % 7 != 3  # agent 3 also pauses without ending first
    return act


def drive(learner, steps: int, mask: np.ndarray | None, garbage: int | None, tell: bool = True, ends: bool = True):
    """A fixed stream of observations/rewards. Rows where ``mask`` is False carry rewards, ends and
    final observations drawn from ``garbage`` (a seed); the learner is told ``active=mask`` (with
    ``tell``; else nothing). ``mask=None``: no garbage, no ``active`` argument."""
    rng = np.random.default_rng(0)
    junk = np.random.default_rng(garbage)
    out = []
    unused = np.zeros(N, bool)  # the observation acted from is used by nobody: a gap after an end
    for t in range(steps):
        obs = rng.normal(size=(N, 3)).astype(np.float32)
        if mask is not None and garbage is not None:
            obs[unused & ~mask[t]] = junk.normal(size=(int((unused & ~mask[t]).sum()), 3)) * 100
        out.append(learner.act(obs))
        r = rng.normal(size=N)
        term = rng.random(N) < 0.05
        trunc = (rng.random(N) < 0.05) & ~term
        fin = rng.normal(size=(N, 3)).astype(np.float32)
        nxt = rng.normal(size=(N, 3)).astype(np.float32)
        if mask is not None and ends and t + 1 < steps:
            term |= mask[t] & ~mask[t + 1] & (np.arange(N) < N - 1)  # agents 1, 2 end before each gap
        if mask is not None and garbage is not None:
            dead = ~mask[t]
            r = np.where(dead, junk.normal(size=N) * 100, r)
            term = np.where(dead, junk.random(N) < 0.5, term)
            trunc = np.where(dead, junk.random(N) < 0.5, trunc) & ~term
            fin[dead] = junk.normal(size=(int(dead.sum()), 3)) * 100
        if mask is not None:
            unused = ~mask[t] | term | trunc
        kw = {"active": mask[t]} if mask is not None and tell else {}
        learner.observe(r, term, trunc, nxt, final_obs=fin, **kw)
    return np.array(out)


def weights(learner) -> list:
    return [v.clone() for v in learner.model.state_dict().values()]


def same(a: list, b: list) -> bool:
    return all(x.equal(y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(
    "algo, cfg",
    [
        ("ppo", PPO_CFG),
        ("dqn", DQN_CFG),
        ("dqn_nstep", DQN_CFG.replace(n_step=3)),
        ("dqn_per", DQN_CFG.replace(prioritized=True)),
    ],
)
def test_masked_rows_do_not_change_the_update(algo, cfg):
    steps = 64
    mask = activity(steps)
    runs = []
    for garbage in (1, 2):
        learner = make_learner(cfg, Box((3,)), Discrete(3), num_agents=N, seed=3)
        drive(learner, steps, mask, garbage)
        runs.append(learner)
    a, b = runs
    assert a.num_updates > 1
    assert same(weights(a), weights(b))
    assert a.stats == pytest.approx(b.stats, nan_ok=True)
    if algo.startswith("dqn"):
        n = len(a.replay)
        assert n == len(b.replay) and n < a.total_steps
        np.testing.assert_array_equal(a.replay.rewards[:n], b.replay.rewards[:n])
        assert np.abs(a.replay.rewards[:n]).max() < 20  # no garbage reward (scaled by 100) got in
    # the same garbage, not masked, does change the update: the checks above can fail
    told = [make_learner(cfg, Box((3,)), Discrete(3), num_agents=N, seed=3) for _ in range(2)]
    for learner, garbage in zip(told, (1, 2), strict=True):
        drive(learner, steps, mask, garbage, tell=False)
    assert not same(weights(told[0]), weights(told[1]))


@pytest.mark.parametrize(
    "cfg",
    [
        PPO_CFG,
        PPO_CFG.replace(normalize_obs=True),
        DQN_CFG,
        DQN_CFG.replace(n_step=3),
        DQN_CFG.replace(prioritized=True),
    ],
    ids=["ppo", "ppo_norm", "dqn", "dqn_nstep", "dqn_per"],
)
def test_default_equals_all_true_exactly(cfg):
    steps = 50
    none = make_learner(cfg, Box((3,)), Discrete(3), num_agents=N, seed=1)
    ones = make_learner(cfg, Box((3,)), Discrete(3), num_agents=N, seed=1)
    a_none = drive(none, steps, None, garbage=None)
    a_ones = drive(ones, steps, np.ones((steps, N), bool), garbage=None)
    np.testing.assert_array_equal(a_none, a_ones)
    assert same(weights(none), weights(ones)) and none.num_updates > 1
    assert none.stats == pytest.approx(ones.stats, nan_ok=True)
    assert none.total_steps == ones.total_steps == steps * N


def test_stats_ignore_inactive_rows():
    learner = make_learner(PPOConfig(num_steps=100), Box((1,)), Discrete(2), num_agents=2)
    obs = np.zeros((2, 1), np.float32)
    # agent 1: an episode of 2 real steps (return 2), then 3 inactive steps with huge rewards and ends
    for t in range(5):
        learner.act(obs)
        active = np.array([True, t < 2])
        learner.observe([0.0, 1.0 if t < 2 else 1e6], [False, t == 1 or t > 2], [False, False], obs, active=active)
    assert learner.stats["episodes"] == 1
    assert learner.stats["episode_return"] == 2.0 and learner.stats["episode_length"] == 2.0
    # its next active step starts a fresh episode
    learner.act(obs)
    learner.observe([0.0, 5.0], [False, True], [False, False], obs, active=[True, True])
    assert learner.stats["episodes"] == 2 and list(learner.episodes.recent_returns) == [2.0, 5.0]


def reference_gae_masked(rewards, values, dones, active, last_values, gamma, lam):
    """Per agent, per run of active steps: GAE over the run; a run that does not end in a done
    bootstraps from the value of the step after it (the observation acted from next)."""
    T, N = rewards.shape
    adv = np.zeros((T, N))
    for n in range(N):
        t = 0
        while t < T:
            if not active[t, n]:
                t += 1
                continue
            end = t
            while end + 1 < T and active[end + 1, n]:
                end += 1
            gae = 0.0
            for s in reversed(range(t, end + 1)):
                nv = last_values[n] if s == T - 1 else values[s + 1, n]
                nd = 1.0 - dones[s, n]
                delta = rewards[s, n] + gamma * nv * nd - values[s, n]
                gae = delta + gamma * lam * nd * (gae if s < end else 0.0)
                adv[s, n] = gae
            t = end + 1
    return adv


def test_gae_does_not_bootstrap_through_inactive_steps():
    rng = np.random.default_rng(0)
    T, n = 23, 5
    rewards = rng.normal(size=(T, n)).astype(np.float32)
    values = rng.normal(size=(T, n)).astype(np.float32)
    dones = rng.random((T, n)) < 0.15
    active = rng.random((T, n)) < 0.75
    last = rng.normal(size=n).astype(np.float32)
    adv, ret = compute_gae(rewards, values, dones, last, 0.99, 0.95, active)
    ref = reference_gae_masked(rewards, values, dones, active, last, 0.99, 0.95)
    np.testing.assert_allclose(adv, ref, rtol=1e-5, atol=1e-5)
    assert (adv[~active] == 0).all()
    np.testing.assert_allclose(ret, adv + values, rtol=1e-6)
    # garbage in the inactive steps' rewards and dones changes nothing
    r2, d2 = rewards.copy(), dones.copy()
    r2[~active] = 1e6
    d2[~active] = ~d2[~active]
    np.testing.assert_array_equal(compute_gae(r2, values, d2, last, 0.99, 0.95, active)[0], adv)
    # all-True is the unmasked computation exactly
    full = compute_gae(rewards, values, dones, last, 0.99, 0.95)[0]
    np.testing.assert_array_equal(compute_gae(rewards, values, dones, last, 0.99, 0.95, np.ones_like(active))[0], full)
    assert not np.allclose(full, adv)


def test_dqn_n_step_window_does_not_span_a_gap():
    cfg = DQNConfig(n_step=3, gamma=0.5, learning_starts=10_000)
    learner = make_learner(cfg, Box((1,)), Discrete(2), num_agents=1)
    active = [True, True, False, False, True, True, True]
    for t, a in enumerate(active):
        learner.act(np.array([[t]], np.float32))
        learner.observe([1.0 if a else 1e6], [False], [False], np.array([[t + 1]], np.float32), active=[a])
    rb = learner.replay
    # steps 0, 1 are flushed at the gap (ending at obs 2, the last one acted from); steps 4.. start afresh
    assert len(rb) == 3
    np.testing.assert_allclose(rb.obs["obs"][:3, 0], [0, 1, 4])
    np.testing.assert_allclose(rb.rewards[:3], [1.5, 1.0, 1.75])
    np.testing.assert_allclose(rb.next_obs["obs"][:3, 0], [2, 2, 7])
    np.testing.assert_allclose(rb.discounts[:3], [0.25, 0.5, 0.125])
    np.testing.assert_allclose(rb.dones[:3], [0, 0, 0])


def test_active_has_one_entry_per_agent():
    learner = make_learner(PPOConfig(), Box((1,)), Discrete(2), num_agents=2)
    obs = np.zeros((2, 1), np.float32)
    learner.act(obs)
    with pytest.raises(ValueError, match="active has 3 entries"):
        learner.observe([0, 0], [0, 0], [0, 0], obs, active=[True, True, False])
