"""Snapshots of everything the Academy can change, so the designer's scene is restored exactly.

Objects are remembered by the name they had and by their ``session_uid`` (stable across renames),
so an object the designer renames while the Academy runs is still restored. Restoring never stops
at something that vanished (a deleted object or custom property): it restores everything else and
says what was gone (:attr:`Snapshot.lost`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

TRANSFORM_PROPS = ("location", "rotation_mode", "rotation_euler", "rotation_quaternion", "rotation_axis_angle", "scale")


@dataclass
class ObjectState:
    transform: dict[str, object]
    rigid_body: dict[str, object] | None
    uid: int = -1  # the object's session_uid


def _read_object(obj) -> ObjectState:
    transform = {}
    for name in TRANSFORM_PROPS:
        value = getattr(obj, name)
        transform[name] = value if isinstance(value, str) else tuple(value)
    rb = obj.rigid_body
    rigid = None if rb is None else {"kinematic": rb.kinematic, "enabled": rb.enabled}
    return ObjectState(transform, rigid, obj.session_uid)


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
    #: what restoring found gone, one description each ("object 'Ball'", "custom property ["hp"] of 'Cube'")
    lost: list[str] = field(default_factory=list)
    _keys: dict[int, str] = field(default_factory=dict)  # session_uid -> key in ``objects``

    @classmethod
    def take(cls, scene, objects, accessors) -> Snapshot:
        snap = cls(frame_current=scene.frame_current, frame_subframe=scene.frame_subframe)
        for obj in objects:
            if obj.name not in snap.objects:
                state = _read_object(obj)
                snap.objects[obj.name] = state
                snap._keys[state.uid] = obj.name
        for acc in accessors:
            snap.accessors[id(acc)] = (acc, acc.raw())
        world = scene.rigidbody_world
        if world is not None and world.point_cache is not None:
            snap.point_cache_frame_end = world.point_cache.frame_end
        return snap

    # -- finding objects again ------------------------------------------------------------
    def key_of(self, obj) -> str | None:
        """The key in :attr:`objects` of the live object ``obj`` (whatever it is called now)."""
        return self._keys.get(obj.session_uid)

    def find(self, scene, key: str, by_uid: dict | None = None):
        """The object remembered as ``key``: by its name, else (renamed) by its session_uid; None if gone."""
        state = self.objects[key]
        obj = scene.objects.get(key)
        if obj is not None and obj.session_uid == state.uid:
            return obj
        if by_uid is None:
            by_uid = {o.session_uid: o for o in scene.objects}
        return by_uid.get(state.uid)

    def _note(self, what: str) -> None:
        if what not in self.lost:
            self.lost.append(what)

    # -- restoring ------------------------------------------------------------------------
    def restore_objects(self, scene, names=None, rigid_flags: bool = True) -> list[str]:
        """Restore transforms (and rigid-body flags) of ``names`` (keys, default all); return the keys gone."""
        missing = []
        by_uid = None
        for name in self.objects if names is None else names:
            obj = scene.objects.get(name)
            state = self.objects[name]
            if obj is None or obj.session_uid != state.uid:
                if by_uid is None:
                    by_uid = {o.session_uid: o for o in scene.objects}
                obj = by_uid.get(state.uid)
            if obj is None:
                missing.append(name)
                self._note(f"object '{name}'")
                continue
            _write_transform(obj, state)
            if rigid_flags and state.rigid_body is not None and obj.rigid_body is not None:
                for key, value in state.rigid_body.items():
                    if getattr(obj.rigid_body, key) != value:
                        setattr(obj.rigid_body, key, value)
        return missing

    def restore_accessors(self, accessors=None) -> list[str]:
        """Restore property values (``accessors``: a subset, default all); return the properties found gone.

        A property on a deleted object is skipped silently (the object is reported missing instead).
        """
        gone = []
        entries = self.accessors.values() if accessors is None else (self.accessors[id(a)] for a in accessors)
        for acc, raw in entries:
            try:
                if acc.raw() != raw:
                    acc.restore(raw)
            except ReferenceError:
                continue  # its object was deleted; the caller reports deleted objects
            except (KeyError, IndexError, TypeError, AttributeError):
                what = acc.describe()
                if what is not None:
                    gone.append(what)
                    self._note(what)
        return gone

    def restore_scene(self, scene) -> None:
        world = scene.rigidbody_world
        if world is not None and self.point_cache_frame_end is not None:
            world.point_cache.frame_end = self.point_cache_frame_end

    def restore(self, scene) -> list[str]:
        """Restore everything (properties, objects, scene settings), going on past anything gone.

        Returns :attr:`lost`: every object or property found gone, now or by earlier restores.
        """
        self.restore_accessors()
        self.restore_objects(scene)
        self.restore_scene(scene)
        return list(self.lost)


def current_values(snapshot: Snapshot, scene) -> Snapshot:
    """A snapshot of the same objects and properties as ``snapshot``, with their values now.

    Keyed by the same keys as ``snapshot`` (renamed objects included); what is gone is left out.
    """
    by_uid = {o.session_uid: o for o in scene.objects}
    now = Snapshot(frame_current=scene.frame_current, frame_subframe=scene.frame_subframe)
    for key in snapshot.objects:
        obj = snapshot.find(scene, key, by_uid)
        if obj is not None:
            state = _read_object(obj)
            now.objects[key] = state
            now._keys[state.uid] = key
    for acc, _raw in snapshot.accessors.values():
        try:
            now.accessors[id(acc)] = (acc, acc.raw())
        except (ReferenceError, KeyError, IndexError, TypeError, AttributeError):
            continue
    world = scene.rigidbody_world
    if world is not None and world.point_cache is not None:
        now.point_cache_frame_end = world.point_cache.frame_end
    return now
