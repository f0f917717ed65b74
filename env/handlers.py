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
