"""Reward signals (issue 17.3): a sparse corridor, PPO alone vs PPO + RND vs PPO + curiosity.

The corridor (``tests/training/helpers.Corridor``): 16 agents start at cell 0 of ``--length``
cells, see their cell one-hot, step left or right, and are paid 1 only on reaching the last cell
within ``2 x length`` steps. For each variant and seed: whether the greedy policy walks to the end
after the budget (solved), the agent steps when it first does (checked after every update), and
the cells any agent reached. Goal: PPO alone solves at most one seed in five, RND (or curiosity)
at least four. One table per budget.

    nice -n 15 .venv/bin/python bench/bench_signals.py [--length 32] [--budgets 20480 40960] [--seeds 10] [--quick]

Writes bench/results/signals.md and signals.json (signals-<length>.* for another length).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.bench import write_results  # noqa: E402

#: the PPO settings of the corridor runs (the tests' too: a short rollout, few cheap epochs)
BASE = {"num_steps": 64, "num_epochs": 4, "minibatch_size": 256}
VARIANTS = {"PPO": {}, "PPO + RND": {"rnd_strength": 1.0}, "PPO + curiosity": {"curiosity_strength": 1.0}}


def run(extra: dict, length: int, budget: int, seed: int) -> dict:
    import torch

    from academy_pure.training import PPOConfig, make_learner
    from tests.training.helpers import Corridor, corridor_solved

    torch.set_num_threads(1)
    env = Corridor(16, length, 2 * length, seed)
    learner = make_learner(PPOConfig(**BASE, **extra), env.obs_space, env.action_space, num_agents=16, seed=seed)
    obs, first, t0 = env.obs(), None, time.perf_counter()
    for _ in range(budget // env.n):
        obs, rew, term, trunc, final = env.step(learner.act(obs))
        info = learner.observe(rew, term, trunc, next_obs=obs, final_obs=final)
        if info["updated"] and first is None and corridor_solved(learner, env):
            first = learner.total_steps
    return {
        "solved": corridor_solved(learner, env),
        "first_solved_steps": first,
        "cells_reached": int(env.visited.sum()),
        "seconds": time.perf_counter() - t0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=32)
    parser.add_argument("--budgets", type=int, nargs="+", default=[16 * 64 * 20, 16 * 64 * 40])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="2 seeds, a third of each budget")
    args = parser.parse_args()
    from devtools import pure

    pure.register()
    seeds = 2 if args.quick else args.seeds
    budgets = [b // 3 for b in args.budgets] if args.quick else args.budgets
    lines = [
        "## Reward signals: sparse corridor (bench_signals.py)",
        "",
        f"Corridor of {args.length} cells, 16 agents, horizon {2 * args.length}, seeds 0-{seeds - 1}; "
        f"PPO settings {BASE}; strengths {VARIANTS}.",
        "",
        f"    nice -n 15 .venv/bin/python bench/bench_signals.py --length {args.length} "
        f"--budgets {' '.join(map(str, args.budgets))} --seeds {args.seeds}{' --quick' if args.quick else ''}",
    ]
    data: dict = {"length": args.length, "seeds": seeds, "budgets": {}}
    for budget in budgets:
        results = {name: [run(extra, args.length, budget, s) for s in range(seeds)] for name, extra in VARIANTS.items()}
        data["budgets"][budget] = results
        lines += [
            "",
            f"{budget:,} agent steps:",
            "",
            "| variant | solved | agent steps to first solve (each seed) | cells reached (each seed) | seconds |",
            "|---|---|---|---|---|",
        ]
        for name, rs in results.items():
            steps = ", ".join("-" if r["first_solved_steps"] is None else f"{r['first_solved_steps']:,}" for r in rs)
            cells = ", ".join(str(r["cells_reached"]) for r in rs)
            secs = sum(r["seconds"] for r in rs)
            lines.append(f"| {name} | {sum(r['solved'] for r in rs)}/{len(rs)} | {steps} | {cells} | {secs:.0f} |")
    md = write_results("signals" if args.length == 32 else f"signals-{args.length}", "\n".join(lines), data)
    print(md.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
