"""Files the add-on writes: atomically, and temporary files that name the process owning them.

Atomic writes (:func:`write_atomic`, :func:`write_atomic_with`): the data goes to a temporary file
in the target's folder, is flushed and fsync'ed, then ``os.replace``'d onto the final name, so a
kill at any moment leaves either the previous file or the new one under that name, never a
truncated one. The temporary name carries the writer's :func:`owner_token`; a later write to the
same folder removes temporaries whose owner is dead.

Owned temporaries (:func:`owned_name`, :func:`sweep_stale`): a name such as
``academy-camera-<pid>.<start>-<random>.bmp`` says which process made it. ``<start>`` is the
process's start time (from ``/proc``, so a reused PID is not taken for the owner). Anything whose
owner is gone is a leftover of a killed run and can be removed.

Pure standard library (no bpy): ``devtools/boot.py`` loads this file before ``bpy`` is imported.
Saving a copy of the open .blend (which needs bpy) is ``env/blendfile.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# "<pid>.<start>-"; a bare "<pid>-" is the older camera-image naming (checked by PID alone)
_TOKEN = re.compile(r"(\d+)(?:\.(\d+))?-")


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (None where ``/proc`` does not tell)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
        # the command name (field 2) is in parentheses and may hold spaces: count from the last ')'
        return int(stat[stat.rindex(b")") + 2 :].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def owner_token(pid: int | None = None) -> str:
    """``"<pid>.<start time>"`` of this process (or of ``pid``): what owned names carry."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}.{_start_time(pid) or 0}"


def owner_alive(pid: int, start: int) -> bool:
    """Whether the process that wrote token ``pid.start`` still runs (not merely a reuse of its PID)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        pass
    now = _start_time(pid) if start else None
    return True if now is None else now == start  # unreadable (another user, hidepid): assume alive


def owner_of(name: str, prefix: str) -> tuple[int, int] | None:
    """``(pid, start)`` from an owned name ``<prefix><pid>.<start>-...``, or None if it has no token."""
    if not name.startswith(prefix):
        return None
    m = _TOKEN.match(name, len(prefix))
    return None if m is None else (int(m.group(1)), int(m.group(2) or 0))


def owned_name(prefix: str, suffix: str = "") -> str:
    """A fresh name ``<prefix><token>-<random><suffix>`` owned by this process."""
    return f"{prefix}{owner_token()}-{os.urandom(4).hex()}{suffix}"


def remove_own(folder: str | os.PathLike[str], prefix: str) -> None:
    """Remove every entry of ``folder`` named ``<prefix><this process's token>-...`` (fatal-signal path)."""
    mine = owner_token() + "-"
    try:
        entries = [e.path for e in os.scandir(folder) if e.name.startswith(prefix + mine)]
    except OSError:
        return
    for path in entries:
        _remove(path)


def shm_dir() -> str:
    """Where short-lived scratch images go: ``/dev/shm`` (memory) when writable, else the temp folder."""
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()


def owned_dir(prefix: str, parent: str | os.PathLike[str] | None = None) -> Path:
    """Create a temporary folder owned by this process (``tempfile.mkdtemp`` with the owner token)."""
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{owner_token()}-", dir=parent))


def sweep_stale(folder: str | os.PathLike[str], prefix: str, legacy_age_s: float | None = None) -> list[Path]:
    """Remove the files and folders in ``folder`` named ``<prefix>...`` whose owner process is dead.

    With ``legacy_age_s``, entries named ``<prefix>...`` without an owner token (written before
    names carried one) are removed too once untouched for that many seconds. Returns what was
    removed. Never raises: a sweep is housekeeping, a failure leaves the entry for the next one.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    mine = os.getpid()
    for entry in entries:
        owner = owner_of(entry.name, prefix)
        if owner is None:
            if legacy_age_s is None or not entry.name.startswith(prefix):
                continue
            try:
                if time.time() - entry.stat(follow_symlinks=False).st_mtime < legacy_age_s:
                    continue
            except OSError:
                continue
        elif owner[0] == mine or owner_alive(*owner):
            continue
        if _remove(entry.path):
            removed.append(Path(entry.path))
    return removed


def _remove(path: str) -> bool:
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def remove(path: str | os.PathLike[str]) -> None:
    """Remove a file or a folder tree if it exists (never raises)."""
    _remove(os.fspath(path))


def _temp_prefix(path: Path) -> str:
    return f".{path.name}.tmp-"


class WriteError(OSError):
    """A file read back after writing is not what was written; the previous file was kept."""


def write_atomic_with(
    path: str | os.PathLike[str],
    produce: Callable[[str], None],
    verify: Callable[[str], None] | None = None,
) -> Path:
    """Let ``produce(temp_path)`` write the file, ``verify(temp_path)`` read it back, then rename it onto ``path``.

    For writers that take a file name (Blender's ``save_as_mainfile``, an exporter). The temporary
    file is in the same folder as ``path`` (a rename within one file system is atomic, and relative
    paths a writer remaps stay right). The folder is created if missing. ``verify`` raises (a
    :class:`WriteError`) when what is on disk is not what was meant. If ``produce`` or ``verify``
    raises, or nothing was written, ``path`` is left as it was and the temporary file is removed.
    """
    path = Path(path)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    sweep_stale(folder, _temp_prefix(path))
    tmp = folder / owned_name(_temp_prefix(path), path.suffix)  # same extension: writers may insist on it
    try:
        produce(str(tmp))
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise WriteError(f"nothing was written for {path}")
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if verify is not None:
            verify(str(tmp))
        os.replace(tmp, path)
    except BaseException:
        remove(tmp)
        raise
    _fsync_dir(folder)
    return path


def write_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, ``os.replace``), read back before the rename."""
    data = bytes(data)

    def produce(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)

    def verify(tmp: str) -> None:
        with open(tmp, "rb") as fh:
            back = fh.read()
        if back != data:
            raise WriteError(f"{path} read back {len(back):,} bytes unlike the {len(data):,} written; old file kept")

    return write_atomic_with(path, produce, verify)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (where the platform allows opening a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


HOLD_ENV = "ACADEMY_TEST_HOLD"


def hold_for_test(point: str) -> None:
    """Test hook: with ``ACADEMY_TEST_HOLD=<point>:<file>``, say so on stderr and wait for ``file`` to exist.

    Lets a test send Ctrl-C at a known moment (``boot``, or ``load``: inside ``open_mainfile``).
    """
    where, _, gate = os.environ.get(HOLD_ENV, "").partition(":")
    if where != point or not gate:
        return
    print(f"{HOLD_ENV}: holding at {point}", file=sys.stderr, flush=True)
    deadline = time.monotonic() + 120
    while not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.01)
