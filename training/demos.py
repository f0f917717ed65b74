"""Demonstrations: recorded decisions (observations, actions, rewards, episode ends) in a safe file.

The container is the one of trained models (``persistence``): an uncompressed ``.npz`` of plain
numeric arrays and a UTF-8 JSON header, read with ``allow_pickle=False`` and checked before
anything is unpacked, so a demonstration from a stranger cannot execute code. The format tag
differs (``agent-academy-demonstrations``) so a model is never mistaken for demonstrations.

Layout: ``header`` (format, version, the observation and action spaces in ``Space.to_dict`` form,
the Brain it was recorded from, ``steps``, ``episodes``), ``obs/<entry>`` (T, *entry shape) for
each entry of :func:`spaces.obs_entries`, ``actions`` (the learner's format: (T,) int64 for
Discrete, (T, branches) int64, (T, dim) float32 for a Box), ``rewards`` (T,) float32,
``terminated`` and ``truncated`` (T,) bool, ``episode`` (T,) int64. Row ``t`` is one decision of
one agent: what it observed, what it did, and what followed (the reward, whether that ended its
episode). An episode's rows are consecutive and numbered 0, 1, 2, ...; only an episode's last row
may end it, and an episode whose last row does not was still running when recording stopped (each
agent's last one; it counts in ``steps``, not in ``episodes`` nor the mean return).

Numpy only: no torch, no Blender.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import persistence
from .persistence import StateError
from .spaces import Box, Discrete, Image, MultiDiscrete, Space, action_nvec, obs_entries
from .state_check import _space

__all__ = ["FORMAT", "VERSION", "DemoError", "Demonstrations", "concatenate", "load_demos"]

FORMAT = "agent-academy-demonstrations"
VERSION = 1
#: the most rows a demonstration may hold (every array's first dimension)
MAX_ROWS = 50_000_000
FIELDS = ("actions", "rewards", "terminated", "truncated", "episode")


class DemoError(StateError):
    """Data that is not valid demonstrations (the message says what is wrong)."""


@dataclasses.dataclass
class Demonstrations:
    """Recorded decisions of one Brain's agents (see the module docstring for what each array holds)."""

    obs_space: Space
    action_space: Space
    obs: dict[str, np.ndarray]
    actions: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    episode: np.ndarray
    brain: str = ""

    @property
    def steps(self) -> int:
        """Decisions recorded (rows)."""
        return len(self.rewards)

    def _ends(self) -> np.ndarray:
        """The rows that end their episode."""
        return np.flatnonzero(self.terminated | self.truncated)

    @property
    def episodes(self) -> int:
        """Episodes that ended while recording (an episode still running at the end is not counted)."""
        return len(self._ends())

    @property
    def returns(self) -> np.ndarray:
        """The return (sum of rewards) of each ended episode."""
        ends = self._ends()
        sums = np.bincount(self.episode, weights=self.rewards.astype(np.float64), minlength=self.num_episodes)
        return sums[self.episode[ends]]

    @property
    def mean_return(self) -> float:
        """Mean return of the ended episodes (NaN if none ended)."""
        r = self.returns
        return float(r.mean()) if len(r) else float("nan")

    @property
    def num_episodes(self) -> int:
        """Episodes present, the one still running at the end of recording included."""
        return int(self.episode[-1]) + 1 if self.steps else 0

    def to_bytes(self) -> bytes:
        """The safe ``.npz`` form (checked first: what is written always reads back)."""
        self.check()
        header = {
            "format": FORMAT,
            "version": VERSION,
            "obs_space": self.obs_space.to_dict(),
            "action_space": self.action_space.to_dict(),
            "brain": self.brain,
            "steps": self.steps,
            "episodes": self.episodes,
        }
        arrays = {f"obs/{k}": v for k, v in self.obs.items()}
        arrays.update({name: getattr(self, name) for name in FIELDS})
        return persistence.pack_state(header, arrays)

    def check(self) -> None:
        """:class:`DemoError` unless every array has the dtype and shape the spaces imply, the actions
        are in range, the numbers finite and the episodes well formed."""
        entries = obs_entries(self.obs_space)
        if set(self.obs) != set(entries):
            raise DemoError(f"demonstrations have observation entries {sorted(self.obs)}, expected {sorted(entries)}")
        t = self.steps
        if t > MAX_ROWS:
            raise DemoError(f"demonstrations hold {t:,} rows (at most {MAX_ROWS:,})")
        for k, space in entries.items():
            dtype = np.uint8 if isinstance(space, Image) and space.dtype == "uint8" else np.float32
            _check(f"obs/{k}", self.obs[k], dtype, (t, *space.shape))
        act = self.action_space
        if isinstance(act, Box):
            _check("actions", self.actions, np.float32, (t, act.dim))
            low, high = act.low_array(), act.high_array()
            if t and ((self.actions < low).any() or (self.actions > high).any()):
                raise DemoError("demonstrations have continuous actions outside the action range")
        else:
            nvec = np.asarray(action_nvec(act))
            _check("actions", self.actions, np.int64, (t,) if isinstance(act, Discrete) else (t, len(nvec)))
            a = self.actions.reshape(t, -1)
            if t and ((a < 0).any() or (a >= nvec).any()):
                raise DemoError(f"demonstrations have discrete actions outside the choices {list(nvec)}")
        _check("rewards", self.rewards, np.float32, (t,))
        _check("terminated", self.terminated, np.bool_, (t,))
        _check("truncated", self.truncated, np.bool_, (t,))
        _check("episode", self.episode, np.int64, (t,))
        if not t:
            return
        step = np.diff(self.episode)
        if self.episode[0] != 0 or (step < 0).any() or (step > 1).any():
            raise DemoError("demonstrations have episodes that are not numbered 0, 1, 2, ... in order")
        ends = self.terminated | self.truncated
        last = np.append(step == 1, True)  # each episode's last row
        if (ends & ~last).any():
            row = int(np.flatnonzero(ends & ~last)[0])
            raise DemoError(f"demonstrations end episode {int(self.episode[row])} at row {row}, before its last row")


def _check(name: str, arr: Any, dtype: Any, shape: tuple[int, ...]) -> None:
    if not isinstance(arr, np.ndarray) or arr.dtype != np.dtype(dtype) or arr.shape != shape:
        got = f"{arr.dtype} {arr.shape}" if isinstance(arr, np.ndarray) else type(arr).__name__
        raise DemoError(f"demonstrations' '{name}' is {got}, expected {np.dtype(dtype)} {shape}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise DemoError(f"demonstrations' '{name}' holds numbers that are not finite")


def _ours(exc: StateError) -> DemoError:
    """The container's error, said of demonstrations rather than of a training state."""
    text = str(exc).replace("an Agent Academy training state", "Agent Academy demonstrations")
    return DemoError(text.replace("training state", "demonstrations"))


def load_demos(source: bytes | str | os.PathLike[str]) -> Demonstrations:
    """Read and check demonstrations from bytes or a file; :class:`DemoError` saying what is wrong.

    Pickles, models, damaged or crafted archives are refused before anything is unpacked (the
    checks of ``persistence``), then the header and every array are checked (:meth:`Demonstrations.check`).
    """
    data = persistence._source_bytes(source)
    try:
        persistence._checked_names(data)
    except StateError as exc:
        raise _ours(exc) from None
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except ValueError as exc:
        raise DemoError(f"refusing to load: the archive contains pickled objects ({exc})") from None
    raw = arrays.pop("header")
    try:
        header = json.loads(raw.tobytes().decode("utf-8")) if raw.dtype == np.uint8 and raw.ndim == 1 else None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        header = None
    if not isinstance(header, dict):
        raise DemoError("not Agent Academy demonstrations (the header is not a JSON table)")
    if header.get("format") == persistence.FORMAT:
        raise DemoError("this is a trained model, not demonstrations (import it as a model)")
    if header.get("format") != FORMAT:
        raise DemoError("not Agent Academy demonstrations (wrong format tag)")
    version = header.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version:
        raise DemoError(f"not Agent Academy demonstrations (version {str(version)[:20]!r})")
    if version > VERSION:
        raise DemoError(f"demonstrations version {version} are newer than this code (at most {VERSION})")
    try:
        obs_space = _space(header.get("obs_space"), "observation space")
        act_space = _space(header.get("action_space"), "action space")
    except StateError as exc:
        raise DemoError(str(exc).replace("the model's", "the demonstrations'")) from None
    flat_box = isinstance(act_space, Box) and len(act_space.shape) == 1
    if not (flat_box or isinstance(act_space, (Discrete, MultiDiscrete))):
        raise DemoError(f"the demonstrations' action space {act_space.describe()} is not one a Brain can have")
    entries = obs_entries(obs_space)
    want = {f"obs/{k}" for k in entries} | set(FIELDS)
    extra, missing = sorted(set(arrays) - want), sorted(want - set(arrays))
    if extra or missing:
        raise DemoError(
            f"demonstrations' arrays do not match their spaces (missing {missing[:3]}, unexpected {extra[:3]})"
        )
    brain = header.get("brain", "")
    demos = Demonstrations(
        obs_space,
        act_space,
        {k: arrays[f"obs/{k}"] for k in entries},
        *(arrays[name] for name in FIELDS),
        brain=brain if isinstance(brain, str) else "",
    )
    demos.check()
    for key, value in (("steps", demos.steps), ("episodes", demos.episodes)):
        if header.get(key) != value:
            raise DemoError(f"demonstrations' header says {str(header.get(key))[:20]} {key}, the arrays hold {value}")
    return demos


def concatenate(parts: Sequence[Demonstrations], brain: str = "") -> Demonstrations:
    """Several demonstrations as one (their episodes renumbered in order); they must share their spaces."""
    if not parts:
        raise DemoError("no demonstrations to join")
    first = parts[0]
    for p in parts[1:]:
        if p.obs_space != first.obs_space or p.action_space != first.action_space:
            raise DemoError(
                f"demonstrations for observations {p.obs_space.describe()} and actions {p.action_space.describe()} "
                f"cannot be joined with ones for {first.obs_space.describe()} and {first.action_space.describe()}"
            )
    offsets = np.cumsum([0] + [p.num_episodes for p in parts[:-1]])
    return Demonstrations(
        first.obs_space,
        first.action_space,
        {k: np.concatenate([p.obs[k] for p in parts]) for k in first.obs},
        np.concatenate([p.actions for p in parts]),
        np.concatenate([p.rewards for p in parts]),
        np.concatenate([p.terminated for p in parts]),
        np.concatenate([p.truncated for p in parts]),
        np.concatenate([p.episode + off for p, off in zip(parts, offsets, strict=True)]).astype(np.int64),
        brain=brain or first.brain,
    )
