"""What the Agent Monitor shows of each running agent, read from a session (no drawing here).

:func:`collect` turns a running :class:`~.session.Session` into one :class:`AgentRecord` per agent:
its Brain, the reward of its running episode, its value estimate (when the Brain has one) and its
last action as short text, with the world point just above the agent where the overlay goes.
It only reads what the session already holds, so calling it on every redraw costs little.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mathutils import Vector

MAX_ACTION_ITEMS = 4  # more action components than this are cut with "…"


@dataclass(frozen=True)
class AgentRecord:
    """One agent as the monitor shows it."""

    agent: str  # the agent object's name
    brain: str
    location: tuple[float, float, float]  # world point above the agent, where the overlay is anchored
    reward: float  # cumulative reward of the agent's running episode
    value: float | None  # the Brain's value estimate at the latest decision (None: it has none)
    action: str  # the last action, short


def format_action(action) -> str:
    """A short text for one agent's action: ``2``, ``(1, 0)``, ``(0.12, -0.50)``; ``–`` for none yet."""
    if action is None:
        return "–"
    a = np.asarray(action)
    discrete = np.issubdtype(a.dtype, np.integer)
    items = [str(x) if discrete else f"{x:.2f}" for x in a.ravel()[:MAX_ACTION_ITEMS].tolist()]
    if a.size > MAX_ACTION_ITEMS:
        items.append("…")
    return items[0] if a.size == 1 else f"({', '.join(items)})"


def anchor(obj) -> tuple[float, float, float]:
    """The world point just above ``obj``: its origin in x and y, the top of its bounding box in z."""
    matrix = obj.matrix_world
    top = max((matrix @ Vector(corner)).z for corner in obj.bound_box)
    origin = matrix.translation
    return (origin.x, origin.y, max(top, origin.z))


def collect(session, scene) -> list[AgentRecord]:
    """One record per agent of every Brain running in ``session`` whose object is still in ``scene``.

    ``session`` is a :class:`~.session.Session` (another kind of session has no agents to show: [])."""
    brain_view = getattr(session, "brain", None)
    if brain_view is None or getattr(session, "stopped", False):
        return []
    out: list[AgentRecord] = []
    objects = scene.objects
    for name in session.brains:
        view = brain_view(name)
        rewards = view.stats.episode_return
        values = view.values
        actions = view.last_actions
        for row, agent in enumerate(view.agents):
            obj = objects.get(agent)
            if obj is None:  # deleted while the session runs: nothing to draw above
                continue
            out.append(
                AgentRecord(
                    agent=agent,
                    brain=name,
                    location=anchor(obj),
                    reward=float(rewards[row]),
                    value=None if values is None else float(values[row]),
                    action=format_action(None if actions is None else actions[row]),
                )
            )
    return out
