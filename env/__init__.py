"""The bpy side of the environment: stepping, sensors, actuators, resets, handlers."""

from .handlers import on_frame_change_post, on_frame_change_pre, on_load_pre
from .sessions import active_sessions, start_session, stop_all_sessions, stop_session

CLASSES = ()
HANDLERS = (
    ("frame_change_pre", on_frame_change_pre),
    ("frame_change_post", on_frame_change_post),
    ("load_pre", on_load_pre),
)

__all__ = ["active_sessions", "start_session", "stop_all_sessions", "stop_session"]
