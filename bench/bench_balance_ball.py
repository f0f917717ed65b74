"""Balance Ball to mean reward 100: in-process PPO against Stable-Baselines3 PPO on the same scene.

Both learn on the same 12-agent Balance Ball scene through the same stepping path: ours inside
the Academy (``./academy train``'s code path), SB3's PPO through ``make_sb3_vec_env`` with
``VecNormalize`` (observation normalisation, as our ``normalize_obs``), with the same
hyper-parameters (rollout 64 decisions × 12 agents, minibatch 256, 4 epochs, lr 3e-4, γ 0.99,
λ 0.95, clip 0.2, 2×64 tanh MLP). "Mean reward" is over the last 12 finished episodes (one per
agent), as ML-Agents' summaries; the target 100 is ML-Agents' 3DBall benchmark.

    .venv/bin/python bench/bench_balance_ball.py [--quick] [--budget STEPS] [--seed S]

Writes bench/results/balance_ball.md and balance_ball.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools import boot  # noqa: E402
from devtools.bench import write_results  # noqa: E402

TARGET = 100.0
HYPER = dict(num_steps=64, minibatch_size=256, num_epochs=4, learning_rate=3e-4, gamma=0.99, gae_lambda=0.95)


def fresh_scene(bb, bpy, seed: int):
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bb.build(bpy.context.scene)
    scene.academy.seed = seed
    ppo = scene.academy.brains[0].ppo
    for key, value in HYPER.items():
        setattr(ppo, key, value)
    return scene


def run_ours(bb, bpy, Session, budget: int, seed: int) -> dict:
    scene = fresh_scene(bb, bpy, seed)
    session = Session(scene, training=True, steps=budget).start()
    (a,) = session.stats.values()
    start = time.perf_counter()
    reached = None
    while session.tick(0.5):
        if reached is None and a.full and a.mean_return >= TARGET - 1e-6:
            reached = (a.agent_steps, time.perf_counter() - start)
            break
    wall = time.perf_counter() - start
    result = _result(a.agent_steps, wall, a.mean_return, reached)
    session.finish(store=False)
    return result


def run_sb3(bb, bpy, gym_mod, budget: int, seed: int) -> dict:
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import VecNormalize

    scene = fresh_scene(bb, bpy, seed)
    venv = VecNormalize(gym_mod.make_sb3_vec_env(scene, "3DBall", seed=seed), norm_obs=True, norm_reward=False)
    returns: deque[float] = deque(maxlen=12)
    running = [0.0] * venv.num_envs
    state: dict = {"reached": None, "start": time.perf_counter()}

    class Watch(BaseCallback):
        def _on_step(self) -> bool:
            rewards = self.locals["rewards"]
            dones = self.locals["dones"]
            for i, (r, d) in enumerate(zip(rewards, dones, strict=True)):
                running[i] += float(r)  # norm_reward=False: these are the raw rewards
                if d:
                    returns.append(running[i])
                    running[i] = 0.0
            if len(returns) == returns.maxlen and sum(returns) / len(returns) >= TARGET - 1e-6:
                state["reached"] = (self.num_timesteps, time.perf_counter() - state["start"])
                return False
            return True

    model = PPO(
        "MlpPolicy",
        venv,
        n_steps=HYPER["num_steps"],
        batch_size=HYPER["minibatch_size"],
        n_epochs=HYPER["num_epochs"],
        learning_rate=HYPER["learning_rate"],
        gamma=HYPER["gamma"],
        gae_lambda=HYPER["gae_lambda"],
        clip_range=0.2,
        ent_coef=0.0,
        policy_kwargs=dict(net_arch=[64, 64]),
        seed=seed,
        device="cpu",
    )
    state["start"] = time.perf_counter()
    model.learn(total_timesteps=budget, callback=Watch())
    wall = time.perf_counter() - state["start"]
    mean = sum(returns) / len(returns) if returns else float("nan")
    result = _result(model.num_timesteps, wall, mean, state["reached"])
    venv.close()
    return result


def _result(steps, wall, mean, reached) -> dict:
    return {
        "agent_steps": int(steps),
        "wall_seconds": round(wall, 1),
        "steps_per_second": round(steps / max(wall, 1e-9), 1),
        "final_mean_reward": round(float(mean), 2),
        "steps_to_target": None if reached is None else int(reached[0]),
        "seconds_to_target": None if reached is None else round(reached[1], 1),
    }


def _median(values):
    values = sorted(v for v in values if v is not None)
    return values[len(values) // 2] if values else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short budget, one seed (checks it runs)")
    parser.add_argument("--budget", type=int, default=300_000, help="agent steps at most per run (default 300000)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per learner (default 3); medians are reported")
    args = parser.parse_args()
    budget, seeds = (6_000, 1) if args.quick else (args.budget, args.seeds)
    mod = boot.boot()
    import importlib

    import bpy
    import torch

    torch.set_num_threads(1)
    bb = importlib.import_module(mod.__name__ + ".examples.balance_ball")
    Session = importlib.import_module(mod.__name__ + ".env.session").Session
    gym_mod = importlib.import_module(mod.__name__ + ".drivers.gym")
    runs: dict[str, list[dict]] = {"ours": [], "sb3": []}
    for seed in range(seeds):  # interleaved, so machine noise hits both alike
        runs["ours"].append(run_ours(bb, bpy, Session, budget, seed))
        runs["sb3"].append(run_sb3(bb, bpy, gym_mod, budget, seed))
        print(f"seed {seed}: ours {runs['ours'][-1]}\n        sb3  {runs['sb3'][-1]}", flush=True)

    def summary(rs: list[dict]) -> dict:
        reached = [r for r in rs if r["steps_to_target"] is not None]
        return {
            "reached": f"{len(reached)}/{len(rs)}",
            "median_steps_to_target": _median([r["steps_to_target"] for r in rs]) if len(reached) == len(rs) else None,
            "median_seconds_to_target": _median([r["seconds_to_target"] for r in rs])
            if len(reached) == len(rs)
            else None,
            "median_steps_per_second": _median([r["steps_per_second"] for r in rs]),
            "per_seed_steps_to_target": [r["steps_to_target"] for r in rs],
            "per_seed_seconds_to_target": [r["seconds_to_target"] for r in rs],
        }

    ours, sb3 = summary(runs["ours"]), summary(runs["sb3"])

    def fmt(v):
        return "not reached" if v is None else f"{v:,}"

    speedup = (
        round(sb3["median_seconds_to_target"] / ours["median_seconds_to_target"], 2)
        if ours["median_seconds_to_target"] and sb3["median_seconds_to_target"]
        else None
    )
    throughput = round(ours["median_steps_per_second"] / sb3["median_steps_per_second"], 2)
    cmd = "python bench/bench_balance_ball.py" + (" --quick" if args.quick else f" --budget {budget} --seeds {seeds}")
    rows = []
    for label, s in (("Agent Academy PPO (in-process)", ours), ("SB3 PPO through `make_sb3_vec_env`", sb3)):
        rows.append(
            f"| {label} | {s['reached']} | {fmt(s['median_steps_to_target'])} | {fmt(s['median_seconds_to_target'])} | "
            f"{s['median_steps_per_second']:,} | {', '.join(fmt(v) for v in s['per_seed_seconds_to_target'])} |"
        )
    md = (
        "## Balance Ball to mean reward 100: in-process PPO vs Stable-Baselines3 PPO\n\n"
        f"Command: `{cmd}` (2 CPU cores, no GPU, torch 1 thread; at most {budget:,} agent steps per run; "
        f"seeds 0–{seeds - 1}, medians)\n\n"
        "| | reached | agent steps to 100 | seconds to 100 | agent steps/s | seconds per seed |\n"
        "|---|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n\n"
        + (f"Time to the target, SB3 / ours: {speedup}×. " if speedup else "")
        + f"Throughput (learning included), ours / SB3: {throughput}×.\n"
    )
    write_results(
        "balance_ball", md, {"ours": ours, "sb3": sb3, "runs": runs, "speedup": speedup, "throughput": throughput}
    )
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
