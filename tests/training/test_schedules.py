"""One training budget: schedules decay over the run being trained (``begin_run``), saved with the learner."""

from __future__ import annotations

import io

import numpy as np
import pytest

from academy_pure.training import Box, Discrete, DQNConfig, PPOConfig, config_from_dict, load_learner, make_learner
from academy_pure.training.learner import DEFAULT_RUN_STEPS
from academy_pure.training.persistence import pack_state, unpack_state


def drive(learner, steps: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    n = learner.num_agents
    for _ in range(steps):
        obs = rng.normal(size=(n, 3)).astype(np.float32)
        learner.act(obs)
        learner.observe(rng.normal(size=n), rng.random(n) < 0.1, np.zeros(n), obs)


def test_max_steps_is_gone_but_old_configs_still_read():
    for cls in (PPOConfig, DQNConfig):
        assert "max_steps" not in cls().to_dict()
        old = {**cls().to_dict(), "max_steps": 1_000_000, "learning_rate": 0.5}
        assert cls.from_dict(old) == cls(learning_rate=0.5)
        with pytest.raises(ValueError, match="unknown .* fields: max_step"):
            cls.from_dict({"max_step": 3})
    assert config_from_dict("dqn", {"max_steps": 7}) == DQNConfig()


def test_epsilon_decays_over_the_run_and_restarts_with_a_new_run():
    cfg = DQNConfig(exploration_fraction=0.5, learning_starts=10**9, lr_schedule="linear")
    learner = make_learner(cfg, Box((3,)), Discrete(4), num_agents=4)
    learner.begin_run(400)
    assert learner.epsilon == 1.0 and learner.stats["epsilon"] == 1.0
    drive(learner, 25)  # 100 agent steps: half of the exploration phase (200 steps)
    assert learner.epsilon == pytest.approx(1.0 - 0.5 * 0.95)
    assert learner.learning_rate() == pytest.approx(cfg.learning_rate * 0.75)
    drive(learner, 25)
    assert learner.epsilon == pytest.approx(0.05)
    drive(learner, 50)  # the run's end: learning rate at 0, epsilon stays final
    assert learner.run_progress == 1.0 and learner.learning_rate() == 0.0
    assert learner.stats["learning_rate"] == 0.0 and learner.stats["epsilon"] == pytest.approx(0.05)
    learner.begin_run(100)  # a resumed model: its new run is one new schedule
    assert learner.run_start == 400 and learner.epsilon == 1.0 and learner.learning_rate() == cfg.learning_rate


def test_ppo_learning_rate_and_clip_range_follow_the_run():
    cfg = PPOConfig(num_steps=8, minibatch_size=16, num_epochs=1, lr_schedule="linear", clip_schedule="linear")
    learner = make_learner(cfg, Box((3,)), Discrete(2), num_agents=2)
    learner.begin_run(64)
    drive(learner, 8)  # the update runs at 16 of 64 steps
    assert learner.optimizer.param_groups[0]["lr"] == pytest.approx(cfg.learning_rate * 0.75)
    assert learner.stats["clip_range"] == pytest.approx(cfg.clip_coef * 0.75)
    assert learner.stats["learning_rate"] == pytest.approx(cfg.learning_rate * 0.75)
    drive(learner, 24)
    assert learner.stats["learning_rate"] == 0.0 and learner.stats["clip_range"] == 0.0
    constant = make_learner(PPOConfig(num_steps=8), Box((3,)), Discrete(2), num_agents=2)
    constant.begin_run(16)
    drive(constant, 16)
    assert constant.stats["learning_rate"] == PPOConfig().learning_rate


def test_checkpoint_resumed_mid_run_continues_its_schedule():
    cfg = DQNConfig(exploration_fraction=1.0, learning_starts=10**9)
    a = make_learner(cfg, Box((3,)), Discrete(4), num_agents=2)
    a.begin_run(1000)
    drive(a, 150)
    b = load_learner(a.save_bytes())
    assert (b.run_start, b.run_steps) == (0, 1000)
    assert b.epsilon == a.epsilon < 0.8
    drive(a, 100, seed=1)
    drive(b, 100, seed=1)
    assert b.epsilon == a.epsilon


def test_without_begin_run_schedules_span_the_default_run():
    """Never explore forever: a learner nobody told about its run decays over DEFAULT_RUN_STEPS."""
    cfg = DQNConfig(learning_starts=10**9)
    learner = make_learner(cfg, Box((3,)), Discrete(4), num_agents=100)
    assert learner.run_steps == DEFAULT_RUN_STEPS
    drive(learner, int(DEFAULT_RUN_STEPS * cfg.exploration_fraction / 100))
    assert learner.epsilon == pytest.approx(cfg.exploration_final_eps)


def test_state_saved_before_runs_existed_loads_with_a_default_run():
    learner = make_learner(DQNConfig(learning_starts=10**9), Box((3,)), Discrete(4), num_agents=2)
    drive(learner, 30)
    header, arrays = unpack_state(learner.save_bytes())
    del header["run_start"], header["run_steps"]
    header["config"]["max_steps"] = 1_000_000  # as stored by older versions
    old = load_learner(io.BytesIO(pack_state(header, arrays)).getvalue())
    assert old.total_steps == 60 and (old.run_start, old.run_steps) == (60, DEFAULT_RUN_STEPS)
    assert old.epsilon == 1.0


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_stats_show_learning_rate_losses_entropy_and_epsilon(algo):
    if algo == "ppo":
        learner = make_learner(PPOConfig(num_steps=8), Box((3,)), Discrete(4), num_agents=2)
        keys = {"policy_loss", "value_loss", "entropy", "learning_rate", "clip_range"}
    else:
        learner = make_learner(DQNConfig(learning_starts=8, prioritized=True), Box((3,)), Discrete(4), num_agents=2)
        keys = {"loss", "q_mean", "td_error", "grad_norm", "replay_size", "entropy", "epsilon", "learning_rate"}
        keys.add("per_beta")
    learner.begin_run(100)
    drive(learner, 8)
    stats = learner.stats
    assert keys <= set(stats) and all(np.isfinite(stats[k]) for k in keys)
    assert {"episode_return", "episodes", "total_steps", "run_progress"} <= set(stats)
    assert stats["run_progress"] == pytest.approx(0.16)
    if algo == "dqn":  # epsilon-greedy entropy: ln(4) when acting at random, 0 when greedy
        eps = stats["epsilon"]
        p, q = 1 - eps + eps / 4, eps / 4
        assert stats["entropy"] == pytest.approx(-p * np.log(p) - 3 * q * np.log(q))
        fresh = make_learner(DQNConfig(), Box((3,)), Discrete(4))
        assert fresh.stats["entropy"] == pytest.approx(np.log(4))
        greedy = make_learner(DQNConfig(exploration_initial_eps=0.0, exploration_final_eps=0.0), Box((3,)), Discrete(4))
        assert greedy.stats["entropy"] == 0.0


def test_a_run_needs_steps():
    learner = make_learner(PPOConfig(), Box((3,)), Discrete(2))
    with pytest.raises(ValueError, match="at least 1 step"):
        learner.begin_run(0)
