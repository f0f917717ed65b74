"""The command line's plumbing: the subcommand registry and opening a .blend, shared by ``cli`` and ``cli_models``.

Subcommands register themselves in :data:`COMMANDS` with :func:`command`; :func:`open_blend`,
:func:`scene_named` and :func:`brain_named` turn a command's arguments into Blender data, or a
:class:`UsageError` that names what is missing.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .core.files import HOLD_ENV, hold_for_test


class UsageError(Exception):
    """Bad command-line input: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print usage and exit; we want one line
        raise UsageError(message)


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str):
    """Decorator for ``configure(parser)``: the returned function gains ``.run`` via :func:`runs`."""

    def wrap(configure: Callable[[argparse.ArgumentParser], None]):
        def runs(run: Callable[[argparse.Namespace], int]):
            COMMANDS[name] = Command(name, help, configure, run)
            return run

        configure.runs = runs
        return configure

    return wrap


@contextmanager
def interrupt_after(what: str) -> Iterator[None]:
    """Hold Ctrl-C during ``what`` and raise ``KeyboardInterrupt`` once it is done.

    A KeyboardInterrupt raised inside Blender's C code (in a load handler, an add-on's register)
    is printed as a traceback and swallowed, and the command would carry on.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    hits: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: hits.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if hits:
        raise KeyboardInterrupt(what)


def _hold_in_load(*_args) -> None:
    hold_for_test("load")


def open_blend(path: str) -> None:
    import bpy

    if not os.path.isfile(path):
        raise UsageError(f"no such file: {path}")
    hold = os.environ.get(HOLD_ENV, "").startswith("load:")
    if hold:
        bpy.app.handlers.load_pre.append(_hold_in_load)
    try:
        with interrupt_after(f"while loading {path}"):
            bpy.ops.wm.open_mainfile(filepath=os.path.abspath(path), load_ui=False)
    except RuntimeError as exc:
        raise UsageError(f"cannot open {path}: {str(exc).strip()}") from None
    finally:
        if hold and _hold_in_load in bpy.app.handlers.load_pre:
            bpy.app.handlers.load_pre.remove(_hold_in_load)


def scene_named(name: str | None):
    import bpy

    if name is None:
        return bpy.context.scene
    scene = bpy.data.scenes.get(name)
    if scene is None:
        raise UsageError(f"no scene named '{name}' (scenes: {', '.join(s.name for s in bpy.data.scenes)})")
    return scene


def brain_named(scene, name: str):
    """The scene's Brain ``name``; :class:`UsageError` listing the Brains if there is none of that name."""
    academy = getattr(scene, "academy", None)
    brain = academy.brains.get(name) if academy is not None else None
    if brain is None:
        names = ", ".join(b.name for b in academy.brains) if academy is not None else ""
        raise UsageError(f"no Brain named '{name}' in scene '{scene.name}' (Brains: {names or 'none'})")
    return brain
