"""Learning-curve pictures drawn with numpy alone (Blender has no plotting library), saved as PNG.

Used for the live curve in the Academy panels and for ``make demo``'s learning-curve image.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

BACKGROUND = (0.13, 0.13, 0.13)
GRID = (0.25, 0.25, 0.25)
COLOURS = ((0.35, 0.75, 1.0), (1.0, 0.6, 0.2), (0.55, 0.9, 0.45))


def curve_image(series, width: int = 320, height: int = 160, margin: int = 6, fixed_range=None) -> np.ndarray:
    """Rasterise ``series`` (a list of (xs, ys) pairs, drawn in COLOURS) into an (H, W, 3) float image.

    All series share the x range; each is scaled to its own y range (or ``fixed_range`` (lo, hi)).
    Row 0 is the top. Horizontal grid lines mark quarters of the y range.
    """
    img = np.empty((height, width, 3), dtype=np.float32)
    img[:] = BACKGROUND
    for q in range(5):
        y = margin + round((height - 2 * margin - 1) * q / 4)
        img[y, margin : width - margin] = GRID
    usable = [(np.asarray(x, float), np.asarray(y, float)) for x, y in series if len(x) >= 1]
    if not usable:
        return img
    x_lo = min(x.min() for x, _ in usable)
    x_hi = max(x.max() for x, _ in usable)
    for i, (xs, ys) in enumerate(usable):
        finite = np.isfinite(ys)
        xs, ys = xs[finite], ys[finite]
        if len(xs) == 0:
            continue
        lo, hi = fixed_range if fixed_range is not None else (ys.min(), ys.max())
        if hi - lo < 1e-12:
            lo, hi = lo - 1.0, hi + 1.0
        px = margin + (xs - x_lo) / max(x_hi - x_lo, 1e-12) * (width - 2 * margin - 1)
        py = height - 1 - margin - (ys - lo) / (hi - lo) * (height - 2 * margin - 1)
        if len(px) == 1:
            px, py = np.repeat(px, 2), np.repeat(py, 2)
        # dense sampling along each segment: no gaps at any slope
        seg_len = np.maximum(np.abs(np.diff(px)), np.abs(np.diff(py))).astype(int) + 1
        t = np.concatenate([np.linspace(0.0, 1.0, n, endpoint=False) for n in seg_len] + [np.ones(1)])
        idx = np.concatenate([np.full(n, k) for k, n in enumerate(seg_len)] + [np.array([len(px) - 2])])
        xs_d = px[idx] + (px[idx + 1] - px[idx]) * t
        ys_d = py[idx] + (py[idx + 1] - py[idx]) * t
        colour = COLOURS[i % len(COLOURS)]
        for dy in (0, 1):  # two pixels thick
            rows = np.clip(np.round(ys_d).astype(int) + dy, 0, height - 1)
            cols = np.clip(np.round(xs_d).astype(int), 0, width - 1)
            img[rows, cols] = colour
    return img


def write_png(path: str | Path, image: np.ndarray) -> Path:
    """Write an (H, W, 3|4) float [0, 1] or uint8 image as an 8-bit PNG (row 0 = top)."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    height, width, channels = arr.shape
    colour_type = {3: 2, 4: 6}[channels]
    raw = b"".join(b"\x00" + arr[row].tobytes() for row in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6))
    png += chunk(b"IEND", b"")
    from .files import write_atomic

    return write_atomic(path, png)


def learning_curve_png(curve, path: str | Path, width: int = 320, height: int = 160) -> Path:
    """``curve``: (agent steps, mean reward, mean episode length) rows → PNG (reward blue, length orange)."""
    rows = np.asarray(curve, dtype=float).reshape(-1, 3)
    series = [(rows[:, 0], rows[:, 1]), (rows[:, 0], rows[:, 2])] if len(rows) else []
    return write_png(path, curve_image(series, width, height))
