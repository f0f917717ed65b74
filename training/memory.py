"""Memory for PPO policies, numpy only: observation stacking and the GRU step of the numpy forward pass.

Two kinds of memory, both carried per agent and cleared when that agent's episode ends:

* **Stacked Observations** (``stacked_observations`` = k): the network sees the vector parts of the
  last k decisions' observations, oldest first, newest last, as one flat vector per entry (after
  normalisation). At an episode start the older slots are zeros. Images are not stacked.
* **Use Memory** (``use_memory``): a GRU cell of ``memory_size`` units between the trunk and the
  heads; its state is carried from decision to decision (``networks`` layout in ``recurrent.py``).

The torch learner (``recurrent.py``), the numpy policy and the state checker share these helpers,
so the stacked layout is defined once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .spaces import Box, Dict, Space, obs_entries

__all__ = ["ObsStack", "gru_step", "has_memory", "network_space"]


def has_memory(cfg: Any) -> bool:
    """True when a PPO config asks for a recurrent network or for stacked observations."""
    return bool(getattr(cfg, "use_memory", False)) or int(getattr(cfg, "stacked_observations", 1)) > 1


def network_space(obs_space: Space, k: int) -> Space:
    """The observation space the network is built for: each vector entry k times longer (flat)."""
    if k <= 1:
        return obs_space
    entries = {name: Box((k * s.dim,)) if isinstance(s, Box) else s for name, s in obs_entries(obs_space).items()}
    if isinstance(obs_space, Dict):
        return Dict(entries)
    return entries["obs"]


class ObsStack:
    """The last ``k`` (normalised) vector observations of each of ``n`` agents."""

    def __init__(self, obs_space: Space, k: int, n: int) -> None:
        self.k = int(k)
        self._n = int(n)
        self.boxes = {name: s.dim for name, s in obs_entries(obs_space).items() if isinstance(s, Box)}
        self.history = {name: np.zeros((n, self.k, d), np.float32) for name, d in self.boxes.items()}

    @property
    def n(self) -> int:
        return self._n

    def resize(self, n: int) -> None:
        """Start over for ``n`` agents (all histories cleared) if the batch size changed."""
        if self._n != n:
            self._n = int(n)
            self.history = {name: np.zeros((n, self.k, d), np.float32) for name, d in self.boxes.items()}

    def push(self, obs: dict[str, np.ndarray], commit: bool = True) -> dict[str, np.ndarray]:
        """``obs`` with each vector entry replaced by its stack ending with this observation.

        ``commit=False`` leaves the history as it was (a look at what the stack would be)."""
        if self.k <= 1:
            return obs
        out = dict(obs)
        for name, hist in self.history.items():
            x = np.asarray(obs[name], np.float32).reshape(hist.shape[0], -1)
            new = np.concatenate([hist[:, 1:], x[:, None, :]], axis=1)
            if commit:
                self.history[name] = new
            out[name] = new.reshape(hist.shape[0], -1)
        return out

    def clear(self, rows: np.ndarray) -> None:
        """Forget the history of the agents where ``rows`` (bool, n) is True (their episode ended)."""
        for hist in self.history.values():
            hist[rows] = 0.0

    def state(self) -> dict[str, np.ndarray]:
        """The histories to save (nothing when k is 1: there is no history)."""
        return {name: h.copy() for name, h in self.history.items()} if self.k > 1 else {}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        for name in self.history:
            if name in arrays and arrays[name].shape == self.history[name].shape:
                self.history[name] = np.array(arrays[name], np.float32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


def gru_step(x: np.ndarray, h: np.ndarray, params: dict[str, np.ndarray], prefix: str = "memory.") -> np.ndarray:
    """One ``torch.nn.GRUCell`` step in numpy (gate rows ordered reset, update, new, as torch's)."""
    gi = x @ params[f"{prefix}weight_ih"].T + params[f"{prefix}bias_ih"]
    gh = h @ params[f"{prefix}weight_hh"].T + params[f"{prefix}bias_hh"]
    H = h.shape[1]
    r = _sigmoid(gi[:, :H] + gh[:, :H])
    z = _sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
    n = np.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
    return ((1.0 - z) * n + z * h).astype(np.float32)
