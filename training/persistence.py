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


#: the most a state may unpack to (every array together): far above any model here (25 MB), far
#: below what a crafted archive could make us allocate
MAX_UNPACKED_BYTES = 1 << 30
#: the most a single entry may grow when decompressed (``pack_state`` stores entries uncompressed)
MAX_RATIO = 20


def _checked_names(data: bytes) -> list[str]:
    """The archive's entry names after checking it is ours and cannot unpack to something huge."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        if data[:1] == b"\x80":
            raise StateError("refusing to load: the data is a Python pickle, which could execute code")
        raise StateError("not an Agent Academy training state (expected an .npz archive)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise StateError(f"not an Agent Academy training state (a damaged archive: {exc})") from None
    names = [i.filename for i in infos]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:  # numpy would keep one of them: which one the file meant is unknowable
        raise StateError(f"not an Agent Academy training state (entries {repeated[:3]} appear more than once)")
    if any(n.endswith(".pkl") or "/data/" in n for n in names) and "header.npy" not in names:
        raise StateError("refusing to load: this looks like a torch pickle checkpoint, which could execute code")
    if "header.npy" not in names:
        raise StateError("not an Agent Academy training state (no header)")
    bad = [n for n in names if not n.endswith(".npy")]
    if bad:
        raise StateError(f"refusing to load: unexpected entries {bad[:3]} in the archive")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNPACKED_BYTES:
        raise StateError(f"refusing to load: it would unpack to {total:,} bytes (the limit is {MAX_UNPACKED_BYTES:,})")
    for i in infos:
        if i.file_size > MAX_RATIO * max(i.compress_size, 1) + 4096:
            raise StateError(
                f"refusing to load: entry '{i.filename}' would grow {i.file_size / max(i.compress_size, 1):,.0f}-fold "
                "when unpacked (a zip bomb?)"
            )
    _check_array_headers(data, infos)
    return names


def _check_array_headers(data: bytes, infos: list[zipfile.ZipInfo]) -> None:
    """Each ``.npy`` entry's declared shape must fit in its bytes: numpy allocates the declared size
    before it reads, so a small entry claiming a huge shape would allocate that much."""
    from numpy.lib import format as npy

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for i in infos:
            try:
                with zf.open(i) as fh:
                    version = npy.read_magic(fh)
                    shape, _fortran, dtype = npy._read_array_header(fh, version)
            except Exception as exc:  # any malformed header: not ours
                raise StateError(f"not an Agent Academy training state (entry '{i.filename}': {exc})") from None
            if dtype.hasobject:
                raise StateError(
                    f"refusing to load: the archive contains pickled objects (entry '{i.filename}'), "
                    "which could execute code"
                )
            declared = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
            if declared > i.file_size:
                raise StateError(
                    f"not an Agent Academy training state (entry '{i.filename}' declares {declared:,} bytes of data "
                    f"in {i.file_size:,})"
                )


def unpack_state(source: bytes | str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read ``(header, arrays)`` from bytes or a path; refuses pickles, anything that is not ours, and
    archives that would unpack to more than :data:`MAX_UNPACKED_BYTES` (checked before unpacking)."""
    data = _source_bytes(source)
    _checked_names(data)
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
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise StateError(f"not an Agent Academy training state (header is not JSON: {e})") from None
    if not isinstance(header, dict):
        raise StateError(f"not an Agent Academy training state (the header is a JSON {type(header).__name__})")
    if header.get("format") != FORMAT:
        raise StateError("not an Agent Academy training state (wrong format tag)")
    version = header.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise StateError(f"not an Agent Academy training state (version {str(version)[:20]!r})")
    if version > VERSION:
        raise StateError(f"training state version {version} is newer than this code (max {VERSION})")
    return header


def read_header(source: bytes | str | os.PathLike[str]) -> dict[str, Any]:
    """Just the JSON header of a saved state (algorithm, config, spaces, counters, statistics).

    Checks the archive as :func:`unpack_state` does but unpacks only the header entry.
    """
    data = _source_bytes(source)
    _checked_names(data)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            header = npz["header"]
    except ValueError as e:
        raise StateError(f"refusing to load: the archive contains pickled objects ({e})") from None
    return _decode_header(header)


def prefixed(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """Entries under ``prefix/`` with the prefix stripped."""
    p = prefix + "/"
    return {k[len(p) :]: v for k, v in arrays.items() if k.startswith(p)}
