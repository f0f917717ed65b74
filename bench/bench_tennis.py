"""Tennis (issue 15.5): PPO on one Brain for both rackets, to mean hits per rally >= 10.

Beside it: a random pair and the example's hand-made Heuristic controller, measured the same way
(hits counted by ``examples.tennis.RallyCounter``: total hits / rallies ended, one rally per arena
and episode). "Reached" is the first progress check (every ~15 s) at which the last window of at
least 20 rallies averaged >= 10 hits. Steps are agent steps (decisions summed over both rackets of
every arena).

ML-Agents publishes no steps-to-goal figure for Tennis: its examples page gives a benchmark mean
reward of 2.5 (+0.1 per hit over the net, so ~25 hits per agent per episode) and its trainer
config ``config/ppo/Tennis.yaml`` trains for up to 50,000,000 steps (256 units, self-play).

    .venv/bin/python bench/bench_tennis.py [--steps N] [--minutes M] [--seed S]

Writes bench/results/tennis.md and tennis.json.
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

GOAL = 10.0
PEER = (
    "ML-Agents Tennis: benchmark mean reward 2.5 (docs/Learning-Environment-Examples.md, older releases); "
    "config/ppo/Tennis.yaml max_steps 50,000,000; no steps-to-goal published"
)


def baseline(mod, kind: str, decisions: int = 400) -> dict:
    """Hits per rally of a random pair or the Heuristic controller (no learning)."""
    import bpy

    tennis = importlib.import_module(f"{mod.__name__}.examples.tennis")
    Session = importlib.import_module(mod.__name__ + ".env.session").Session
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = tennis.build(bpy.context.scene)
    if kind == "random":
        tennis.random_pair(scene)
    else:
        scene.academy.brains[0].brain_type = "HEURISTIC"
    session = Session(scene, training=False, steps=0, seed=11).start()
    stats = session.stats[tennis.BRAIN]
    with tennis.RallyCounter(scene) as rally:
        session.rollout(decisions)
    session.finish(store=False)
    rallies = stats.episodes / 2
    return {"hits": rally.hits, "rallies_ended": rallies, "hits_per_rally": round(rally.hits / max(rallies, 1), 2)}


def train(mod, steps: int, minutes: float, seed: int) -> dict:
    import bpy

    tennis = importlib.import_module(f"{mod.__name__}.examples.tennis")
    Session = importlib.import_module(mod.__name__ + ".env.session").Session
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = tennis.build(bpy.context.scene)
    scene.academy.seed = seed
    session = Session(scene, training=True, steps=steps).start()
    stats = session.stats[tennis.BRAIN]
    start = time.perf_counter()
    reached, curve = None, []
    window = (0.0, 0)
    with tennis.RallyCounter(scene) as rally:
        next_check = 15.0
        while session.tick(1.0):
            elapsed = time.perf_counter() - start
            if elapsed >= next_check:
                next_check += 15.0
                hits, episodes = rally.hits - window[0], stats.episodes - window[1]
                if episodes >= 40:  # 20 rallies or more in the window
                    mean = hits / (episodes / 2)
                    curve.append((stats.agent_steps, round(elapsed, 1), round(mean, 2)))
                    print(curve[-1], flush=True)
                    window = (rally.hits, stats.episodes)
                    if reached is None and mean >= GOAL:
                        reached = curve[-1]
                        break
            if elapsed > minutes * 60:
                break
    wall = time.perf_counter() - start
    session.finish(store=True)
    return {
        "seed": seed,
        "agents": stats.n,
        "budget": steps,
        "agent_steps": stats.agent_steps,
        "wall_seconds": round(wall, 1),
        "steps_to_goal": None if reached is None else reached[0],
        "seconds_to_goal": None if reached is None else reached[1],
        "best_window": max((c[2] for c in curve), default=None),
        "curve": curve,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300_000, help="agent steps budget (default: the example's)")
    parser.add_argument("--minutes", type=float, default=30.0, help="stop after this many minutes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline-decisions", type=int, default=400, help="decisions each baseline plays")
    args = parser.parse_args()
    mod = boot.boot()
    import torch

    torch.set_num_threads(1)
    results = {
        "random": baseline(mod, "random", args.baseline_decisions),
        "heuristic": baseline(mod, "heuristic", args.baseline_decisions),
        "ppo": train(mod, args.steps, args.minutes, args.seed),
        "peer": PEER,
    }
    r, h, p = results["random"], results["heuristic"], results["ppo"]

    if h["rallies_ended"]:
        heuristic = (
            f"{h['hits_per_rally']} ({h['rallies_ended']:g} rallies ended in {args.baseline_decisions} decisions)"
        )
    else:  # every rally still on: each arena's hits so far are a lower bound
        heuristic = f"≥ {h['hits'] / 8:.0f} (no rally ended in {args.baseline_decisions} decisions; {h['hits']:g} hits)"
    reached = "not reached" if p["steps_to_goal"] is None else f"{p['steps_to_goal']:,} steps, {p['seconds_to_goal']} s"

    md = (
        "## Tennis: mean hits per rally >= 10\n\n"
        f"Command: `python bench/bench_tennis.py --steps {args.steps} --minutes {args.minutes:g} --seed {args.seed} "
        f"--baseline-decisions {args.baseline_decisions}` "
        "(2 CPU cores shared with other jobs, torch 1 thread; one seed)\n\n"
        "| player | agents | agent steps | wall | hits per rally | goal (10) reached at |\n|---|---|---|---|---|---|\n"
        f"| random pair | 16 | – | – | {r['hits_per_rally']} ({r['rallies_ended']:g} rallies) | – |\n"
        f"| Heuristic controller | 16 | – | – | {heuristic} | – |\n"
        f"| PPO (the example's settings) | {p['agents']} | {p['agent_steps']:,} | {p['wall_seconds']} s | "
        f"best window {p['best_window']} | {reached} |\n\n"
        f"Published by the peer: {PEER}.\n"
    )
    write_results("tennis", md, results)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
