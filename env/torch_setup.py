"""Getting PyTorch into Blender: where it is installed, whether it is there, and installing it with pip.

Blender ships Python and numpy but not torch. "Install PyTorch" (add-on preferences) pip-installs
it into this extension's user directory (``bpy.utils.extension_path_user``), which is put on
``sys.path`` when the extension registers. Installing needs Blender's online access to be allowed.
The pip run happens on a worker thread; the UI polls :class:`Installer` for progress.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass, field

SITE_FOLDER = "site-packages"


def extension_package() -> str:
    """The extension's module name (``bl_ext.<repo>.agent_academy``)."""
    return __package__.rpartition(".")[0]


def site_dir(create: bool = False) -> str:
    """The folder PyTorch is installed into for this extension."""
    import bpy

    return bpy.utils.extension_path_user(extension_package(), path=SITE_FOLDER, create=create)


def add_site_dir() -> None:
    """Put the extension's site-packages on ``sys.path`` (if it exists) so an installed torch imports."""
    try:
        path = site_dir(create=False)
    except (ValueError, RuntimeError):
        return
    if os.path.isdir(path) and path not in sys.path:
        sys.path.append(path)


_status: tuple[bool, str] | None = None  # (usable, version or why not), once per Blender session


def torch_status(refresh: bool = False) -> tuple[bool, str]:
    """Whether PyTorch imports here, and its version or why not: imported once, then remembered.

    Finding the package is not enough: a broken install (a missing library, a wrong build) is found
    by ``find_spec`` and fails on import, so this imports it. ``refresh`` asks again (after an
    installation).
    """
    global _status
    if _status is None or refresh:
        try:
            import torch

            _status = (True, str(torch.__version__))
        except ImportError as exc:
            _status = (False, "not installed" if exc.name == "torch" else f"ImportError: {exc}")
        except Exception as exc:  # a broken install can fail in any way: not usable, and say why
            _status = (False, f"{type(exc).__name__}: {exc}")
    return _status


def torch_available(refresh: bool = False) -> bool:
    """True when PyTorch imports in this Blender (see :func:`torch_status`)."""
    return torch_status(refresh)[0]


def torch_version() -> str | None:
    usable, detail = torch_status()
    return detail if usable else None


def pip_command(target: str, variant: str = "DEFAULT", index_url: str = "") -> list[str]:
    """The pip command that installs torch into ``target``.

    ``variant``: DEFAULT (the platform's standard build: CUDA on Linux, CPU on Windows, MPS on
    macOS) or CPU (a CPU-only build: needs ``index_url``, the package index serving CPU builds,
    since the default index has only the standard build on Linux).
    """
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--upgrade",
        "--target",
        target,
        "--no-input",
        "--progress-bar",
        "off",
    ]
    if variant == "CPU":
        if not index_url:
            raise ValueError("A CPU-only build needs the package index that serves it (PyTorch Index URL)")
        cmd += ["--index-url", index_url]
    return cmd + ["torch"]


_FAILURES = (
    (re.compile(r"No space left on device", re.I), "The disk is full: free some space and try again"),
    (
        re.compile(r"(Could not find a version|No matching distribution found)", re.I),
        "No PyTorch build exists for this platform and Python ({python}) on that index",
    ),
    (
        re.compile(
            r"(ConnectionError|Network is unreachable|Temporary failure in name resolution|timed out|"
            r"Failed to establish a new connection|NewConnectionError)",
            re.I,
        ),  # fmt: skip
        "Could not reach the package index: check the network connection",
    ),
    (re.compile(r"No module named pip", re.I), "This Blender's Python has no pip (run ensurepip first)"),
    (re.compile(r"Permission denied", re.I), "Permission denied writing to {target}"),
)


def explain_failure(output: str, target: str) -> str:
    """A one-line reason for a failed pip run, from its output."""
    python = ".".join(map(str, sys.version_info[:2]))
    for pattern, message in _FAILURES:
        if pattern.search(output):
            return message.format(python=python, target=target)
    last = [line for line in output.strip().splitlines() if line.strip()]
    return f"pip failed: {last[-1][:200]}" if last else "pip failed without saying why"


@dataclass
class Installer:
    """Runs pip on a worker thread. Poll ``done``, ``ok``, ``message`` and ``lines`` from the UI thread."""

    command: list[str]
    target: str
    lines: list[str] = field(default_factory=list)
    done: bool = False
    ok: bool = False
    message: str = "Starting pip…"
    _thread: threading.Thread | None = None

    def start(self) -> Installer:
        self._thread = threading.Thread(target=self._run, name="academy-install-torch", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            proc = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        except OSError as exc:
            self.message, self.done = f"Could not run pip: {exc}", True
            return
        for line in proc.stdout:
            line = line.rstrip()
            self.lines.append(line)
            if line.startswith(("Collecting", "Downloading", "Installing", "Successfully")):
                self.message = line[:120]
        code = proc.wait()
        self.ok = code == 0
        self.message = (
            "PyTorch installed: restart Blender if it does not show up"
            if self.ok
            else explain_failure("\n".join(self.lines), self.target)
        )
        if self.ok:
            add_site_dir()
        self.done = True

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


def install(variant: str = "DEFAULT", index_url: str = "") -> Installer:
    """Start installing PyTorch; refuses when Blender's online access is off."""
    import bpy

    if not bpy.app.online_access:
        raise PermissionError(
            "Online access is disabled: allow it in Preferences → System → Network → Allow Online Access"
        )
    target = site_dir(create=True)
    return Installer(pip_command(target, variant, index_url), target).start()
