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

Reading goes through ``training.persistence.unpack_state``, which refuses pickles (raw, inside a
torch checkpoint, or as object arrays inside the archive) before anything is deserialised: a .blend
from a stranger cannot execute code through a Brain. What is read is always bytes, never a path.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..training.persistence import StateError, read_header, unpack_state
from .brains import STATE_KEY, BrainError

__all__ = [
    "STATE_KEY",
    "StoreError",
    "clear_state",
    "describe_state",
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


def check_state(data: bytes, brain_name: str) -> dict:
    """The header of ``data`` after checking it is a safe state with finite numbers only.

    Raises :class:`BrainError` naming the Brain: a model with NaN or infinite weights (a diverged
    run) must never replace a good one.
    """
    try:
        header, arrays = unpack_state(bytes(data))
    except StateError as exc:
        raise BrainError(f"Brain '{brain_name}': refusing to store this model: {exc}") from None
    for name, arr in arrays.items():
        if arr.dtype.kind in "fc" and not np.isfinite(arr).all():
            bad = int(arr.size - np.isfinite(arr).sum())
            raise BrainError(
                f"Brain '{brain_name}': the trained model has {bad:,} non-finite numbers in '{name}' (training "
                "diverged); it was not stored and the Brain keeps its previous model"
            )
    return header


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
    try:
        header = read_header(data)
    except StateError as exc:
        raise BrainError(f"Brain '{brain.name}': its stored model cannot be read: {exc}") from None
    from ..training import spaces as sp

    out = {
        "algorithm": header.get("algorithm"),
        "bytes": len(data),
        "total_steps": int(header.get("total_steps", 0)),
    }
    for key in ("obs_space", "action_space"):
        try:
            out[key] = sp.space_from_dict(header[key]).describe()
        except (KeyError, TypeError, ValueError):
            out[key] = None
    return out
