"""A Brain's trained state inside the .blend: read, write and describe it without ever running code.

The state is the bytes ID property ``brain["academy_state"]`` on the Brain (a PropertyGroup of the
scene), written by ``Academy.store_trained_brains``: an ``.npz`` archive of plain numeric arrays
(weights, observation normalisers, optimiser moments) and a JSON header (algorithm, config,
spaces, training statistics), see ``training/persistence.py``. Being an ID property it is saved,
compressed, undone, appended and linked with its scene like any other Blender data.

Reading goes through ``training.persistence.unpack_state``, which refuses pickles (raw, inside a
torch checkpoint, or as object arrays inside the archive) before anything is deserialised: a .blend
from a stranger cannot execute code through a Brain.
"""

from __future__ import annotations

from ..training.persistence import StateError, read_header
from .brains import STATE_KEY, BrainError

__all__ = ["STATE_KEY", "clear_state", "describe_state", "stored_state", "store_state"]


def stored_state(brain) -> bytes | None:
    """The Brain's stored state as bytes, or None if it has none (not validated: see :func:`describe_state`)."""
    raw = brain.get(STATE_KEY)
    if raw is None or len(raw) == 0:
        return None
    if isinstance(raw, str):  # a crafted file may hold a string: keep its bytes, validation refuses it
        return raw.encode("utf-8", "surrogateescape")
    return bytes(raw)


def store_state(brain, data: bytes) -> None:
    """Store ``data`` (``Learner.save_bytes()`` output) in the Brain, after checking it is a safe state."""
    try:
        read_header(data)
    except StateError as exc:
        raise BrainError(f"Brain '{brain.name}': refusing to store this model: {exc}") from None
    brain[STATE_KEY] = bytes(data)


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
