"""The one place the runtime moves the scene's frame: every ``scene.frame_set`` goes through here.

A frame change runs the frame-change handlers, which is where the Academy steps (see
:mod:`.academy`), so moving the frame *is* stepping. Keeping every move in one module keeps the
rules about it in one place: a driven run wraps back to the first frame (:func:`advance`, see
``session.wrap_frames``), and leaving a run rebuilds the physics the designer sees
(:func:`show_frame`). ``tests/core/test_one_timeline.py`` checks no other module calls
``frame_set``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

FRAME_LIMIT = 1_000_000  # Blender's last frame is 1048574; a run wraps around well before it


class Step(NamedTuple):
    """What one external Brain's agents saw at the decision a ``Session.step`` advanced to (one row each)."""

    obs: Any
    rewards: Any
    terminated: Any
    truncated: Any
    final_obs: Any  # the observation that ended each episode (``obs`` for agents whose episode goes on)
    success: Any


class BrainFragment(NamedTuple):
    """One Brain's share of a :class:`Fragment`."""

    agent_steps: int
    episodes: int  # episodes that ended (terminated or truncated) during the fragment
    reward: float  # the sum of every reward its agents were given


class Fragment(NamedTuple):
    """What a ``Session.rollout`` collected: enough for a worker process to report it."""

    decisions: int
    frames: int
    agent_steps: int  # over every Brain
    frame: int  # the frame it ended at (the frame of its last decision)
    brains: Mapping[str, BrainFragment]


def advance(scene, wrap_frame: int | None = None) -> int:
    """Go to the next frame (the handlers step the Academy); returns the frame now current.

    ``wrap_frame``: reaching it jumps back to ``scene.frame_start`` instead (an Academy-wide reset:
    the long-run slow-downs of ``session.wrap_frames``). None: never wrap (a bake's consecutive frames).
    """
    frame = scene.frame_current + 1
    if wrap_frame is not None and frame >= wrap_frame:
        frame = scene.frame_start
    scene.frame_set(frame)
    return frame


def go_to(scene, frame: int, subframe: float = 0.0) -> None:
    """Jump to ``frame`` (and ``subframe``): a start, a bake's exact frame, the designer's frame back."""
    scene.frame_set(frame, subframe=subframe)


def show_frame(scene, frame: int, subframe: float = 0.0, physics: bool = True) -> None:
    """Rebuild the physics from the first frame, then go to ``frame``, simulated as the designer sees it.

    The rigid-body cache holds whatever was simulated last (training's, a bake's rollout): stepping
    again from the first frame up to ``frame`` replaces it with the designer's own simulation, so
    what they see at their frame is what they saw before. ``physics``: False only jumps back.
    """
    scene.frame_set(scene.frame_start)
    world = scene.rigidbody_world
    if physics and world is not None and world.enabled and world.point_cache is not None:
        for step in range(scene.frame_start + 1, min(frame, world.point_cache.frame_end)):
            scene.frame_set(step)
    scene.frame_set(frame, subframe=subframe)
