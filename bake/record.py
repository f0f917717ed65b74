"""Record a rollout for a bake: the Brain runs through a :class:`Session` that does not learn, and
every object's evaluated world matrix and every property the actuators wrote is kept per frame.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import bpy
import numpy as np

from .. import compat
from ..env import camera, timeline
from ..env.academy import AcademyError
from ..env.brain_store import BrainError
from ..env.session import Session
from .result import BakeError

TRANSFORM_PATHS = ("location", "rotation_euler", "rotation_quaternion", "rotation_axis_angle", "scale")


class _Recorder:
    """A frame_change_post handler that runs before the Academy's, so it sees each frame as it was
    evaluated (the Academy may reset agents right after).

    It stays a handler of its own, not a loop reading the scene after each ``Session.advance_frames``:
    by the time a frame change returns, the Academy's handler has already reset the agents whose
    episode ended on that frame, so only a handler ahead of it sees the frame the designer will see.
    It only reads; the frames themselves move through the Session (:mod:`..env.timeline`)."""

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
        timeline.go_to(scene, frame_start)
        reference = _world_now(scene)
        try:
            session = Session(scene, training=False, brains=[brain_name], seed=seed)
        except (AcademyError, BrainError) as exc:
            raise BakeError(str(exc)) from None
        direct, accessors = session.written(brain_name)  # what the take must key
        basis_names = [
            o.name for o in scene.objects if _has_constraints(o) or (o.parent is not None and o.parent_type != "OBJECT")
        ]
        recorder = _Recorder(scene, frame_start, frame_end, accessors, basis_names)
        handlers.insert(0, recorder)
        recorder.active = True
        try:  # not from_reset: start from the scene as it is, no reset randomisation for the first episode
            session.start(reset_writes=from_reset)
        except (AcademyError, BrainError) as exc:
            raise BakeError(str(exc)) from None
        for frame in range(frame_start + 1, frame_end + 1):  # one at a time, to name the frame that failed
            try:
                session.advance_frames(1, wrap=False)  # a take's frames are consecutive: never wrap
            except AcademyError as exc:
                raise BakeError(f"Brain '{brain_name}' failed at frame {frame}: {exc}") from None
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
        # rebuild physics from its first frame, then the designer's frame
        timeline.show_frame(scene, saved[1], saved[2])
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
