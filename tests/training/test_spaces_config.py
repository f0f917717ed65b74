"""Spaces and configs: serialisation, gymnasium conversion, flat typed fields with docstrings."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from academy_pure import training
from academy_pure.training import (
    Box,
    Dict,
    Discrete,
    DQNConfig,
    Image,
    MultiDiscrete,
    PPOConfig,
    SACConfig,
    arch,
    field_docs,
    networks,
    space_from_dict,
)
from academy_pure.training.config import LIMITS, RANGES, SettingsError
from academy_pure.training.spaces import check_same_spaces

SPACES = [
    Box((4,)),
    Box((2,), -1.0, 1.0),
    Box((3,), (-1.0, -2.0, -3.0), (1.0, 2.0, 3.0)),
    Image(32, 32, 3),
    Image(84, 84, 1, "float32"),
    Dict({"vec": Box((5,)), "cam": Image(32, 32, 3)}),
    Discrete(3),
    MultiDiscrete([3, 2, 4]),
]


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.describe())
def test_space_json_roundtrip(space):
    d = json.loads(json.dumps(space.to_dict()))
    assert space_from_dict(d) == space


def test_from_gymnasium():
    gym = pytest.importorskip("gymnasium")
    s = gym.spaces
    assert training.from_gymnasium(s.Discrete(4)) == Discrete(4)
    assert training.from_gymnasium(s.MultiDiscrete([2, 3])) == MultiDiscrete([2, 3])
    box = training.from_gymnasium(s.Box(-2.0, 2.0, (3,), np.float32))
    assert box == Box((3,), -2.0, 2.0) and box.bounded
    assert training.from_gymnasium(s.Box(0, 255, (32, 32, 3), np.uint8)) == Image(32, 32, 3)
    d = training.from_gymnasium(s.Dict({"b": s.Box(-1, 1, (2,)), "a": s.Box(0, 255, (40, 40, 1), np.uint8)}))
    assert list(d.spaces) == ["a", "b"]  # canonical sorted order


def test_space_mismatch_message_names_shapes():
    with pytest.raises(ValueError, match=r"observation space: saved Box\(4,\), requested Box\(5,\)"):
        check_same_spaces(Box((4,)), Discrete(2), Box((5,)), Discrete(2))
    with pytest.raises(ValueError, match=r"action space: saved Discrete\(2\), requested Discrete\(3\)"):
        check_same_spaces(Box((4,)), Discrete(2), Box((4,)), Discrete(3))


@pytest.mark.parametrize("cls", [PPOConfig, DQNConfig, SACConfig])
def test_config_flat_documented_and_serialisable(cls):
    cfg = cls()
    docs = field_docs(cls)
    for f in dataclasses.fields(cls):
        assert f.type in ("str", "int", "float", "bool"), f"{f.name} is not flat"
        assert docs.get(f.name), f"{cls.__name__}.{f.name} has no docstring"
        assert "\n" not in docs[f.name]
    assert cls.from_json(cfg.to_json()) == cfg
    changed = cfg.replace(learning_rate=0.123)
    assert cls.from_dict(json.loads(changed.to_json())).learning_rate == 0.123
    with pytest.raises(ValueError, match="unknown"):
        cls.from_dict({"no_such_field": 1})


def test_config_validation():
    with pytest.raises(ValueError, match="activation"):
        PPOConfig(activation="gelu")
    with pytest.raises(ValueError, match="DQN Tau is 0; it must be more than 0 and at most 1"):
        DQNConfig(tau=0.0)
    assert training.config_from_dict("ppo", {"num_steps": 16}).num_steps == 16
    with pytest.raises(ValueError, match="unknown algorithm"):
        training.config_from_dict("a2c", {})


# -- ranges (issue 12.2) ----------------------------------------------------------------------

NUMERIC = [(cls, f) for cls in (PPOConfig, DQNConfig) for f in dataclasses.fields(cls) if f.type in ("int", "float")]


def _ids(case):
    return f"{case[0].algorithm}.{case[1].name}" if isinstance(case, tuple) else None


@pytest.mark.parametrize("case", NUMERIC, ids=_ids)
def test_every_numeric_setting_has_a_range_its_default_and_edges_are_in(case):
    cls, f = case
    allowed = RANGES[f.name]
    assert allowed.contains(f.default), f"default {f.default} of {cls.__name__}.{f.name} is outside its range"
    typ = int if f.type == "int" else float
    cls(**{f.name: typ(allowed.high)})  # the edges themselves are allowed
    cls(**{f.name: typ(allowed.ui_min)})  # (the Blender property's min for an open bound)
    outside = [typ(allowed.high) + 1 if typ is int else allowed.high * 2 + 1, typ(allowed.low) - 1]
    if allowed.low_open:
        outside.append(typ(allowed.low))
    if typ is float:
        outside += [float("nan"), float("inf"), float("-inf")]
    for value in outside:
        with pytest.raises(SettingsError, match=rf"^{cls.algorithm.upper()} {training.config.field_label(f.name)} is"):
            cls(**{f.name: value})


@pytest.mark.parametrize(
    "cls, change, message",
    [
        (PPOConfig, {"gamma": 5.0}, "PPO Gamma is 5; it must be 0 to 1"),
        (PPOConfig, {"clip_coef": -1.0}, "PPO Clip Coef is -1; it must be more than 0 and at most 10"),
        (PPOConfig, {"max_grad_norm": float("nan")}, "PPO Max Grad Norm is nan; it must be 0 to 1000000"),
        (PPOConfig, {"ent_coef": 1e30}, "PPO Ent Coef is 1e[+]30; it must be 0 to 1"),
        (DQNConfig, {"exploration_final_eps": float("inf")}, "DQN Exploration Final Eps is inf; it must be 0 to 1"),
        (DQNConfig, {"buffer_size": 0}, "DQN Buffer Size is 0; it must be 1 to 10000000"),
    ],
)
def test_the_issues_bad_settings_are_refused_naming_setting_value_and_range(cls, change, message):
    with pytest.raises(SettingsError, match=f"^{message}$"):
        cls(**change)


def test_a_stored_config_is_checked_when_read():
    """A saved model's config goes through the same checks (a file can carry anything)."""
    with pytest.raises(SettingsError, match="PPO Hidden Units is 6000; it must be 1 to 4096"):
        training.config_from_dict("ppo", {"hidden_units": 6000})
    with pytest.raises(SettingsError, match="DQN Gamma is nan"):
        training.config_from_dict("dqn", {"gamma": float("nan")})
    with pytest.raises(SettingsError, match="^PPO Num Steps is nan; it must be 1 to 1000000$"):
        training.config_from_dict("ppo", {"num_steps": float("nan")})
    with pytest.raises(SettingsError, match="^DQN Batch Size is 64.5; it must be a whole number$"):
        training.config_from_dict("dqn", {"batch_size": 64.5})


# -- size limits (issue 12.1) -----------------------------------------------------------------


@pytest.fixture
def nothing_built(monkeypatch):
    """Fail the test if a network or a buffer were built: the limits must refuse before allocating."""

    def refuse(*args, **kwargs):
        raise AssertionError("allocated before the size check")

    from academy_pure.training import dqn, ppo

    for module, name in [(networks, "Trunk"), (ppo, "ActorCritic"), (dqn, "QNetwork"), (dqn, "ReplayBuffer")]:
        monkeypatch.setattr(module, name, refuse)


@pytest.mark.parametrize(
    "config, obs, act, agents, message",
    [
        (PPOConfig(), Box((300_000_000,)), Discrete(2), 1,
         "the observation has 300,000,000 numbers, more than the limit of 65,536"),
        (PPOConfig(), Dict({"a": Box((40_000,)), "b": Box((40_000,))}), Discrete(2), 1,
         "observation has 80,000 numbers"),
        (PPOConfig(), Image(2000, 84, 3), Discrete(2), 1,
         "image 'obs' is 84x2000 pixels; the limit is 1024 on each side"),
        (PPOConfig(), Box((4,)), Discrete(200_000), 1, r"the actions are Discrete\(200000\); the limit is 1024"),
        (PPOConfig(), Box((4,)), Box((5000,)), 1, "the limit is 1024"),
        (PPOConfig(hidden_units=4096, num_layers=16), Box((8,)), Discrete(2), 1,
         r"the network would take 1,921 MiB \(float32 parameters\), more than the limit of 512 MiB: lower Hidden Units "
         r"\(4096\), Num Layers \(16\) or CNN Features \(256\), or observe less$"),
        (PPOConfig(hidden_units=4096), Box((65_536,)), Discrete(2), 1, "the network would take 2,"),
        (PPOConfig(cnn_features=4096), Image(1024, 1024, 3), Discrete(2), 1, r"CNN Features \(4096\)"),
        (DQNConfig(buffer_size=10_000_000), Box((1000,)), Discrete(2), 1,
         r"the replay memory \(Buffer Size 10,000,000\) would take 76,294 MiB of observations, more than the limit "
         "of 8,192 MiB: lower Buffer Size"),
        (PPOConfig(num_steps=1_000_000), Image(84, 84, 3), Discrete(2), 16, r"the rollout \(Num Steps 1,000,000 x 16"),
        (DQNConfig(batch_size=1_000_000), Image(32, 32, 3), Discrete(2), 1,
         r"a gradient step on Batch Size 1,000,000 would take [\d,]+ MiB, more than the limit of 2,048 MiB"),
        (PPOConfig(num_steps=4096, minibatch_size=1_000_000), Image(84, 84, 3), Discrete(2), 16,
         "a gradient step on Minibatch Size 65,536 would take"),
    ],
)  # fmt: skip
def test_sizes_over_the_limits_are_refused_before_anything_is_built(nothing_built, config, obs, act, agents, message):
    with pytest.raises(SettingsError, match=message):
        training.make_learner(config, obs, act, num_agents=agents)


def test_the_limits_let_large_sane_learners_through():
    """At the limits themselves, and for large but sane learners, the check passes."""
    arch.check_sizes(PPOConfig(), Box((LIMITS["observation_size"],)), Discrete(LIMITS["action_size"]), 64)
    arch.check_sizes(PPOConfig(hidden_units=1024, num_layers=4), Image(256, 256, 1), Box((32,)), 16)
    arch.check_sizes(DQNConfig(), Image(84, 84, 3), Discrete(5), 32)  # 4 GB of replay: allowed, under 8 GiB


@pytest.mark.parametrize(
    "config, obs, act",
    [
        (PPOConfig(), Box((8,)), Discrete(3)),
        (PPOConfig(shared_network=True, num_layers=3, hidden_units=32), Box((5,)), Box((2,), -1.0, 1.0)),
        (PPOConfig(num_layers=0), Dict({"v": Box((3,)), "c": Image(40, 36, 3)}), MultiDiscrete([2, 3])),
        (DQNConfig(vis_encoder="nature", cnn_features=64), Image(64, 72, 1), Discrete(4)),
        (DQNConfig(hidden_units=16), Box((7,)), Discrete(2)),
    ],
)
def test_the_parameter_estimate_is_the_networks_parameter_count(config, obs, act):
    learner = training.make_learner(config, obs, act)
    nets = [learner.model] + ([learner.target] if hasattr(learner, "target") else [])
    actual = sum(p.numel() for net in nets for p in net.parameters())
    assert arch.parameter_count(config, obs, act) == actual


@pytest.mark.parametrize(
    "change, message",
    [
        ({"hidden_units": 6000}, "PPO Hidden Units is 6000; it must be 1 to 4096"),
        # within every range, but the stored arrays cannot be those of a 1.9 GB network: refused on them
        ({"hidden_units": 4096, "num_layers": 16}, "the model's arrays are missing 'model/actor.mlp.10.bias'"),
    ],
)
def test_a_stored_model_too_large_is_refused_before_it_is_built(monkeypatch, change, message):
    """A model file can carry any config: the 82 s / 1.2 GB of issue 12 become an error before any tensor
    (the stored model's check, ``state_check``, refuses it before ``make_learner``'s size check is reached)."""
    from academy_pure.training.persistence import StateError, pack_state, unpack_state

    header, arrays = unpack_state(training.make_learner(PPOConfig(), Box((8,)), Discrete(2)).save_bytes())
    header["config"].update(change)
    crafted = pack_state({k: v for k, v in header.items() if k not in ("format", "version")}, arrays)
    monkeypatch.setattr(networks, "Trunk", lambda *a, **k: pytest.fail("built the network before the size check"))
    with pytest.raises(StateError, match=message):
        training.load_learner(crafted)


def test_the_user_guide_lists_every_range_and_limit_as_the_code_has_them():
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "docs" / "user-guide.md").read_text()
    section = guide.split("## Limits and ranges", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[2]
    assert rows == {name: allowed.describe() for name, allowed in RANGES.items()}
    for value in (LIMITS["observation_size"], LIMITS["buffer_size"], LIMITS["model_bytes"] >> 20,
                  LIMITS["buffer_bytes"] >> 20, LIMITS["batch_bytes"] >> 20):  # fmt: skip
        assert f"{value:,}" in section


@pytest.mark.parametrize("cls", [PPOConfig, DQNConfig, SACConfig])
def test_the_guide_tables_every_field_with_its_default_and_docstring(cls):
    """docs/training.md lists each config field; its default and meaning are the code's (no drift)."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "training.md").read_text()
    section = text.split(f"### `{cls.__name__}`", 1)[1].split("\n### ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if len(cells) == 4 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = (cells[2].strip("`"), cells[3])
    docs = field_docs(cls)
    expected = {f.name: (repr(f.default), docs[f.name]) for f in dataclasses.fields(cls)}
    assert rows == expected
