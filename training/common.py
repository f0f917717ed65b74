"""Pieces shared by the learners: observation checks/normalisation, episode statistics, RNG."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from .normalize import RunningMeanStd
from .spaces import Box, Image, Space, obs_entries

__all__ = ["EpisodeStats", "ObsProcessor", "as_active", "linear_schedule"]


class ObsProcessor:
    """Checks observation batches against the space and normalises vector parts if asked."""

    def __init__(self, obs_space: Space, num_agents: int, normalize: bool, clip: float) -> None:
        self.entries = obs_entries(obs_space)
        self.num_agents = num_agents
        self.normalize = normalize
        self.clip = clip
        self.rms = {k: RunningMeanStd(s.shape) for k, s in self.entries.items() if normalize and isinstance(s, Box)}
        self.dtypes = {
            k: (np.uint8 if isinstance(s, Image) and s.dtype == "uint8" else np.float32)
            for k, s in self.entries.items()
        }

    def as_dict(self, obs: Any, n: int | None = None) -> dict[str, np.ndarray]:
        """Validate shapes (n agents, default num_agents) and return {name: array}, no copy if possible."""
        n = self.num_agents if n is None else n
        if isinstance(obs, dict):
            missing = sorted(set(self.entries) - set(obs))
            if missing:
                raise ValueError(f"observation is missing entries: {', '.join(missing)}")
            parts = {k: obs[k] for k in self.entries}
        else:
            if len(self.entries) != 1 or "obs" not in self.entries:
                raise ValueError(f"observation must be a dict with entries {sorted(self.entries)}")
            parts = {"obs": obs}
        out = {}
        for k, space in self.entries.items():
            arr = np.asarray(parts[k])
            want = (n, *space.shape)
            if arr.shape != want:
                if arr.size == int(np.prod(want)) and isinstance(space, Box):
                    arr = arr.reshape(want)
                else:
                    name = "" if k == "obs" else f" {k!r}"
                    raise ValueError(f"observation{name} has shape {arr.shape}, expected {want} (agents, *space shape)")
            out[k] = np.ascontiguousarray(arr, dtype=self.dtypes[k])
        return out

    def __call__(self, obs: Any, update: bool, n: int | None = None) -> dict[str, np.ndarray]:
        parts = self.as_dict(obs, n)
        for k, rms in self.rms.items():
            if update:
                rms.update(parts[k])
            parts[k] = rms.normalize(parts[k], self.clip)
        return parts

    def state(self) -> dict[str, np.ndarray]:
        out = {}
        for k, rms in self.rms.items():
            for name, arr in rms.state().items():
                out[f"{k}/{name}"] = np.asarray(arr)
        return out

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        for k, rms in self.rms.items():
            rms.load_state({n: arrays[f"{k}/{n}"] for n in ("mean", "var", "count")})


class EpisodeStats:
    """Per-agent running episode return/length and the last 100 finished episodes."""

    def __init__(self, num_agents: int, window: int = 100) -> None:
        self.returns = np.zeros(num_agents, np.float64)
        self.lengths = np.zeros(num_agents, np.int64)
        self.recent_returns: deque[float] = deque(maxlen=window)
        self.recent_lengths: deque[int] = deque(maxlen=window)
        self.episodes = 0

    def update(self, rewards: np.ndarray, dones: np.ndarray, active: np.ndarray | None = None) -> None:
        """Add one step; rows with ``active`` False (waiting agents) are left untouched."""
        if active is not None and not active.all():
            rewards = np.where(active, rewards, 0.0)
            dones = dones & active
            self.lengths += active
        else:
            self.lengths += 1
        self.returns += rewards
        if dones.any():
            idx = np.flatnonzero(dones)
            self.recent_returns.extend(self.returns[idx].tolist())
            self.recent_lengths.extend(self.lengths[idx].tolist())
            self.episodes += len(idx)
            self.returns[idx] = 0.0
            self.lengths[idx] = 0

    def summary(self) -> dict[str, float]:
        r = self.recent_returns
        return {
            "episode_return": float(np.mean(r)) if r else float("nan"),
            "episode_length": float(np.mean(self.recent_lengths)) if r else float("nan"),
            "episodes": float(self.episodes),
        }

    def state(self) -> dict[str, Any]:
        return {
            "returns": self.returns.tolist(),
            "lengths": self.lengths.tolist(),
            "recent_returns": list(self.recent_returns),
            "recent_lengths": list(self.recent_lengths),
            "episodes": self.episodes,
        }

    def load_state(self, d: dict[str, Any], same_agents: bool) -> None:
        if same_agents:
            self.returns[:] = d["returns"]
            self.lengths[:] = d["lengths"]
        self.recent_returns.extend(d["recent_returns"])
        self.recent_lengths.extend(d["recent_lengths"])
        self.episodes = int(d["episodes"])


def linear_schedule(start: float, end: float, progress: float) -> float:
    """Value at ``progress`` in [0, 1] (clamped) on the line from start to end."""
    p = min(max(progress, 0.0), 1.0)
    return start + (end - start) * p


def as_flags(x: Any, n: int, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=bool).reshape(-1)
    if arr.shape != (n,):
        raise ValueError(f"{name} has {arr.size} entries, expected one per agent ({n})")
    return arr


def as_active(x: Any, n: int) -> np.ndarray:
    """The per-agent activity mask of ``observe`` (None = every row is real)."""
    return np.ones(n, bool) if x is None else as_flags(x, n, "active")


def as_rewards(x: Any, n: int) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float32).reshape(-1)
    if arr.shape != (n,):
        raise ValueError(f"rewards has {arr.size} entries, expected one per agent ({n})")
    return arr


def rng_state_to_json(rng: np.random.Generator) -> dict[str, Any]:
    return rng.bit_generator.state  # plain dict of ints/strings: JSON-safe


#: the bit generators a saved state may name: an explicit table, never a name looked up in numpy
BIT_GENERATORS = {
    "PCG64": np.random.PCG64,
    "PCG64DXSM": np.random.PCG64DXSM,
    "MT19937": np.random.MT19937,
    "Philox": np.random.Philox,
    "SFC64": np.random.SFC64,
}


def rng_from_json(state: dict[str, Any]) -> np.random.Generator:
    """The generator a saved state describes; ValueError for anything but a known bit generator's state."""
    name = state.get("bit_generator") if isinstance(state, dict) else None
    make = BIT_GENERATORS.get(name) if isinstance(name, str) else None
    if make is None:
        raise ValueError(f"unknown random generator {str(name)[:40]!r} in the saved state")
    bg = make()
    try:
        bg.state = state
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"the saved {name} random state is not valid ({exc})") from None
    return np.random.Generator(bg)
