"""The registry of running sessions (training, playback) that frame changes drive.

A session holds what cannot live in Blender properties (learners, buffers, snapshots). It is keyed
by the name of the scene it runs on and never keeps Blender data across steps: it looks the scene
up again on every frame change, so undo and file loads cannot leave it pointing at freed memory.
"""

from __future__ import annotations

from typing import Protocol


class Session(Protocol):
    """What the frame-change handler needs from a running session."""

    scene_name: str

    def on_frame_change_pre(self, scene) -> None:
        """Prepare for the frame about to be evaluated (e.g. restore the scene on a timeline jump)."""

    def on_frame_change(self, scene, depsgraph) -> None:
        """Advance the session by the frame that was just evaluated."""

    def stop(self) -> None:
        """End the session and restore the designer's scene."""

    def suspend_for_save(self) -> object | None:
        """The file is about to be saved: put the designer's values back; return what resuming needs."""

    def resume_after_save(self, token: object | None) -> None:
        """The file was written: carry on from where :meth:`suspend_for_save` left off."""


_active: list[Session] = []

#: The newest trained state of every Brain this Blender session trained, by Brain uid:
#: ``(trained steps, state bytes)``. Undo can roll a Brain's stored model back to before training;
#: this puts the newer one back (see ``handlers.on_undo_post``).
trained_states: dict[str, tuple[int, bytes]] = {}
#: (scene name, Brain name) -> Brain uid: undo can also take back the uid given when training began.
trained_names: dict[tuple[str, str], str] = {}


def active_sessions() -> tuple[Session, ...]:
    """The running sessions, oldest first."""
    return tuple(_active)


def session_for(scene_name: str) -> Session | None:
    """The running session of the scene named ``scene_name``, if any."""
    for session in _active:
        if session.scene_name == scene_name:
            return session
    return None


def start_session(session: Session) -> None:
    """Register ``session`` so frame changes of its scene drive it."""
    for other in _active:
        if other.scene_name == session.scene_name:
            raise RuntimeError(f"Scene '{session.scene_name}' already has a running Academy session")
    _active.append(session)


def stop_session(session: Session) -> None:
    """Stop ``session`` (restoring its scene) and forget it, even if stopping raises."""
    try:
        session.stop()
    finally:
        if session in _active:
            _active.remove(session)


def stop_all_sessions() -> None:
    """Stop every running session, newest first; re-raise the first error after all stopped."""
    first_error: BaseException | None = None
    for session in reversed(list(_active)):
        try:
            stop_session(session)
        except BaseException as exc:  # keep stopping the others, then raise
            first_error = first_error or exc
    if first_error is not None:
        raise first_error
