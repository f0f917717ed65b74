"""Rotation maths on numpy arrays of rotation matrices (no bpy, no mathutils).

Two families, each pinned by its own tests, and deliberately not merged (their numbers differ in
the last bits, and both are part of recorded behaviour):

- for observations (``env/compiler.py``): :func:`rotation_part`, :func:`euler_xyz`,
  :func:`quaternion_wxyz` (w ≥ 0) and :func:`rotation_vector` (angular velocity);
- for baking keyframes (``bake/plan.py``): :func:`euler_continuous` (any Euler order, Blender's
  ``mat3_normalized_to_eulO``, unwrapped frame to frame) and :func:`quaternion_continuous`
  (Shepperd's method, sign-continuous frame to frame).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "EULER_AXES",
    "euler_continuous",
    "euler_xyz",
    "quaternion_continuous",
    "quaternion_wxyz",
    "rotation_part",
    "rotation_vector",
]


# -- observations --------------------------------------------------------------------------


def rotation_part(mats: np.ndarray) -> np.ndarray:
    """(…, 3, 3) rotation of (…, 4, 4) world matrices with scale divided out."""
    r = mats[..., :3, :3]
    norms = np.linalg.norm(r, axis=-2, keepdims=True)
    return r / np.where(norms == 0.0, 1.0, norms)


def euler_xyz(r: np.ndarray) -> np.ndarray:
    """Blender's XYZ Euler angles (radians) of rotation matrices (…, 3, 3)."""
    sy = np.clip(-r[..., 2, 0], -1.0, 1.0)
    x = np.arctan2(r[..., 2, 1], r[..., 2, 2])
    y = np.arcsin(sy)
    z = np.arctan2(r[..., 1, 0], r[..., 0, 0])
    return np.stack([x, y, z], axis=-1)


def quaternion_wxyz(r: np.ndarray) -> np.ndarray:
    """Unit quaternions (w, x, y, z) with w ≥ 0 of rotation matrices (…, 3, 3)."""
    m = r
    w = np.sqrt(np.maximum(0.0, 1.0 + m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2])) / 2
    x = np.sqrt(np.maximum(0.0, 1.0 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2])) / 2
    y = np.sqrt(np.maximum(0.0, 1.0 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2])) / 2
    z = np.sqrt(np.maximum(0.0, 1.0 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2])) / 2
    x = np.copysign(x, m[..., 2, 1] - m[..., 1, 2])
    y = np.copysign(y, m[..., 0, 2] - m[..., 2, 0])
    z = np.copysign(z, m[..., 1, 0] - m[..., 0, 1])
    q = np.stack([w, x, y, z], axis=-1)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def rotation_vector(r: np.ndarray) -> np.ndarray:
    """Axis * angle of rotation matrices (…, 3, 3)."""
    cos = np.clip((np.trace(r, axis1=-2, axis2=-1) - 1.0) / 2.0, -1.0, 1.0)
    angle = np.arccos(cos)
    axis = np.stack([r[..., 2, 1] - r[..., 1, 2], r[..., 0, 2] - r[..., 2, 0], r[..., 1, 0] - r[..., 0, 1]], axis=-1)
    sin = np.sin(angle)
    scale = np.where(sin > 1e-8, angle / (2.0 * np.where(sin > 1e-8, sin, 1.0)), 0.5)
    return axis * scale[..., None]


# -- baking --------------------------------------------------------------------------------


EULER_AXES = {
    "XYZ": ((0, 1, 2), False),
    "XZY": ((0, 2, 1), True),
    "YXZ": ((1, 0, 2), True),
    "YZX": ((1, 2, 0), False),
    "ZXY": ((2, 0, 1), False),
    "ZYX": ((2, 1, 0), True),
}


def euler_continuous(r: np.ndarray, order: str, previous) -> np.ndarray:
    """Euler angles (F, 3) of rotation matrices (F, 3, 3) in ``order``, continuous from ``previous``.

    Blender's ``mat3_normalized_to_eulO`` (both solutions, the smaller one), then unwrapped so
    consecutive frames never jump by a turn.
    """
    (i, j, k), parity = EULER_AXES[order]

    def m(a, b):  # Blender's mat[a][b]: column a, row b
        return r[:, b, a]

    cy = np.hypot(m(i, i), m(i, j))
    e1 = np.empty((len(r), 3))
    e2 = np.empty((len(r), 3))
    e1[:, i] = np.arctan2(m(j, k), m(k, k))
    e1[:, j] = np.arctan2(-m(i, k), cy)
    e1[:, k] = np.arctan2(m(i, j), m(i, i))
    e2[:, i] = np.arctan2(-m(j, k), -m(k, k))
    e2[:, j] = np.arctan2(-m(i, k), -cy)
    e2[:, k] = np.arctan2(-m(i, j), -m(i, i))
    lock = cy <= 16 * np.finfo(np.float32).eps
    if lock.any():
        e1[lock, i] = np.arctan2(-m(k, j), m(j, j))[lock]
        e1[lock, k] = 0.0
        e2[lock] = e1[lock]
    if parity:
        e1, e2 = -e1, -e2
    eul = np.where((np.abs(e1).sum(1) > np.abs(e2).sum(1))[:, None], e2, e1)
    ref = np.asarray(previous, dtype=np.float64).reshape(1, 3)
    return np.unwrap(np.concatenate([ref, eul]), axis=0)[1:]


def quaternion_continuous(r: np.ndarray, previous) -> np.ndarray:
    """Quaternions (F, 4) wxyz of rotation matrices, sign-continuous and starting near ``previous``."""
    n = len(r)
    q = np.empty((n, 4))
    r00, r11, r22 = r[:, 0, 0], r[:, 1, 1], r[:, 2, 2]
    trace = r00 + r11 + r22
    cases = np.argmax(np.stack([trace, r00, r11, r22], axis=1), axis=1)
    for case in range(4):
        sel = cases == case
        if not sel.any():
            continue
        m = r[sel]
        if case == 0:
            s = np.sqrt(np.maximum(trace[sel] + 1.0, 1e-300)) * 2
            q[sel] = np.stack(
                [s / 4, (m[:, 2, 1] - m[:, 1, 2]) / s, (m[:, 0, 2] - m[:, 2, 0]) / s, (m[:, 1, 0] - m[:, 0, 1]) / s], 1
            )
        elif case == 1:
            s = np.sqrt(np.maximum(1.0 + m[:, 0, 0] - m[:, 1, 1] - m[:, 2, 2], 1e-300)) * 2
            q[sel] = np.stack(
                [(m[:, 2, 1] - m[:, 1, 2]) / s, s / 4, (m[:, 0, 1] + m[:, 1, 0]) / s, (m[:, 0, 2] + m[:, 2, 0]) / s], 1
            )
        elif case == 2:
            s = np.sqrt(np.maximum(1.0 + m[:, 1, 1] - m[:, 0, 0] - m[:, 2, 2], 1e-300)) * 2
            q[sel] = np.stack(
                [(m[:, 0, 2] - m[:, 2, 0]) / s, (m[:, 0, 1] + m[:, 1, 0]) / s, s / 4, (m[:, 1, 2] + m[:, 2, 1]) / s], 1
            )
        else:
            s = np.sqrt(np.maximum(1.0 + m[:, 2, 2] - m[:, 0, 0] - m[:, 1, 1], 1e-300)) * 2
            q[sel] = np.stack(
                [(m[:, 1, 0] - m[:, 0, 1]) / s, (m[:, 0, 2] + m[:, 2, 0]) / s, (m[:, 1, 2] + m[:, 2, 1]) / s, s / 4], 1
            )
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    ref = np.asarray(previous, dtype=np.float64).reshape(1, 4)
    chain = np.concatenate([ref, q])
    dots = np.einsum("ij,ij->i", chain[1:], chain[:-1])
    signs = np.cumprod(np.where(dots < 0, -1.0, 1.0))
    return q * signs[:, None]
