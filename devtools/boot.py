"""Boot the pip ``bpy`` module headless and register this checkout as an installed extension.

Used by the test suite, ``./academy`` and the benchmarks. The checkout is exposed through an
extensions repository (a temporary folder holding a symlink named ``agent_academy``), so the
add-on's module is ``bl_ext.<repo>.agent_academy`` exactly as in a real install.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPO_MODULE = "academy_dev"
EXTENSION_ID = "agent_academy"
MODULE = f"bl_ext.{REPO_MODULE}.{EXTENSION_ID}"

_state: dict[str, object] = {}


def isolate_user_resources() -> str:
    """Point Blender's user folders at a fresh temp dir (before ``import bpy``), unless already set."""
    if "BLENDER_USER_RESOURCES" not in os.environ:
        os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="academy-user-")
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

    links = Path(tempfile.mkdtemp(prefix="academy-repo-"))
    (links / EXTENSION_ID).symlink_to(ROOT, target_is_directory=True)
    repos = bpy.context.preferences.extensions.repos
    if not any(repo.module == REPO_MODULE for repo in repos):
        repos.new(name="Agent Academy (checkout)", module=REPO_MODULE, custom_directory=str(links), source="USER")
    _state["links"] = links
    mod = addon_utils.enable(MODULE, default_set=True, handle_error=_raise)
    if mod is None:
        raise RuntimeError(f"Blender could not enable {MODULE}")
    _state["module"] = mod
    return mod


def _raise(exc: BaseException) -> None:
    raise exc
