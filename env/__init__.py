"""The bpy side of the environment: stepping, sensors, actuators, resets, handlers."""

from .handlers import (
    on_frame_change_post,
    on_frame_change_pre,
    on_load_post,
    on_load_pre,
    on_save_post,
    on_save_pre,
    on_undo_post,
)
from .sessions import active_sessions, session_for, start_session, stop_all_sessions, stop_session
from .torch_setup import add_site_dir

CLASSES = ()
HANDLERS = (
    ("frame_change_pre", on_frame_change_pre),
    ("frame_change_post", on_frame_change_post),
    ("load_pre", on_load_pre),
    ("load_post", on_load_post),
    ("save_pre", on_save_pre),
    ("save_post", on_save_post),
    ("undo_post", on_undo_post),
    ("redo_post", on_undo_post),
)

__all__ = ["active_sessions", "session_for", "start_session", "stop_all_sessions", "stop_session"]


def post_register() -> None:
    """Make a PyTorch installed by "Install PyTorch" importable."""
    add_site_dir()


def pre_unregister() -> None:
    """Forget running sessions (restoring their scenes) before the classes go."""
    stop_all_sessions()
