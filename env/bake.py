"""Bake what a Brain does into keyframes: each bake is a named *take*, an Action placed in the NLA.

A bake runs the Brain for a frame range through the one stepping path (a :class:`Session` that
does not learn), records the evaluated world matrix of every object after every frame and every
property the actuators wrote, restores the scene exactly, then writes what moved as keyframes:

- objects whose own transform changed (agents, active rigid bodies, anything the actuators or
  resets moved) get location / rotation (in their ``rotation_mode``) / scale keys, decomposed
  from the recorded world matrix through their parent and ``matrix_parent_inverse`` (and delta
  transforms). Objects that moved only because something they follow moved (children, objects
  with constraints or drivers, objects with their own animation) are *followers*: their own set-up
  reproduces the motion once the objects they follow are baked, so they get no keys;
- rigid bodies among the keyed objects get ``rigid_body.kinematic`` ("Animated") keyed on for the
  baked range (their own setting one frame before and after), so physics follows the keys there,
  as Blender's "Bake to Keyframes" would, without taking them out of the rigid-body world;
- properties written by actuators (custom properties, modifier settings, shape keys ...) are keyed
  on the datablock that owns them.

A take is one slotted Action (one slot per animated datablock) and, on every datablock it
animates, one NLA track named after the take holding one strip (Replace, influence 1, Hold). New
takes go on top; re-baking a take replaces its Action and keeps its tracks' places. The designer's
active Actions, their keys and other NLA tracks are never touched.

Nothing here is needed to play a take back: it is ordinary animation.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field

import bpy
import numpy as np

from .. import compat
from ..core.rotations import euler_continuous, quaternion_continuous
from ..core.simplify import keep_mask
from . import camera, sessions
from .academy import AcademyError, show_frame
from .brains import BrainError
from .paths import PathError, resolve
from .session import Session
from .takes import (
    KINEMATIC_PATH,
    TAKE_PROP,
    TakeInfo,
    _datablock,
    _find_take,
    _key,
    _remove_take_action,
    _take_actions,
    _take_tracks,
    default_take_name,
    mute_takes,
    remove_take,
    takes,
    takes_muted,
    unmute_takes,
)

__all__ = [
    "BakeError",
    "BakeResult",
    "TakeInfo",
    "bake",
    "bake_takes",
    "decompose",
    "mute_takes",
    "remove_take",
    "default_take_name",
    "keep_mask",
    "takes",
    "takes_muted",
    "unmute_takes",
]

TRANSFORM_PATHS = ("location", "rotation_euler", "rotation_quaternion", "rotation_axis_angle", "scale")
MOVED_EPS = 1e-5  # world-matrix change (units) that counts as moved; float32 matrices are ~1e-7 relative
INTERP = {"CONSTANT": 0, "LINEAR": 1}


class BakeError(RuntimeError):
    """A bake cannot run as asked. The message names the Brain, object or setting."""


@dataclass
class BakeResult:
    """What one bake wrote. ``matrices``: the recorded world matrices (frames, 4, 4) of every moved object."""

    take: str
    action: str
    brain: str
    seed: int
    frame_start: int
    frame_end: int
    objects: list[str] = field(default_factory=list)  # objects given transform keys
    properties: list[str] = field(default_factory=list)  # property channels keyed, "datablock: path[index]"
    followers: list[str] = field(default_factory=list)  # moved, reproduced by what they follow (no keys)
    keys: int = 0
    fcurves: int = 0
    rollout_seconds: float = 0.0
    write_seconds: float = 0.0
    verify_seconds: float = 0.0
    max_error: float | None = None  # largest world-matrix difference on replaying the take (if verified)
    mismatched: list[str] = field(default_factory=list)  # moved objects the replay does not reproduce
    warnings: list[str] = field(default_factory=list)
    matrices: dict[str, np.ndarray] = field(default_factory=dict)


# -- decomposition --------------------------------------------------------------------------


def _rotation_matrix(mode: str, euler=None, quaternion=None) -> np.ndarray:
    from mathutils import Euler, Quaternion

    if mode == "QUATERNION":
        return np.array(Quaternion(quaternion).normalized().to_matrix())
    if mode == "AXIS_ANGLE":
        return np.eye(3)
    return np.array(Euler(euler, mode).to_matrix())


def decompose(basis: np.ndarray, obj) -> dict[str, np.ndarray]:
    """Split basis matrices (F, 4, 4) into ``obj``'s own channels: location, rotation (in its
    ``rotation_mode``, continuous from its current rotation) and scale, net of its delta transforms.

    Returns {data path: (F, components)}.
    """
    basis = np.asarray(basis, dtype=np.float64)
    m3 = basis[:, :3, :3]
    scale = np.linalg.norm(m3, axis=1)  # column lengths
    negative = np.linalg.det(m3) < 0
    scale[negative] *= -1.0
    safe = np.where(np.abs(scale) < 1e-12, 1.0, scale)
    rot = m3 / safe[:, None, :]
    mode = obj.rotation_mode
    drot = _rotation_matrix(mode, obj.delta_rotation_euler, obj.delta_rotation_quaternion)
    if not np.allclose(drot, np.eye(3)):
        rot = np.einsum("ji,fjk->fik", drot, rot)  # basis rotation = delta @ rotation
    dscale = np.asarray(obj.delta_scale, dtype=np.float64)
    out = {
        "location": basis[:, :3, 3] - np.asarray(obj.delta_location, dtype=np.float64),
        "scale": scale / np.where(np.abs(dscale) < 1e-12, 1.0, dscale),
    }
    if mode == "QUATERNION":
        out["rotation_quaternion"] = quaternion_continuous(rot, obj.rotation_quaternion)
    elif mode == "AXIS_ANGLE":
        angle0, *axis0 = obj.rotation_axis_angle
        from mathutils import Quaternion

        q = quaternion_continuous(rot, Quaternion(axis0, angle0))
        q[q[:, 0] < 0] *= -1.0  # angle in [0, 2π)
        half = np.arctan2(np.linalg.norm(q[:, 1:], axis=1), q[:, 0])
        norm = np.linalg.norm(q[:, 1:], axis=1, keepdims=True)
        axis = np.where(norm > 1e-12, q[:, 1:] / np.where(norm > 1e-12, norm, 1.0), np.array([0.0, 1.0, 0.0]))
        out["rotation_axis_angle"] = np.concatenate([2 * half[:, None], axis], axis=1)
    else:
        out["rotation_euler"] = euler_continuous(rot, mode, obj.rotation_euler)
    return out


# -- recording ------------------------------------------------------------------------------


class _Recorder:
    """A frame_change_post handler that runs before the Academy's, so it sees each frame as it was
    evaluated (the Academy may reset agents right after)."""

    def __init__(self, scene, frame_start: int, frame_end: int, accessors, basis_names):
        self.scene_name = scene.name
        self.frame_start = frame_start
        self.count = frame_end - frame_start + 1
        self.names = [o.name for o in scene.objects]
        self.world = np.zeros((self.count, len(self.names) * 16), dtype=np.float32)
        self.accessors = accessors
        self.values = [np.zeros((self.count, acc.size)) for acc in accessors]
        self.basis_names = list(basis_names)
        self.basis = {name: np.zeros((self.count, 4, 4)) for name in self.basis_names}
        self.seen = np.zeros(self.count, dtype=bool)
        self.active = False

    def __call__(self, scene, depsgraph=None) -> None:
        if not self.active or scene.name != self.scene_name or camera.is_rendering():
            return
        f = scene.frame_current - self.frame_start
        if not 0 <= f < self.count:
            return
        scene.objects.foreach_get("matrix_world", self.world[f])
        for acc, out in zip(self.accessors, self.values, strict=True):
            out[f] = acc.get()
        for name in self.basis_names:
            self.basis[name][f] = scene.objects[name].matrix_basis
        self.seen[f] = True

    def matrices(self) -> np.ndarray:
        """World matrices (frames, objects, 4, 4), row-major."""
        return self.world.reshape(self.count, len(self.names), 4, 4).transpose(0, 1, 3, 2).astype(np.float64)


def _world_now(scene) -> np.ndarray:
    buf = np.zeros(len(scene.objects) * 16, dtype=np.float32)
    scene.objects.foreach_get("matrix_world", buf)
    return buf.reshape(-1, 4, 4).transpose(0, 2, 1).astype(np.float64)


def _has_constraints(obj) -> bool:
    return any(not c.mute and c.influence > 0 for c in obj.constraints)


def _own_transform_animation(obj, take_action_set) -> bool:
    for fc in compat.animated_fcurves(obj):
        if fc.data_path in TRANSFORM_PATHS and not fc.mute:
            return True
    ad = obj.animation_data
    if ad is None:
        return False
    if any(d.data_path in TRANSFORM_PATHS and not d.mute for d in ad.drivers):
        return True
    return any(
        not t.mute and any(s.action is not None and s.action not in take_action_set for s in t.strips)
        for t in ad.nla_tracks
    )


def _dynamic_rigid_body(scene, obj) -> bool:
    rb = obj.rigid_body
    world = scene.rigidbody_world
    return rb is not None and rb.enabled and world is not None and world.enabled


@dataclass
class _Channel:
    id_data: object
    path: str
    values: np.ndarray  # (F, components)
    constant: bool = False  # step interpolation (booleans, integers)
    group: str = ""
    label: str = ""
    index: int | None = None  # the one component this channel keys (None: all, from 0)


@dataclass
class _Recording:
    frames: np.ndarray
    names: list[str]
    world: np.ndarray  # (F, objects, 4, 4)
    reference: np.ndarray  # (objects, 4, 4): the scene at frame_start without the Academy
    accessors: list
    values: list
    basis: dict[str, np.ndarray]
    direct: set[str]
    seconds: float


def _accessor_path(acc) -> tuple[object, str] | None:
    """(datablock, data path) an F-curve needs to animate what ``acc`` writes, or None."""
    owner = acc.owner
    id_data = owner.id_data
    try:
        prefix = "" if owner == id_data else owner.path_from_id()
    except ValueError:
        return None
    if acc.custom:
        key = bpy.utils.escape_identifier(acc.attr)
        return id_data, f'{prefix}["{key}"]'
    return id_data, (f"{prefix}.{acc.attr}" if prefix else acc.attr)


def _record(scene, brain_name: str, frame_start: int, frame_end: int, seed: int, from_reset: bool) -> _Recording:
    started = time.perf_counter()
    world_settings = scene.rigidbody_world
    saved = (scene.frame_start, scene.frame_current, scene.frame_subframe)
    saved_cache_start = world_settings.point_cache.frame_start if world_settings is not None else None
    recorder = None
    session = None
    handlers = bpy.app.handlers.frame_change_post
    try:
        # the rollout runs at the take's own frames: physics restarts exactly only from the
        # rigid-body cache's first frame, so the range starts both the scene and the cache
        scene.frame_start = frame_start
        if world_settings is not None:
            world_settings.point_cache.frame_start = frame_start
        scene.frame_set(frame_start)
        reference = _world_now(scene)
        try:
            session = Session(scene, training=False, brains=[brain_name], seed=seed)
        except (AcademyError, BrainError) as exc:
            raise BakeError(str(exc)) from None
        academy = session.academy
        state = academy.brains[brain_name]
        accessors, seen = [], set()
        direct: set[str] = set()
        for g in state.groups:
            for obj in g.compiled.objects:
                direct.add(obj.name)
            for cw in g.compiled.writes + g.compiled.reset_writes:
                for acc in cw.accessors:
                    if id(acc) not in seen:
                        seen.add(id(acc))
                        accessors.append(acc)
        basis_names = [
            o.name for o in scene.objects if _has_constraints(o) or (o.parent is not None and o.parent_type != "OBJECT")
        ]
        recorder = _Recorder(scene, frame_start, frame_end, accessors, basis_names)
        handlers.insert(0, recorder)
        recorder.active = True
        saved_resets = None
        if not from_reset:  # start from the scene as it is: no reset randomisation for the first episode
            saved_resets = [(g.compiled, g.compiled.reset_writes) for g in state.groups]
            for c, _ in saved_resets:
                c.reset_writes = []
        try:
            session.start()
        except (AcademyError, BrainError) as exc:
            raise BakeError(str(exc)) from None
        finally:
            for c, writes in saved_resets or ():
                c.reset_writes = writes
        for frame in range(frame_start + 1, frame_end + 1):
            scene.frame_set(frame)
            if academy.error is not None:
                raise BakeError(f"Brain '{brain_name}' failed at frame {frame}: {academy.error}") from None
        recorder.active = False
        if not recorder.seen.all():
            missing = int(np.nonzero(~recorder.seen)[0][0]) + frame_start
            raise BakeError(f"frame {missing} was never evaluated during the rollout")
    finally:
        if recorder is not None:
            recorder.active = False
            if recorder in handlers:
                handlers.remove(recorder)
        if session is not None:
            session.finish(store=False)
        scene.frame_start = saved[0]
        if world_settings is not None and saved_cache_start is not None:
            world_settings.point_cache.frame_start = saved_cache_start
        show_frame(scene, saved[1], saved[2])  # rebuild physics from its first frame, then the designer's frame
    return _Recording(
        frames=np.arange(frame_start, frame_end + 1),
        names=recorder.names,
        world=recorder.matrices(),
        reference=reference,
        accessors=accessors,
        values=recorder.values,
        basis=recorder.basis,
        direct=direct,
        seconds=time.perf_counter() - started,
    )


# -- deciding what to key -------------------------------------------------------------------


def _plan(scene, rec: _Recording, only: set[str] | None, take_action_set, result: BakeResult):
    """Transform and property channels to key, rigid bodies to switch to kinematic, followers."""
    index = {name: i for i, name in enumerate(rec.names)}
    diff = np.abs(rec.world - rec.reference[None]).max(axis=(0, 2, 3))
    moved = [name for name in rec.names if diff[index[name]] > MOVED_EPS and (only is None or name in only)]
    channels: list[_Channel] = []
    keyed_objects: list = []
    kinematic: list = []
    for name in moved:
        obj = scene.objects[name]
        world = rec.world[:, index[name]]
        rigid = _dynamic_rigid_body(scene, obj)
        if not rigid and name in rec.basis:  # constraints or bone/vertex parents: their own basis
            basis = rec.basis[name]
            static = np.array(obj.matrix_basis)
            if np.abs(basis - static[None]).max() <= MOVED_EPS:
                result.followers.append(name)
                continue
        elif not rigid and name not in rec.direct and _own_transform_animation(obj, take_action_set):
            result.followers.append(name)
            continue
        else:
            parent = obj.parent
            if parent is not None and parent.name in index:
                pw = rec.world[:, index[parent.name]] @ np.array(obj.matrix_parent_inverse)[None]
                basis = np.linalg.solve(pw, world)
            elif parent is not None:
                pw = np.array(parent.matrix_world) @ np.array(obj.matrix_parent_inverse)
                basis = np.linalg.solve(pw[None], world)
            else:
                basis = world
            static = np.array(obj.matrix_basis)
            if not rigid and np.abs(basis - static[None]).max() <= MOVED_EPS:
                result.followers.append(name)
                continue
        for path, values in decompose(basis, obj).items():
            channels.append(_Channel(obj, path, values, group="Object Transforms", label=f"{name}: {path}"))
        keyed_objects.append(obj)
        if obj.rigid_body is not None and rigid:
            kinematic.append(obj)
        for fc in compat.animated_fcurves(obj):
            if fc.data_path in TRANSFORM_PATHS and not fc.mute:
                result.warnings.append(
                    f"'{name}': its active Action '{obj.animation_data.action.name}' animates {fc.data_path}, "
                    "which plays over the take; push it down into the NLA (or clear those channels) to see the take"
                )
                break
    keyed_names = {o.name for o in keyed_objects}
    by_target: dict[tuple, list] = {}
    for acc, values in zip(rec.accessors, rec.values, strict=True):
        owner = acc.owner
        if owner == owner.id_data and owner.id_data.id_type == "OBJECT" and acc.attr in TRANSFORM_PATHS:
            continue  # transforms are keyed from the world matrix (or reproduced by what they follow)
        target = _accessor_path(acc)
        if target is None:
            result.warnings.append(f"cannot key {acc.attr} on '{owner.id_data.name}': no data path to it")
            continue
        id_data, path = target
        if only is not None and id_data.id_type == "OBJECT" and id_data.name not in only:
            continue
        try:
            static = np.array(acc.get())
        except ReferenceError:
            continue
        if np.abs(values - static[None]).max() == 0.0:
            continue  # never changed
        by_target.setdefault((id_data.id_type, id_data.name, path), []).append((acc, values, id_data))
    for (_t, id_name, path), entries in by_target.items():
        acc, values, id_data = entries[0]
        if acc.index >= 0:  # components written one by one: one channel per component
            for acc_i, values_i, _ in entries:
                channels.append(
                    _Channel(
                        id_data,
                        path,
                        values_i,
                        constant=acc_i.cast is not float,
                        label=f"{id_name}: {path}[{acc_i.index}]",
                        index=acc_i.index,
                    )
                )
        else:
            channels.append(_Channel(id_data, path, values, constant=acc.cast is not float, label=f"{id_name}: {path}"))
    result.objects = sorted(keyed_names)
    return channels, kinematic


# -- writing --------------------------------------------------------------------------------


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
            scene.frame_set(int(frame))
            now = _world_now(scene)
            if now.shape[0] != len(rec.names):
                break
            worst = np.maximum(worst, np.abs(now[cols] - rec.world[f, cols]).max(axis=(1, 2)))
    finally:
        scene.frame_set(saved[0], subframe=saved[1])
    result.max_error = float(worst.max()) if len(worst) else 0.0
    result.mismatched = [n for n, e in zip(names, worst, strict=True) if e > 1e-4]
    result.verify_seconds = time.perf_counter() - started


# -- the API --------------------------------------------------------------------------------


def bake(
    scene,
    brain_name: str,
    frame_start: int | None = None,
    frame_end: int | None = None,
    seed: int = 0,
    every: int = 1,
    tolerance: float = 0.0,
    objects=None,
    from_reset: bool = True,
    take_name: str | None = None,
    verify: bool = True,
) -> BakeResult:
    """Run Brain ``brain_name`` from ``frame_start`` (default: the current frame) to ``frame_end``
    (default: the scene's end) with ``seed`` and bake what moved into the take ``take_name``
    (default: "<brain> seed <seed> <start>-<end>"), replacing a take of that name.

    ``every``: key every Nth frame (and the last); ``tolerance``: then drop keys that linear
    interpolation reproduces within it (units of each channel: scene units, radians, scale).
    ``objects``: bake only these objects (names or objects); default every object that moved.
    ``from_reset``: start like a new episode (reset randomisation applied, seeded); False starts
    from the scene as it is. ``verify``: replay the take and report the largest difference from
    the rollout (``max_error``) and the objects it does not reproduce (``mismatched``).

    Training Brains run greedily from their stored model, without learning. The scene is restored
    exactly; only the take's Action and NLA tracks are added.
    """
    academy = getattr(scene, "academy", None)
    if academy is None:
        raise BakeError("Agent Academy is not enabled: the scene has no Academy")
    brain = academy.brains.get(brain_name)
    if brain is None:
        names = ", ".join(b.name for b in academy.brains) or "none"
        raise BakeError(f"No Brain named '{brain_name}' in the scene's Academy (Brains: {names})")
    a = scene.frame_current if frame_start is None else int(frame_start)
    b = scene.frame_end if frame_end is None else int(frame_end)
    if b <= a:
        raise BakeError(f"The frame range {a}-{b} is empty: the end frame must come after the start frame")
    if every < 1:
        raise BakeError("Key every Nth frame needs N ≥ 1")
    if tolerance < 0 or not math.isfinite(tolerance):
        raise BakeError("The simplification tolerance must be a finite number ≥ 0")
    for s in sessions.active_sessions():
        if s.scene_name == scene.name:
            raise BakeError(f"Scene '{scene.name}' has a running Academy session: stop it (Train / Play) to bake")
    only = None
    if objects is not None:
        only = set()
        for o in objects:
            name = o if isinstance(o, str) else o.name
            if scene.objects.get(name) is None:
                raise BakeError(f"Object '{name}' is not in scene '{scene.name}'")
            only.add(name)
    name = take_name or default_take_name(brain_name, seed, a, b)
    result = BakeResult(take=name, action="", brain=brain_name, seed=int(seed), frame_start=a, frame_end=b)
    take_actions = {act for act, _m in _take_actions(scene)}
    with takes_muted(scene):
        rec = _record(scene, brain_name, a, b, int(seed), from_reset)
        channels, kinematic = _plan(scene, rec, only, take_actions, result)
    result.rollout_seconds = rec.seconds
    meta = {
        "scene": scene.name,
        "take": name,
        "brain": brain_name,
        "seed": int(seed),
        "frame_start": a,
        "frame_end": b,
        "every": int(every),
        "tolerance": float(tolerance),
        "from_reset": bool(from_reset),
        "objects": result.objects,
    }
    _write_take(scene, rec, channels, kinematic, name, meta, int(every), float(tolerance), result)
    index = {n: i for i, n in enumerate(rec.names)}
    moved = sorted(set(result.objects) | set(result.followers))
    result.matrices = {n: rec.world[:, index[n]].copy() for n in moved}
    if verify and moved:
        with takes_muted(scene, keep=(name,)):  # the take alone, as if soloed
            _verify(scene, rec, moved, result)
    else:
        scene.frame_set(scene.frame_current, subframe=scene.frame_subframe)
    return result


def bake_takes(scene, brain_name: str, frame_start=None, frame_end=None, seeds=(0,), **options) -> list[BakeResult]:
    """One take per seed (see :func:`bake`); ``take_name`` if given gets " seed N" appended."""
    base = options.pop("take_name", None)
    out = []
    for seed in seeds:
        name = None if base is None else f"{base} seed {seed}"
        out.append(bake(scene, brain_name, frame_start, frame_end, seed=seed, take_name=name, **options))
    return out
