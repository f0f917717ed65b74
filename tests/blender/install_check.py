"""Run in a fresh Python: install the built zip into a fresh bpy, enable, disable, report JSON.

Usage: python install_check.py ZIP  → prints one JSON object on the last line of stdout.
"""

import atexit
import json
import os
import shutil
import sys
import tempfile

os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="academy-install-")
atexit.register(shutil.rmtree, os.environ["BLENDER_USER_RESOURCES"], True)

import importlib  # noqa: E402

import bpy  # noqa: E402

addon_utils = importlib.import_module("addon_utils")  # importable only once bpy is

MODULE = "bl_ext.user_default.agent_academy"
WATCHED = ("frame_change_pre", "frame_change_post", "load_pre", "load_post", "depsgraph_update_post")


def snapshot() -> dict:
    return {
        "scene_props": sorted(p.identifier for p in bpy.types.Scene.bl_rna.properties),
        "object_props": sorted(p.identifier for p in bpy.types.Object.bl_rna.properties),
        "handlers": {name: len(getattr(bpy.app.handlers, name)) for name in WATCHED},
    }


zip_path = sys.argv[1]
before = snapshot()
result = bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
enabled = addon_utils.check(MODULE)[1]
mod = sys.modules[MODULE]
classes = mod.all_classes()
handlers = mod.all_handlers()
during = {
    "install_result": sorted(result),
    "enabled": bool(enabled),
    "version": list(bpy.app.version),
    "class_names": [c.__name__ for c in classes],
    "classes_registered": [bool(c.is_registered) for c in classes],
    "handlers_present": [fn in getattr(bpy.app.handlers, name) for name, fn in handlers],
    "has_scene_academy": hasattr(bpy.types.Scene, "academy"),
    "has_object_agent": hasattr(bpy.types.Object, "academy_agent"),
    "scene_academy_usable": bpy.context.scene.academy.decision_period == 1,
    "cli_registered": mod._cli_handle is not None,
    "module_file": mod.__file__,
}
addon_utils.disable(MODULE, default_set=True)
after = snapshot()
report = {
    "during": during,
    "after": {
        "enabled": bool(addon_utils.check(MODULE)[1]),
        "classes_registered": [bool(c.is_registered) for c in classes],
        "handlers_present": [fn in getattr(bpy.app.handlers, name) for name, fn in handlers],
        "cli_registered": mod._cli_handle is not None,
        "same_as_before": after == before,
        "diff": {k: [before[k], after[k]] for k in before if before[k] != after[k]},
    },
}
print(json.dumps(report))
