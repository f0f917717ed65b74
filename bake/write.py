"""Write a take: the planned channels as bulk F-curves in one slotted Action with an NLA track per
datablock, then (optionally) replay it to check it reproduces the recording.
"""

from __future__ import annotations

import json
import time

import bpy
import numpy as np

from .. import compat
from ..core.simplify import keep_mask
from ..env import timeline
from ..env.paths import PathError, resolve
from ..env.takes import (
    KINEMATIC_PATH,
    TAKE_PROP,
    _datablock,
    _find_take,
    _key,
    _remove_take_action,
    _take_actions,
    _take_tracks,
)
from .record import _Recording, _world_now
from .result import BakeError, BakeResult

INTERP = {"CONSTANT": 0, "LINEAR": 1}


def _write_curve(bag, path: str, index: int, frames, values, constant: bool, group=None) -> int:
    fc = bag.fcurves.new(path, index=index)
    if group is not None:
        fc.group = group
    n = len(frames)
    kp = fc.keyframe_points
    kp.add(n)
    co = np.empty(2 * n, dtype=np.float32)
    co[0::2] = frames
    co[1::2] = values
    kp.foreach_set("co", co)
    kp.foreach_set("interpolation", np.full(n, INTERP["CONSTANT" if constant else "LINEAR"], dtype=np.int32))
    fc.update()
    return n


def _write_take(scene, rec, channels, kinematic, name, meta, every, tolerance, result: BakeResult) -> None:
    started = time.perf_counter()
    frames = rec.frames.astype(np.float64)
    a, b = int(frames[0]), int(frames[-1])
    old = _find_take(scene, name)
    serial = 1 + max((m.get("serial", 0) for _a, m in _take_actions(scene)), default=0)
    action = compat.new_layered_action(f"Take {name}")
    by_id: dict[str, object] = {}
    for ch in channels:
        by_id.setdefault(_key(ch.id_data), ch.id_data)
    for obj in kinematic:
        by_id.setdefault(_key(obj), obj)
    for id_data in by_id.values():
        ad = id_data.animation_data
        if ad is not None and ad.use_tweak_mode:
            bpy.data.actions.remove(action)
            raise BakeError(f"'{id_data.name}' is in NLA tweak mode: leave it (Tab in the NLA editor) to bake")
    rest: dict[str, list] = {}
    bags: dict[str, tuple] = {}
    keys = curves = 0

    def bag_for(id_data):
        k = _key(id_data)
        if k not in bags:
            slot = compat.action_slot(action, id_data)
            bags[k] = (slot, compat.channelbag(action, slot, ensure=True), {})
        return bags[k]

    for ch in channels:
        slot, bag, groups = bag_for(ch.id_data)
        group = None
        if ch.group:
            group = groups.get(ch.group) or bag.groups.new(ch.group)
            groups[ch.group] = group
        values = ch.values.reshape(len(frames), -1)
        keep = keep_mask(frames, values, every, tolerance)
        fixed_index = ch.index
        for c in range(values.shape[1]):
            index = fixed_index if fixed_index is not None else c
            keys += _write_curve(bag, ch.path, index, frames[keep], values[keep, c], ch.constant, group)
            curves += 1
            rest_index = index if values.shape[1] > 1 or ch.index is not None else -1  # a scalar: no index
            try:
                current = resolve(ch.id_data, ch.path, rest_index).get()[0]
            except PathError:
                continue
            rest.setdefault(_key(ch.id_data), []).append([ch.path, rest_index, current])
        result.properties.extend([] if ch.group else [ch.label])
    for obj in kinematic:
        slot, bag, _groups = bag_for(obj)
        was = float(obj.rigid_body.kinematic)
        kf = np.array([a - 1, a, b, b + 1], dtype=np.float64)
        keys += _write_curve(bag, KINEMATIC_PATH, 0, kf, np.array([was, 1.0, 1.0, was]), True)
        curves += 1
        rest.setdefault(_key(obj), []).append([KINEMATIC_PATH, -1, was])
    action.use_frame_range = True
    action.frame_start = a - 1 if kinematic else a
    action.frame_end = b + 1 if kinematic else b
    meta = dict(meta, serial=serial, datablocks=sorted(by_id), rest=rest)
    action[TAKE_PROP] = json.dumps(meta)
    # NLA: one track per datablock, in place of the replaced take's track if any, else on top
    old_tracks = {}
    if old is not None:
        for key in old[1].get("datablocks", []):
            id_data = _datablock(key)
            if id_data is not None:
                tracks = _take_tracks(id_data, old[0])
                if tracks:
                    old_tracks[key] = tracks[0]
    for key, id_data in by_id.items():
        ad = id_data.animation_data or id_data.animation_data_create()
        track = ad.nla_tracks.new(prev=old_tracks[key]) if key in old_tracks else ad.nla_tracks.new()
        track.name = name
        strip = track.strips.new(name, int(action.frame_start), action)
        compat.assign_strip_slot(strip, bags[key][0])
        strip.blend_type = "REPLACE"
        strip.extrapolation = "HOLD"
        strip.influence = 1.0
    if old is not None:
        _remove_take_action(*old)
    action.name = f"Take {name}"  # the old one is gone: take its name
    result.action = action.name
    result.keys, result.fcurves = keys, curves
    result.write_seconds = time.perf_counter() - started


def _verify(scene, rec: _Recording, names: list[str], result: BakeResult) -> None:
    started = time.perf_counter()
    saved = (scene.frame_current, scene.frame_subframe)
    index = {name: i for i, name in enumerate(rec.names)}
    cols = [index[n] for n in names]
    worst = np.zeros(len(cols))
    try:
        for f, frame in enumerate(rec.frames):
            timeline.go_to(scene, int(frame))
            now = _world_now(scene)
            if now.shape[0] != len(rec.names):
                break
            worst = np.maximum(worst, np.abs(now[cols] - rec.world[f, cols]).max(axis=(1, 2)))
    finally:
        timeline.go_to(scene, saved[0], saved[1])
    result.max_error = float(worst.max()) if len(worst) else 0.0
    result.mismatched = [n for n, e in zip(names, worst, strict=True) if e > 1e-4]
    result.verify_seconds = time.perf_counter() - started
