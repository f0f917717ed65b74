"""The defaults work: every example trained with its Brain's settings reset to the defaults.

The examples ship tuned settings; a designer's new scene starts from the defaults. Here each
example's Brain has every PPO / DQN setting reset to its default (only the algorithm is chosen:
DQN only where the actions are discrete) and trains for the example's own Training Steps, then is
evaluated greedily on 100 episodes of resets it never saw (another seed). One seed per run.

    .venv/bin/python bench/bench_defaults.py [--quick]

Writes bench/results/defaults.md and defaults.json.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools import boot  # noqa: E402

# name: (example, algorithm, what the tuned example reaches, for comparison)
RUNS = {
    "balance_ball_ppo": ("balance_ball", "PPO"),
    "grid_world_dqn": ("grid_world", "DQN"),
    "grid_world_ppo": ("grid_world", "PPO"),
    "evacuation_ppo": ("evacuation", "PPO"),
}


def run(mod, name: str, quick: bool) -> dict:
    import bpy
    import torch

    torch.set_num_threads(1)
    example, algorithm = RUNS[name]
    module = importlib.import_module(f"{mod.__name__}.examples.{example}")
    Session = importlib.import_module(mod.__name__ + ".env.session").Session
    evaluate = importlib.import_module(mod.__name__ + ".env.headless").evaluate
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = module.build(bpy.context.scene)
    (brain,) = scene.academy.brains
    brain.algorithm = algorithm
    settings = brain.ppo if algorithm == "PPO" else brain.dqn
    for prop in settings.bl_rna.properties:
        if prop.identifier not in {"rna_type", "name"}:
            settings.property_unset(prop.identifier)
    budget = 2_000 if quick else scene.academy.training_steps
    start = time.perf_counter()
    session = Session(scene, training=True, steps=budget).start()
    session.run()
    session.finish()
    wall = time.perf_counter() - start
    result = evaluate(scene, episodes=100, seed=12345)
    return {
        "example": example,
        "algorithm": algorithm,
        "agent_steps": budget,
        "wall_seconds": round(wall, 1),
        "training_mean_reward": round(brain.mean_reward, 3),
        "greedy_mean_reward": result["mean_reward"],
        "greedy_success_rate": result["success_rate"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 agent steps each (a smoke run)")
    parser.add_argument("names", nargs="*", help=f"runs (default: all of {', '.join(RUNS)})")
    args = parser.parse_args()
    mod = boot.boot()
    results = {name: run(mod, name, args.quick) for name in (args.names or RUNS)}
    cmd = "python bench/bench_defaults.py" + (" --quick" if args.quick else "")
    rows = "".join(
        f"| {r['example']} | {r['algorithm']} | {r['agent_steps']:,} | {r['wall_seconds']} | "
        f"{r['greedy_mean_reward']} | {r['greedy_success_rate']} |\n"
        for r in results.values()
    )
    md = (
        "## The examples with every Brain setting at its default\n\n"
        f"Command: `{cmd}` (2 CPU cores; one seed; greedy on 100 episodes of unseen resets)\n\n"
        "| example | algorithm | agent steps (the example's Training Steps) | wall s | greedy mean reward | "
        "greedy success |\n|---|---|---|---|---|---|\n" + rows
    )
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "defaults.md").write_text(md)
    (out / "defaults.json").write_text(json.dumps(results, indent=2))
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
