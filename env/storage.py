"""A Brain's trained state inside the .blend: the one place that reads, writes and describes it.

The state is the bytes ID property ``brain["academy_state"]`` on the Brain (a PropertyGroup of the
scene): an ``.npz`` archive of plain numeric arrays (weights, observation normalisers, optimiser
moments) and a JSON header (algorithm, config, spaces, training statistics), see
``training/persistence.py``. Being an ID property it is saved, compressed, undone, appended and
linked with its scene like any other Blender data.

Writing goes through :func:`write_bytes`: Blender 4.5 and 5.0 cut a bytes ID property that is
assigned *over an existing one* at its first NUL byte (a 139 kB model became 5 bytes on the second
Train), so the key is deleted first and what was written is read back and compared (length and
SHA-256) before anything else is told it was stored.

Reading goes through :func:`load` (``training.state_check.load_state``): the archive is checked
before anything is deserialised (pickles, raw or inside a torch checkpoint or as object arrays, are
refused: a .blend from a stranger cannot execute code through a Brain), then everything it holds
is checked against what its header says, so a damaged or crafted model is refused in one line
naming the Brain, whoever reads it. What is read is always bytes, never a path.
"""

from __future__ import annotations

import hashlib

from ..training.persistence import StateError
from ..training.state_check import CheckedState, load_state
from .brains import STATE_KEY, BrainError

__all__ = [
    "STATE_KEY",
    "StoreError",
    "clear_state",
    "describe_state",
    "load",
    "stored_state",
    "store_state",
    "write_bytes",
]


class StoreError(BrainError):
    """Bytes could not be stored in Blender as they were given; the message names the owner."""


def write_bytes(owner, key: str, data: bytes, label: str | None = None) -> None:
    """Store ``data`` as the bytes ID property ``owner[key]`` and check it reads back identically.

    ``label`` names the owner in errors (default: ``owner.name``). Raises :class:`StoreError` if
    Blender gives back anything but the same bytes; the old value is then already gone, so callers
    write only what they are willing to lose the previous value for (see :func:`store_state`).
    """
    data = bytes(data)
    if key in owner:
        del owner[key]  # assigning over an existing bytes property truncates at the first NUL
    owner[key] = data
    back = owner.get(key)
    back = bytes(back) if isinstance(back, (bytes, bytearray, memoryview)) else b""
    if len(back) != len(data) or hashlib.sha256(back).digest() != hashlib.sha256(data).digest():
        raise StoreError(
            f"{label or repr(getattr(owner, 'name', key))}: Blender stored {len(back):,} of {len(data):,} bytes "
            f"of '{key}' (read back differently)"
        )


def stored_state(brain) -> bytes | None:
    """The Brain's stored state as bytes, or None if it has none (not validated: see :func:`describe_state`)."""
    raw = brain.get(STATE_KEY)
    if raw is None or len(raw) == 0:
        return None
    if isinstance(raw, str):  # a crafted file may hold a string: keep its bytes, validation refuses it
        return raw.encode("utf-8", "surrogateescape")
    try:
        return bytes(raw)
    except TypeError:  # any other ID property type: hand on something that cannot parse
        return repr(raw).encode()


def load(data: bytes, brain_name: str, doing: str = "its stored model cannot be read") -> CheckedState:
    """``data`` checked completely (``training.state_check``); :class:`BrainError` naming the Brain if not.

    ``doing`` says what failed, after the Brain's name ("Brain 'X': <doing>: <what is wrong>").
    """
    try:
        return load_state(bytes(data))
    except StateError as exc:
        raise BrainError(f"Brain '{brain_name}': {doing}: {exc}") from None


def check_state(data: bytes, brain_name: str) -> dict:
    """The header of ``data`` after checking it completely (:func:`load`); a model with NaN or infinite
    weights (a diverged run) is refused like any other broken one and never replaces a good one."""
    return load(data, brain_name, "refusing to store this model (the Brain keeps its previous one)").header


def store_state(brain, data: bytes) -> dict:
    """Store ``data`` (``Learner.save_bytes()`` output) in the Brain; returns its header.

    Checked first (a safe state, finite numbers: :func:`check_state`), then written with
    :func:`write_bytes` and verified. If Blender does not give the bytes back the previous model is
    put back and :class:`StoreError` is raised.
    """
    header = check_state(data, brain.name)
    previous = stored_state(brain)
    try:
        write_bytes(brain, STATE_KEY, data, label=f"Brain '{brain.name}'")
    except StoreError:
        if previous is not None:
            try:
                write_bytes(brain, STATE_KEY, previous, label=f"Brain '{brain.name}'")
            except StoreError:
                pass
        raise
    return header


def clear_state(brain) -> None:
    """Forget the Brain's trained state (the next Train starts from scratch)."""
    if STATE_KEY in brain:
        del brain[STATE_KEY]


def describe_state(brain) -> dict | None:
    """What the stored state is (for the UI): algorithm, agent steps, spaces, size; None if none.

    Raises :class:`BrainError` naming the Brain if the state is not a valid, safe training state.
    """
    data = stored_state(brain)
    if data is None:
        return None
    state = load(data, brain.name)
    return {
        "algorithm": state.algorithm,
        "bytes": len(data),
        "total_steps": int(state.header["total_steps"]),
        "obs_space": state.obs_space.describe(),
        "action_space": state.action_space.describe(),
    }
