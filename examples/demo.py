"""The one-command demo: build Balance Ball, train it headless, bake what it learned, show it.

Writes into the output folder: the saved .blend with the trained Brain and the baked take, a
learning-curve PNG, a contact sheet of rendered frames of the baked animation, and summary.json.
``make demo`` runs this through ``./academy demo``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import bpy
import numpy as np

from .. import bake as bake_mod
from ..core.files import write_atomic
from ..core.plot import curve_image, write_png
from ..core.specs import Camera
from ..drivers.headless import train
from ..env import timeline
from ..env.blendfile import save_blend_copy
from ..env.camera import CameraCapture
from . import balance_ball

TARGET = 100.0
BAKE_FRAMES = (1, 500)
SHEET_FRAMES = 8


def contact_sheet(scene, frames: list[int], path: Path, width: int = 320, height: int = 180, columns: int = 4) -> Path:
    """Render ``frames`` from the scene camera with Workbench and tile them into one PNG.

    Uses the camera sensor's RENDER mode, which puts the designer's render settings back.
    """
    original = scene.frame_current
    spec = Camera("object:" + scene.camera.name, width=width, height=height, mode="RENDER")
    tiles = []
    with CameraCapture(scene, spec, engine="BLENDER_WORKBENCH") as capture:
        for frame in frames:
            timeline.go_to(scene, frame)
            tiles.append(capture.capture(scene, [scene.camera])[0])
    timeline.go_to(scene, original)
    rows = (len(tiles) + columns - 1) // columns
    gap = 4
    sheet = np.full((rows * (height + gap) + gap, columns * (width + gap) + gap, 3), 24, dtype=np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        y, x = gap + r * (height + gap), gap + c * (width + gap)
        sheet[y : y + height, x : x + width] = tile[:height, :width]
    return write_png(path, sheet)


def learning_curve_figure(curve, path: Path, target: float, summary: dict) -> Path:
    """Mean reward and episode length over agent steps, with the target: matplotlib if present, else numpy.

    ``summary``: the Brain's part of summary.json (``steps_to_target``, ``seconds_to_target``)."""
    rows = np.asarray(curve, dtype=float).reshape(-1, 3)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        picture = curve_image([(rows[:, 0], rows[:, 1]), (rows[:, 0], rows[:, 2])], 640, 320)
        return write_png(path, picture)
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    ax.plot(rows[:, 0], rows[:, 1], color="#3b8bd9", label="mean episode reward")
    ax.axhline(target, color="#888888", linestyle="--", linewidth=1, label=f"target {target:g} (ML-Agents 3DBall)")
    ax.set_xlabel("agent steps")
    ax.set_ylabel("mean episode reward (last 12 episodes)")
    length = ax.twinx()
    length.plot(rows[:, 0], rows[:, 2], color="#e8892a", alpha=0.6, label="mean episode length")
    length.set_ylabel("mean episode length (decisions)")
    reached = summary.get("steps_to_target")
    title = "Balance Ball, in-process PPO"
    if reached:
        title += f": reward {target:g} after {reached:,} agent steps ({summary['seconds_to_target']:.0f} s)"
        ax.axvline(reached, color="#55aa55", linewidth=1)
    ax.set_title(title)
    lines = ax.get_legend_handles_labels()
    more = length.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def run(out_dir: str | os.PathLike = "out", steps: int | None = None, progress: bool = True) -> dict:
    """Build, train, bake and render Balance Ball into ``out_dir``; return the summary."""
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = balance_ball.build(bpy.context.scene)
    blend = out / "balance_ball.blend"
    save_blend_copy(blend)  # atomic and read back, as every file the designer keeps

    result = train(scene, out, steps=steps, target_reward=TARGET, progress=progress)
    summary = dict(result.summary)

    take = bake_mod.bake(scene, balance_ball.BRAIN, *BAKE_FRAMES, seed=0)
    summary["bake"] = {
        "take": take.take,
        "frames": list(BAKE_FRAMES),
        "keys": take.keys,
        "objects": len(take.objects),
        "replay_error": take.max_error,
    }
    save_blend_copy(blend)

    mine = summary["brains"][balance_ball.BRAIN]
    curve_png = learning_curve_figure(mine["curve"], out / "learning_curve.png", TARGET, mine)
    frames = np.linspace(BAKE_FRAMES[0], BAKE_FRAMES[1], SHEET_FRAMES).round().astype(int).tolist()
    sheet_png = contact_sheet(scene, frames, out / "contact_sheet.png")

    summary.update(
        {
            "demo_seconds": round(time.perf_counter() - start, 1),
            "blend": str(blend),
            "learning_curve_png": str(curve_png),
            "contact_sheet_png": str(sheet_png),
            "contact_sheet_frames": frames,
        }
    )
    write_atomic(out / "summary.json", json.dumps(summary, indent=2).encode())
    return summary
