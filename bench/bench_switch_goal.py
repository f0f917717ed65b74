"""Switch Goal (Pyramids-like, sparse reward): agent steps to the target with keyframed demonstrations vs without.

The example script keyframes 6 scripted episodes on one area and reads them back as
demonstrations (``env.keyframe_demos``; their reconstruction error is reported). Conditions, each
PPO with the example's settings:

- ``none``: no demonstrations;
- ``bc``: Pretrain from Demonstrations (behaviour cloning), then PPO with Behavioral Cloning
  Strength 0.5 decaying over 20,000 agent steps.

Target: success rate ≥ 0.9 over the last finished episodes (one window per agent, full), checked
after every decision (so the steps do not depend on the machine's speed). Steps
are agent steps of PPO (the demonstrations' decisions are not counted, as ML-Agents counts its
Pyramids runs). ML-Agents reports 6 demonstration episodes cut Pyramids' steps by more than 4×.

    .venv/bin/python bench/bench_switch_goal.py [--budget N] [--seeds 0 1 2] [--conditions none bc]

Writes bench/results/switch_goal.md and switch_goal.json.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools import boot  # noqa: E402
from devtools.bench import write_results  # noqa: E402

TARGET_SUCCESS = 0.9


def run(mod, condition: str, seed: int, budget: int) -> dict:
    import bpy

    sg = importlib.import_module(mod.__name__ + ".examples.switch_goal")
    Session = importlib.import_module(mod.__name__ + ".env.session").Session
    demos_env = importlib.import_module(mod.__name__ + ".env.demos")
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = sg.build(bpy.context.scene, demonstrations=0)
    scene.academy.seed = seed
    entry, read, _runs = sg.keyframe_demonstrations(scene, 6, seed=seed)
    brain = scene.academy.brains[sg.BRAIN]
    started = time.perf_counter()
    pretrain = {}
    if condition == "bc":
        brain.demos.pretrain_epochs, brain.demos.bc_batch_size = 300, 64
        pretrain = demos_env.pretrain_brain(scene, brain, seed=seed)
        brain.demos.bc_strength, brain.demos.bc_steps = 0.5, 20_000
    else:
        brain.demos.items.clear()
    session = Session(scene, training=True, steps=budget, seed=seed).start()
    (a,) = session.stats.values()
    reached = None
    # checked after every decision, not every so many seconds: the first crossing then does not depend on
    # the machine's speed (the success rate can cross 0.9 and fall back between two timed checks)
    while session.tick(60.0, until_steps=a.agent_steps + 1):
        if a.full and a.success_rate >= TARGET_SUCCESS:
            reached = a.agent_steps
            break
    result = {
        "condition": condition,
        "seed": seed,
        "budget": budget,
        "agents": a.n,
        "demo_decisions": read.demos.steps,
        "demo_episodes": read.demos.episodes,
        "reconstruction_rms": read.errors,
        "pretrain": pretrain,
        "steps_to_target": reached,
        "agent_steps": a.agent_steps,
        "final_success_rate": round(a.success_rate, 3),
        "wall_seconds": round(time.perf_counter() - started, 1),
    }
    session.finish(store=False)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=150_000, help="agent steps per run at most")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--conditions", nargs="+", default=["bc", "none"], choices=["bc", "none"])
    parser.add_argument("--out", default="switch_goal", help="results name under bench/results")
    args = parser.parse_args()
    mod = boot.boot()
    import torch

    torch.set_num_threads(1)
    results = []
    for condition in args.conditions:
        for seed in args.seeds:
            results.append(run(mod, condition, seed, args.budget))
            print(results[-1], flush=True)

    def steps(r):
        return r["steps_to_target"] if r["steps_to_target"] is not None else None

    rows, medians = [], {}
    for condition in args.conditions:
        mine = [r for r in results if r["condition"] == condition]
        got = [steps(r) for r in mine]
        # a run that did not reach the target counts as its whole budget (a lower bound)
        medians[condition] = statistics.median(
            [s if s is not None else r["budget"] for s, r in zip(got, mine, strict=True)]
        )
        shown = ", ".join("not reached" if s is None else f"{s:,}" for s in got)
        rows.append(f"| {condition} | {shown} | {medians[condition]:,.0f} | "
                    f"{', '.join(str(r['final_success_rate']) for r in mine)} |")  # fmt: skip
    ratio = ""
    if "bc" in medians and "none" in medians:
        lower = any(r["steps_to_target"] is None for r in results if r["condition"] == "none")
        ratio = (f"\nMedian steps without / with demonstrations: {'≥ ' if lower else ''}"
                 f"{medians['none'] / medians['bc']:.1f}× (goal ≥ 4×, ML-Agents' Pyramids figure).\n")  # fmt: skip
    errs = results[0]["reconstruction_rms"]
    md = (
        "## Switch Goal: demonstrations from keyframes vs none (sparse reward)\n\n"
        f"Command: `python bench/bench_switch_goal.py --budget {args.budget} --seeds "
        f"{' '.join(map(str, args.seeds))} --conditions {' '.join(args.conditions)}` (2 CPU cores shared, "
        f"torch 1 thread; 8 agents; target success rate ≥ {TARGET_SUCCESS}, checked after every decision)\n\n"
        f"Demonstrations: {results[0]['demo_episodes']} keyframed episodes, {results[0]['demo_decisions']} "
        "decisions; keyframe-to-action reconstruction error (RMS, cells): "
        + ", ".join(f"{k.split(': ', 1)[1]} {v:.3g}" for k, v in errs.items())
        + "\n\n| condition | agent steps to target per seed | median | final success rate |\n|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n"
        + ratio
    )
    write_results(args.out, md, results)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
