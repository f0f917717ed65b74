"""Agent steps/s on Balance Ball: in-process training against 1 and 2 (or N) worker processes, one run each.

The same scene (12 agents, the example's PPO settings), budget and seed: ``./academy train``'s
in-process path (``drivers.headless.train``), one worker process and ``--workers N``
(``drivers.workers.train_workers``).
Worker runs are timed two ways: the whole run (starting the workers, each booting Blender and
opening the file, included) and from the moment every worker is ready (the steady rate, what a
long run converges to). The driver's own time per round (waiting for fragments, learning,
sending weights) gives a scaling model for more workers on a machine with a core per worker:
a round of N workers takes ``c / N + u + s·N`` (``c``: collecting one update's samples in one
process, ``u``: the update, ``s``: sending weights to one worker), one process ``c + u``.

    .venv/bin/python bench/bench_workers.py [--quick] [--steps N] [--workers N] [--seed S] [--learn]

``--workers`` defaults to the machine's cores (at least 2), so the same command measures a bigger
machine. Writes bench/results/workers.md and workers.json (``--learn``: workers-learn.*).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools import boot  # noqa: E402
from devtools.bench import write_results  # noqa: E402

FROZEN_LR = 1e-12  # every update's compute, but the policy (so the episodes' lengths and resets) stays as it starts


def _scene(bpy, bb, seed: int, learn: bool):
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bb.build(bpy.context.scene)
    scene.academy.seed = seed
    if not learn:
        scene.academy.brains[0].ppo.learning_rate = FROZEN_LR
    return scene


TARGET = 100.0


def _reached(label: str, summary: dict) -> str:
    b = summary["brains"]["3DBall"]
    if b["steps_to_target"] is None:
        return f"{label} not reached"
    ready = b["seconds_to_target"] - summary.get("startup_seconds", 0.0)
    return f"{label} after {b['steps_to_target']:,} agent steps, {b['seconds_to_target']} s ({ready:.1f} s once ready)"


def model(c: float, u: float, s: float, n: int) -> tuple[float, float]:
    """Predicted (speed-up over one process, efficiency) of ``n`` workers, a core each."""
    speedup = (c + u) / (c / n + u + s * n)
    return speedup, speedup / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="12,000 agent steps instead of 48,000")
    parser.add_argument("--steps", type=int, help="agent steps per run")
    parser.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 2))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--learn",
        action="store_true",
        help="learn as usual (by default the policy is frozen: a Balance Ball that learns resets less, so steps "
        "get cheaper as it learns, and runs that learn at different speeds would not compare)",
    )
    args = parser.parse_args()
    steps = args.steps or (12_000 if args.quick else 48_000)
    boot.boot()
    import bpy
    import torch

    torch.set_num_threads(1)
    bb = importlib.import_module(boot.MODULE + ".examples.balance_ball")
    headless = importlib.import_module(boot.MODULE + ".drivers.headless")
    workers = importlib.import_module(boot.MODULE + ".drivers.workers")
    with tempfile.TemporaryDirectory() as tmp:
        one = headless.train(
            _scene(bpy, bb, args.seed, args.learn),
            Path(tmp) / "one",
            steps=steps,
            progress=False,
            tensorboard=False,
            target_reward=TARGET,
        ).summary
        single, many = (
            workers.train_workers(
                _scene(bpy, bb, args.seed, args.learn),
                Path(tmp) / f"w{k}",
                workers=k,
                steps=steps,
                progress=False,
                tensorboard=False,
                target_reward=TARGET,
            ).summary
            for k in (1, args.workers)
        )
    n = args.workers
    # one worker does what the in-process run does, plus the messages: their cost per fragment
    single_running = single["wall_seconds"] - single["startup_seconds"]
    overhead_ms = (single_running - one["wall_seconds"]) / single["updates"] * 1e3
    rate_one = one["steps_per_second"]
    rate_all = many["steps_per_second"]
    running = many["wall_seconds"] - many["startup_seconds"]
    rate_ready = many["agent_steps"] / running
    rounds = many["updates"]
    t = {k: v / rounds for k, v in many["driver_seconds"].items()}  # seconds per round
    # one process collects what N workers collect in a round in N times their waiting (a core each)
    c, u, s = t["waiting"] * n, t["learning"], t["sending"] / n
    predicted = {k: model(c, u, s, k) for k in (2, 16, 64)}
    rate_single = single["agent_steps"] / single_running
    rows = [
        ("in-process (1 process)", one["agent_steps"], one["wall_seconds"], f"{rate_one:,.0f}", "1.00×"),
        (
            f"1 worker, once ready (startup {single['startup_seconds']:.1f} s)",
            single["agent_steps"],
            round(single_running, 3),
            f"{rate_single:,.0f}",
            f"{rate_single / rate_one:.2f}×",
        ),
        (
            f"{n} workers, whole run (startup {many['startup_seconds']:.1f} s)",
            many["agent_steps"],
            many["wall_seconds"],
            f"{rate_all:,.0f}",
            f"{rate_all / rate_one:.2f}×",
        ),
        (
            f"{n} workers, once ready",
            many["agent_steps"],
            round(running, 3),
            f"{rate_ready:,.0f}",
            f"**{rate_ready / rate_one:.2f}×**",
        ),
    ]
    table = "\n".join(f"| {a} | {b:,} | {c_:.1f} | {d} | {e} |" for a, b, c_, d, e in rows)
    per_round = (
        f"Per round ({rounds} rounds, one update each, {many['agent_steps'] // rounds:,} agent steps): the driver "
        f"waited {t['waiting'] * 1e3:.1f} ms for the fragments, learned {t['learning'] * 1e3:.1f} ms, sent weights "
        f"and ran its callbacks {t['sending'] * 1e3:.1f} ms."
    )
    reached = (("in-process", one), ("1 worker", single), (f"{n} workers", many))
    finals = ", ".join(f"{label} {s['brains']['3DBall']['mean_episode_reward']}" for label, s in reached)
    overhead_line = (
        f"One worker against the in-process run: {overhead_ms:+.1f} ms per fragment of "
        f"{single['agent_steps'] // single['updates']:,} agent steps (the messages, and the noise of a shared machine)."
    )
    scaling = ", ".join(f"{k} workers {sp:.1f}× (efficiency {eff:.2f})" for k, (sp, eff) in predicted.items())
    flags = (" --quick" if args.quick else "") + (f" --steps {args.steps}" if args.steps else "")
    flags += " --learn" if args.learn else ""
    policy = "learning" if args.learn else f"frozen policy (learning rate {FROZEN_LR:g}: every update computed)"
    markdown = f"""## Worker processes (Balance Ball, PPO, seed {args.seed}, {policy})

`python bench/bench_workers.py{flags}` on {os.cpu_count()} cores, shared with other work while measuring; one run each.

| run | agent steps | wall s | agent steps/s | vs in-process |
|---|---|---|---|---|
{table}

{per_round}
{overhead_line}
Scaling model (a core per worker, lockstep rounds of the same update size): {scaling}.
Final mean reward: {finals}.
Mean reward {TARGET:g}: {"; ".join(_reached(label, s) for label, s in reached)}.
"""
    data = {
        "steps": steps,
        "learn": args.learn,
        "workers": n,
        "in_process": {k: one[k] for k in ("agent_steps", "wall_seconds", "steps_per_second")},
        "workers_run": {
            k: many[k] for k in ("agent_steps", "wall_seconds", "startup_seconds", "steps_per_second", "updates")
        },
        "one_worker_run": {
            k: single[k] for k in ("agent_steps", "wall_seconds", "startup_seconds", "steps_per_second", "updates")
        },
        "overhead_ms_per_fragment": round(overhead_ms, 2),
        "steps_per_second_once_ready": round(rate_ready, 1),
        "ratio_once_ready": round(rate_ready / rate_one, 3),
        "ratio_whole_run": round(rate_all / rate_one, 3),
        "per_round_seconds": t,
        "to_target": {
            label: {k: s["brains"]["3DBall"][k] for k in ("steps_to_target", "seconds_to_target")}
            for label, s in reached
        },
        "model": {str(k): {"speedup": round(sp, 2), "efficiency": round(eff, 3)} for k, (sp, eff) in predicted.items()},
    }
    md = write_results("workers-learn" if args.learn else "workers", markdown, data)
    print(md.read_text())
    return 0


if __name__ == "__main__":
    sys.stdout.flush()
    boot.exit_process(main())
