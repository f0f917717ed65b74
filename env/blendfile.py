"""Save a copy of the open .blend atomically (:func:`save_blend_copy`), on :mod:`..core.files`' atomic writes.

Kept apart from ``core/files.py`` because it needs ``bpy``; ``core/`` never imports it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..core.files import WriteError, write_atomic_with


def save_blend_copy(path: str | os.PathLike[str], compress: bool = True) -> Path:
    """Save a copy of the open .blend at ``path`` atomically; the open file keeps its own path.

    Blender itself writes ``<file>@`` then renames it (and moves an existing file to ``.blend1``
    first, a moment with no file under the name), without fsync. Saving to our temporary name
    keeps the rename atomic and durable, and makes no ``.blend1``. The copy is read back before the
    rename: Blender must be able to open it and list the same scenes as the open file.
    """
    import bpy

    scenes = sorted(s.name for s in bpy.data.scenes)

    def produce(tmp: str) -> None:
        with _quiet_stdout():  # Blender announces the temporary name ("Info: Saved copy as ...")
            bpy.ops.wm.save_as_mainfile(filepath=tmp, copy=True, compress=compress)

    def verify(tmp: str) -> None:
        try:
            with bpy.data.libraries.load(tmp) as (data_from, _data_to):
                found = sorted(data_from.scenes)
        except OSError as exc:
            why = " ".join(str(exc).split())  # Blender's messages span lines
            raise WriteError(f"the saved copy {path} does not read back ({why}); kept the old file") from None
        if found != scenes:
            raise WriteError(f"the saved copy {path} holds scenes {found}, not {scenes}; kept the old file")

    return write_atomic_with(path, produce, verify)


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence the process's file descriptor 1 (Blender's C code prints there, not to ``sys.stdout``)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # captured by a test, or no real file
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)
