"""Hybrid actions (continuous and discrete on one agent) learned by PPO: the contract, persistence,
the numpy policy, refusals, and a task that needs both parts (short and slow full runs)."""

from __future__ import annotations

import numpy as np
import pytest

from academy_pure.training import Box, Hybrid, NumpyPolicy, PPOConfig, load_learner, make_learner

SEEDS = (0, 1, 2)
SPACE = Hybrid(Box((1,), -1.0, 1.0), (3,))


class PickAndPush:
    """Each step every agent sees a target (one-hot of 3) and a magnitude m in [-1, 1]; it must pick
    the target (discrete branch) AND push with strength m (continuous action).

    Reward 0.5 for the right choice plus 0.5 * (1 - |a - m|); every step is its own episode. A policy
    that learns only one part scores at most about 0.5 + 0.25 and fails the other part's check.
    """

    obs_space = Box((4,))
    action_space = SPACE

    def __init__(self, n: int, seed: int = 0) -> None:
        self.n = n
        self.rng = np.random.default_rng(seed)
        self._draw()

    def _draw(self) -> None:
        self.target = self.rng.integers(0, 3, self.n)
        self.m = self.rng.uniform(-1.0, 1.0, self.n).astype(np.float32)
        self.obs = np.zeros((self.n, 4), np.float32)
        self.obs[np.arange(self.n), self.target] = 1.0
        self.obs[:, 3] = self.m

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        right = actions[:, 1] == self.target
        reward = (0.5 * right + 0.5 * (1.0 - np.abs(actions[:, 0] - self.m))).astype(np.float32)
        self._draw()
        return self.obs.copy(), reward


CONFIG = PPOConfig(num_steps=32, minibatch_size=128, num_epochs=8, learning_rate=3e-3, log_std_init=-0.5)


def train(seed: int, steps: int, config: PPOConfig = CONFIG):
    env = PickAndPush(8, seed)
    learner = make_learner(config, env.obs_space, env.action_space, num_agents=8, seed=seed)
    obs = env.obs.copy()
    done = np.ones(8, bool)
    for _ in range(steps // 8):
        a = learner.act(obs)
        obs, r = env.step(a)
        learner.observe(r, done, ~done, obs)
    return learner, env


def score(policy, env: PickAndPush, rounds: int = 50) -> tuple[float, float]:
    """Greedy accuracy of the choice and mean |a - m| of the push."""
    right, err = [], []
    for _ in range(rounds):
        a = policy.predict(env.obs)
        right.append(a[:, 1] == env.target)
        err.append(np.abs(a[:, 0] - env.m))
        env.step(a)
    return float(np.mean(right)), float(np.mean(err))


HYBRID_SHORT = 6_000
HYBRID_FULL = 40_000


def test_act_predict_and_numpy_policy_contract():
    """Actions are (N, continuous + branches) float32: values within the bounds, then whole-number
    choices; the numpy policy gives the learner's deterministic actions."""
    space = Hybrid(Box((2,), -2.0, 0.5), (3, 2))
    for dist in ("clipped", "squashed"):
        cfg = PPOConfig(num_steps=8, minibatch_size=8, num_epochs=1, continuous_dist=dist)
        learner = make_learner(cfg, Box((4,)), space, num_agents=3, seed=1)
        rng = np.random.default_rng(0)
        for _ in range(17):  # two updates
            obs = rng.normal(size=(3, 4)).astype(np.float32)
            a = learner.act(obs)
            assert a.shape == (3, 4) and a.dtype == np.float32
            assert (a[:, :2] >= -2.0).all() and (a[:, :2] <= 0.5).all()
            assert set(np.unique(a[:, 2])) <= {0.0, 1.0, 2.0} and set(np.unique(a[:, 3])) <= {0.0, 1.0}
            learner.observe(rng.normal(size=3), rng.random(3) < 0.2, np.zeros(3, bool), obs)
        assert learner.num_updates == 2 and np.isfinite(learner.stats["policy_loss"])
        assert "action_std" in learner.stats
        np.testing.assert_allclose(learner.numpy_policy().act(obs), learner.predict(obs), atol=1e-5)
    # Play and Bake: the Gaussian's mean, the choices sampled (seeded)
    policy = learner.numpy_policy()
    sampled = np.array([policy.act(obs, deterministic=False, mean_continuous=True) for _ in range(30)])
    np.testing.assert_allclose(sampled[:, :, :2], np.broadcast_to(policy.act(obs)[:, :2], (30, 3, 2)), atol=1e-6)
    assert len({tuple(a[:, 2:].ravel()) for a in sampled}) > 1
    assert np.ptp(np.array([policy.act(obs, deterministic=False) for _ in range(5)])[:, :, :2], axis=0).max() > 0


def test_masks_apply_to_the_discrete_part():
    learner = make_learner(CONFIG, Box((4,)), Hybrid(Box((1,)), (3, 2)), num_agents=4)
    mask = np.ones((4, 5), bool)
    mask[:, [0, 1]] = False  # branch 0 may only take choice 2
    mask[:, 4] = False  # branch 1 only choice 0
    obs = np.zeros((4, 4), np.float32)
    for _ in range(20):
        a = learner.act(obs, action_mask=mask)
        assert (a[:, 1] == 2).all() and (a[:, 2] == 0).all()
        learner.observe(np.zeros(4), np.ones(4, bool), np.zeros(4, bool), obs)
    for policy in (learner, learner.numpy_policy()):
        a = policy.predict(obs, action_mask=mask, deterministic=False)
        assert (a[:, 1] == 2).all() and (a[:, 2] == 0).all()
    with pytest.raises(ValueError, match=r"expected \(4, 5\)"):
        learner.act(obs, action_mask=np.ones((4, 6), bool))


def test_entropy_and_log_prob_sum_both_parts():
    """Log-probability and entropy of a hybrid action are the Gaussian's plus the categoricals'."""
    import torch

    from academy_pure.training.distributions import Categoricals, Gaussian, HybridDist

    out = torch.randn(5, 2 + 5)
    log_std = torch.tensor([-0.3, 0.2])
    dist = HybridDist(2, (3, 2), squashed=False)
    a, logp = dist.sample(out, log_std, None, torch.Generator().manual_seed(0), False)
    lp, ent = dist.evaluate(out, log_std, a, None)
    lp_c, ent_c = Gaussian(False).evaluate(out[:, :2], log_std, a[:, :2])
    lp_d, ent_d = Categoricals((3, 2)).evaluate(out[:, 2:], a[:, 2:].long(), None)
    torch.testing.assert_close(lp, lp_c + lp_d)
    torch.testing.assert_close(ent, ent_c + ent_d)
    torch.testing.assert_close(logp, lp)


def test_resume_continues_exactly_and_policy_loads_without_torch_state():
    a, env = train(0, 1_000)
    b = load_learner(a.save_bytes(), obs_space=Box((4,)), action_space=SPACE)
    obs = env.obs.copy()
    done = np.ones(8, bool)
    for _ in range(40):  # across an update
        xa, xb = a.act(obs), b.act(obs)
        np.testing.assert_array_equal(xa, xb)
        obs, r = env.step(xa)
        a.observe(r, done, ~done, obs)
        b.observe(r, done, ~done, obs)
    policy = NumpyPolicy.from_bytes(b.save_bytes(include_buffers=False))
    assert policy.action_space == SPACE
    with pytest.raises(ValueError, match=r"action space: saved Hybrid\(1 continuous, branches \[3\]\)"):
        load_learner(a.save_bytes(), action_space=Hybrid(Box((2,), -1.0, 1.0), (3,)))


def test_what_cannot_take_hybrid_actions_says_so():
    from academy_pure.training import DQNConfig, SACConfig, StateError
    from academy_pure.training.persistence import pack_state, unpack_state

    with pytest.raises(TypeError, match="DQN needs a Discrete"):
        make_learner(DQNConfig(), Box((4,)), SPACE)
    with pytest.raises(TypeError, match="SAC"):
        make_learner(SACConfig(), Box((4,)), SPACE)
    for memory in ({"use_memory": True}, {"stacked_observations": 2}):
        with pytest.raises(ValueError, match="memory .* is not built for hybrid actions"):
            make_learner(PPOConfig(**memory), Box((4,)), SPACE)
    for signal in ({"curiosity_strength": 0.1}, {"gail_strength": 0.1}):
        with pytest.raises(ValueError, match="Curiosity and GAIL are not built for hybrid actions"):
            make_learner(PPOConfig(**signal), Box((4,)), SPACE)
    assert make_learner(PPOConfig(rnd_strength=0.1), Box((4,)), SPACE).signals is not None
    header, arrays = unpack_state(make_learner(CONFIG, Box((4,)), SPACE).save_bytes())
    header["algorithm"], header["config"] = "dqn", DQNConfig().to_dict()
    with pytest.raises(StateError, match="learned by PPO only"):
        NumpyPolicy.from_bytes(pack_state(header, arrays))


def test_onnx_exports_in_our_layout_only(tmp_path):
    from academy_pure.training.export import ExportError

    learner = make_learner(CONFIG, Box((4,)), SPACE)
    for convention, label in (("mlagents", "ML-Agents"), ("godot", "Godot RL Agents")):
        path = tmp_path / f"{convention}.onnx"
        with pytest.raises(ExportError, match=f"academy convention only; the {label} convention is not built"):
            learner.export_onnx(path, convention=convention)
        assert not path.exists()


def test_a_saved_rollout_with_choices_out_of_range_is_refused():
    from academy_pure.training import StateError
    from academy_pure.training.persistence import pack_state, unpack_state

    learner, _ = train(0, 100)
    header, arrays = unpack_state(learner.save_bytes())
    arrays["buffer/actions"][0, 0, 1] = 3.0  # branch of 3 choices
    with pytest.raises(StateError, match="buffer/actions' holds actions outside Hybrid"):
        load_learner(pack_state(header, arrays))
    arrays["buffer/actions"][0, 0, 1] = 0.5
    with pytest.raises(StateError, match="outside Hybrid"):
        load_learner(pack_state(header, arrays))


def test_learns_both_parts_short():
    """CI variant: chance is accuracy 1/3 and error about 0.5; median over 3 seeds."""
    got = [score(*train(seed, HYBRID_SHORT)) for seed in SEEDS]
    acc, err = np.median([g[0] for g in got]), np.median([g[1] for g in got])
    assert acc > 0.9 and err < 0.2, got


@pytest.mark.slow
def test_learns_both_parts_full():
    got = [score(*train(seed, HYBRID_FULL)) for seed in SEEDS]
    acc, err = np.median([g[0] for g in got]), np.median([g[1] for g in got])
    assert acc > 0.98 and err < 0.06, got


def test_rnd_learns_beside_hybrid_actions_and_is_saved():
    """RND is the reward signal hybrid actions take: it updates on hybrid rollouts (continuous values
    and choices in one action row) and its state survives a save."""
    config = CONFIG.replace(rnd_strength=1.0, num_steps=16, minibatch_size=64, num_epochs=2)
    learner, _env = train(0, 16 * 8 * 3, config)
    assert learner.num_updates >= 2
    assert learner.stats["rnd_reward"] > 0.0
    again = load_learner(learner.save_bytes())
    assert again.signals is not None and again.num_updates == learner.num_updates
