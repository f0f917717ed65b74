"""Agent Academy's learners next to Stable-Baselines3, same envs and hyper-parameters, one run.

    python bench/bench_training.py [--quick] [--tasks ppo_cartpole,ppo_pendulum,dqn_cartpole]

For every task and seed both libraries train for the same env-step budget with one torch thread;
we report env steps per second (learning included) and the deterministic evaluation return at that
budget, then ratios ours/SB3. Writes bench/results/training.json and bench/results/training.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devtools import pure  # noqa: E402
from devtools.bench import write_results  # noqa: E402

pure.register()
from academy_pure.training import DQNConfig, PPOConfig, evaluate, learn  # noqa: E402

RESULTS = ROOT / "bench" / "results"

# Each task: our config, the same hyper-parameters for SB3, env id, number of envs, budgets.
TASKS = {
    "ppo_cartpole": {
        "algo": "ppo",
        "env": "CartPole-v1",
        "n_envs": 8,
        "steps": 100_000,
        "quick_steps": 20_000,
        "ours": PPOConfig(
            num_steps=32,
            minibatch_size=256,
            num_epochs=20,
            gamma=0.98,
            gae_lambda=0.8,
            learning_rate=1e-3,
            lr_schedule="linear",
            clip_schedule="linear",
        ),
        "sb3": {
            "n_steps": 32,
            "batch_size": 256,
            "n_epochs": 20,
            "gamma": 0.98,
            "gae_lambda": 0.8,
            "learning_rate": ("linear", 1e-3),
            "clip_range": ("linear", 0.2),
            "ent_coef": 0.0,
        },
    },
    "ppo_pendulum": {
        "algo": "ppo",
        "env": "Pendulum-v1",
        "n_envs": 4,
        "steps": 150_000,
        "quick_steps": 20_000,
        "ours": PPOConfig(
            num_steps=256,
            minibatch_size=64,
            num_epochs=10,
            gamma=0.9,
            gae_lambda=0.95,
            learning_rate=1e-3,
            lr_schedule="linear",
            normalize_obs=True,
            normalize_reward=True,
            log_std_init=-0.5,
        ),
        "sb3": {
            "n_steps": 256,
            "batch_size": 64,
            "n_epochs": 10,
            "gamma": 0.9,
            "gae_lambda": 0.95,
            "learning_rate": ("linear", 1e-3),
            "policy_kwargs": {"log_std_init": -0.5},
            "normalize": True,
        },
    },
    "dqn_cartpole": {
        "algo": "dqn",
        "env": "CartPole-v1",
        "n_envs": 1,
        "steps": 50_000,
        "quick_steps": 10_000,
        "ours": DQNConfig(
            learning_rate=2.3e-3,
            batch_size=64,
            buffer_size=100_000,
            learning_starts=1000,
            gamma=0.99,
            target_update_interval=128,
            train_freq=256,
            gradient_steps=128,
            exploration_fraction=0.16,
            exploration_final_eps=0.04,
            hidden_units=256,
            double_dqn=False,  # SB3's DQN is the original (non-double) DQN
        ),
        "sb3": {
            "learning_rate": 2.3e-3,
            "batch_size": 64,
            "buffer_size": 100_000,
            "learning_starts": 1000,
            "gamma": 0.99,
            "target_update_interval": 10,  # env steps; with train_freq 256 = one sync per 128 gradient steps
            "train_freq": 256,
            "gradient_steps": 128,
            "exploration_fraction": 0.16,
            "exploration_final_eps": 0.04,
            "policy_kwargs": {"net_arch": [256, 256]},
        },
    },
}


def run_ours(task: dict, steps: int, seed: int) -> tuple[float, float]:
    cfg = task["ours"]  # learn() makes the budget one training run: schedules span ``steps``
    if task["n_envs"] == 1:
        env = gym.make(task["env"])
    else:
        env = gym.vector.SyncVectorEnv(
            [lambda: gym.make(task["env"])] * task["n_envs"], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
        )
    t0 = time.perf_counter()
    learner = learn(env, steps, cfg, seed=seed)
    sps = learner.total_steps / (time.perf_counter() - t0)
    return sps, evaluate(learner, gym.make(task["env"]), episodes=10)


def run_sb3(task: dict, steps: int, seed: int) -> tuple[float, float]:
    from stable_baselines3 import DQN, PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    kwargs = dict(task["sb3"])
    for key in ("learning_rate", "clip_range"):
        if isinstance(kwargs.get(key), tuple):
            start = kwargs[key][1]
            kwargs[key] = lambda progress_remaining, start=start: start * progress_remaining
    normalize = kwargs.pop("normalize", False)
    env = make_vec_env(task["env"], n_envs=task["n_envs"], seed=seed)
    if normalize:
        env = VecNormalize(env, gamma=kwargs["gamma"])
    cls = PPO if task["algo"] == "ppo" else DQN
    model = cls("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **kwargs)
    t0 = time.perf_counter()
    model.learn(total_timesteps=steps)
    sps = model.num_timesteps / (time.perf_counter() - t0)

    class Policy:  # our evaluate() protocol: predict(obs batch, deterministic)
        def predict(self, obs, deterministic=True):
            if normalize:
                obs = env.normalize_obs(obs)
            return model.predict(obs, deterministic=deterministic)[0]

    return sps, evaluate(Policy(), gym.make(task["env"]), episodes=10)


def summarise(name: str, task: dict, steps: int, runs: dict) -> dict:
    ours, sb3 = runs["ours"], runs["sb3"]
    o_sps = statistics.mean(r["sps"] for r in ours)
    s_sps = statistics.mean(r["sps"] for r in sb3)
    o_ret = [r["return"] for r in ours]
    s_ret = [r["return"] for r in sb3]
    s_std = statistics.pstdev(s_ret) if len(s_ret) > 1 else 0.0
    return {
        "task": name,
        "env": task["env"],
        "steps": steps,
        "seeds": len(ours),
        "ours_sps": o_sps,
        "sb3_sps": s_sps,
        "sps_ratio": o_sps / s_sps,
        "ours_returns": o_ret,
        "sb3_returns": s_ret,
        "ours_return_mean": statistics.mean(o_ret),
        "sb3_return_mean": statistics.mean(s_ret),
        "sb3_return_std": s_std,
        "return_within_sb3_spread": statistics.mean(o_ret) >= min(s_ret)
        or statistics.mean(o_ret) >= statistics.mean(s_ret) - s_std,
    }


def to_markdown(rows: list[dict], meta: dict) -> str:
    lines = [
        f"Training bench ({'quick' if meta['quick'] else 'full'}), {meta['date']}, torch threads = 1, "
        f"{meta['machine']}",
        "",
        "| task | env | steps x seeds | ours steps/s | SB3 steps/s | speed ours/SB3 | ours return (per seed) "
        "| SB3 return (per seed) | return ok |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        fmt = ", ".join
        lines.append(
            f"| {r['task']} | {r['env']} | {r['steps']} x {r['seeds']} | {r['ours_sps']:.0f} | {r['sb3_sps']:.0f} "
            f"| **{r['sps_ratio']:.2f}x** | {r['ours_return_mean']:.1f} ({fmt(f'{x:.0f}' for x in r['ours_returns'])}) "
            f"| {r['sb3_return_mean']:.1f} ({fmt(f'{x:.0f}' for x in r['sb3_returns'])}) "
            f"| {'yes' if r['return_within_sb3_spread'] else 'NO'} |"
        )
    lines.append("")
    lines.append(
        "return ok = our mean return >= SB3's worst seed or >= SB3's mean - 1 std (deterministic eval, 10 episodes)."
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small budgets, one seed (a smoke run)")
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated subset of " + ", ".join(TASKS))
    parser.add_argument("--seeds", type=int, default=None, help="seeds per task (default 3, quick 1)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    seeds = args.seeds or (1 if args.quick else 3)
    rows = []
    for name in args.tasks.split(","):
        task = TASKS[name]
        steps = task["quick_steps"] if args.quick else task["steps"]
        runs: dict[str, list[dict]] = {"ours": [], "sb3": []}
        for seed in range(seeds):
            for lib, fn in (("ours", run_ours), ("sb3", run_sb3)):
                sps, ret = fn(task, steps, seed)
                runs[lib].append({"seed": seed, "sps": sps, "return": ret})
                print(f"{name} {lib:4s} seed {seed}: {sps:7.0f} steps/s, return {ret:8.1f}", flush=True)
        rows.append(summarise(name, task, steps, runs))
    meta = {
        "quick": args.quick,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, python {platform.python_version()}, torch {torch.__version__}",
    }
    md = to_markdown(rows, meta)
    print(md)
    write_results("training", md, {"meta": meta, "rows": rows})


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
