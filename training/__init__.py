"""Agent Academy learning core: PPO, DQN and SAC in pure torch + numpy, driven step by step.

Imports without torch or gymnasium: spaces, configs, reading saved states and ``NumpyPolicy`` work
with numpy only; torch-backed names are imported on first use.

The stepwise Learner protocol (the scene drives; there is no hidden loop)::

    learner = make_learner(config, obs_space, action_space, num_agents=N, seed=0)
    learner.begin_run(steps)                          # the schedules decay over these agent steps
    actions = learner.act(obs, action_mask=None)      # obs (N, *shape) or {name: (N, *shape)}
    info = learner.observe(rewards, terminated, truncated, next_obs, final_obs=None, active=None)
    # active: (N,) bool, False for rows whose step is not real (not learned from, no stats)
    # with auto_update=False: while not learner.update(max_minibatches=k): ...  (after update_ready)
    learner.predict(obs, deterministic=True)          # inference only, records nothing
    learner.total_steps, learner.num_updates, learner.stats
    data = learner.save_bytes(); learner = load_learner(data)
    learner.export_onnx(path); NumpyPolicy.from_bytes(data).act(obs)
"""

from __future__ import annotations

from typing import Any

from .config import DQNConfig, PPOConfig, SACConfig, config_from_dict, field_docs
from .numpy_policy import NumpyPolicy
from .persistence import StateError, read_header
from .spaces import Box, Dict, Discrete, Hybrid, Image, MultiDiscrete, Space, from_gymnasium, space_from_dict

__all__ = [
    "Box",
    "DQNConfig",
    "DQNLearner",
    "Dict",
    "Discrete",
    "Image",
    "Hybrid",
    "Learner",
    "MultiDiscrete",
    "NumpyPolicy",
    "PPOConfig",
    "PPOLearner",
    "SACConfig",
    "SACLearner",
    "Space",
    "StateError",
    "compute_gae",
    "config_from_dict",
    "evaluate",
    "field_docs",
    "from_gymnasium",
    "learn",
    "load_learner",
    "make_learner",
    "read_header",
    "space_from_dict",
]

_LAZY = {
    "make_learner": ".factory",
    "load_learner": ".factory",
    "Learner": ".learner",
    "PPOLearner": ".ppo",
    "DQNLearner": ".dqn",
    "SACLearner": ".sac",
    "learn": ".gym_loop",
    "evaluate": ".gym_loop",
    "compute_gae": ".gae",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
