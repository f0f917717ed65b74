"""Baking Balance Ball (12 agents, 24 moving objects) for 1000 frames: the rollout and the key writing, apart.

The Brain is an Inference Brain running a PPO model through the numpy policy (its weights come
from a learner that saw one decision: the bake's cost does not depend on how well it balances).
Each run bakes a take of frames 1-1000: the rollout (1000 frames through the Academy's stepping
path, recording every object's world matrix), the writing (decomposing the matrices into each
object's channels and writing the keys with the bulk F-curve API into a slotted Action placed in
the NLA) and the verification replay are timed separately. For comparison, writing the same keys
one by one with ``keyframe_insert`` (the usual scripted way) is measured on a slice of the frames
and scaled to the same number of keys.

    .venv/bin/python bench/bench_bake.py [--quick]

Writes bench/results/bake.md and bake.json.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools import boot  # noqa: E402
from devtools.bench import write_results  # noqa: E402

FRAMES = 1000
TARGET_WRITE_S = 1.0


def build(bb, bpy, Session, store):
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bb.build(bpy.context.scene)
    brain = scene.academy.brains[0]
    session = Session(scene, training=True, steps=12).start()  # a model to infer with
    session.run()
    session.finish(store=True)
    assert store.stored_state(brain) is not None
    brain.brain_type = "INFERENCE"
    return scene


def keyframe_insert_seconds_per_key(bpy, scene, frames: int) -> float:
    """Seconds per key for ``keyframe_insert`` on the same 24 objects' loc/rot/scale channels."""
    objs = [o for o in scene.objects if o.name.startswith(("Platform.", "Ball."))]
    start = time.perf_counter()
    keys = 0
    for f in range(1, frames + 1):
        for obj in objs:
            obj.location.z += 1e-3
            for path in ("location", "rotation_euler", "scale"):
                obj.keyframe_insert(path, frame=f)
                keys += 3
    elapsed = time.perf_counter() - start
    for obj in objs:
        obj.animation_data_clear()
    return elapsed / keys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    mod = boot.boot()
    import importlib

    import bpy

    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    bb = importlib.import_module(mod.__name__ + ".examples.balance_ball")
    Session = importlib.import_module(mod.__name__ + ".env.session").Session
    bake = importlib.import_module(mod.__name__ + ".bake")
    store = importlib.import_module(mod.__name__ + ".env.brain_store")
    repeats = 2 if args.quick else 5
    variants = {"every frame": dict(every=1, tolerance=0.0), "tolerance 0.001": dict(every=1, tolerance=1e-3)}
    runs: dict[str, list] = {name: [] for name in variants}
    scene = build(bb, bpy, Session, store)
    for _ in range(repeats):
        for name, options in variants.items():  # interleaved, so machine noise hits both alike
            r = bake.bake(scene, "3DBall", 1, FRAMES, seed=0, take_name=name, **options)
            if not options["tolerance"]:  # every frame keyed: the replay is the rollout
                assert not r.mismatched and (r.max_error or 0.0) < 1e-4, (r.mismatched, r.max_error)
            runs[name].append(r)
    slice_frames = 100 if args.quick else 200
    per_key = keyframe_insert_seconds_per_key(bpy, scene, slice_frames)
    rows = []
    result = {
        "frames": FRAMES,
        "agents": 12,
        "objects": len(runs["every frame"][0].objects),
        "repeats": repeats,
        "target_write_seconds": TARGET_WRITE_S,
        "variants": {},
    }
    for name, rs in runs.items():
        rollout = statistics.median(r.rollout_seconds for r in rs)
        write = statistics.median(r.write_seconds for r in rs)
        verify = statistics.median(r.verify_seconds for r in rs)
        keys = rs[0].keys
        result["variants"][name] = {
            "keys": keys,
            "fcurves": rs[0].fcurves,
            "rollout_seconds": round(rollout, 4),
            "write_seconds": round(write, 4),
            "verify_seconds": round(verify, 4),
            "total_seconds": round(rollout + write, 4),
            "max_error": max(r.max_error for r in rs),
        }
        rows.append(
            f"| {name} | {keys:,} | {rollout:.3f} | **{write:.3f}** | {rollout + write:.3f} | {verify:.3f} | "
            f"{max(r.max_error for r in rs):.1e} |"
        )
    full_keys = result["variants"]["every frame"]["keys"]
    naive = per_key * full_keys
    result["keyframe_insert_seconds_per_key"] = per_key
    result["keyframe_insert_estimate_seconds"] = round(naive, 3)
    write_full = result["variants"]["every frame"]["write_seconds"]
    cmd = "python bench/bench_bake.py" + (" --quick" if args.quick else "")
    machine = f"{platform.machine()}, Python {platform.python_version()}, Blender {bpy.app.version_string}"
    md = (
        "## Bake (Balance Ball, 12 agents = 24 moving objects, 1000 frames)\n\n"
        f"Command: `{cmd}` (2 CPU cores, no GPU; {machine}; median of {repeats} runs)\n\n"
        "| take | keys | rollout s | writing keys s | rollout + writing s | verify replay s | replay error |\n"
        "|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        f"Writing keys one by one with `keyframe_insert` (measured on {slice_frames} frames, "
        f"scaled to {full_keys:,} keys): "
        f"{naive:.1f} s, {naive / max(write_full, 1e-9):.0f}× the bulk write "
        "(a lower bound: each insert gets slower as its curve grows).\n\n"
        f"Target: writing the keys ≤ {TARGET_WRITE_S:.0f} s. "
        f"{'Met' if write_full <= TARGET_WRITE_S else 'Not met'}. The rollout is the Academy stepping 1000 frames "
        "(physics, observations, the numpy policy) plus recording every object's world matrix per frame; "
        "writing covers decomposing the matrices, simplifying (tolerance), the bulk F-curve writes and the NLA.\n"
    )
    write_results("bake", md, result)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
