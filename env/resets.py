"""Putting agents back: restoring what the snapshot holds, reset writes, and rigid bodies held still.

Bullet keeps a body's velocity when it is moved, so a reset rigid body is held kinematic for
:data:`HOLD_FRAMES` evaluated frames: every episode then starts from rest exactly as the first one
did. Objects are held by their snapshot key, as the designer may rename them meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from . import timeline
from .errors import AcademyError
from .groups import BrainState, Group
from .snapshot import Snapshot, current_values

HOLD_FRAMES = 2  # frames a reset rigid body is held kinematic so Bullet forgets its velocity


class Resets:
    """The resets of one Academy: its :class:`~.snapshot.Snapshot` and the rigid bodies held still."""

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot
        self.holds: dict[str, int] = {}  # snapshot key -> evaluated frames it stays held
        # parameter name -> core.curriculum.Value replacing the Academy's setting (lessons, gym options)
        self.overrides: dict = {}

    def draw_params(self, scene, g: Group, agents: np.ndarray, rng: np.random.Generator) -> None:
        """Draw the scene's reset parameters for ``agents`` of group ``g`` (:attr:`overrides` first)."""
        for p in scene.academy.reset_parameters:
            values = g.ctx.reset_params.setdefault(p.name, np.zeros(g.ctx.n))
            v = self.overrides.get(p.name)
            mode, value, low, high = (p.mode, p.value, p.minimum, p.maximum) if v is None else v.astuple()
            if mode == "UNIFORM":
                values[agents] = rng.uniform(low, high, size=len(agents))
            else:
                values[agents] = value

    def all_before_eval(
        self, scene, brains: Iterable[BrainState], rng: np.random.Generator, reset_writes: bool = True
    ) -> None:
        """Restore every object and property, release holds, apply every agent's reset writes (unless
        ``reset_writes`` is False)."""
        gone = self.snapshot.restore_accessors()
        if gone:
            raise AcademyError(f"The {gone[0]} was deleted while the Academy was running")
        missing = self.snapshot.restore_objects(scene)
        if missing:
            raise AcademyError(f"Object '{missing[0]}' was deleted while the Academy was running")
        self.holds.clear()
        for state in brains:
            for g in state.groups:
                every = np.arange(g.ctx.n)
                self.hold(g.compiled.objects, HOLD_FRAMES)
                self.draw_params(scene, g, every, rng)
                g.ctx.step[:] = 0
                if reset_writes and g.compiled.reset_writes:
                    g.compiled.read_matrices(g.ctx)
                    g.compiled.apply_reset_writes(g.ctx, every)
                for obj in g.compiled.objects:
                    if obj.rigid_body is not None:
                        obj.update_tag()

    def agents(self, scene, g: Group, agents: np.ndarray, rng: np.random.Generator) -> None:
        """Reset some agents mid-run: restore their objects and properties, hold their rigid bodies."""
        c = g.compiled
        objs = [c.objects[k] for k in sorted({k for i in agents for k in c.agent_object_indices[i]})]
        keys = [self.snapshot.key_of(obj) for obj in objs]  # the objects may have been renamed
        accessors = [cw.accessors[i] for cw in c.writes + c.reset_writes for i in agents]
        gone = self.snapshot.restore_accessors(accessors)
        if gone:
            raise AcademyError(f"The {gone[0]} was deleted while the Academy was running")
        missing = self.snapshot.restore_objects(scene, [k for k in keys if k is not None], rigid_flags=False)
        if missing:
            raise AcademyError(f"Object '{missing[0]}' was deleted while the Academy was running")
        self.draw_params(scene, g, agents, rng)
        g.ctx.step[agents] = 0
        if c.reset_writes:
            c.apply_reset_writes(g.ctx, agents)
        self.hold(objs, HOLD_FRAMES)

    def hold(self, objects, frames: int) -> None:
        """Make the active rigid bodies among ``objects`` kinematic for ``frames`` evaluated frames.

        After a timeline jump the first frame is evaluated held too (the reset frame), one more than
        mid-run, where the reset happens after the frame was evaluated: either way the body is free
        from the third frame after the decision that reset it.
        """
        for obj in objects:
            rb = obj.rigid_body
            key = self.snapshot.key_of(obj)
            if rb is not None and rb.type == "ACTIVE" and rb.enabled and key is not None:
                rb.kinematic = True
                self.holds[key] = frames

    def tick_holds(self, scene) -> None:
        """Called before each frame: a held body stays kinematic for HOLD_FRAMES evaluated frames."""
        if not self.holds:
            return
        for name in list(self.holds):
            self.holds[name] -= 1
            if self.holds[name] < 0:
                del self.holds[name]
                state = self.snapshot.objects.get(name)
                obj = self.snapshot.find(scene, name) if state is not None else None
                if obj is not None and obj.rigid_body is not None and state is not None and state.rigid_body:
                    obj.rigid_body.kinematic = state.rigid_body["kinematic"]

    def restore(self, scene) -> None:
        """Restore the designer's scene exactly as it was snapshot, and show its frame."""
        snap = self.snapshot
        snap.restore(scene)
        by_uid = {o.session_uid: o for o in scene.objects}
        bodies = False
        for key in snap.objects:
            obj = snap.find(scene, key, by_uid)
            if obj is not None and obj.rigid_body is not None:
                obj.update_tag()
                bodies = True
        timeline.show_frame(scene, snap.frame_current, snap.frame_subframe, physics=bodies)

    def suspend_for_save(self, scene) -> tuple[Snapshot, int]:
        """Put the designer's values back (for saving the file mid-run); returns what to resume with."""
        now = current_values(self.snapshot, scene)
        self.snapshot.restore_accessors()
        self.snapshot.restore_objects(scene)
        self.snapshot.restore_scene(scene)
        frame = scene.frame_current
        scene.frame_current = self.snapshot.frame_current
        return now, frame

    def resume_after_save(self, scene, now: Snapshot, frame: int) -> None:
        """Undo :meth:`suspend_for_save` once the file is written."""
        now.restore_accessors()
        now.restore_objects(scene)
        world = scene.rigidbody_world
        if world is not None:
            world.point_cache.frame_end = timeline.FRAME_LIMIT
        scene.frame_current = frame
