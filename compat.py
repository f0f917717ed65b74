"""Differences between the Blender versions we support (4.5 LTS and 5.0), in one place.

Nothing else in the extension compares ``bpy.app.version``: it asks this module.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import tomllib

import bpy

BLENDER_VERSION: tuple[int, int, int] = tuple(bpy.app.version)
#: Blender 5.0 removed ``Action.fcurves`` (slotted actions only) and ``scene["prop"]`` access to
#: registered properties.
SLOTTED_ACTIONS_ONLY: bool = BLENDER_VERSION >= (5, 0, 0)


@functools.cache
def extension_version() -> str:
    """The version in this extension's ``blender_manifest.toml``."""
    path = os.path.join(os.path.dirname(__file__), "blender_manifest.toml")
    with open(path, "rb") as fh:
        return tomllib.load(fh)["version"]


def torch_version() -> str | None:
    """PyTorch's version if it can be imported here, else None (Blender does not ship it)."""
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    return str(torch.__version__)
