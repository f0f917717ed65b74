"""Keyboard state for Player Brains: the keys currently held in the 3D Viewport.

The Play operator (a modal operator in the UI) adds and removes event types here; PlayerRunner
reads it at every decision. Plain Python state: no Blender data is kept.
"""

pressed: set[str] = set()
#: the keys the running Player Brains are bound to (set when Play starts)
bound: set[str] = set()


def press(event_type: str) -> None:
    pressed.add(event_type)


def release(event_type: str) -> None:
    pressed.discard(event_type)


def clear() -> None:
    pressed.clear()
