"""Per agent-step cost of Balance Ball built with the behaviour node tree against the Python-built spec.

Both run the same scene (12 platforms, rigid-body balls, decision every 5 frames, the heuristic
controller, no resets) through the Academy; the only difference is where the behaviour comes from:
the node tree compiled once when the run starts, or the spec a script stored on each platform.
Runs alternate (nodes, Python, nodes, ...) so machine noise hits both alike. Also measures how
long compiling the tree takes (cold, and from the cache).

    .venv/bin/python bench/bench_nodes.py [--quick]

Writes bench/results/nodes.md and nodes.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools import boot  # noqa: E402
from devtools.bench import write_results  # noqa: E402


def build(bb, bpy, use_nodes: bool):
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bb.build(bpy.context.scene, use_nodes=use_nodes)
    scene.academy.brains[0].brain_type = "HEURISTIC"
    scene.academy.max_steps = 0  # no resets: the controller keeps every ball on
    return scene


def run(bb, bpy, Session, use_nodes: bool, decisions: int) -> tuple[float, float]:
    """(seconds per agent step, seconds to build the Academy, which compiles the tree)."""
    scene = build(bb, bpy, use_nodes)
    start = time.perf_counter()
    session = Session(scene, training=False, steps=12 * decisions).start()
    setup = time.perf_counter() - start
    start = time.perf_counter()
    session.run(interval_s=10.0)
    elapsed = time.perf_counter() - start
    steps = session.agent_steps
    session.finish(store=False)
    return elapsed / steps, setup


def train(bb, bpy, Session, use_nodes: bool, steps: int) -> dict:
    """A short PPO run (the Academy's seed) from the tree or the Python spec."""
    import torch

    torch.set_num_threads(1)
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bb.build(bpy.context.scene, use_nodes=use_nodes)
    session = Session(scene, training=True, steps=steps).start()
    start = time.perf_counter()
    session.run(interval_s=10.0)
    (a,) = session.stats.values()
    out = {"seconds": time.perf_counter() - start, "mean_return": a.mean_return, "curve": list(a.curve)}
    session.finish(store=False)
    return out


def compile_times(bb, bpy, nodes, repeats: int = 20) -> tuple[float, float]:
    """(cold compile ms, cached lookup µs) of the Balance Ball tree."""
    bpy.ops.wm.read_homefile(use_empty=True)
    tree = bb.behaviour_tree()
    cold = []
    for _ in range(repeats):
        nodes.clear_cache()
        start = time.perf_counter()
        nodes.compiled(tree)
        cold.append(time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(1000):
        nodes.compiled(tree)
    cached = (time.perf_counter() - start) / 1000
    return statistics.median(cold) * 1e3, cached * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer decisions and repeats")
    parser.add_argument("--train-steps", type=int, default=30_000, help="agent steps of the PPO comparison (0: skip)")
    args = parser.parse_args()
    mod = boot.boot()
    import importlib

    import bpy

    bb = importlib.import_module(mod.__name__ + ".examples.balance_ball")
    nodes = importlib.import_module(mod.__name__ + ".nodes")
    Session = importlib.import_module(mod.__name__ + ".env.session").Session
    decisions, repeats = (300, 3) if args.quick else (1500, 5)
    ours, python, setup_nodes, setup_python = [], [], [], []
    for _ in range(repeats):  # interleaved
        per_step, setup = run(bb, bpy, Session, True, decisions)
        ours.append(per_step)
        setup_nodes.append(setup)
        per_step, setup = run(bb, bpy, Session, False, decisions)
        python.append(per_step)
        setup_python.append(setup)
    cold_ms, cached_us = compile_times(bb, bpy, nodes)
    trained = {}
    if args.train_steps:
        trained = {k: train(bb, bpy, Session, k == "nodes", args.train_steps) for k in ("nodes", "python")}
    ours_us, python_us = statistics.median(ours) * 1e6, statistics.median(python) * 1e6
    ratio = ours_us / python_us
    result = {
        "decisions_per_run": decisions,
        "repeats": repeats,
        "nodes_us_per_agent_step": round(ours_us, 1),
        "python_us_per_agent_step": round(python_us, 1),
        "ratio": round(ratio, 3),
        "target_ratio": 1.2,
        "academy_setup_ms_nodes": round(statistics.median(setup_nodes) * 1e3, 2),
        "academy_setup_ms_python": round(statistics.median(setup_python) * 1e3, 2),
        "tree_compile_ms_cold": round(cold_ms, 3),
        "tree_compile_us_cached": round(cached_us, 2),
        "runs_nodes_us": [round(v * 1e6, 1) for v in ours],
        "runs_python_us": [round(v * 1e6, 1) for v in python],
        "train_steps": args.train_steps,
        "train_mean_return": {k: v["mean_return"] for k, v in trained.items()},
        "train_curves_identical": bool(trained) and trained["nodes"]["curve"] == trained["python"]["curve"],
        "train_curve_points": len(trained["nodes"]["curve"]) if trained else 0,
        "bpy": bpy.app.version_string,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, no GPU",
    }
    cmd = "python bench/bench_nodes.py" + (" --quick" if args.quick else "")
    if args.train_steps != 30_000:
        cmd += f" --train-steps {args.train_steps}"
    md = (
        "## Behaviour node tree vs Python-built spec (Balance Ball, 12 agents)\n\n"
        f"Command: `{cmd}` (bpy {bpy.app.version_string}; {result['machine']}; median of {repeats} interleaved "
        f"runs of {decisions} decisions each)\n\n"
        "| behaviour from | µs per agent step | ratio | Academy setup (ms) |\n|---|---|---|---|\n"
        f"| Python-built spec (`use_nodes=False`) | {python_us:.1f} | 1.00 | "
        f"{result['academy_setup_ms_python']:.1f} |\n"
        f"| node tree, compiled once (`use_nodes=True`) | {ours_us:.1f} | {ratio:.2f} | "
        f"{result['academy_setup_ms_nodes']:.1f} |\n\n"
        f"Compiling the tree: {cold_ms:.2f} ms cold, {cached_us:.1f} µs from the cache (per Academy start, "
        "never per step). The compiled tree is equal to the Python spec, so both step through the same "
        "evaluators; the difference is noise.\n\n"
        f"Target: ≤ 1.2×. {'Met' if ratio <= 1.2 else 'Not met'}.\n"
    )
    if trained:
        md += (
            f"\nTraining (PPO, the Academy's seed, {args.train_steps:,} agent steps, 12 platforms): final mean "
            f"reward {trained['nodes']['mean_return']:.2f} from the tree, {trained['python']['mean_return']:.2f} from "
            f"the Python spec; learning curves ({result['train_curve_points']} points) "
            f"{'identical' if result['train_curves_identical'] else 'DIFFERENT'}.\n"
        )
    write_results("nodes", md, result)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
