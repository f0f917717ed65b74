"""The defaults work: every example trained with its Brain's settings reset to the defaults.

The examples ship tuned settings; a designer's new scene starts from the defaults. Here each
example's Brain has every PPO / DQN setting reset to its default (only the algorithm is chosen:
DQN only where the actions are discrete) and trains for the example's own Training Steps with the
Academy's seed 0..N-1, then is evaluated on 100 episodes of resets it never saw (another seed) twice: as
Play and Bake run it (discrete PPO actions sampled from the policy, the Brain's Deterministic off)
and greedily (Deterministic on: the most probable action; continuous actions and DQN are greedy
either way). Each row gives the median and every seed's value, next to the example's own tuned
settings trained and evaluated with the same seeds.

    .venv/bin/python bench/bench_defaults.py [--seeds N] [--quick] [--no-tuned] [--steps N] [--set key=value ...] [runs]
    .venv/bin/python bench/bench_defaults.py --report   # rewrite defaults.md from defaults.json

Naming runs reruns those rows only: the other rows of defaults.json are kept (and with --no-tuned,
the tuned runs). ``--set`` trains the defaults with some settings changed (to try candidate
defaults) and ``--steps`` for another budget than the example's; such runs only print, they write
no results. Otherwise writes bench/results/defaults.md
and defaults.json. Runs are sequential, in one process, with one torch thread.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools import boot  # noqa: E402

# name: (example, algorithm, the metric the example's target is about)
RUNS = {
    "balance_ball_ppo": ("balance_ball", "PPO", "mean_reward"),
    "grid_world_dqn": ("grid_world", "DQN", "success_rate"),
    "grid_world_ppo": ("grid_world", "PPO", "success_rate"),
    "evacuation_ppo": ("evacuation", "PPO", "success_rate"),
}
# played: as Play and Bake act (the Brain's Deterministic off, the default); greedy: Deterministic on
METRICS = ("played_mean_reward", "played_success_rate", "greedy_mean_reward", "greedy_success_rate")


def run(mod, name: str, seed: int, tuned: bool, quick: bool, overrides: dict, steps: int = 0) -> dict:
    """Train one example with one seed (defaults unless ``tuned``; ``overrides`` on top) and evaluate it."""
    import bpy
    import torch

    torch.set_num_threads(1)
    example, algorithm, _metric = RUNS[name]
    module = importlib.import_module(f"{mod.__name__}.examples.{example}")
    Session = importlib.import_module(mod.__name__ + ".env.session").Session
    evaluate = importlib.import_module(mod.__name__ + ".drivers.headless").evaluate
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = module.build(bpy.context.scene)
    scene.academy.seed = seed
    (brain,) = scene.academy.brains
    brain.algorithm = algorithm
    settings = brain.ppo if algorithm == "PPO" else brain.dqn
    if not tuned:
        for prop in settings.bl_rna.properties:
            if prop.identifier not in {"rna_type", "name"}:
                settings.property_unset(prop.identifier)
        for key, value in overrides.items():
            setattr(settings, key, value)
    budget = 2_000 if quick else steps or scene.academy.training_steps
    start = time.perf_counter()
    session = Session(scene, training=True, steps=budget).start()
    session.run()
    session.finish()
    wall = time.perf_counter() - start
    played = evaluate(scene, episodes=100, seed=12345, deterministic=False)
    greedy = evaluate(scene, episodes=100, seed=12345, deterministic=True)
    out = {
        "settings": "tuned" if tuned else "defaults",
        "seed": seed,
        "agent_steps": budget,
        "wall_seconds": round(wall, 1),
        "training_mean_reward": round(brain.mean_reward, 3),
        "played_mean_reward": played["mean_reward"],
        "played_success_rate": played["success_rate"],
        "greedy_mean_reward": greedy["mean_reward"],
        "greedy_success_rate": greedy["success_rate"],
    }
    print(json.dumps({"run": name, **out, **({"overrides": overrides} if overrides else {})}), flush=True)
    return out


def _value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def summarise(runs: list[dict]) -> dict:
    """Median and every seed's value of each metric (those the runs measured: older runs have no played_*)."""
    return {
        m: {"median": statistics.median(r[m] for r in runs), "values": [r[m] for r in runs]}
        for m in METRICS
        if all(m in r for r in runs)
    }


def _cell(summary: dict, metric: str) -> str:
    if metric not in summary:
        return "not run"
    values = ", ".join(f"{v:g}" for v in summary[metric]["values"])
    return f"**{summary[metric]['median']:g}** ({values})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="train with the Academy's seeds 0..N-1 (default 3)")
    parser.add_argument(
        "--first-seed", type=int, default=0, help="the first seed (seeds apart in parallel runs; prints only)"
    )
    parser.add_argument("--quick", action="store_true", help="2,000 agent steps each (a smoke run)")
    parser.add_argument("--no-tuned", action="store_true", help="skip the tuned example's runs")
    parser.add_argument("--steps", type=int, default=0, help="agent steps (default: the example's Training Steps)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="change a default (try)")
    parser.add_argument("--report", action="store_true", help="run nothing: rewrite defaults.md from defaults.json")
    parser.add_argument("names", nargs="*", help=f"runs (default: all of {', '.join(RUNS)})")
    args = parser.parse_args()
    overrides = {k: _value(v) for k, v in (s.split("=", 1) for s in args.set)}
    mod = boot.boot()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    results = {}
    for name in [] if args.report else args.names or RUNS:
        example, algorithm, metric = RUNS[name]
        row = {"example": example, "algorithm": algorithm, "target_metric": metric}
        for kind in ("defaults",) + (() if args.no_tuned else ("tuned",)):
            runs = [run(mod, name, seed, kind == "tuned", args.quick, overrides, args.steps) for seed in seeds]
            row[kind] = {"runs": runs, **summarise(runs)}
        row["agent_steps"] = row["defaults"]["runs"][0]["agent_steps"]
        results[name] = row
    if overrides or args.steps or args.first_seed:
        print(json.dumps({n: {k: r[k] for k in r if k in ("defaults", "tuned")} for n, r in results.items()}))
        return 0
    out = ROOT / "bench" / "results"
    stored = out / "defaults.json"
    if (args.names or args.no_tuned or args.report) and stored.exists():  # rows and tuned runs not run again are kept
        kept = json.loads(stored.read_text())
        results = {name: {**kept.get(name, {}), **results.get(name, {})} for name in RUNS if name in kept | results}
    cmd = f"python bench/bench_defaults.py --seeds {args.seeds}" + (" --quick" if args.quick else "")
    kinds = ("defaults", "tuned") if any("tuned" in r for r in results.values()) else ("defaults",)
    labels = {m: m.replace("_rate", "").replace("_mean_reward", " reward").replace("_", " ") for m in METRICS}
    head = (
        "| example | algorithm | agent steps | "
        + " | ".join(f"{labels[m]}, {k}" for k in kinds for m in METRICS)
        + " |"
    )
    sep = "|---|---|---|" + "---|" * (len(kinds) * len(METRICS))
    rows = ""
    for r in results.values():
        rows += f"| {r['example']} | {r['algorithm']} | {r['agent_steps']:,} | "
        rows += " | ".join(_cell(r[k], m) if k in r else "not run" for k in kinds for m in METRICS) + " |\n"
    md = (
        "## The examples with every Brain setting at its default, next to their tuned settings\n\n"
        f"Command: `{cmd}` (2 CPU cores, 1 torch thread; the Academy's seeds 0..{args.seeds - 1}; each cell is "
        "the **median** (every seed's value) on 100 episodes of unseen resets, at the example's own Training Steps; "
        "*played*: as Play and Bake act (discrete PPO actions sampled, the Brain's Deterministic off, the default), "
        "*greedy*: Deterministic on; continuous actions and DQN are greedy either way; *not run*: measured before "
        "played was)\n\n" + head + "\n" + sep + "\n" + rows
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "defaults.md").write_text(md)
    (out / "defaults.json").write_text(json.dumps(results, indent=2))
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
