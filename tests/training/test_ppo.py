"""PPO: the stepwise contract, seeding, split updates, and learning (short and slow full runs)."""

from __future__ import annotations

import numpy as np
import pytest

from academy_pure.training import Box, Dict, Discrete, Image, MultiDiscrete, PPOConfig, evaluate, learn, make_learner

from .helpers import DotSide, run_dot_side, sample_obs

SEEDS = (0, 1, 2)

gym = pytest.importorskip("gymnasium")

# rl-zoo's tuned CartPole-v1 PPO hyper-parameters (8 envs x 32 steps, 20 epochs, linear schedules).
CARTPOLE = PPOConfig(
    num_steps=32,
    minibatch_size=256,
    num_epochs=20,
    gamma=0.98,
    gae_lambda=0.8,
    learning_rate=1e-3,
    lr_schedule="linear",
    clip_schedule="linear",
)
# Pendulum-v1: short horizon (gamma 0.9) as in rl-zoo; without gSDE a smaller initial std and shorter
# rollouts (4 envs x 256 steps) with a linearly decaying learning rate learn reliably.
PENDULUM = PPOConfig(
    num_steps=256,
    minibatch_size=64,
    num_epochs=10,
    gamma=0.9,
    gae_lambda=0.95,
    learning_rate=1e-3,
    lr_schedule="linear",
    normalize_obs=True,
    normalize_reward=True,
    log_std_init=-0.5,
)


CARTPOLE_SHORT, PENDULUM_SHORT, DOT_SIDE_SHORT = 30_000, 60_000, 500


def vec_env(env_id: str, n: int):
    return gym.vector.SyncVectorEnv([lambda: gym.make(env_id)] * n, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)


@pytest.mark.parametrize(
    "obs_space, action_space",
    [
        (Box((4,)), Discrete(3)),
        (Box((4,)), MultiDiscrete([3, 2])),
        (Box((3,)), Box((2,), -2.0, 0.5)),
        (Dict({"cam": Image(32, 32, 3), "vec": Box((2,))}), Discrete(2)),
    ],
    ids=["discrete", "branches", "continuous", "dict"],
)
@pytest.mark.parametrize("dist", ["clipped", "squashed"])
def test_act_observe_contract(obs_space, action_space, dist):
    if dist == "squashed" and not isinstance(action_space, Box):
        pytest.skip("squashing applies to continuous actions")
    rng = np.random.default_rng(0)
    n = 3
    learner = make_learner(
        PPOConfig(num_steps=4, minibatch_size=4, num_epochs=2, continuous_dist=dist), obs_space, action_space, n
    )
    for step in range(9):
        obs = sample_obs(obs_space, n, rng)
        a = learner.act(obs)
        if isinstance(action_space, Discrete):
            assert a.shape == (n,) and a.dtype == np.int64 and a.max() < action_space.n
        elif isinstance(action_space, MultiDiscrete):
            assert a.shape == (n, 2) and a.dtype == np.int64 and (a < np.array(action_space.nvec)).all()
        else:
            assert a.shape == (n, 2) and a.dtype == np.float32
            assert (a >= -2.0).all() and (a <= 0.5).all()
        done = np.array([step % 3 == 0, False, step % 4 == 0])
        learner.observe(np.ones(n), done, np.zeros(n, bool), sample_obs(obs_space, n, rng))
    assert learner.total_steps == 27 and learner.num_updates == 2
    assert learner.stats["episodes"] == 6
    assert np.isfinite(learner.stats["policy_loss"])


def test_action_masks_are_respected():
    learner = make_learner(PPOConfig(num_steps=8), Box((2,)), MultiDiscrete([3, 2]), num_agents=16)
    mask = np.ones((16, 5), bool)
    mask[:, [0, 2]] = False  # branch 0: only action 1 allowed
    mask[:, 4] = False  # branch 1: only action 0 allowed
    for _ in range(20):
        obs = np.random.default_rng(0).normal(size=(16, 2))
        a = learner.act(obs, action_mask=mask)
        assert (a[:, 0] == 1).all() and (a[:, 1] == 0).all()
        learner.observe(np.zeros(16), np.zeros(16), np.zeros(16), obs)
    assert (learner.predict(obs, action_mask=mask)[:, 0] == 1).all()
    with pytest.raises(ValueError, match="action_mask has shape"):
        learner.act(obs, action_mask=np.ones((16, 4), bool))


def test_bad_observation_shape_is_reported():
    learner = make_learner(PPOConfig(), Box((4,)), Discrete(2), num_agents=2)
    with pytest.raises(ValueError, match=r"shape \(2, 5\), expected \(2, 4\)"):
        learner.act(np.zeros((2, 5)))


def _rollout(learner, steps: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    acts = []
    for _ in range(steps):
        obs = rng.normal(size=(2, 4)).astype(np.float32)
        acts.append(learner.act(obs))
        learner.observe(rng.normal(size=2), rng.random(2) < 0.1, np.zeros(2), obs)
    return np.array(acts)


def test_same_seed_same_results_and_learners_independent():
    cfg = PPOConfig(num_steps=16, minibatch_size=8, num_epochs=2)
    a = make_learner(cfg, Box((4,)), Discrete(3), num_agents=2, seed=7)
    b = make_learner(cfg, Box((4,)), Discrete(3), num_agents=2, seed=7)
    other = make_learner(cfg, Box((4,)), Discrete(3), num_agents=2, seed=8)
    # interleave another learner between a and b: it must not disturb their RNG streams
    ra = _rollout(a, 50)
    _rollout(other, 30)
    rb = _rollout(b, 50)
    np.testing.assert_array_equal(ra, rb)
    for (ka, va), (_, vb) in zip(a.model.state_dict().items(), b.model.state_dict().items(), strict=True):
        assert va.equal(vb), ka
    assert not np.array_equal(ra, _rollout(other, 50))


def test_split_update_matches_full_update_and_is_short():
    cfg = PPOConfig(num_steps=64, minibatch_size=32, num_epochs=4)
    full = make_learner(cfg, Box((4,)), Discrete(2), num_agents=4, seed=3)
    split = make_learner(cfg, Box((4,)), Discrete(2), num_agents=4, seed=3, auto_update=False)
    rng = np.random.default_rng(0)
    for _ in range(64):
        obs = rng.normal(size=(4, 4)).astype(np.float32)
        r = rng.normal(size=4)
        full.act(obs)
        split.act(obs)
        full.observe(r, np.zeros(4), np.zeros(4), obs)
        split.observe(r, np.zeros(4), np.zeros(4), obs)
    assert split.update_ready and full.num_updates == 1
    with pytest.raises(RuntimeError, match="update is pending"):
        split.act(obs)
    calls = 0
    while not split.update(max_minibatches=3):  # a slice at a time (the UI's frame budget), never all at once
        calls += 1
    assert calls >= 10
    assert split.num_updates == 1 and not split.update_ready
    for (k, va), (_, vb) in zip(full.model.state_dict().items(), split.model.state_dict().items(), strict=True):
        assert va.equal(vb), k


def scores(env_id: str, n_envs: int, steps: int, cfg: PPOConfig, episodes: int) -> list[float]:
    """Deterministic evaluation after training, one per seed."""
    out = []
    for seed in SEEDS:
        learner = learn(vec_env(env_id, n_envs), steps, cfg, seed=seed)
        out.append(evaluate(learner, gym.make(env_id), episodes=episodes))
    print(f"PPO {env_id}, {steps} steps: {out}")
    return out


def test_cartpole_short():
    """CI variant: median over 3 seeds far above a random policy (about 22) within CARTPOLE_SHORT steps."""
    got = scores("CartPole-v1", 8, CARTPOLE_SHORT, CARTPOLE, episodes=5)
    assert np.median(got) > 150, got


@pytest.mark.slow
def test_cartpole_full():
    got = scores("CartPole-v1", 8, 100_000, CARTPOLE, episodes=10)
    assert np.median(got) >= 475, got


def test_pendulum_short():
    """CI variant: continuous control, median over 3 seeds well beyond a random policy (about -1200)."""
    got = scores("Pendulum-v1", 4, PENDULUM_SHORT, PENDULUM, episodes=5)
    assert np.median(got) > -700, got


@pytest.mark.slow
def test_pendulum_full():
    got = scores("Pendulum-v1", 4, 300_000, PENDULUM, episodes=10)
    assert np.median(got) >= -300, got


IMAGE_CFG = PPOConfig(num_steps=32, minibatch_size=128, num_epochs=4, learning_rate=5e-4, ent_coef=0.01, gamma=0.0)


def dot_side_accuracies(steps: int) -> list[float]:
    out = []
    for seed in SEEDS:
        env = DotSide(8, seed=seed)
        learner = make_learner(IMAGE_CFG, env.obs_space, env.action_space, num_agents=8, seed=seed)
        learner.begin_run(steps * 8)
        out.append(run_dot_side(learner, env, steps))
    print(f"PPO DotSide, {steps} steps: accuracies {out}")
    return out


def test_image_task_short():
    """PPO from 32x32 pixels: which side is the dot on (chance accuracy 0.5); median of 3 seeds."""
    got = dot_side_accuracies(DOT_SIDE_SHORT)
    assert np.median(got) > 0.8, got


@pytest.mark.slow
def test_image_task_full():
    got = dot_side_accuracies(3000)
    assert np.median(got) > 0.95, got


def test_kl_early_stop_and_value_clipping():
    cfg = PPOConfig(num_steps=32, minibatch_size=16, num_epochs=10, target_kl=1e-6, clip_vloss=True, learning_rate=1e-2)
    learner = make_learner(cfg, Box((4,)), Discrete(2), num_agents=4)
    _rollout_n(learner, 32)
    assert learner.num_updates == 1
    assert learner.stats["minibatches"] < 80  # 10 epochs x 8 minibatches without the early stop
    assert np.isfinite(learner.stats["value_loss"])
    stats = learner.stats
    assert stats["early_stopped"] == 1.0 and stats["epochs"] == stats["minibatches"] / 8 < 10


def test_update_statistics_without_an_early_stop():
    cfg = PPOConfig(num_steps=32, minibatch_size=16, num_epochs=3, target_kl=0.0, max_grad_norm=0.5)
    learner = make_learner(cfg, Box((4,)), Discrete(2), num_agents=4)
    _rollout_n(learner, 32)
    stats = learner.stats
    assert stats["early_stopped"] == 0.0 and stats["epochs"] == 3.0 and stats["minibatches"] == 24
    assert stats["grad_norm"] > 0 and np.isfinite(stats["total_loss"]) and np.isfinite(stats["value_estimate"])
    assert "action_std" not in stats  # discrete actions
    unclipped = make_learner(PPOConfig(num_steps=32, minibatch_size=16, max_grad_norm=0.0), Box((4,)), Discrete(2), 4)
    _rollout_n(unclipped, 32)
    assert "grad_norm" not in unclipped.stats  # measured only by the clipping


def _rollout_n(learner, steps: int) -> None:
    rng = np.random.default_rng(0)
    n = learner.num_agents
    for _ in range(steps):
        obs = rng.normal(size=(n, 4)).astype(np.float32)
        learner.act(obs)
        learner.observe(rng.normal(size=n), rng.random(n) < 0.1, np.zeros(n), obs)


def test_learn_rejects_next_step_autoreset():
    env = gym.vector.SyncVectorEnv([lambda: gym.make("CartPole-v1")] * 2)
    with pytest.raises(ValueError, match="SAME_STEP"):
        learn(env, 10, PPOConfig())
