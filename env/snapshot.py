"""Snapshots of everything the Academy can change, so the designer's scene is restored exactly."""

from __future__ import annotations

from dataclasses import dataclass, field

TRANSFORM_PROPS = ("location", "rotation_mode", "rotation_euler", "rotation_quaternion", "rotation_axis_angle", "scale")


@dataclass
class ObjectState:
    transform: dict[str, object]
    rigid_body: dict[str, object] | None


def _read_object(obj) -> ObjectState:
    transform = {}
    for name in TRANSFORM_PROPS:
        value = getattr(obj, name)
        transform[name] = value if isinstance(value, str) else tuple(value)
    rb = obj.rigid_body
    rigid = None if rb is None else {"kinematic": rb.kinematic, "enabled": rb.enabled}
    return ObjectState(transform, rigid)


def _write_transform(obj, state: ObjectState) -> None:
    for name, value in state.transform.items():
        if getattr(obj, name) != value:  # writing tags the object for re-evaluation; skip no-ops
            setattr(obj, name, value)


@dataclass
class Snapshot:
    """Object transforms and rigid-body flags by object name, property values by accessor, scene state."""

    objects: dict[str, ObjectState] = field(default_factory=dict)
    accessors: dict[int, tuple[object, object]] = field(default_factory=dict)  # id(Accessor) -> (it, raw value)
    frame_current: int = 1
    frame_subframe: float = 0.0
    point_cache_frame_end: int | None = None

    @classmethod
    def take(cls, scene, objects, accessors) -> Snapshot:
        snap = cls(frame_current=scene.frame_current, frame_subframe=scene.frame_subframe)
        for obj in objects:
            if obj.name not in snap.objects:
                snap.objects[obj.name] = _read_object(obj)
        for acc in accessors:
            snap.accessors[id(acc)] = (acc, acc.raw())
        world = scene.rigidbody_world
        if world is not None and world.point_cache is not None:
            snap.point_cache_frame_end = world.point_cache.frame_end
        return snap

    def restore_objects(self, scene, names=None, rigid_flags: bool = True) -> list[str]:
        """Restore transforms (and rigid-body flags) of ``names`` (default all); return names that are gone."""
        missing = []
        for name in self.objects if names is None else names:
            obj = scene.objects.get(name)
            if obj is None:
                missing.append(name)
                continue
            state = self.objects[name]
            _write_transform(obj, state)
            if rigid_flags and state.rigid_body is not None and obj.rigid_body is not None:
                for key, value in state.rigid_body.items():
                    if getattr(obj.rigid_body, key) != value:
                        setattr(obj.rigid_body, key, value)
        return missing

    def restore_accessors(self, accessors=None) -> None:
        """Restore property values (``accessors``: a subset, default all)."""
        entries = self.accessors.values() if accessors is None else (self.accessors[id(a)] for a in accessors)
        for acc, raw in entries:
            try:
                if acc.raw() != raw:
                    acc.restore(raw)
            except ReferenceError:
                continue  # its object was deleted; the caller reports deleted objects

    def restore_scene(self, scene) -> None:
        world = scene.rigidbody_world
        if world is not None and self.point_cache_frame_end is not None:
            world.point_cache.frame_end = self.point_cache_frame_end


def current_values(snapshot: Snapshot, scene) -> Snapshot:
    """A snapshot of the same objects and properties as ``snapshot``, with their values now."""
    objects = [scene.objects[name] for name in snapshot.objects if name in scene.objects]
    now = Snapshot.take(scene, objects, [acc for acc, _raw in snapshot.accessors.values()])
    return now
