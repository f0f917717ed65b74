"""The learning-curve picture shown in the panels: drawn with numpy, shown as an icon preview."""

import atexit
import os
import tempfile

import bpy.utils.previews

from ..core import files
from ..core.names import CURVE_KEY
from ..core.plot import learning_curve_png

_PREFIX = "academy-curves-"  # a folder per Blender process, removed when the previews go
_previews = None
_drawn: dict[str, int] = {}  # preview key -> number of curve points it shows
_folder: str | None = None


def _picture_folder() -> str:
    """This process's folder for the curve pictures (a killed Blender's folder is swept here)."""
    global _folder
    if _folder is None or not os.path.isdir(_folder):
        files.sweep_stale(tempfile.gettempdir(), _PREFIX)
        _folder = str(files.owned_dir(_PREFIX))
        atexit.register(files.remove, _folder)  # Blender quits without unregistering add-ons
    return _folder


def register_previews() -> None:
    global _previews
    if _previews is None:
        _previews = bpy.utils.previews.new()


def unregister_previews() -> None:
    global _previews
    if _previews is not None:
        bpy.utils.previews.remove(_previews)
        _previews = None
    _drawn.clear()
    global _folder
    if _folder is not None:
        files.remove(_folder)
        _folder = None


def stored_curve(brain) -> list[tuple[float, float, float]]:
    """The learning curve saved with the Brain: (agent steps, mean reward, mean episode length) rows."""
    flat = list(brain.get(CURVE_KEY, ()))
    return [tuple(flat[i : i + 3]) for i in range(0, len(flat) - 2, 3)]


def preview(scene_name: str, brain_name: str, curve):
    """An up-to-date preview picture of ``curve`` (None when there is nothing to show).

    Its ``icon_id`` is 0 in background mode, where Blender makes no icons.
    """
    if _previews is None or len(curve) < 2:
        return None
    key = f"{scene_name}/{brain_name}"
    if _drawn.get(key) != len(curve) or key not in _previews:
        path = os.path.join(_picture_folder(), f"curve-{abs(hash(key))}.png")
        learning_curve_png(curve, path)
        if key in _previews:
            _previews[key].reload()
        else:
            _previews.load(key, path, "IMAGE")
        _drawn[key] = len(curve)
    return _previews[key]
