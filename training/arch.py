"""Architecture facts shared by the torch networks and the numpy policy (no torch import), and the
size checks that refuse a network or a buffer too large before anything is allocated."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.limits import LIMITS, MiB, SettingsError
from .config import field_label
from .memory import network_space
from .spaces import Box, Discrete, Hybrid, Image, MultiDiscrete, Space, obs_entries

__all__ = ["CNN_LAYERS", "MIN_IMAGE_SIZE", "check_sizes", "cnn_kind", "parameter_count"]

# (out_channels, kernel, stride) per conv layer
CNN_LAYERS: dict[str, tuple[tuple[int, int, int], ...]] = {
    # small images: stride 2 keeps a 7x7 map of a 32 px image, where 'compact' keeps 2x2 (a 5x5 Grid World
    # from 32 px pixels: success 0.98 against compact's 0.63 after 100k PPO steps, defaults otherwise)
    "small": ((16, 4, 2), (32, 3, 2)),
    "compact": ((16, 8, 4), (32, 4, 2)),  # ML-Agents "simple" encoder
    "nature": ((32, 8, 4), (64, 4, 2), (64, 3, 1)),  # Mnih et al. 2015
}
MIN_IMAGE_SIZE = {"small": 8, "compact": 20, "nature": 36}


def cnn_kind(space: Image, choice: str) -> str:
    """Resolve the encoder choice ('auto' picks Nature CNN from 64 px up, else small)."""
    if choice == "auto":
        return "nature" if min(space.height, space.width) >= 64 else "small"
    return choice


def _action_dim(space: Space) -> int:
    if isinstance(space, Box):
        return space.dim
    if isinstance(space, Discrete):
        return int(space.n)
    if isinstance(space, MultiDiscrete):
        return int(sum(space.nvec))
    if isinstance(space, Hybrid):  # the policy head: the Gaussian means, then every branch's logits
        return space.continuous.dim + int(sum(space.nvec))
    raise TypeError(f"unsupported action space {space.describe()}")


def _trunk_parameters(cfg: Any, obs_space: Space, extra_inputs: int = 0) -> tuple[int, int]:
    """Parameters of one ``networks.Trunk`` and its output width."""
    count, width = 0, extra_inputs
    for space in obs_entries(obs_space).values():
        if isinstance(space, Image):
            c, h, w = space.channels, space.height, space.width
            for out, k, s in CNN_LAYERS[cnn_kind(space, cfg.vis_encoder)]:
                count += c * out * k * k + out
                c, h, w = out, max(1, (h - k) // s + 1), max(1, (w - k) // s + 1)
            count += c * h * w * cfg.cnn_features + cfg.cnn_features
            width += cfg.cnn_features
        else:
            width += int(np.prod(space.shape))
    for _ in range(cfg.num_layers):
        count += width * cfg.hidden_units + cfg.hidden_units
        width = cfg.hidden_units
    return count, width


def parameter_count(cfg: Any, obs_space: Space, action_space: Space) -> int:
    """Parameters the learner's networks will have (PPO actor-critic; DQN online and target networks;
    SAC actor, twin critics and their targets)."""
    if cfg.algorithm == "ppo":  # stacked observations widen the network's input (training.memory)
        obs_space = network_space(obs_space, cfg.stacked_observations)
    trunk, width = _trunk_parameters(cfg, obs_space)
    n_act = _action_dim(action_space)
    if cfg.algorithm == "dqn":
        return 2 * (trunk + width * n_act + n_act)
    if cfg.algorithm == "sac":
        critic, c_width = _trunk_parameters(cfg, obs_space, n_act)
        return 1 + trunk + 2 * (width * n_act + n_act) + 4 * (critic + c_width + 1)
    log_std = _log_std_dim(action_space)
    if cfg.use_memory:  # one trunk, a GRU cell, both heads on its state (training.recurrent)
        h = cfg.memory_size
        return trunk + 3 * h * (width + h) + 6 * h + h * n_act + n_act + h + 1 + log_std
    trunks = 1 if cfg.shared_network else 2
    return trunks * trunk + width * n_act + n_act + width + 1 + log_std


def _log_std_dim(space: Space) -> int:
    """PPO's state-independent log std parameters: one per continuous action."""
    if isinstance(space, Box):
        return space.dim
    return space.continuous.dim if isinstance(space, Hybrid) else 0


def _activations(cfg: Any, obs_space: Space) -> int:
    """Floats one sample passes through one trunk: its input, every conv feature map and every layer."""
    count = 0
    for space in obs_entries(obs_space).values():
        count += int(np.prod(space.shape))
        if isinstance(space, Image):
            h, w = space.height, space.width
            for out, k, s in CNN_LAYERS[cnn_kind(space, cfg.vis_encoder)]:
                h, w = max(1, (h - k) // s + 1), max(1, (w - k) // s + 1)
                count += out * h * w
            count += cfg.cnn_features
    return count + cfg.num_layers * cfg.hidden_units


def _observation_bytes(obs_space: Space) -> int:
    return sum(
        int(np.prod(s.shape)) * (1 if isinstance(s, Image) and s.dtype == "uint8" else 4)
        for s in obs_entries(obs_space).values()
    )


def check_sizes(cfg: Any, obs_space: Space, action_space: Space, num_agents: int) -> None:
    """Refuse spaces, networks and buffers over ``core.limits.LIMITS`` before anything is allocated.

    Raises :class:`SettingsError` naming the setting at fault, its value and the limit.
    """
    entries = obs_entries(obs_space)
    vector = sum(int(np.prod(s.shape)) for s in entries.values() if isinstance(s, Box))
    if vector > LIMITS["observation_size"]:
        raise SettingsError(
            f"the observation has {vector:,} numbers, more than the limit of {LIMITS['observation_size']:,}"
        )
    for name, s in entries.items():
        if isinstance(s, Image) and max(s.height, s.width) > LIMITS["image_size"]:
            raise SettingsError(
                f"image '{name}' is {s.width}x{s.height} pixels; the limit is {LIMITS['image_size']} on each side"
            )
    if isinstance(action_space, Hybrid):
        sizes = (action_space.continuous.dim, len(action_space.nvec), *action_space.nvec)
    else:
        sizes = action_space.nvec if isinstance(action_space, MultiDiscrete) else (_action_dim(action_space),)
    if len(sizes) > LIMITS["action_size"] or max(sizes, default=0) > LIMITS["action_size"]:
        raise SettingsError(
            f"the actions are {action_space.describe()}; the limit is {LIMITS['action_size']} values, "
            "branches or choices per branch"
        )
    model = parameter_count(cfg, obs_space, action_space) * 4
    if model > LIMITS["model_bytes"]:
        raise SettingsError(
            f"the network would take {model / MiB:,.0f} MiB (float32 parameters), more than the limit of "
            f"{LIMITS['model_bytes'] // MiB} MiB: lower {field_label('hidden_units')} ({cfg.hidden_units}), "
            f"{field_label('num_layers')} ({cfg.num_layers}) or {field_label('cnn_features')} ({cfg.cnn_features}), "
            "or observe less"
        )
    per_obs = _observation_bytes(
        network_space(obs_space, cfg.stacked_observations) if cfg.algorithm == "ppo" else obs_space
    )
    if cfg.algorithm in ("dqn", "sac"):
        memory, what = (
            2 * cfg.buffer_size * per_obs,
            f"the replay memory ({field_label('buffer_size')} {cfg.buffer_size:,})",
        )
        fix = field_label("buffer_size")
    else:
        memory = cfg.num_steps * num_agents * per_obs
        what = f"the rollout ({field_label('num_steps')} {cfg.num_steps:,} x {num_agents:,} agents)"
        fix = field_label("num_steps")
    if memory > LIMITS["buffer_bytes"]:
        raise SettingsError(
            f"{what} would take {memory / MiB:,.0f} MiB of observations, more than the limit of "
            f"{LIMITS['buffer_bytes'] // MiB:,} MiB: lower {fix} or observe less"
        )
    # one gradient step: float32 activations kept for the backward pass (DQN: online on obs and next obs,
    # target on next obs; SAC: actor on both, critics on obs twice and targets on next obs; PPO: actor
    # and critic), twice over for the gradients
    if cfg.algorithm == "dqn":
        batch, name, passes = cfg.batch_size, "batch_size", 3
    elif cfg.algorithm == "sac":
        batch, name, passes = cfg.batch_size, "batch_size", 8
    else:
        batch, name, passes = min(cfg.minibatch_size, cfg.num_steps * num_agents), "minibatch_size", 2
    step = batch * passes * 2 * 4 * _activations(cfg, obs_space)
    if step > LIMITS["batch_bytes"]:
        raise SettingsError(
            f"a gradient step on {field_label(name)} {batch:,} would take {step / MiB:,.0f} MiB, more than the "
            f"limit of {LIMITS['batch_bytes'] // MiB:,} MiB: lower {field_label(name)} or "
            f"{field_label('hidden_units')}, or observe less"
        )
