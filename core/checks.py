"""Small checks and message helpers shared by the runtime and its clients (no bpy).

- :func:`one_line`: an exception as one line, for the errors the UI and the CLI show;
- :func:`unlearnable` / :func:`first_unlearnable`: values a float32 learner cannot take.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["F32_MAX", "first_unlearnable", "one_line", "unlearnable"]

F32_MAX = float(np.finfo(np.float32).max)  # the learners work in float32: anything larger becomes inf


def unlearnable(value: float) -> str:
    """Why ``value`` (not finite, or beyond float32) cannot go to a learner, for messages."""
    return "is not a finite number" if not math.isfinite(value) else "is too large for the learner (beyond ±3.4e38)"


def first_unlearnable(values: np.ndarray) -> tuple[int, int, float] | None:
    """``(agent row, component, value)`` of the first value float32 cannot hold, or None (per decision: cheap)."""
    flat = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    ok = np.isfinite(flat) & (np.abs(flat) <= F32_MAX)
    if ok.all():
        return None
    row, col = (int(v) for v in np.argwhere(~ok)[0])
    return row, col, float(flat[row, col])


def one_line(exc: BaseException) -> str:
    """``exc`` as one line: its type and the first line of its message."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
