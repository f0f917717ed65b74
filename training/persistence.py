"""Training-state container: an ``.npz`` archive of plain arrays plus a UTF-8 JSON header.

Reading never executes code: the archive is opened with ``allow_pickle=False`` and every entry
must be a plain numeric array. This module imports numpy only, so a saved state can be inspected
(and run through ``numpy_policy``) inside a Blender without torch.

Layout: ``header`` (uint8 array of UTF-8 JSON: format, version, algorithm, config, spaces, counters,
statistics, RNG states), ``model/<param>``, ``target/<param>`` (DQN), ``optim/<i>/<key>``,
``obs_norm/<entry>/<mean|var|count>``, ``ret_norm/...``, ``rng/torch``, ``buffer/<name>``.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from typing import Any

import numpy as np

__all__ = ["FORMAT", "VERSION", "StateError", "pack_state", "read_header", "unpack_state"]

FORMAT = "agent-academy-training-state"
VERSION = 1


class StateError(ValueError):
    """A file or byte string is not a valid (safe) training state."""


def pack_state(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> bytes:
    """Serialise a header dict and named arrays to bytes (uncompressed npz)."""
    header = {"format": FORMAT, "version": VERSION, **header}
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    for k, v in payload.items():
        if v.dtype.hasobject:
            raise TypeError(f"array {k!r} has dtype object; only plain numeric arrays can be saved")
    payload["header"] = np.frombuffer(json.dumps(header, sort_keys=True).encode("utf-8"), np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **payload)
    return buf.getvalue()


def _source_bytes(source: bytes | str | os.PathLike[str]) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    with open(source, "rb") as f:
        return f.read()


def unpack_state(source: bytes | str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read ``(header, arrays)`` from bytes or a path; refuses pickles and anything that is not ours."""
    data = _source_bytes(source)
    if not zipfile.is_zipfile(io.BytesIO(data)):
        if data[:1] == b"\x80":
            raise StateError("refusing to load: the data is a Python pickle, which could execute code")
        raise StateError("not an Agent Academy training state (expected an .npz archive)")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
    if any(n.endswith(".pkl") or "/data/" in n for n in names) and "header.npy" not in names:
        raise StateError("refusing to load: this looks like a torch pickle checkpoint, which could execute code")
    if "header.npy" not in names:
        raise StateError("not an Agent Academy training state (no header)")
    bad = [n for n in names if not n.endswith(".npy")]
    if bad:
        raise StateError(f"refusing to load: unexpected entries {bad[:3]} in the archive")
    arrays: dict[str, np.ndarray] = {}
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            for k in npz.files:
                arrays[k] = npz[k]
    except ValueError as e:  # numpy raises ValueError for object (pickled) arrays
        raise StateError(f"refusing to load: the archive contains pickled objects ({e})") from None
    header = _decode_header(arrays.pop("header"))
    return header, arrays


def _decode_header(arr: np.ndarray) -> dict[str, Any]:
    if arr.dtype != np.uint8 or arr.ndim != 1:
        raise StateError("not an Agent Academy training state (bad header)")
    try:
        header = json.loads(arr.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise StateError(f"not an Agent Academy training state (header is not JSON: {e})") from None
    if header.get("format") != FORMAT:
        raise StateError("not an Agent Academy training state (wrong format tag)")
    if int(header.get("version", 0)) > VERSION:
        raise StateError(f"training state version {header['version']} is newer than this code (max {VERSION})")
    return header


def read_header(source: bytes | str | os.PathLike[str]) -> dict[str, Any]:
    """Just the JSON header of a saved state (algorithm, config, spaces, counters, statistics)."""
    return unpack_state(source)[0]


def prefixed(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """Entries under ``prefix/`` with the prefix stripped."""
    p = prefix + "/"
    return {k[len(p) :]: v for k, v in arrays.items() if k.startswith(p)}
