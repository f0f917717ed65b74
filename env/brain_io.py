"""A Brain's trained model to and from files: export (checkpoint, ONNX or a Stable-Baselines3 PPO .zip)
and import (checkpoint or a Stable-Baselines3 PPO .zip).

The model itself (reading, checking, storing in the Brain) is ``env.brain_store``'s; this module
only adds the files, the read-backs and the conversions (``training.sb3``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

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
FORMATS = ("CHECKPOINT", "ONNX", "SB3")
"""What :func:`export_brain` writes; :func:`import_brain` reads CHECKPOINT and SB3."""


def _verify_sb3(path: str) -> None:
    """Read an exported SB3 .zip back (as data, nothing unpickled) and convert it again."""
    from ..training.sb3 import SB3Error, from_sb3

    try:
        from_sb3(path)
    except SB3Error as exc:
        raise WriteError(
            f"the exported Stable-Baselines3 file does not read back ({exc}); nothing was written"
        ) from None


def _learner(brain, state, what: str) -> Any:
    try:
        from ..training.factory import learner_from_state
    except ImportError as exc:  # pragma: no cover - torch missing is reported below
        raise BrainIOError(f"Brain '{brain.name}': {what} needs PyTorch: {exc}") from None
    try:
        return learner_from_state(state)
    except ValueError as exc:  # StateError included: the checked model still could not be rebuilt
        raise BrainIOError(f"Brain '{brain.name}': its model cannot be exported: {exc}") from None


def export_brain(
    brain,
    path: str | os.PathLike,
    fmt: str = "CHECKPOINT",
    convention: str = "academy",
    notes: list[str] | None = None,
) -> Path:
    """Write the Brain's model to ``path``: CHECKPOINT (the full training state), ONNX (the acting policy)
    or SB3 (a Stable-Baselines3 PPO .zip, ``training.sb3.to_sb3``; what does not carry over is appended
    to ``notes``).

    ``convention`` (ONNX only): ``academy``, ``mlagents`` or ``godot``, whose loader the file's
    input/output names and layouts follow. The model is checked completely first: a broken one, or
    one the convention cannot express, is refused, naming the Brain, and nothing is written.
    """
    if fmt not in FORMATS:
        raise BrainIOError(f"unknown export format {fmt!r} ({', '.join(FORMATS)})")
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
    if fmt == "SB3":
        learner = _learner(brain, state, "Stable-Baselines3 export")
        from ..training.sb3 import SB3Error, to_sb3

        try:
            return write_atomic_with(path, lambda tmp: to_sb3(learner, tmp, notes), _verify_sb3)
        except SB3Error as exc:
            raise BrainIOError(f"Brain '{brain.name}': cannot export to Stable-Baselines3: {exc}") from None
        except ModuleNotFoundError as exc:
            raise BrainIOError(
                f"Brain '{brain.name}': Stable-Baselines3 export needs the stable-baselines3 and gymnasium packages "
                f"({exc.name} is missing)"
            ) from None
    learner = _learner(brain, state, "ONNX export")
    try:
        from ..training.export import ExportError

        write_atomic_with(path, lambda tmp: learner.export_onnx(tmp, convention=convention), _verify_onnx)
    except ExportError as exc:
        raise BrainIOError(f"Brain '{brain.name}': {exc}") from None
    except ModuleNotFoundError as exc:
        raise BrainIOError(
            f"Brain '{brain.name}': ONNX export needs PyTorch and the onnx package ({exc.name} is missing)"
        ) from None
    except ValueError as exc:
        raise BrainIOError(f"Brain '{brain.name}': its model cannot be exported: {exc}") from None
    return path


def _sb3_state(scene, brain, path: str | os.PathLike, agents, notes: list[str] | None) -> bytes:
    """A training state converted from an SB3 PPO .zip, for the Brain's agents (``agents``: their spaces or None)."""
    try:
        from ..training.sb3 import SB3Error, from_sb3
    except ImportError as exc:
        raise BrainIOError(f"Brain '{brain.name}': Stable-Baselines3 import needs PyTorch: {exc}") from None
    obs, n = (agents[0], agents[2]) if agents is not None else (None, None)
    seed = int(getattr(getattr(scene, "academy", None), "seed", 0))
    try:
        learner = from_sb3(path, num_agents=n, seed=seed, obs_space=obs, notes=notes)
    except SB3Error as exc:
        raise BrainIOError(f"Brain '{brain.name}': {Path(path).name} cannot be imported: {exc}") from None
    except ModuleNotFoundError as exc:  # pragma: no cover - a file needs only torch and numpy
        raise BrainIOError(
            f"Brain '{brain.name}': Stable-Baselines3 import needs {exc.name}, which is missing"
        ) from None
    return learner.save_bytes(include_buffers=False)


def import_brain(
    scene, brain, path: str | os.PathLike, fmt: str = "CHECKPOINT", notes: list[str] | None = None
) -> dict:
    """Load a checkpoint file, or (``fmt`` SB3) a Stable-Baselines3 PPO .zip, into ``brain``; its shapes must
    match the Brain's agents (if it has any).

    An SB3 model is converted by ``training.sb3.from_sb3`` (read as data: nothing in the file runs) and
    the Brain's PPO settings become the model's hyper-parameters; what does not carry over is appended
    to ``notes``. The file is checked completely before anything changes: on refusal the Brain keeps
    its previous model (byte for byte) and settings.
    """
    if fmt not in ("CHECKPOINT", "SB3"):
        raise BrainIOError(f"unknown import format {fmt!r} (CHECKPOINT or SB3)")
    name = Path(path).name
    try:
        agents = brain_spaces(scene, brain.name)
    except AcademyError:
        agents = None  # no agents yet: nothing to compare against
    if fmt == "SB3":
        if not Path(path).is_file():
            raise BrainIOError(f"Brain '{brain.name}': cannot read {path}: no such file")
        data = _sb3_state(scene, brain, path, agents, notes)
    else:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise BrainIOError(f"Brain '{brain.name}': cannot read {path}: {exc.strerror}") from None
    try:
        state = brain_store.load(data, brain.name, f"{name} cannot be imported")
        if agents is not None:
            brain_store.check_spaces(brain.name, state, agents[0], agents[1], what=name)
        brain_store.store_imported(brain, data, state)
    except BrainError as exc:
        raise BrainIOError(str(exc)) from None
    if fmt == "SB3":
        brain.ppo.from_config(state.config)
    return state.header
