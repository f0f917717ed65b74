"""Takes in the file: find, list, remove, and mute the baked takes of a scene (see ``bake/``).

A take is an Action marked with ``TAKE_PROP`` (JSON: its name, Brain, seed, frame range, the
datablocks it animates and the rest values it overrides) and, on each datablock, an NLA track
holding it. Every session mutes the scene's takes while it runs (:func:`mute_takes`), so training
and playing start from the designer's scene, not from a take's pose; bake writes them.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass

import bpy

from ..core.names import TAKE_PROP
from .paths import PathError, resolve

__all__ = [
    "KINEMATIC_PATH",
    "TAKE_PROP",
    "TakeInfo",
    "default_take_name",
    "mute_takes",
    "remove_take",
    "takes",
    "takes_muted",
    "unmute_takes",
]

KINEMATIC_PATH = "rigid_body.kinematic"
_ID_COLLECTIONS = {
    "OBJECT": "objects",
    "MESH": "meshes",
    "KEY": "shape_keys",
    "MATERIAL": "materials",
    "CAMERA": "cameras",
    "LIGHT": "lights",
    "CURVE": "curves",
    "ARMATURE": "armatures",
    "SCENE": "scenes",
    "WORLD": "worlds",
    "NODETREE": "node_groups",
    "TEXTURE": "textures",
    "LATTICE": "lattices",
}


@dataclass
class TakeInfo:
    """A take found in the file (see :func:`takes`)."""

    name: str
    action: str
    brain: str
    seed: int
    frame_start: int
    frame_end: int
    datablocks: list[str]


def default_take_name(brain: str, seed: int, frame_start: int, frame_end: int) -> str:
    """The default name of a take: Brain, seed and frame range."""
    return f"{brain} seed {seed} {frame_start}-{frame_end}"


# -- takes in the file ------------------------------------------------------------------------


def _take_actions(scene) -> list:
    out = []
    for action in bpy.data.actions:
        raw = action.get(TAKE_PROP)
        if not raw:
            continue
        try:
            meta = json.loads(raw)
        except (TypeError, ValueError):
            continue
        if meta.get("scene") == scene.name:
            out.append((action, meta))
    out.sort(key=lambda am: am[1].get("serial", 0))
    return out


def takes(scene) -> list[TakeInfo]:
    """The takes baked in ``scene``, oldest first."""
    return [
        TakeInfo(
            m["take"], a.name, m["brain"], m["seed"], m["frame_start"], m["frame_end"], list(m.get("datablocks", []))
        )
        for a, m in _take_actions(scene)
    ]


def _find_take(scene, name: str):
    for action, meta in _take_actions(scene):
        if meta["take"] == name:
            return action, meta
    return None


def _datablock(key: str):
    id_type, _, name = key.partition(":")
    coll = _ID_COLLECTIONS.get(id_type)
    return None if coll is None else getattr(bpy.data, coll).get(name)


def _key(id_data) -> str:
    return f"{id_data.id_type}:{id_data.name}"


def _take_tracks(id_data, action) -> list:
    ad = getattr(id_data, "animation_data", None)
    if ad is None:
        return []
    return [t for t in ad.nla_tracks if any(s.action == action for s in t.strips)]


def remove_take(scene, name: str) -> bool:
    """Delete the take ``name`` (its NLA tracks and its Action). False if there is none."""
    found = _find_take(scene, name)
    if found is None:
        return False
    action, meta = found
    _remove_take_action(action, meta)
    return True


def _remove_take_action(action, meta) -> None:
    for key in meta.get("datablocks", []):
        id_data = _datablock(key)
        if id_data is None:
            continue
        for track in _take_tracks(id_data, action):
            id_data.animation_data.nla_tracks.remove(track)
    bpy.data.actions.remove(action)


def mute_takes(scene, keep=()) -> list:
    """Mute every take of ``scene`` (but those named in ``keep``) and put back the values the takes
    override; returns a token for :func:`unmute_takes`. For sessions that outlive one call (Train,
    Play); otherwise use :func:`takes_muted`.

    Animation writes its values into the datablocks; with the takes muted, the objects get back
    the transforms, rigid-body flags and properties they had before they were first baked, so a
    rollout (or training) starts from the designer's scene rather than from a take's pose, and
    rigid bodies are simulated rather than held by a take's Animated keys.
    """
    found = [(a, m) for a, m in _take_actions(scene) if m["take"] not in keep]
    muted = []
    for action, meta in found:
        for key in meta.get("datablocks", []):
            id_data = _datablock(key)
            if id_data is None:
                continue
            for track in _take_tracks(id_data, action):
                muted.append((track, track.mute))
                track.mute = True
    for _action, meta in reversed(found):  # the oldest take's rest values win: they are the designer's
        _apply_rest(meta.get("rest", {}))
    return muted


def unmute_takes(token: list) -> None:
    """Undo :func:`mute_takes`: every track it muted gets its own mute setting back."""
    for track, was in token:
        with contextlib.suppress(ReferenceError):
            track.mute = was


@contextlib.contextmanager
def takes_muted(scene, keep=()):
    """:func:`mute_takes` for the duration of a ``with`` block (``keep``: takes to leave playing)."""
    token = mute_takes(scene, keep)
    try:
        yield
    finally:
        unmute_takes(token)


def _apply_rest(rest: dict) -> None:
    for key, channels in rest.items():
        id_data = _datablock(key)
        if id_data is None:
            continue
        for path, index, value in channels:
            try:
                acc = resolve(id_data, path, index)
            except PathError:
                continue
            acc.set([value])
            if id_data.id_type == "OBJECT" and path == KINEMATIC_PATH:
                id_data.update_tag()
