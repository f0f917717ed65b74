"""A Brain's trained model to and from files: export (checkpoint or ONNX) and import.

The model itself (reading, checking, storing in the Brain) is ``env.brain_store``'s; this module
only adds the files and the ONNX read-back.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..core.files import WriteError, write_atomic, write_atomic_with
from . import brain_store
from .brain_store import BrainError
from .errors import AcademyError
from .groups import brain_spaces


class BrainIOError(RuntimeError):
    """Export or import failed; the message names the Brain and the reason."""


def _verify_onnx(path: str) -> None:
    """Read an exported ONNX file back: the onnx package must load it and find it well formed."""
    import onnx

    try:
        onnx.checker.check_model(onnx.load(path), full_check=True)
    except Exception as exc:  # onnx raises its own ValidationError, or protobuf's DecodeError
        raise WriteError(f"the exported ONNX file does not read back ({exc}); nothing was written") from None


ONNX_CONVENTIONS = ("academy", "mlagents", "godot")  # training.export.CONVENTIONS, without importing torch


def export_brain(brain, path: str | os.PathLike, fmt: str = "CHECKPOINT", convention: str = "academy") -> Path:
    """Write the Brain's model to ``path``: CHECKPOINT (the full training state) or ONNX (the acting policy).

    ``convention`` (ONNX only): ``academy``, ``mlagents`` or ``godot``, whose loader the file's
    input/output names and layouts follow. The model is checked completely first: a broken one, or
    one the convention cannot express, is refused, naming the Brain, and nothing is written.
    """
    if fmt not in ("CHECKPOINT", "ONNX"):
        raise BrainIOError(f"unknown export format {fmt!r} (CHECKPOINT or ONNX)")
    if convention not in ONNX_CONVENTIONS:
        raise BrainIOError(f"unknown ONNX convention {convention!r} ({', '.join(ONNX_CONVENTIONS)})")
    try:
        data = brain_store.require_state(brain)
        state = brain_store.load(data, brain.name, "its model cannot be exported")
    except BrainError as exc:
        raise BrainIOError(str(exc)) from None
    path = Path(path)
    if fmt == "CHECKPOINT":
        return write_atomic(path, data)
    try:
        from ..training.export import ExportError
        from ..training.factory import learner_from_state
    except ImportError as exc:  # pragma: no cover - torch missing is reported below
        raise BrainIOError(f"Brain '{brain.name}': ONNX export needs PyTorch: {exc}") from None
    try:
        learner = learner_from_state(state)
        write_atomic_with(path, lambda tmp: learner.export_onnx(tmp, convention=convention), _verify_onnx)
    except ExportError as exc:
        raise BrainIOError(f"Brain '{brain.name}': {exc}") from None
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
    try:
        state = brain_store.load(data, brain.name, f"{name} cannot be imported")
        try:
            obs, act, _n = brain_spaces(scene, brain.name)
        except AcademyError:
            obs = act = None  # no agents yet: nothing to compare against
        if obs is not None:
            brain_store.check_spaces(brain.name, state, obs, act, what=name)
        brain_store.store_imported(brain, data, state)
    except BrainError as exc:
        raise BrainIOError(str(exc)) from None
    return state.header
