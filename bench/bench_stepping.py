"""Per agent-step cost of the Academy's stepping against a hand-written bpy loop doing the same work.

Both run Balance Ball (12 platforms, rigid-body balls, decision every 5 frames) with the same
proportional controller, so both simulate the same trajectories: the hand-written loop reads the
same transforms, computes the same 8 observations, reward and end test with numpy, and writes the
same two rotations per platform every frame. Neither learns: this isolates the stepping cost.

    .venv/bin/python bench/bench_stepping.py [--quick]

Writes bench/results/stepping.md and stepping.json.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools import boot  # noqa: E402
from devtools.bench import write_results  # noqa: E402


def build(bb, bpy):
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bb.build(bpy.context.scene)
    scene.academy.brains[0].brain_type = "HEURISTIC"
    scene.academy.max_steps = 0  # no resets: the controller keeps every ball on
    return scene


def run_academy(bb, bpy, Session, decisions: int) -> float:
    scene = build(bb, bpy)
    session = Session(scene, training=False, steps=12 * decisions).start()
    start = time.perf_counter()
    session.run(interval_s=10.0)
    elapsed = time.perf_counter() - start
    steps = session.agent_steps
    session.finish(store=False)
    return elapsed / steps


def run_hand_written(bb, bpy, np, decisions: int) -> float:
    """The same work written directly against bpy, as a careful user would."""
    scene = build(bb, bpy)
    for obj in scene.objects:  # the hand-written loop does everything itself
        obj.academy_agent.enabled = False
    platforms = [scene.objects[f"Platform.{i:03d}"] for i in range(12)]
    balls = [scene.objects[f"Ball.{i:03d}"] for i in range(12)]
    period, dt = bb.DECISION_PERIOD, bb.DECISION_PERIOD / bb.FPS
    per_frame, max_tilt = math.radians(2.0), math.radians(25.0)
    scene.rigidbody_world.point_cache.frame_end = 1_000_000
    scene.frame_set(scene.frame_start)
    prev = np.array([b.matrix_world.translation[:] for b in balls])
    actions = np.zeros((12, 2))
    steps = 0
    start = time.perf_counter()
    for _ in range(decisions):
        for _frame in range(period):
            for p, a in zip(platforms, actions, strict=True):
                rot = p.rotation_euler
                rot[0] = min(max(rot[0] + a[0] * per_frame, -max_tilt), max_tilt)
                rot[1] = min(max(rot[1] + a[1] * per_frame, -max_tilt), max_tilt)
            scene.frame_set(scene.frame_current + 1)
        pm = np.array([p.matrix_world for p in platforms])
        bm = np.array([b.matrix_world for b in balls])
        r = pm[:, :3, :3] / np.linalg.norm(pm[:, :3, :3], axis=1, keepdims=True)
        tilt_x = np.arctan2(r[:, 2, 1], r[:, 2, 2])
        tilt_y = np.arcsin(np.clip(-r[:, 2, 0], -1, 1))
        offset = bm[:, :3, 3] - pm[:, :3, 3]
        vel = (bm[:, :3, 3] - prev) / dt
        prev = bm[:, :3, 3].copy()
        obs = np.concatenate([tilt_x[:, None], tilt_y[:, None], offset, vel], axis=1).astype(np.float32)
        fell = (offset[:, 2] < -2) | (np.abs(offset[:, 0]) > 3) | (np.abs(offset[:, 1]) > 3)
        _reward = np.where(fell, -1.0, 0.1)
        scale = per_frame * period
        actions = np.clip(
            np.stack(
                [
                    ((obs[:, 3] + obs[:, 6]) * 0.05 - obs[:, 0]) / scale,
                    (-(obs[:, 2] + obs[:, 5]) * 0.05 - obs[:, 1]) / scale,
                ],
                axis=1,
            ),
            -1,
            1,
        )
        steps += 12
    return (time.perf_counter() - start) / steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer decisions and repeats")
    args = parser.parse_args()
    mod = boot.boot()
    import importlib

    import bpy
    import numpy as np

    bb = importlib.import_module(mod.__name__ + ".examples.balance_ball")
    Session = importlib.import_module(mod.__name__ + ".env.session").Session
    decisions, repeats = (300, 3) if args.quick else (1500, 5)
    ours, hand = [], []
    for _ in range(repeats):  # interleaved, so machine noise hits both alike
        ours.append(run_academy(bb, bpy, Session, decisions))
        hand.append(run_hand_written(bb, bpy, np, decisions))
    ours_us, hand_us = statistics.median(ours) * 1e6, statistics.median(hand) * 1e6
    ratio = ours_us / hand_us
    result = {
        "decisions_per_run": decisions,
        "repeats": repeats,
        "ours_us_per_agent_step": round(ours_us, 1),
        "hand_written_us_per_agent_step": round(hand_us, 1),
        "ratio": round(ratio, 3),
        "target_ratio": 1.5,
    }
    cmd = "python bench/bench_stepping.py" + (" --quick" if args.quick else "")
    md = (
        "## Stepping cost (Balance Ball, 12 agents, vector observations)\n\n"
        f"Command: `{cmd}` (2 CPU cores, no GPU; median of {repeats} interleaved runs of {decisions} decisions)\n\n"
        "| | µs per agent step | ratio |\n|---|---|---|\n"
        f"| hand-written bpy loop (same reads, writes, `frame_set`) | {hand_us:.1f} | 1.00 |\n"
        f"| Agent Academy stepping (compiled behaviour, handlers) | {ours_us:.1f} | {ratio:.2f} |\n\n"
        f"Target: ≤ 1.5×. {'Met' if ratio <= 1.5 else 'Not met'}.\n"
    )
    write_results("stepping", md, result)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
