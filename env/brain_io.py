"""A Brain's trained model in and out of Blender: export (checkpoint or ONNX), import, forget.

The model lives in the Brain as bytes (``brain["academy_state"]``, saved with the .blend): the
training-state format of ``training.persistence``, which never executes code when read.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..core.files import WriteError, write_atomic, write_atomic_with
from .academy import AcademyError, brain_spaces
from .brains import BrainError
from .sessions import trained_states
from .storage import clear_state, load, store_state
from .storage import stored_state as _stored


class BrainIOError(RuntimeError):
    """Export or import failed; the message names the Brain and the reason."""


def stored_state(brain) -> bytes:
    """The Brain's model bytes; raises :class:`BrainIOError` if it has none."""
    data = _stored(brain)
    if not data:
        raise BrainIOError(f"Brain '{brain.name}' has no trained model yet")
    return data


def _checked(brain, data: bytes, doing: str):
    try:
        return load(data, brain.name, doing)
    except BrainError as exc:
        raise BrainIOError(str(exc)) from None


def _verify_onnx(path: str) -> None:
    """Read an exported ONNX file back: the onnx package must load it and find it well formed."""
    import onnx

    try:
        onnx.checker.check_model(onnx.load(path), full_check=True)
    except Exception as exc:  # onnx raises its own ValidationError, or protobuf's DecodeError
        raise WriteError(f"the exported ONNX file does not read back ({exc}); nothing was written") from None


def export_brain(brain, path: str | os.PathLike, fmt: str = "CHECKPOINT") -> Path:
    """Write the Brain's model to ``path``: CHECKPOINT (the full training state) or ONNX (the acting policy).

    The model is checked completely first: a broken one is refused, naming the Brain, and nothing is written.
    """
    if fmt not in ("CHECKPOINT", "ONNX"):
        raise BrainIOError(f"unknown export format {fmt!r} (CHECKPOINT or ONNX)")
    data = stored_state(brain)
    state = _checked(brain, data, "its model cannot be exported")
    path = Path(path)
    if fmt == "CHECKPOINT":
        return write_atomic(path, data)
    try:
        from ..training.factory import learner_from_state
    except ImportError as exc:  # pragma: no cover - torch missing is reported below
        raise BrainIOError(f"Brain '{brain.name}': ONNX export needs PyTorch: {exc}") from None
    try:
        learner = learner_from_state(state)
        write_atomic_with(path, learner.export_onnx, _verify_onnx)
    except ModuleNotFoundError as exc:
        raise BrainIOError(
            f"Brain '{brain.name}': ONNX export needs PyTorch and the onnx package ({exc.name} is missing)"
        ) from None
    except ValueError as exc:  # StateError included: the checked model still could not be rebuilt
        raise BrainIOError(f"Brain '{brain.name}': its model cannot be exported: {exc}") from None
    return path


def import_brain(scene, brain, path: str | os.PathLike) -> dict:
    """Load a checkpoint file into ``brain``; its shapes must match the Brain's agents (if it has any).

    The file is checked completely before anything changes: on refusal the Brain keeps its previous
    model (byte for byte) and settings.
    """
    name = Path(path).name
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise BrainIOError(f"Brain '{brain.name}': cannot read {path}: {exc.strerror}") from None
    state = _checked(brain, data, f"{name} cannot be imported")
    try:
        obs, act, _n = brain_spaces(scene, brain.name)
    except AcademyError:
        obs = act = None  # no agents yet: nothing to compare against
    if obs is not None and (obs != state.obs_space or act != state.action_space):
        raise BrainIOError(
            f"{name} was trained for observations {state.obs_space.describe()} and actions "
            f"{state.action_space.describe()}, but Brain '{brain.name}' has agents with {obs.describe()} and "
            f"{act.describe()}"
        )
    try:
        store_state(brain, data)  # checked before the old model is replaced, verified after
    except BrainError as exc:
        raise BrainIOError(str(exc)) from None
    brain.algorithm = state.algorithm.upper()
    brain.trained_steps = int(state.header["total_steps"])
    if brain.uid:
        trained_states.pop(brain.uid, None)
    return state.header


def forget_model(brain) -> None:
    """Remove the Brain's trained model: the next Train starts from scratch."""
    clear_state(brain)
    brain.trained_steps = 0
    brain.mean_reward = 0.0
    if brain.uid:
        trained_states.pop(brain.uid, None)
