"""Observation and action spaces of the learning core.

Our own small space classes (not gymnasium's) so that ``training`` works inside Blender, where
gymnasium is absent. Every space serialises to a JSON-able dict (``to_dict``/``space_from_dict``)
and ``from_gymnasium`` converts gymnasium spaces when gymnasium is installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "Box",
    "Dict",
    "Discrete",
    "Hybrid",
    "Image",
    "MultiDiscrete",
    "Space",
    "from_gymnasium",
    "space_from_dict",
]


class Space:
    """Base class: a space knows its shape and how to (de)serialise itself."""

    kind: str = ""

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def describe(self) -> str:
        """Short human-readable description used in error messages."""
        return repr(self)


@dataclass(frozen=True)
class Box(Space):
    """A flat float vector (observations) or bounded continuous actions."""

    shape: tuple[int, ...]
    low: float | tuple[float, ...] = -np.inf
    high: float | tuple[float, ...] = np.inf
    kind = "box"

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(s) for s in np.atleast_1d(self.shape)))
        for name in ("low", "high"):
            v = getattr(self, name)
            if np.ndim(v) > 0:
                arr = np.broadcast_to(np.asarray(v, dtype=np.float64), self.shape).ravel()
                object.__setattr__(self, name, tuple(float(x) for x in arr))
            else:
                object.__setattr__(self, name, float(v))

    @property
    def dim(self) -> int:
        return int(np.prod(self.shape))

    def low_array(self) -> np.ndarray:
        return np.broadcast_to(np.asarray(self.low, np.float32), (self.dim,)).reshape(self.shape)

    def high_array(self) -> np.ndarray:
        return np.broadcast_to(np.asarray(self.high, np.float32), (self.dim,)).reshape(self.shape)

    @property
    def bounded(self) -> bool:
        return bool(np.all(np.isfinite(self.low_array())) and np.all(np.isfinite(self.high_array())))

    def to_dict(self) -> dict[str, Any]:
        def enc(v: Any) -> Any:
            if isinstance(v, tuple):
                return [enc(x) for x in v]
            return v if np.isfinite(v) else ("inf" if v > 0 else "-inf")

        return {"kind": self.kind, "shape": list(self.shape), "low": enc(self.low), "high": enc(self.high)}

    def describe(self) -> str:
        return f"Box{self.shape}"


@dataclass(frozen=True)
class Image(Space):
    """An image observation, height x width x channels (uint8 0..255 or float 0..1)."""

    height: int
    width: int
    channels: int = 3
    dtype: str = "uint8"
    kind = "image"

    def __post_init__(self) -> None:
        if self.dtype not in ("uint8", "float32"):
            raise ValueError(f"Image dtype must be 'uint8' or 'float32', got {self.dtype!r}")

    @property
    def shape(self) -> tuple[int, int, int]:
        return (int(self.height), int(self.width), int(self.channels))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "height": int(self.height),
            "width": int(self.width),
            "channels": int(self.channels),
            "dtype": self.dtype,
        }

    def describe(self) -> str:
        return f"Image{self.shape}:{self.dtype}"


@dataclass(frozen=True)
class Dict(Space):
    """Several named observations (vectors and/or images) for one agent."""

    spaces: dict[str, Space] = field(default_factory=dict)
    kind = "dict"

    def __post_init__(self) -> None:
        # Sorted keys give one canonical order for encoders, saving and ONNX inputs.
        object.__setattr__(self, "spaces", {k: self.spaces[k] for k in sorted(self.spaces)})
        for k, s in self.spaces.items():
            if not isinstance(s, (Box, Image)):
                raise TypeError(f"Dict entry {k!r} must be a Box or an Image, got {type(s).__name__}")

    def __hash__(self) -> int:
        return hash(tuple(self.spaces.items()))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "spaces": {k: s.to_dict() for k, s in self.spaces.items()}}

    def describe(self) -> str:
        return "Dict(" + ", ".join(f"{k}: {s.describe()}" for k, s in self.spaces.items()) + ")"


@dataclass(frozen=True)
class Discrete(Space):
    """One discrete action out of ``n``."""

    n: int
    kind = "discrete"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "n": int(self.n)}

    def describe(self) -> str:
        return f"Discrete({self.n})"


@dataclass(frozen=True)
class MultiDiscrete(Space):
    """Several independent discrete branches (ML-Agents "branches"), one choice per branch."""

    nvec: tuple[int, ...]
    kind = "multi_discrete"

    def __post_init__(self) -> None:
        object.__setattr__(self, "nvec", tuple(int(n) for n in self.nvec))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "nvec": list(self.nvec)}

    def describe(self) -> str:
        return f"MultiDiscrete({list(self.nvec)})"


@dataclass(frozen=True)
class Hybrid(Space):
    """Continuous and discrete actions together (ML-Agents' ActionSpec with both parts).

    An action is one float vector: the ``continuous`` values first, then one choice index per
    discrete branch (``nvec`` gives the branch sizes).
    """

    continuous: Box
    nvec: tuple[int, ...]
    kind = "hybrid"

    def __post_init__(self) -> None:
        if not isinstance(self.continuous, Box) or len(self.continuous.shape) != 1:
            raise ValueError("the continuous part of a hybrid action space must be a 1-D Box")
        object.__setattr__(self, "nvec", tuple(int(n) for n in self.nvec))
        if not self.nvec:
            raise ValueError("a hybrid action space needs at least one discrete branch")

    @property
    def continuous_size(self) -> int:
        return self.continuous.dim

    @property
    def dim(self) -> int:
        """Values in one action: the continuous ones and one per branch."""
        return self.continuous.dim + len(self.nvec)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "continuous": self.continuous.to_dict(), "nvec": list(self.nvec)}

    def describe(self) -> str:
        return f"Hybrid({self.continuous.dim} continuous, branches {list(self.nvec)})"


def space_from_dict(d: dict[str, Any]) -> Space:
    """Rebuild a space from the dict made by ``Space.to_dict``."""

    def dec(v: Any) -> Any:
        if isinstance(v, list):
            return tuple(dec(x) for x in v)
        if v == "inf":
            return np.inf
        if v == "-inf":
            return -np.inf
        return float(v)

    kind = d["kind"]
    if kind == "box":
        return Box(tuple(d["shape"]), dec(d["low"]), dec(d["high"]))
    if kind == "image":
        return Image(d["height"], d["width"], d["channels"], d["dtype"])
    if kind == "dict":
        return Dict({k: space_from_dict(v) for k, v in d["spaces"].items()})
    if kind == "discrete":
        return Discrete(int(d["n"]))
    if kind == "multi_discrete":
        return MultiDiscrete(tuple(d["nvec"]))
    if kind == "hybrid":
        box = space_from_dict(d["continuous"])
        if not isinstance(box, Box):
            raise ValueError("the continuous part of a hybrid action space must be a Box")
        return Hybrid(box, tuple(d["nvec"]))
    raise ValueError(f"unknown space kind {kind!r}")


def _is_image_box(space: Any) -> bool:
    shape = space.shape
    if len(shape) != 3 or shape[-1] not in (1, 3, 4):
        return False
    return space.dtype == np.uint8 or (np.all(space.low == 0) and np.all(space.high == 1))


def from_gymnasium(space: Any) -> Space:
    """Convert a gymnasium space (Box, Discrete, MultiDiscrete, Dict) to ours.

    A 3-D Box with 1, 3 or 4 channels last that is uint8 (or float in [0, 1]) becomes an Image.
    """
    import gymnasium.spaces as gs  # lazy: gymnasium is not shipped with Blender

    if isinstance(space, gs.Discrete):
        if int(space.start) != 0:
            raise ValueError("Discrete spaces with start != 0 are not supported")
        return Discrete(int(space.n))
    if isinstance(space, gs.MultiDiscrete):
        if space.nvec.ndim != 1:
            raise ValueError("only 1-D MultiDiscrete spaces are supported")
        return MultiDiscrete(tuple(int(n) for n in space.nvec))
    if isinstance(space, gs.Box):
        if _is_image_box(space):
            h, w, c = space.shape
            return Image(h, w, c, "uint8" if space.dtype == np.uint8 else "float32")
        low = space.low.ravel()
        high = space.high.ravel()
        lo = float(low[0]) if np.all(low == low[0]) else tuple(float(x) for x in low)
        hi = float(high[0]) if np.all(high == high[0]) else tuple(float(x) for x in high)
        return Box(space.shape, lo, hi)
    if isinstance(space, gs.Dict):
        return Dict({k: from_gymnasium(s) for k, s in space.spaces.items()})
    raise TypeError(f"unsupported gymnasium space {space!r}")


def obs_entries(space: Space) -> dict[str, Box | Image]:
    """The observation as named parts; a single space is the part named ``"obs"``."""
    if isinstance(space, Dict):
        return dict(space.spaces)
    if isinstance(space, (Box, Image)):
        return {"obs": space}
    raise TypeError(f"observation space must be Box, Image or Dict, got {type(space).__name__}")


def action_nvec(space: Space) -> tuple[int, ...]:
    """Branch sizes of a discrete action space (one branch for Discrete; the discrete part of a Hybrid)."""
    if isinstance(space, Discrete):
        return (int(space.n),)
    if isinstance(space, MultiDiscrete | Hybrid):
        return space.nvec
    raise TypeError(f"not a discrete action space: {space.describe()}")


def check_same_spaces(saved_obs: Space, saved_act: Space, obs: Space, act: Space) -> None:
    """Raise ValueError naming which shapes differ between a saved state and the requested spaces."""
    problems = []
    if saved_obs.to_dict() != obs.to_dict():
        problems.append(f"observation space: saved {saved_obs.describe()}, requested {obs.describe()}")
    if saved_act.to_dict() != act.to_dict():
        problems.append(f"action space: saved {saved_act.describe()}, requested {act.describe()}")
    if problems:
        raise ValueError("saved training state does not match: " + "; ".join(problems))
