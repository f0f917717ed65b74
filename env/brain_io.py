"""A Brain's trained model in and out of Blender: export (checkpoint or ONNX), import, forget.

The model lives in the Brain as bytes (``brain["academy_state"]``, saved with the .blend): the
training-state format of ``training.persistence``, which never executes code when read.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..training import spaces as sp
from ..training.persistence import StateError, read_header
from .academy import AcademyError, brain_spaces
from .brains import BrainError
from .files import write_atomic, write_atomic_with
from .sessions import trained_states
from .storage import clear_state, store_state
from .storage import stored_state as _stored


class BrainIOError(RuntimeError):
    """Export or import failed; the message names the Brain and the reason."""


def stored_state(brain) -> bytes:
    """The Brain's model bytes; raises :class:`BrainIOError` if it has none."""
    data = _stored(brain)
    if not data:
        raise BrainIOError(f"Brain '{brain.name}' has no trained model yet")
    return data


def export_brain(brain, path: str | os.PathLike, fmt: str = "CHECKPOINT") -> Path:
    """Write the Brain's model to ``path``: CHECKPOINT (the full training state) or ONNX (the acting policy)."""
    data = stored_state(brain)
    path = Path(path)
    if fmt == "CHECKPOINT":
        return write_atomic(path, data)
    if fmt == "ONNX":
        try:
            from ..training import load_learner
        except ImportError as exc:  # pragma: no cover - torch missing is reported below
            raise BrainIOError(f"ONNX export needs PyTorch: {exc}") from None
        try:
            learner = load_learner(data)
            write_atomic_with(path, learner.export_onnx)
        except ModuleNotFoundError as exc:
            raise BrainIOError(f"ONNX export needs PyTorch and the onnx package ({exc.name} is missing)") from None
        return path
    raise BrainIOError(f"unknown export format {fmt!r} (CHECKPOINT or ONNX)")


def import_brain(scene, brain, path: str | os.PathLike) -> dict:
    """Load a checkpoint file into ``brain``; its shapes must match the Brain's agents (if it has any)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise BrainIOError(f"cannot read {path}: {exc.strerror}") from None
    try:
        header = read_header(data)
    except StateError as exc:
        raise BrainIOError(f"{Path(path).name}: {exc}") from None
    saved_obs = sp.space_from_dict(header["obs_space"])
    saved_act = sp.space_from_dict(header["action_space"])
    try:
        obs, act, _n = brain_spaces(scene, brain.name)
    except AcademyError:
        obs = act = None  # no agents yet: nothing to compare against
    if obs is not None and (obs != saved_obs or act != saved_act):
        raise BrainIOError(
            f"{Path(path).name} was trained for observations {saved_obs.describe()} and actions "
            f"{saved_act.describe()}, but Brain '{brain.name}' has agents with {obs.describe()} and {act.describe()}"
        )
    algorithm = str(header.get("algorithm", "")).upper()
    if algorithm in {"PPO", "DQN"}:
        brain.algorithm = algorithm
    try:
        store_state(brain, data)  # checked before the old model is replaced, verified after
    except BrainError as exc:
        raise BrainIOError(str(exc)) from None
    brain.trained_steps = int(header.get("total_steps", 0))
    if brain.uid:
        trained_states.pop(brain.uid, None)
    return header


def forget_model(brain) -> None:
    """Remove the Brain's trained model: the next Train starts from scratch."""
    clear_state(brain)
    brain.trained_steps = 0
    brain.mean_reward = 0.0
    if brain.uid:
        trained_states.pop(brain.uid, None)
