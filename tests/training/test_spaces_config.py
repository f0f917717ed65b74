"""Spaces and configs: serialisation, gymnasium conversion, flat typed fields with docstrings."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import training
from training import Box, Dict, Discrete, DQNConfig, Image, MultiDiscrete, PPOConfig, field_docs, space_from_dict
from training.spaces import check_same_spaces

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


@pytest.mark.parametrize("cls", [PPOConfig, DQNConfig])
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
    with pytest.raises(ValueError, match="tau"):
        DQNConfig(tau=0.0)
    assert training.config_from_dict("ppo", {"num_steps": 16}).num_steps == 16
    with pytest.raises(ValueError, match="unknown algorithm"):
        training.config_from_dict("sac", {})
