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


# -- Actions, F-curves and the NLA (bake/) ------------------------------------------------
# Blender 4.4 introduced slotted (layered) Actions; 4.5 still offers the legacy ``Action.fcurves``
# and ``Action.id_root`` next to them, 5.0 removed both. Takes are written the slotted way on both:
# one Action per take, one slot per animated datablock, F-curves in the slot's channelbag.


def new_layered_action(name: str):
    """A new Action with one layer and one keyframe strip, ready for per-slot channelbags."""
    action = bpy.data.actions.new(name)
    layer = action.layers.new("Layer")
    layer.strips.new(type="KEYFRAME")
    return action


def action_slot(action, id_data, ensure: bool = True):
    """The slot of ``action`` for ``id_data`` (matched by ID type and name), created if ``ensure``."""
    id_type = id_data.id_type
    for slot in action.slots:
        if slot.target_id_type == id_type and slot.name_display == id_data.name:
            return slot
    if not ensure:
        return None
    return action.slots.new(id_type=id_type, name=id_data.name)


def channelbag(action, slot, ensure: bool = False):
    """The F-curves container of ``slot`` in ``action``'s first keyframe strip (None if absent)."""
    if not len(action.layers):
        if not ensure:
            return None
        action.layers.new("Layer")
    layer = action.layers[0]
    if not len(layer.strips):
        if not ensure:
            return None
        layer.strips.new(type="KEYFRAME")
    strip = layer.strips[0]
    return strip.channelbag(slot, ensure=ensure)


def action_fcurves(action, slot=None) -> list:
    """The F-curves ``action`` holds for ``slot`` (default: its first slot); legacy Actions on 4.5 too."""
    if slot is None and len(action.slots):
        slot = action.slots[0]
    if slot is not None:
        bag = channelbag(action, slot)
        if bag is not None:
            return list(bag.fcurves)
    if not SLOTTED_ACTIONS_ONLY and hasattr(action, "fcurves"):
        return list(action.fcurves)  # a legacy (pre-4.4) Action read on 4.5
    return []


def animated_fcurves(id_data) -> list:
    """F-curves of the active Action of ``id_data`` (its assigned slot), or []."""
    ad = getattr(id_data, "animation_data", None)
    if ad is None or ad.action is None:
        return []
    slot = getattr(ad, "action_slot", None)
    return action_fcurves(ad.action, slot)


def assign_strip_slot(strip, slot) -> None:
    """Make an NLA ``strip`` (whose Action has several slots) animate through ``slot``."""
    if strip.action_slot != slot:
        strip.action_slot = slot
