"""Application handlers. Persistent, so they survive loading another file."""

from bpy.app.handlers import persistent

from . import camera, sessions


@persistent
def on_frame_change_pre(scene, depsgraph=None) -> None:
    """Let every running session of ``scene`` prepare for the frame about to be evaluated."""
    if camera.is_rendering():  # a camera sensor's render fires frame changes of its own
        return
    for session in sessions.active_sessions():
        if session.scene_name == scene.name:
            session.on_frame_change_pre(scene)


@persistent
def on_frame_change_post(scene, depsgraph=None) -> None:
    """Drive every running session of ``scene`` by one evaluated frame."""
    if camera.is_rendering():
        return
    for session in sessions.active_sessions():
        if session.scene_name == scene.name:
            session.on_frame_change(scene, depsgraph)


@persistent
def on_load_pre(*_args) -> None:
    """A file is about to replace the current one: end every session while its data exists."""
    sessions.stop_all_sessions()


_suspended: list = []

#: scene name -> what is wrong with its settings, found when the file was loaded (shown in the Academy panel)
LOAD_PROBLEMS: dict[str, str] = {}


@persistent
def on_load_post(*_args) -> None:
    """A .blend can carry any value (ID properties, old files): check every scene's settings on load.

    What is wrong is printed and shown in the Academy panel at once; Train, Play and Bake refuse the
    scene with the same message until it is fixed.
    """
    import bpy

    from ..core.limits import SettingsError

    LOAD_PROBLEMS.clear()
    for scene in bpy.data.scenes:
        try:
            scene.academy.check(scene)
        except SettingsError as exc:
            LOAD_PROBLEMS[scene.name] = str(exc)
            print(f"Agent Academy: scene '{scene.name}': {exc}")


@persistent
def on_save_pre(*_args) -> None:
    """Saving while a session runs: store what was learned, save the designer's scene, not the run's."""
    _suspended.clear()
    for session in sessions.active_sessions():
        _suspended.append((session, session.suspend_for_save()))


@persistent
def on_save_post(*_args) -> None:
    """Put the running session's state back after the file was written."""
    for session, token in _suspended:
        session.resume_after_save(token)
    _suspended.clear()


@persistent
def on_undo_post(*_args) -> None:
    """Undo may bring back a Brain's older stored model: restore the newest one trained here."""
    import bpy

    from .brain_store import BrainError, restore_trained

    if not sessions.trained_states:
        return
    for scene in bpy.data.scenes:
        for brain in scene.academy.brains:
            try:
                restore_trained(scene, brain)
            except BrainError as exc:  # nothing to report to from an undo handler but the console
                print(f"Agent Academy: {exc}")
