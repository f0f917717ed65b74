"""Boot the pip ``bpy`` module headless and register this checkout as an installed extension.

Used by the test suite, ``./academy`` and the benchmarks. The checkout is exposed through an
extensions repository (a temporary folder holding a symlink named ``agent_academy``), so the
add-on's module is ``bl_ext.<repo>.agent_academy`` exactly as in a real install.

Both temporary folders (the user resources and the repository) carry the owning process in their
names and are removed when the process ends (normally, on Ctrl-C, SIGTERM or SIGHUP); a boot
also removes what earlier processes that were killed outright (SIGKILL) left behind.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import signal
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPO_MODULE = "academy_dev"
EXTENSION_ID = "agent_academy"
MODULE = f"bl_ext.{REPO_MODULE}.{EXTENSION_ID}"

TEMP_PREFIXES = ("academy-user-", "academy-repo-")
# Folders from before names carried their owner: removed once this old (a live old-style process
# may still use a fresh one).
LEGACY_AGE_S = 24 * 3600

_state: dict[str, object] = {}
_owned: list[Path] = []


def _load_files():
    """``core/files.py`` by path: importing it through the add-on package would import bpy first."""
    spec = importlib.util.spec_from_file_location("_academy_files", ROOT / "core" / "files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


files = _load_files()


def sweep_temp_folders() -> list[Path]:
    """Remove the ``academy-user-*`` / ``academy-repo-*`` folders of processes that are gone."""
    removed: list[Path] = []
    for prefix in TEMP_PREFIXES:
        removed += files.sweep_stale(tempfile.gettempdir(), prefix, legacy_age_s=LEGACY_AGE_S)
    return removed


def cleanup() -> None:
    """Remove the temporary folders this process created (atexit and signal paths call it)."""
    while _owned:
        files.remove(_owned.pop())


def _on_signal(signum, _frame) -> None:
    cleanup()
    # atexit will not run: the camera sensor's RENDER images of this process go too
    files.remove_own(files.shm_dir(), "academy-camera-")
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)  # die of the same signal, as the caller expects


def _own(path: Path) -> Path:
    if not _state.get("cleanup_registered"):
        _state["cleanup_registered"] = True
        atexit.register(cleanup)
        for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if signum is not None and signal.getsignal(signum) is signal.SIG_DFL:
                try:
                    signal.signal(signum, _on_signal)
                except ValueError:  # not the main thread
                    pass
    _owned.append(path)
    return path


def isolate_user_resources() -> str:
    """Point Blender's user folders at a fresh temp dir (before ``import bpy``), unless already set.

    The folder is this process's: removed when it ends. Children that inherit the variable share it.
    """
    if "BLENDER_USER_RESOURCES" not in os.environ:
        sweep_temp_folders()
        os.environ["BLENDER_USER_RESOURCES"] = str(_own(files.owned_dir("academy-user-")))
    return os.environ["BLENDER_USER_RESOURCES"]


def boot():
    """Import bpy with isolated user resources and register the checkout; return the add-on module.

    Idempotent: a second call returns the same module.
    """
    if "module" in _state:
        return _state["module"]
    if "bpy" not in sys.modules:
        isolate_user_resources()
    import importlib

    import bpy

    addon_utils = importlib.import_module("addon_utils")  # importable only once bpy is

    sweep_temp_folders()
    links = _own(files.owned_dir("academy-repo-"))
    (links / EXTENSION_ID).symlink_to(ROOT, target_is_directory=True)
    repos = bpy.context.preferences.extensions.repos
    if not any(repo.module == REPO_MODULE for repo in repos):
        repos.new(name="Agent Academy (checkout)", module=REPO_MODULE, custom_directory=str(links), source="USER")
    _state["links"] = links
    files.hold_for_test("boot")
    mod = addon_utils.enable(MODULE, default_set=True, handle_error=_raise)
    if mod is None:
        raise RuntimeError(f"Blender could not enable {MODULE}")
    _state["module"] = mod
    return mod


def _raise(exc: BaseException) -> None:
    raise exc


def exit_may_hang() -> bool:
    """Whether Python's normal exit can hang in this process (see ``exit_process``)."""
    bpy = sys.modules.get("bpy")
    return bpy is not None and tuple(bpy.app.version) < (5, 0, 0)


def exit_process(status: int) -> None:
    """End this process with ``status``; with Blender 4.5's ``bpy`` module, without its C++ exit.

    bpy 4.5 can hang for ever at exit: a static destructor destroys the condition variable its
    sound device's delayed-close thread still waits on (Blender #146640, fixed in 5.0). It happens
    when something keeps the ``bpy`` module alive through interpreter teardown, so the proper
    shutdown never runs; a test run was seen to finish and then sit until CI's time ran out.
    There, after Python's own exit handlers (this module's cleanup among them) the process ends
    at once; elsewhere it exits normally.
    """
    if not exit_may_hang():
        raise SystemExit(status)
    import logging

    logging.shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)
