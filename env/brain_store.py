"""A Brain's stored model inside the .blend: the one module that reads, writes, describes and clears it.

The model is the bytes ID property ``brain["academy_state"]`` (``core.names.STATE_KEY``) on the Brain
(a PropertyGroup of the scene): an ``.npz`` archive of plain numeric arrays (weights, observation
normalisers, optimiser moments) and a JSON header (algorithm, config, spaces, training statistics),
see ``training/persistence.py``. Being an ID property it is saved, compressed, undone, appended and
linked with its scene like any other Blender data.

"No model" has one spelling: :func:`stored_state` returns None; :func:`require_state` raises a
:class:`BrainError` naming the Brain for callers that cannot go on without one.

Writing goes through :func:`write_bytes`: Blender 4.5 and 5.0 cut a bytes ID property that is
assigned *over an existing one* at its first NUL byte (a 139 kB model became 5 bytes on the second
Train), so the key is deleted first and what was written is read back and compared (length and
SHA-256) before anything else is told it was stored.

Reading goes through :func:`load` (``training.state_check.load_state``): the archive is checked
before anything is deserialised (pickles, raw or inside a torch checkpoint or as object arrays, are
refused: a .blend from a stranger cannot execute code through a Brain), then everything it holds
is checked against what its header says, so a damaged or crafted model is refused in one line
naming the Brain, whoever reads it. What is read is always bytes, never a path. Whether a model
fits the Brain's agents is :func:`check_spaces`, the one shape check.

The session keeps the newest model trained in it per Brain (``env.sessions.trained_states``) so an
undo that brings back an older one is put right (:func:`restore_trained`); storing, importing and
forgetting keep that record in step here.
"""

from __future__ import annotations

import hashlib
import math

from ..core.names import STATE_KEY
from ..training.persistence import StateError
from ..training.state_check import CheckedState, load_state
from .sessions import trained_names, trained_states

__all__ = [
    "FRESH_HINT",
    "STATE_KEY",
    "BrainError",
    "StoreError",
    "check_spaces",
    "check_state",
    "clear_state",
    "describe_state",
    "forget_model",
    "has_model",
    "load",
    "require_state",
    "restore_trained",
    "store_imported",
    "store_state",
    "store_trained",
    "stored_state",
    "write_bytes",
]

FRESH_HINT = (
    "to train from scratch, reset the model (Scene Properties → Academy → Brain → Model → Reset Model) "
    "or run 'academy train --fresh'"
)
"""The way forward when what the agents observe or do no longer matches a Brain's trained model."""


class BrainError(RuntimeError):
    """A Brain cannot run. The message names the Brain and the reason."""


class StoreError(BrainError):
    """Bytes could not be stored in Blender as they were given; the message names the owner."""


def _label(brain) -> str:
    return f"Brain '{brain.name}'"


# -- bytes in and out of Blender -------------------------------------------------------------


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
    """The Brain's stored model as bytes, or None if it has none (not validated: see :func:`load`)."""
    raw = brain.get(STATE_KEY)
    if raw is None:
        return None
    if isinstance(raw, (bytes, bytearray, memoryview)):
        return bytes(raw) or None
    if isinstance(raw, str):  # a crafted file may hold a string: keep its bytes, validation refuses it
        return raw.encode("utf-8", "surrogateescape") or None
    try:
        if len(raw) == 0:
            return None
    except TypeError:
        pass
    return repr(raw).encode()  # any other ID property type: hand on something that cannot parse


def has_model(brain) -> bool:
    """Whether the Brain holds a model (not validated), for polls and the UI."""
    return stored_state(brain) is not None


def require_state(brain) -> bytes:
    """The Brain's stored model as bytes; :class:`BrainError` naming the Brain if it has none."""
    data = stored_state(brain)
    if data is None:
        raise BrainError(f"{_label(brain)} has no trained model yet")
    return data


# -- checking ----------------------------------------------------------------------------


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


def check_spaces(
    brain_name: str,
    checked: CheckedState,
    obs_space,
    act_space,
    now: str = "its agents have",
    what: str = "its model",
    reset: bool = False,
) -> None:
    """:class:`BrainError` naming the Brain unless ``checked`` was trained for these spaces.

    The one "model matches the agents" check. ``what`` names the model ("its model", a file name),
    ``now`` introduces the agents' spaces; ``reset`` adds how to train from scratch instead.
    """
    if checked.obs_space != obs_space or checked.action_space != act_space:
        raise BrainError(
            f"Brain '{brain_name}': {what} was trained for observations {checked.obs_space.describe()} and actions "
            f"{checked.action_space.describe()}, but {now} {obs_space.describe()} and {act_space.describe()}"
            + (f": {FRESH_HINT}" if reset else "")
        )


def describe_state(brain) -> dict | None:
    """What the stored model is (for the UI): algorithm, agent steps, spaces, size; None if none.

    Raises :class:`BrainError` naming the Brain if the model is not a valid, safe training state.
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


# -- storing and forgetting ------------------------------------------------------------------


def store_state(brain, data: bytes) -> dict:
    """Store ``data`` (``Learner.save_bytes()`` output) in the Brain; returns its header.

    Checked first (a safe state, finite numbers: :func:`check_state`), then written with
    :func:`write_bytes` and verified. If Blender does not give the bytes back the previous model is
    put back and :class:`StoreError` is raised.
    """
    header = check_state(data, brain.name)
    previous = stored_state(brain)
    try:
        write_bytes(brain, STATE_KEY, data, label=_label(brain))
    except StoreError:
        if previous is not None:
            try:
                write_bytes(brain, STATE_KEY, previous, label=_label(brain))
            except StoreError:
                pass
        raise
    return header


def store_trained(scene, brain, data: bytes, total_steps: int, mean_return: float) -> None:
    """Store a model just trained in this session (:func:`store_state`) and its numbers on the Brain.

    The session remembers it as the Brain's newest model (for :func:`restore_trained` after an undo).
    ``mean_return`` NaN (no episode ended) leaves the Brain's Mean Reward as it was. On
    :class:`BrainError` nothing has changed.
    """
    store_state(brain, data)
    brain.trained_steps = int(total_steps)
    trained_states[brain.uid] = (brain.trained_steps, bytes(data))
    trained_names[(scene.name, brain.name)] = brain.uid
    if not math.isnan(mean_return):
        brain.mean_reward = mean_return


def store_imported(brain, data: bytes, state: CheckedState) -> None:
    """Store a model read from a file (already :func:`load`-ed as ``state``): the Brain takes its
    algorithm and steps, and an older model trained in this session no longer comes back on undo."""
    store_state(brain, data)  # checked before the old model is replaced, verified after
    brain.algorithm = state.algorithm.upper()
    brain.trained_steps = int(state.header["total_steps"])
    if brain.uid:
        trained_states.pop(brain.uid, None)


def clear_state(brain) -> None:
    """Delete the Brain's stored model only (the next Train starts from scratch); see :func:`forget_model`."""
    if STATE_KEY in brain:
        del brain[STATE_KEY]


def forget_model(brain) -> None:
    """Remove the Brain's model and its numbers: the next Train starts from scratch, undo does not bring
    back a model trained earlier in this session."""
    clear_state(brain)
    brain.trained_steps = 0
    brain.mean_reward = 0.0
    brain.self_play.elo = brain.self_play.initial_elo  # the rating rated the model just forgotten
    if brain.uid:
        trained_states.pop(brain.uid, None)


def restore_trained(scene, brain) -> bool:
    """After an undo: put back the newest model trained in this session if the Brain now holds an older one.

    Returns whether it did; :class:`StoreError` if Blender did not keep the bytes.
    """
    uid = brain.uid or trained_names.get((scene.name, brain.name), "")
    newer = trained_states.get(uid)
    if newer is None or newer[0] <= brain.trained_steps:
        return False
    brain.uid = uid
    write_bytes(brain, STATE_KEY, newer[1], label=_label(brain))  # checked when it was first stored
    brain.trained_steps = newer[0]
    return True
