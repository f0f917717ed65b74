"""Demonstrations' file format, behaviour-cloning pretraining and BC as an auxiliary loss of PPO."""

from __future__ import annotations

import io
import json
import pickle
import zipfile

import numpy as np
import pytest
import torch

from academy_pure.training import Box, Dict, Discrete, DQNConfig, Image, MultiDiscrete, PPOConfig, make_learner
from academy_pure.training.bc import BCAuxiliary, agreement, pretrain
from academy_pure.training.demos import DemoError, Demonstrations, concatenate, load_demos
from academy_pure.training.persistence import pack_state

torch.set_num_threads(1)


def teacher(obs: np.ndarray) -> np.ndarray:
    """A heuristic rule: left when x < -0.3, right when x > 0.3, else wait (3 choices)."""
    x = obs[:, 0]
    return np.where(x < -0.3, 0, np.where(x > 0.3, 2, 1)).astype(np.int64)


def make_demos(steps: int, seed: int, episode_len: int = 20) -> Demonstrations:
    rng = np.random.default_rng(seed)
    obs = rng.uniform(-1, 1, (steps, 4)).astype(np.float32)
    episode = (np.arange(steps) // episode_len).astype(np.int64)
    last = np.append(np.diff(episode) == 1, False)  # the last episode is still running
    return Demonstrations(
        Box((4,), -1.0, 1.0),
        Discrete(3),
        {"obs": obs},
        teacher(obs),
        rng.normal(size=steps).astype(np.float32),
        last.copy(),
        np.zeros(steps, bool),
        episode,
        brain="Teacher",
    )


# -- the format --------------------------------------------------------------------------------


def test_round_trip_keeps_every_array_and_the_numbers():
    demos = make_demos(95, 0)
    back = load_demos(demos.to_bytes())
    assert back.obs_space == demos.obs_space and back.action_space == demos.action_space
    for name in ("actions", "rewards", "terminated", "truncated", "episode"):
        np.testing.assert_array_equal(getattr(back, name), getattr(demos, name))
    np.testing.assert_array_equal(back.obs["obs"], demos.obs["obs"])
    assert back.brain == "Teacher"
    assert (back.steps, back.episodes, back.num_episodes) == (95, 4, 5)  # the 5th was still running
    expected = [demos.rewards[i * 20 : (i + 1) * 20].astype(np.float64).sum() for i in range(4)]
    assert back.mean_return == pytest.approx(np.mean(expected))


def test_dict_observations_and_multi_discrete_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    t = 6
    demos = Demonstrations(
        Dict({"vector": Box((2,)), "camera_0": Image(4, 5, 1)}),
        MultiDiscrete((2, 3)),
        {"vector": rng.normal(size=(t, 2)).astype(np.float32), "camera_0": np.zeros((t, 4, 5, 1), np.uint8)},
        np.array([[0, 2], [1, 1], [0, 0], [1, 2], [0, 1], [1, 0]], np.int64),
        np.ones(t, np.float32),
        np.array([0, 0, 1, 0, 0, 1], bool),
        np.zeros(t, bool),
        np.array([0, 0, 0, 1, 1, 1], np.int64),
    )
    path = tmp_path / "d.npz"
    path.write_bytes(demos.to_bytes())
    back = load_demos(path)
    assert back.episodes == 2 and back.mean_return == 3.0
    np.testing.assert_array_equal(back.actions, demos.actions)


def _rebuilt(demos: Demonstrations, **changes) -> bytes:
    """The demonstrations' archive with some arrays or header entries replaced (a crafted file)."""
    header = {
        "format": "agent-academy-demonstrations",
        "version": 1,
        "obs_space": demos.obs_space.to_dict(),
        "action_space": demos.action_space.to_dict(),
        "brain": "",
        "steps": demos.steps,
        "episodes": demos.episodes,
    }
    arrays = {"obs/obs": demos.obs["obs"], "actions": demos.actions, "rewards": demos.rewards}
    arrays.update(terminated=demos.terminated, truncated=demos.truncated, episode=demos.episode)
    for k, v in changes.items():
        (header if k in header else arrays)[k] = v
    return pack_state(header, {k: v for k, v in arrays.items() if v is not None})


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"actions": np.full(40, 7, np.int64)}, "outside the choices"),
        ({"rewards": np.full(40, np.nan, np.float32)}, "not finite"),
        ({"episode": np.arange(40, dtype=np.int64)[::-1].copy()}, "numbered"),
        ({"terminated": np.ones(40, bool)}, "before its last row"),
        ({"steps": 41}, "header says 41 steps"),
        ({"actions": None}, "missing ['actions']"),
        ({"obs/obs": np.zeros((40, 5), np.float32)}, "expected float32 (40, 4)"),
        ({"version": 9}, "newer than this code"),
        ({"format": "agent-academy-training-state"}, "a trained model, not demonstrations"),
        ({"action_space": {"kind": "image", "height": 2, "width": 2, "channels": 1, "dtype": "uint8"}}, "Brain"),
    ],
)
def test_damaged_or_crafted_demonstrations_are_refused_saying_what_is_wrong(changes, message):
    demos = make_demos(40, 2)
    load_demos(_rebuilt(demos))  # the unchanged rebuild loads: each case fails for its change only
    with pytest.raises(DemoError) as err:
        load_demos(_rebuilt(demos, **changes))
    assert message in str(err.value)


def test_pickles_and_foreign_archives_are_refused_before_unpacking():
    with pytest.raises(DemoError, match="pickle"):
        load_demos(pickle.dumps({"obs": np.zeros(3)}))
    with pytest.raises(DemoError, match="not Agent Academy demonstrations"):
        load_demos(b"hello")
    buf = io.BytesIO()
    np.savez(buf, header=np.frombuffer(json.dumps({"format": "x"}).encode(), np.uint8), payload=np.zeros(2, object))
    with pytest.raises(DemoError, match="pickled objects"):
        load_demos(buf.getvalue())
    truncated = make_demos(30, 0).to_bytes()[:-200]
    with pytest.raises(DemoError):
        load_demos(truncated)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("header.npy", b"junk")
    with pytest.raises(DemoError, match="demonstrations"):
        load_demos(buf.getvalue())


def test_concatenate_renumbers_episodes_and_refuses_other_spaces():
    a, b = make_demos(30, 0), make_demos(45, 1)
    both = concatenate([a, b])
    assert both.steps == 75 and both.num_episodes == a.num_episodes + b.num_episodes
    assert both.episodes == a.episodes + b.episodes
    both.check()
    load_demos(both.to_bytes())
    other = make_demos(10, 3)
    other.action_space = Discrete(4)
    with pytest.raises(DemoError, match="cannot be joined"):
        concatenate([a, other])


# -- behaviour cloning -------------------------------------------------------------------------


def ppo(seed: int, **cfg) -> object:
    config = PPOConfig(num_steps=32, minibatch_size=64, num_epochs=2, **cfg)
    return make_learner(config, Box((4,), -1.0, 1.0), Discrete(3), num_agents=4, seed=seed, auto_update=False)


@pytest.mark.parametrize("algorithm", ["ppo", "dqn"])
def test_pretraining_reproduces_the_teacher_on_held_out_decisions(algorithm):
    held_out = make_demos(2000, 99)
    scores, untrained = [], []
    for seed in (0, 1, 2):
        if algorithm == "ppo":
            learner = ppo(seed)
        else:
            learner = make_learner(DQNConfig(), Box((4,), -1.0, 1.0), Discrete(3), num_agents=1, seed=seed)
        untrained.append(agreement(learner, held_out))
        stats = pretrain(learner, make_demos(1500, seed), epochs=30, batch_size=128, seed=seed)
        assert stats["bc_agreement"] > 0.9
        scores.append(agreement(learner, held_out))
    assert np.median(scores) >= 0.95, scores
    assert max(untrained) < 0.8, untrained  # a fresh policy does not already act like the teacher


def test_pretraining_epochs_and_batch_size_count():
    demos = make_demos(300, 0)
    one = pretrain(ppo(0), demos, epochs=1, batch_size=100)
    many = pretrain(ppo(0), demos, epochs=20, batch_size=100)
    assert (one["bc_minibatches"], many["bc_minibatches"]) == (3, 60)
    assert many["bc_loss"] < one["bc_loss"]
    assert pretrain(ppo(0), demos, epochs=2, batch_size=30)["bc_minibatches"] == 20


def test_pretraining_refuses_demonstrations_of_other_spaces():
    demos = make_demos(20, 0)
    demos.obs_space = Box((4,))  # unbounded: not the learner's
    with pytest.raises(ValueError, match="recorded with observations"):
        pretrain(ppo(0), demos)


def one_update(learner, seed: int = 5) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(learner.config.num_steps):
        learner.act(rng.uniform(-1, 1, (4, 4)).astype(np.float32))
        learner.observe(rng.normal(size=4), np.zeros(4, bool), np.zeros(4, bool), rng.uniform(-1, 1, (4, 4)))
    while not learner.update():
        pass


def params(learner) -> np.ndarray:
    return torch.cat([p.detach().flatten() for p in learner.params]).numpy().copy()


def test_bc_auxiliary_loss_changes_the_ppo_update_and_reports_its_loss():
    demos = make_demos(400, 0)
    off, on = ppo(0), ppo(0)
    aux = BCAuxiliary(demos, strength=1.0, steps=0, batch_size=100)
    aux.attach(on)
    one_update(off)
    one_update(on)
    assert "bc_loss" not in off.stats and "bc_strength" not in off.stats
    assert np.isfinite(on.stats["bc_loss"]) and on.stats["bc_strength"] == 1.0
    assert not np.allclose(params(off), params(on))
    assert aux.minibatches == on.config.num_epochs * 4  # 400 decisions in batches of 100, per PPO epoch
    # the same PPO data either way: only the BC passes differ
    assert off.stats["policy_loss"] == pytest.approx(on.stats["policy_loss"])


def test_bc_strength_pulls_the_policy_towards_the_demonstrations():
    demos = make_demos(600, 0)
    agree = {}
    for strength in (0.0, 1.0):
        learner = ppo(0)
        if strength:
            BCAuxiliary(demos, strength=strength, batch_size=64).attach(learner)
        for i in range(4):
            one_update(learner, seed=i)
        agree[strength] = agreement(learner, make_demos(1000, 7))
    assert agree[1.0] > agree[0.0] + 0.2, agree


def test_bc_steps_decay_the_strength_to_nothing():
    demos = make_demos(200, 0)
    learner, off = ppo(0), ppo(0)
    aux = BCAuxiliary(demos, strength=0.5, steps=64, batch_size=50)
    aux.attach(learner)
    assert aux.strength_now(learner) == 0.5
    one_update(learner)  # 128 agent steps > 64: decayed away before the BC passes
    one_update(off)
    assert learner.stats["bc_strength"] == 0.0 and aux.minibatches == 0
    np.testing.assert_array_equal(params(learner), params(off))
    long = ppo(0)
    aux = BCAuxiliary(demos, strength=0.5, steps=256, batch_size=50)
    aux.attach(long)
    one_update(long)
    assert long.stats["bc_strength"] == pytest.approx(0.5 * (1 - 128 / 256))


def test_bc_auxiliary_refuses_dqn_and_bad_settings():
    demos = make_demos(20, 0)
    dqn = make_learner(DQNConfig(), Box((4,), -1.0, 1.0), Discrete(3), num_agents=1, seed=0)
    with pytest.raises(ValueError, match="PPO only"):
        BCAuxiliary(demos, 1.0).attach(dqn)
    with pytest.raises(ValueError, match="strength above 0"):
        BCAuxiliary(demos, 0.0)


def test_continuous_pretraining_fits_the_mean():
    rng = np.random.default_rng(0)
    t = 800
    obs = rng.uniform(-1, 1, (t, 3)).astype(np.float32)
    act = np.clip(obs[:, :2] * 0.8, -1, 1).astype(np.float32)
    demos = Demonstrations(
        Box((3,), -1.0, 1.0),
        Box((2,), -1.0, 1.0),
        {"obs": obs},
        act,
        np.zeros(t, np.float32),
        np.zeros(t, bool),
        np.zeros(t, bool),
        np.zeros(t, np.int64),
    )
    for dist in ("clipped", "squashed"):
        learner = make_learner(
            PPOConfig(continuous_dist=dist), demos.obs_space, demos.action_space, num_agents=1, seed=0
        )
        before = agreement(learner, demos)
        std = float(learner.model.log_std.detach().exp().mean())
        pretrain(learner, demos, epochs=40, batch_size=100)
        assert agreement(learner, demos) < min(0.1, before / 3)
        assert float(learner.model.log_std.detach().exp().mean()) == std  # the spread is PPO's to learn


def test_pretraining_refuses_sac_by_name():
    from academy_pure.training import SACConfig

    act = Box((2,), low=-1.0, high=1.0)
    learner = make_learner(SACConfig(), Box((4,)), act, num_agents=1, seed=0)
    demos = Demonstrations.__new__(Demonstrations)  # never read: the algorithm is refused first
    with pytest.raises(ValueError, match="not SAC"):
        pretrain(learner, demos)
