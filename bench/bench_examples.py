"""Every example trained to its target, with the figures the peers publish beside ours.

- Balance Ball (ML-Agents 3DBall): PPO to mean reward 100 (ML-Agents' benchmark), within 150k
  agent steps and 5 minutes here.
- Grid World (ML-Agents GridWorld), from pixels only: DQN and PPO to mean reward 0.8 (ML-Agents'
  figure) with success rate ≥ 0.9.
- Evacuation (the Armory DRLA fire-fighter): PPO, then evaluated greedily on randomised rooms it
  never saw (another seed): success rate ≥ 0.9.

"Mean reward" and "success rate" are over the last finished episodes, one per agent (at least
10). Steps are agent steps (decisions summed over agents).

    .venv/bin/python bench/bench_examples.py [--quick] [NAME ...]

Writes bench/results/examples.md and examples.json.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools import boot  # noqa: E402
from devtools.bench import write_results  # noqa: E402

RUNS = {
    # name: (example, algorithm, budget, target mean reward, target success, peer figure)
    "balance_ball": ("balance_ball", "PPO", 150_000, 100.0, None, "ML-Agents 3DBall: mean reward 100 (~130k steps)"),
    "grid_world_dqn": ("grid_world", "DQN", 100_000, 0.8, 0.9, "ML-Agents GridWorld: mean reward 0.8"),
    "grid_world_ppo": ("grid_world", "PPO", 150_000, 0.8, 0.9, "ML-Agents GridWorld: mean reward 0.8"),
    "evacuation": (
        "evacuation",
        "PPO",
        200_000,
        None,
        0.9,
        "(no published figure; target: success ≥ 0.9 on unseen rooms)",
    ),
}


def run(name: str, quick: bool, mod) -> dict:
    import bpy

    example, algorithm, budget, target_reward, target_success, peer = RUNS[name]
    if quick:
        budget = 2_000
    module = importlib.import_module(f"{mod.__name__}.examples.{example}")
    Session = importlib.import_module(mod.__name__ + ".env.session").Session
    evaluate = importlib.import_module(mod.__name__ + ".drivers.headless").evaluate
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = module.build(bpy.context.scene)
    scene.academy.brains[0].algorithm = algorithm
    session = Session(scene, training=True, steps=budget).start()
    (a,) = session.stats.values()  # the example's one Brain
    start = time.perf_counter()
    reached = None
    while session.tick(0.5):
        ok_reward = target_reward is None or a.mean_return >= target_reward - 1e-6
        ok_success = target_success is None or a.success_rate >= target_success
        if reached is None and a.full and ok_reward and ok_success:
            reached = (a.agent_steps, round(time.perf_counter() - start, 1))
            if name != "evacuation":  # Evacuation trains on to its budget, then meets rooms it never saw
                break
    wall = time.perf_counter() - start
    result = {
        "example": example,
        "algorithm": algorithm,
        "agents": a.n,
        "budget": budget,
        "agent_steps": a.agent_steps,
        "wall_seconds": round(wall, 1),
        "final_mean_reward": round(a.mean_return, 3),
        # Balance Ball has no success condition (its episodes end in a fall or at Max Steps)
        "final_success_rate": None if target_success is None else round(a.success_rate, 3),
        "steps_to_target": None if reached is None else reached[0],
        "seconds_to_target": None if reached is None else reached[1],
        "peer": peer,
    }
    session.finish(store=True)
    if name == "evacuation":
        result["unseen_rooms"] = evaluate(scene, episodes=40 if quick else 200, seed=987_654)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"runs (default: all): {', '.join(RUNS)}")
    parser.add_argument("--quick", action="store_true", help="2,000 steps each (checks they run; no targets)")
    args = parser.parse_args()
    mod = boot.boot()
    import torch

    torch.set_num_threads(1)
    unknown = [n for n in args.names if n not in RUNS]
    if unknown:
        parser.error(f"unknown run(s) {', '.join(unknown)}; choose from {', '.join(RUNS)}")
    names = args.names or list(RUNS)
    results = {}
    for name in names:
        results[name] = run(name, args.quick, mod)
        print(name, results[name], flush=True)

    def fmt(v, suffix=""):
        return "not reached" if v is None else f"{v:,}{suffix}"

    rows = []
    for name, r in results.items():
        unseen = r.get("unseen_rooms")
        extra = (
            f"; unseen rooms: success {unseen['success_rate']:.2f} over {unseen['episodes']} episodes" if unseen else ""
        )
        rows.append(
            f"| {name.replace('_', ' ')} | {r['algorithm']} | {r['agents']} | {fmt(r['steps_to_target'])} | "
            f"{fmt(r['seconds_to_target'], ' s')} | {r['final_mean_reward']} | "
            f"{'–' if r['final_success_rate'] is None else r['final_success_rate']}{extra} | "
            f"{r['peer']} |"
        )
    cmd = "python bench/bench_examples.py" + (" --quick" if args.quick else "") + "".join(f" {n}" for n in args.names)
    md = (
        "## Examples to their targets\n\n"
        f"Command: `{cmd}` (2 CPU cores, no GPU, torch 1 thread; one seed, 0)\n\n"
        "| run | algorithm | agents | agent steps to target | seconds to target | final mean reward | "
        "final success rate | published by the peers |\n|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )
    suffix = "" if not args.names else "_" + "_".join(args.names)
    write_results(f"examples{suffix}", md, results)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
