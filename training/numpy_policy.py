"""The acting policy as a numpy-only forward pass, so a trained Brain runs in Blender without torch.

Built from the bytes of ``Learner.save_bytes()`` (``NumpyPolicy.from_bytes``); mirrors
``networks.py`` layer by layer (MLP and CNN encoders) and gives the same deterministic actions.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .arch import CNN_LAYERS, cnn_kind
from .memory import ObsStack, gru_step, network_space
from .persistence import prefixed
from .spaces import Box, Discrete, Hybrid, Image, MultiDiscrete, Space, action_nvec, obs_entries, space_from_dict
from .state_check import CheckedState, load_state

__all__ = ["NumpyPolicy"]


def _conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int) -> np.ndarray:
    """Valid (no padding) 2-D convolution, NCHW input, OIHW weights."""
    k = w.shape[2]
    win = sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]  # N C Ho Wo k k
    out = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3]))  # N Ho Wo O
    return out.transpose(0, 3, 1, 2) + b[None, :, None, None]


def _act_fn(name: str) -> Any:
    return np.tanh if name == "tanh" else (lambda v: np.maximum(v, 0.0))


class _Trunk:
    def __init__(self, params: dict[str, np.ndarray], prefix: str, obs_space: Space, cfg: dict[str, Any]) -> None:
        self.entries = obs_entries(obs_space)
        self.act = _act_fn(cfg["activation"])
        self.cnns: dict[str, list[tuple[str, Any, Any, int]]] = {}
        for name, space in self.entries.items():
            if isinstance(space, Image):
                strides = [s for _, _, s in CNN_LAYERS[cnn_kind(space, cfg["vis_encoder"])]]
                p = f"{prefix}encoder.cnns.{name}."
                idx = sorted({int(k[len(p) :].split(".")[0]) for k in params if k.startswith(p)})
                layers = []
                for i in idx:
                    w, b = params[f"{p}{i}.weight"], params[f"{p}{i}.bias"]
                    layers.append(("conv" if w.ndim == 4 else "dense", w, b, strides.pop(0) if w.ndim == 4 else 0))
                self.cnns[name] = layers
        p = f"{prefix}mlp."
        idx = sorted({int(k[len(p) :].split(".")[0]) for k in params if k.startswith(p)})
        self.mlp = [(params[f"{p}{i}.weight"].T.copy(), params[f"{p}{i}.bias"]) for i in idx]

    def __call__(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        parts = []
        for name, space in self.entries.items():
            x = obs[name]
            if isinstance(space, Box):
                parts.append(x.reshape(x.shape[0], -1))
                continue
            h = x.astype(np.float32).transpose(0, 3, 1, 2)
            if space.dtype == "uint8":
                h = h * np.float32(1.0 / 255.0)
            for kind, w, b, stride in self.cnns[name]:
                if kind == "conv":
                    h = np.maximum(_conv2d(h, w, b, stride), 0.0)
                else:
                    h = np.maximum(h.reshape(h.shape[0], -1) @ w.T + b, 0.0)
            parts.append(h)
        h = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
        for w, b in self.mlp:
            h = self.act(h @ w + b)
        return h


class NumpyPolicy:
    """Deterministic (or sampled) actions from a saved training state, numpy only."""

    def __init__(self, header: dict[str, Any], arrays: dict[str, np.ndarray], seed: int = 0) -> None:
        self.algorithm: str = header["algorithm"]
        self.config: dict[str, Any] = header["config"]
        self.obs_space = space_from_dict(header["obs_space"])
        self.action_space = space_from_dict(header["action_space"])
        params = {k: np.asarray(v, np.float32) for k, v in prefixed(arrays, "model").items()}
        norm = prefixed(arrays, "obs_norm")
        self.norm = {
            k: (norm[f"{k}/mean"].astype(np.float32), np.sqrt(norm[f"{k}/var"] + 1e-8).astype(np.float32))
            for k in obs_entries(self.obs_space)
            if f"{k}/mean" in norm
        }
        self.clip = float(self.config["obs_clip"])
        self.rng = np.random.default_rng(seed)
        self.log_std_head: tuple[np.ndarray, np.ndarray] | None = None
        # memory (training.memory): the stack of recent observations and the GRU state, per agent
        self.stacked = int(self.config.get("stacked_observations", 1)) if self.algorithm == "ppo" else 1
        self.memory_size = int(self.config["memory_size"]) if self.config.get("use_memory") else 0
        self.params = params
        self.stack = ObsStack(self.obs_space, self.stacked, 0)
        self.memory = np.zeros((0, self.memory_size), np.float32)
        if self.algorithm in ("ppo", "sac"):
            self.trunk = _Trunk(params, "actor.", network_space(self.obs_space, self.stacked), self.config)
            self.head = (params["pi_head.weight"].T.copy(), params["pi_head.bias"])
            self.log_std = params.get("log_std")
            if self.algorithm == "sac":  # the std depends on the observation (networks.SACModel)
                self.log_std_head = (params["log_std_head.weight"].T.copy(), params["log_std_head.bias"])
        else:
            self.trunk = _Trunk(params, "trunk.", self.obs_space, self.config)
            self.head = (params["q_head.weight"].T.copy(), params["q_head.bias"])
            self.log_std = None

    @classmethod
    def from_bytes(cls, data: bytes, seed: int = 0) -> NumpyPolicy:
        """From ``Learner.save_bytes()`` output, checked completely first (never executes code, needs no torch)."""
        return cls.from_checked(load_state(data), seed)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], seed: int = 0) -> NumpyPolicy:
        return cls.from_checked(load_state(path), seed)

    @classmethod
    def from_checked(cls, state: CheckedState, seed: int = 0) -> NumpyPolicy:
        """From a state ``state_check.load_state`` has checked (the constructor trusts what it gets)."""
        return cls(state.header, state.arrays, seed)

    def _prepare(self, obs: Any) -> dict[str, np.ndarray]:
        entries = obs_entries(self.obs_space)
        parts = dict(obs) if isinstance(obs, dict) else {"obs": obs}
        out = {}
        for k, space in entries.items():
            x = np.asarray(parts[k])
            if x.shape[1:] != space.shape:
                x = x.reshape(x.shape[0], *space.shape)
            if isinstance(space, Box):
                x = x.astype(np.float32)
                if k in self.norm:
                    mean, std = self.norm[k]
                    x = np.clip((x - mean) / std, -self.clip, self.clip)
            out[k] = x
        return out

    def policy_output(self, obs: Any) -> np.ndarray:
        """Logits (discrete PPO), Gaussian means (continuous PPO, SAC before tanh) or Q-values (DQN)."""
        return self._features_and_output(obs)[1]

    @property
    def has_memory(self) -> bool:
        """True when the policy carries a memory per agent (Use Memory or Stacked Observations)."""
        return self.memory_size > 0 or self.stacked > 1

    def reset_memory(self, rows: Any = None) -> None:
        """Clear the memory of every agent, or of those where ``rows`` (bool) is True (episode ended)."""
        if rows is None:
            self.stack.resize(0)
            self.memory = np.zeros((0, self.memory_size), np.float32)
            return
        rows = np.asarray(rows, bool)
        if len(rows) == self.stack.n:
            self.stack.clear(rows)
        if len(rows) == len(self.memory):
            self.memory[rows] = 0.0

    def step(self, obs: Any, memory: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Policy output and the new GRU state for ``obs`` from ``memory`` (the carried one if None),
        without stacking or carrying anything: the forward pass the ONNX export has, state in and out."""
        if self.stacked > 1:  # the input is the stack itself (raw: stacking after normalisation cannot be fed)
            if self.norm:
                raise ValueError(
                    "a policy with Stacked Observations and Normalize Observations takes single observations"
                )
            net = obs_entries(network_space(self.obs_space, self.stacked))
            parts = dict(obs) if isinstance(obs, dict) else {"obs": obs}
            o = {k: np.asarray(parts[k], np.float32 if isinstance(sp, Box) else None).reshape(-1, *sp.shape)
                 for k, sp in net.items()}  # fmt: skip
        else:
            o = self._prepare(obs)
        n = len(next(iter(o.values())))
        h = self.trunk(o)
        new = np.zeros((n, 0), np.float32)
        if self.memory_size:
            new = gru_step(h, np.zeros((n, self.memory_size), np.float32) if memory is None else memory, self.params)
            h = new
        w, b = self.head
        return h @ w + b, new

    def _features_and_output(self, obs: Any, commit: bool = False) -> tuple[np.ndarray, np.ndarray]:
        w, b = self.head
        o = self._prepare(obs)
        if self.has_memory:
            n = len(next(iter(o.values())))
            if self.stack.n != n or len(self.memory) != n:  # a new batch starts with a clear memory
                self.stack = ObsStack(self.obs_space, self.stacked, n)
                self.memory = np.zeros((n, self.memory_size), np.float32)
            o = self.stack.push(o, commit=commit)
        h = self.trunk(o)
        if self.memory_size:
            h_new = gru_step(h, self.memory, self.params)
            if commit:
                self.memory = h_new
            h = h_new
        return h, h @ w + b

    def act(
        self, obs: Any, action_mask: Any = None, deterministic: bool = True, mean_continuous: bool = False
    ) -> np.ndarray:
        """Actions for a batch: (N,) | (N, branches) int64 or (N, dim) float32 within bounds; hybrid
        actions (N, continuous + branches) float32, the choices as whole numbers. ``mean_continuous``:
        hybrid continuous actions are the Gaussian's mean even when the choices are sampled.

        A policy with memory carries it per row from call to call (``reset_memory`` at episode ends)."""
        h, out = self._features_and_output(obs, commit=True)
        space = self.action_space
        if isinstance(space, Hybrid):
            c = space.continuous.dim
            cont = self._continuous(space.continuous, h, out[:, :c], deterministic or mean_continuous)
            choice = self._choices(space.nvec, out[:, c:], action_mask, deterministic)
            return np.concatenate([cont, choice.astype(np.float32)], axis=1)
        if isinstance(space, Box):
            return self._continuous(space, h, out, deterministic)
        if self.algorithm == "dqn":
            if action_mask is not None:
                out = np.where(np.asarray(action_mask, bool), out, -1e8)
            return out.argmax(axis=1).astype(np.int64)
        a = self._choices(action_nvec(space), out, action_mask, deterministic)
        return a[:, 0] if isinstance(space, Discrete) else a

    def _continuous(self, space: Box, h: np.ndarray, out: np.ndarray, deterministic: bool) -> np.ndarray:
        """Continuous actions within the bounds from the Gaussian means ``out`` (sampled unless deterministic)."""
        raw = out
        log_std = self.log_std
        if self.log_std_head is not None:
            log_std = np.clip(h @ self.log_std_head[0] + self.log_std_head[1], -20.0, 2.0)
        if not deterministic and log_std is not None:
            raw = out + np.exp(log_std) * self.rng.standard_normal(out.shape).astype(np.float32)
        low, high = space.low_array(), space.high_array()
        if self.algorithm == "sac" or self.config.get("continuous_dist") == "squashed":
            return (low + (np.tanh(raw) + 1.0) * 0.5 * (high - low)).astype(np.float32)
        return np.clip(raw, low, high).astype(np.float32)

    def _choices(self, nvec: tuple[int, ...], out: np.ndarray, action_mask: Any, deterministic: bool) -> np.ndarray:
        """One choice per branch (N, branches) int64 from the logits ``out``, masked choices never taken."""
        if action_mask is not None:
            out = np.where(np.asarray(action_mask, bool), out, -1e8)
        actions = []
        start = 0
        for n in nvec:
            logits = out[:, start : start + n]
            if not deterministic:
                g = -np.log(-np.log(np.clip(self.rng.random(logits.shape), 1e-20, 1.0)))
                logits = logits + g
            actions.append(logits.argmax(axis=1))
            start += n
        return np.stack(actions, axis=1).astype(np.int64)

    predict = act


# For type checkers: MultiDiscrete is part of the action contract documented above.
_ = MultiDiscrete
