"""Memory (issue 17.2): the cue task (devtools/cue_task.py) and its Blender scene, with and without memory.

Each agent sees a cue only at its episode's first decision and must pick the matching goal 4
decisions later; without memory the best is a guess (0.5). For PPO with Use Memory (GRU), with
Stacked Observations 5 (the whole episode) and without memory, on several seeds: the greedy success
every ``--every`` agent steps (200 episodes), the agent steps until it first reaches 0.9, and the
success at the budget. 16 agents, one torch thread.

Then the same task as a Blender scene, the Remember the Cue example (``examples/cue_memory.py``,
16 corridors, the shipped Brain with its Use Memory on or off, or Stacked Observations 5): the
agent steps until the training success (over the last 100 episodes) first reaches 0.9, and the
greedy success on 320 unseen episodes (another seed) at the budget. ``--scene``: only the scene.

    nice -n 5 .venv/bin/python bench/bench_memory.py [--budget 30000] [--seeds 3] [--quick]
    nice -n 5 .venv/bin/python bench/bench_memory.py --scene [--scene-budget 12000] [--seeds 3]

Writes bench/results/memory.md and memory.json (the cue task), memory_scene.md and
memory_scene.json (the scene).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools import pure  # noqa: E402
from devtools.bench import write_results  # noqa: E402

CUE = {"num_steps": 64, "hidden_units": 32, "learning_rate": 1e-3}  # tests/training/test_memory.py's
VARIANTS = {
    "Use Memory (GRU 32, sequences of 16)": {
        "use_memory": True,
        "memory_size": 32,
        "sequence_length": 16,
        "minibatch_size": 256,
    },  # fmt: skip
    "Stacked Observations 5": {"stacked_observations": 5},
    "no memory": {},
}


def run(settings: dict, budget: int, every: int, seed: int) -> dict:
    import numpy as np

    from academy_pure.training import Box, Discrete, PPOConfig, make_learner
    from devtools.cue_task import CueTask, success_rate

    n = 16
    learner = make_learner(PPOConfig(**CUE, **settings), Box((3,)), Discrete(2), num_agents=n, seed=seed)
    env = CueTask(n, seed=seed)
    learner.begin_run(budget)
    obs, curve, reached, start = env.obs(), [], None, time.perf_counter()
    while learner.total_steps < budget:
        obs, rewards, done, _ = env.step(learner.act(obs))
        learner.observe(rewards, done, np.zeros(n, bool), next_obs=obs)
        if learner.total_steps % every == 0:
            rate = success_rate(learner, episodes=200)
            curve.append((learner.total_steps, rate))
            if reached is None and rate >= 0.9:
                reached = learner.total_steps
    return {"seed": seed, "steps_to_0.9": reached, "final": curve[-1][1], "curve": curve,
            "seconds": time.perf_counter() - start}  # fmt: skip


SCENE_VARIANTS = {  # Brain settings over the example's own (Use Memory on, GRU 32, sequences of 16)
    "Use Memory (the example's Brain)": {},
    "Stacked Observations 5, no Use Memory": {"use_memory": False, "stacked_observations": 5},
    "no memory (Use Memory off)": {"use_memory": False},
}


def run_scene(mod, settings: dict, budget: int, seed: int) -> dict:
    """Train the Remember the Cue example for ``budget`` agent steps; its greedy success on unseen episodes."""
    import importlib

    import bpy

    cm = importlib.import_module(mod.__name__ + ".examples.cue_memory")
    Session = importlib.import_module(mod.__name__ + ".env.session").Session
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = cm.build(bpy.context.scene)
    for key, value in settings.items():
        setattr(scene.academy.brains[cm.BRAIN].ppo, key, value)
    start = time.perf_counter()
    session = Session(scene, training=True, steps=budget, seed=seed, stats_window=100).start()
    stats, reached = session.stats[cm.BRAIN], None
    while not session.done:  # one decision at a time: the step counts do not depend on the machine's speed
        session.rollout(1)
        if reached is None and stats.full and stats.success_rate >= 0.9:
            reached = stats.agent_steps
    steps, trained_s = stats.agent_steps, time.perf_counter() - start
    session.finish(store=True)
    final = cm.success_rate(scene, episodes=320, seed=10_000 + seed)
    return {"seed": seed, "agent_steps": steps, "steps_to_0.9": reached, "final": final, "seconds": trained_s}


def scene_bench(budget: int, seeds: int) -> None:
    """The Remember the Cue rows: bench/results/memory_scene.md and .json."""
    from devtools import boot

    mod = boot.boot()
    results = {}
    for name, settings in SCENE_VARIANTS.items():
        results[name] = [run_scene(mod, settings, budget, s) for s in range(seeds)]
        print(name, [(r["steps_to_0.9"], r["final"]) for r in results[name]], flush=True)
    lines = [
        "## Memory: the Remember the Cue example scene (issue 17.2)",
        "",
        f"`examples/cue_memory.py`: 16 corridors, PPO, {budget:,} agent steps, seeds 0-{seeds - 1}. The cue "
        "(red or green) is observed at the first of 5 decisions only; the turn at the corridor's end must "
        "match it. Success: greedy, over 320 unseen episodes (seed 10,000 + seed) after training (chance "
        "0.5); steps: until the training success over the last 100 episodes first reaches 0.9; s: training "
        "wall time (2 shared CPU cores). "
        "`bench/bench_memory.py --scene`.",
        "",
        "| Brain | agent steps to training success 0.9 (per seed) | success on unseen episodes (median; per seed) "
        "| s per run |",
        "|---|---|---|---|",
    ]
    for name, runs in results.items():
        steps = ", ".join("never" if r["steps_to_0.9"] is None else f"{r['steps_to_0.9']:,}" for r in runs)
        finals = [r["final"] for r in runs]
        per = ", ".join(f"{f:.2f}" for f in finals)
        secs = statistics.median(r["seconds"] for r in runs)
        lines.append(f"| {name} | {steps} | {statistics.median(finals):.2f} ({per}) | {secs:.0f} |")
    md = write_results("memory_scene", "\n".join(lines), results)
    print(md.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=30_000)
    parser.add_argument("--every", type=int, default=2_048)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="8k steps, 2 seeds (the scene: 4,096 steps)")
    parser.add_argument("--scene", action="store_true", help="only the Remember the Cue scene")
    parser.add_argument("--scene-budget", type=int, default=12_000, help="agent steps per scene run")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    if args.scene:
        scene_bench(4_096 if args.quick else args.scene_budget, args.seeds)
        return
    pure.register()
    budget, seeds = (8_192, 2) if args.quick else (args.budget, args.seeds)
    results = {}
    for name, settings in VARIANTS.items():
        results[name] = [run(settings, budget, args.every, s) for s in range(seeds)]
        print(name, [(r["steps_to_0.9"], r["final"]) for r in results[name]], flush=True)
    lines = [
        "## Memory: the cue task (issue 17.2)",
        "",
        f"PPO, 16 agents, {budget:,} agent steps, seeds 0-{seeds - 1}; greedy success over 200 episodes "
        f"every {args.every:,} steps (chance 0.5). `bench/bench_memory.py`.",
        "",
        "| policy | agent steps to success 0.9 (per seed) | success at the budget (median; per seed) | s per run |",
        "|---|---|---|---|",
    ]
    for name, runs in results.items():
        steps = ", ".join("never" if r["steps_to_0.9"] is None else f"{r['steps_to_0.9']:,}" for r in runs)
        finals = [r["final"] for r in runs]
        per = ", ".join(f"{f:.2f}" for f in finals)
        secs = statistics.median(r["seconds"] for r in runs)
        lines.append(f"| {name} | {steps} | {statistics.median(finals):.2f} ({per}) | {secs:.0f} |")
    md = write_results("memory", "\n".join(lines), results)
    print(md.read_text())
    scene_bench(4_096 if args.quick else args.scene_budget, args.seeds)


if __name__ == "__main__":
    main()
