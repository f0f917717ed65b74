"""DQN: epsilon-greedy contract, masks, n-step and prioritised replay, learning CartPole."""

from __future__ import annotations

import numpy as np
import pytest

from academy_pure.training import Box, Discrete, DQNConfig, MultiDiscrete, evaluate, learn, make_learner

from .helpers import goal_grid_scores

gym = pytest.importorskip("gymnasium")

# rl-zoo's tuned CartPole-v1 DQN (SB3's target_update_interval=10 env steps with train_freq=256
# means one target sync per learning phase: 128 gradient steps here).
CARTPOLE = DQNConfig(
    learning_rate=2.3e-3,
    batch_size=64,
    buffer_size=100_000,
    learning_starts=1000,
    gamma=0.99,
    target_update_interval=128,
    train_freq=256,
    gradient_steps=128,
    exploration_fraction=0.16,
    exploration_final_eps=0.04,
    hidden_units=256,
)


def test_epsilon_greedy_contract_and_masks():
    cfg = DQNConfig(learning_starts=10, train_freq=4, batch_size=8, exploration_fraction=0.5)
    learner = make_learner(cfg, Box((3,)), Discrete(4), num_agents=5, seed=0)
    learner.begin_run(200)
    rng = np.random.default_rng(0)
    mask = np.ones((5, 4), bool)
    mask[:, 0] = False
    for _ in range(60):
        obs = rng.normal(size=(5, 3)).astype(np.float32)
        a = learner.act(obs, action_mask=mask)
        assert a.shape == (5,) and a.dtype == np.int64 and (a != 0).all()
        learner.observe(rng.normal(size=5), rng.random(5) < 0.1, np.zeros(5), obs)
    assert learner.epsilon == pytest.approx(cfg.exploration_final_eps)
    assert learner.num_updates > 0 and np.isfinite(learner.stats["loss"])
    assert (learner.predict(obs, action_mask=mask) != 0).all()


def test_rejects_non_discrete_actions():
    with pytest.raises(TypeError, match="Discrete"):
        make_learner(DQNConfig(), Box((3,)), MultiDiscrete([2, 2]))


def test_n_step_returns_are_discounted_sums():
    cfg = DQNConfig(n_step=3, gamma=0.5, learning_starts=10_000)
    learner = make_learner(cfg, Box((1,)), Discrete(2), num_agents=1)
    for t in range(5):
        learner.act(np.array([[t]], np.float32))
        nxt = np.array([[99.0 if t == 4 else t + 1]], np.float32)  # after the end: the reset obs
        learner.observe([1.0], [t == 4], [False], nxt, final_obs=np.array([[t + 1]], np.float32))
    rb = learner.replay
    assert len(rb) == 5
    np.testing.assert_allclose(rb.obs["obs"][:5, 0], [0, 1, 2, 3, 4])
    np.testing.assert_allclose(rb.rewards[:5], [1.75, 1.75, 1.75, 1.5, 1.0])
    np.testing.assert_allclose(rb.discounts[:5], [0.125, 0.125, 0.125, 0.25, 0.5])
    np.testing.assert_allclose(rb.next_obs["obs"][:5, 0], [3, 4, 5, 5, 5])
    np.testing.assert_allclose(rb.dones[:5], [0, 0, 1, 1, 1])


def test_split_update():
    cfg = DQNConfig(learning_starts=8, train_freq=8, gradient_steps=10, batch_size=4)
    learner = make_learner(cfg, Box((2,)), Discrete(2), num_agents=8, auto_update=False)
    obs = np.zeros((8, 2), np.float32)
    learner.act(obs)
    learner.observe(np.ones(8), np.zeros(8), np.zeros(8), obs)
    assert learner.update_ready
    assert learner.update(max_minibatches=4) is False
    assert learner.update(max_minibatches=4) is False
    assert learner.update(max_minibatches=4) is True
    assert learner.gradient_steps_done == 10 and learner.num_updates == 1


# The soft update uses SB3's usual rate: with 0.05 per gradient step CartPole scored [500, 36.8, 13.8]
# on seeds 0-2 (the single seed 0 the old test used happened to pass) and the goal grid [0.48, 0.63, 0.42].
OPTIONS = [{"n_step": 3}, {"prioritized": True}, {"tau": 0.005, "target_update_interval": 1, "double_dqn": False}]
SEEDS = (0, 1, 2)


@pytest.mark.parametrize("options", OPTIONS, ids=["n_step", "prioritized", "soft_target"])
def test_options_learn_short(options):
    """CI variant of each option: DQN's defaults with the option learn the goal grid (16 agents).
    Median over 3 seeds of the greedy return, measured from a random policy (0) to optimal (1)."""
    scores = goal_grid_scores(DQNConfig(**options), SEEDS, steps=8_000)
    assert np.median(scores) > 0.8, scores


@pytest.mark.slow
@pytest.mark.parametrize("options", OPTIONS, ids=["n_step", "prioritized", "soft_target"])
def test_cartpole_options(options):
    """Each option on rl-zoo's CartPole config (tuned without them): median evaluation over 3 seeds
    above 3x a random policy (about 22) in 30k steps. Measured: n_step [118, 500, 500], prioritized
    [500, 183, 16], soft target [107, 500, 79]; the options are checked for learning on the grid above."""
    scores = []
    for seed in SEEDS:
        learner = learn(gym.make("CartPole-v1"), 30_000, CARTPOLE.replace(**options), seed=seed)
        scores.append(evaluate(learner, gym.make("CartPole-v1"), episodes=5))
    print(f"DQN CartPole {options}: {scores}")
    assert np.median(scores) > 75, scores


def train_with_evals(seed: int, steps: int = 100_000, every: int = 10_000) -> tuple[float, float]:
    """Train on CartPole, evaluating (10 greedy episodes) every ``every`` steps like rl-zoo's
    EvalCallback; returns (best evaluation within the budget, evaluation at the end)."""
    evals: list[float] = []

    def callback(learner) -> None:
        if learner.total_steps % every == 0:
            evals.append(evaluate(learner, gym.make("CartPole-v1"), episodes=10))

    learn(gym.make("CartPole-v1"), steps, CARTPOLE, seed=seed, callback=callback)
    return max(evals), evals[-1]


@pytest.mark.slow
def test_cartpole_full():
    """Target: mean return >= 475 reached within 100k steps by at least 2 of 3 seeds (the median)."""
    results = {seed: train_with_evals(seed) for seed in SEEDS}
    for seed, (best, final) in results.items():
        print(f"DQN CartPole seed {seed}: best eval within 100k {best:.1f}, final eval {final:.1f}")
    assert np.median([best for best, _ in results.values()]) >= 475, results
