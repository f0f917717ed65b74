"""Fewer keyframes for a baked channel: keep every N-th frame, then only what a tolerance needs (no bpy)."""

from __future__ import annotations

import numpy as np

__all__ = ["keep_mask"]


def keep_mask(frames: np.ndarray, values: np.ndarray, every: int = 1, tolerance: float = 0.0) -> np.ndarray:
    """Which samples to keep as keys: every ``every``-th frame (and the last), then, if ``tolerance``,
    only those needed so linear interpolation between kept keys stays within ``tolerance`` of every
    sample (Ramer-Douglas-Peucker, all components of a channel together)."""
    n = len(frames)
    keep = np.zeros(n, dtype=bool)
    keep[::every] = True
    keep[-1] = True
    if tolerance <= 0 or n <= 2:
        return keep
    idx = np.nonzero(keep)[0]
    t = frames[idx].astype(np.float64)
    v = values[idx].reshape(len(idx), -1)
    sub = np.zeros(len(idx), dtype=bool)
    sub[0] = sub[-1] = True
    stack = [(0, len(idx) - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        w = (t[a + 1 : b] - t[a]) / (t[b] - t[a])
        line = v[a] + w[:, None] * (v[b] - v[a])
        err = np.abs(v[a + 1 : b] - line).max(axis=1)
        k = int(np.argmax(err))
        if err[k] > tolerance:
            mid = a + 1 + k
            sub[mid] = True
            stack.append((a, mid))
            stack.append((mid, b))
    out = np.zeros(n, dtype=bool)
    out[idx[sub]] = True
    return out
