"""SAC (issue 17.1): Balance Ball to mean reward 100, SAC vs PPO; Pendulum-v1, ours vs SB3 SAC.

- Balance Ball (12 agents, in-process Session): agent steps (decisions summed over agents) until
  the Brain's mean reward reaches 100, SAC (``--sac`` settings over the defaults) vs PPO with its
  defaults. Goal: SAC in at most half PPO's agent steps.
- Pendulum-v1: our SAC and SB3's SAC with the same hyper-parameters (SB3's defaults, 256x256
  networks, learning_starts 100), same steps and seeds, one torch thread, side by side in one run:
  deterministic return at the budget and env steps per second (learning included). Goal: at least
  SB3's return at 1.3x its throughput.

    nice -n 5 .venv/bin/python bench/bench_sac.py [--pendulum-steps 10000] [--seeds 3] [--bb-budget 60000]
        [--skip-balance-ball] [--skip-pendulum] [--quick]

Writes bench/results/sac.md and sac.json.
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

from devtools.bench import write_results  # noqa: E402

#: SAC settings for Balance Ball over the SACConfig defaults (ML-Agents' 3DBall SAC uses 64 units too)
BB_SAC = {"hidden_units": 64}


def balance_ball(algorithm: str, budget: int, seed: int, mod) -> dict:
    import bpy

    bb = importlib.import_module(mod.__name__ + ".examples.balance_ball")
    Session = importlib.import_module(mod.__name__ + ".env.session").Session
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bb.build(bpy.context.scene)
    brain = scene.academy.brains[0]
    brain.algorithm = algorithm
    if algorithm == "SAC":
        for key, value in BB_SAC.items():
            setattr(brain.sac, key, value)
    session = Session(scene, training=True, steps=budget, seed=seed).start()
    (a,) = session.stats.values()
    start = time.perf_counter()
    reached = None
    while session.tick(0.5):
        if a.full and a.mean_return >= 100.0 - 1e-6:
            reached = a.agent_steps
            break
    wall = time.perf_counter() - start
    out = {
        "algorithm": algorithm,
        "seed": seed,
        "agents": a.n,
        "steps_to_100": reached,
        "agent_steps": a.agent_steps,
        "seconds": round(wall, 1),
        "final_mean_reward": round(a.mean_return, 2),
    }
    session.finish(store=False)
    print("balance ball", out, flush=True)
    return out


def pendulum(steps: int, seed: int) -> dict:
    import gymnasium as gym
    from stable_baselines3 import SAC

    from academy_pure.training import SACConfig, evaluate, learn

    cfg = SACConfig(learning_starts=100)
    env = gym.make("Pendulum-v1")
    t = time.perf_counter()
    ours = learn(env, steps, cfg, seed=seed)
    ours_s = time.perf_counter() - t
    ours_ret = evaluate(ours, gym.make("Pendulum-v1"), episodes=10)

    env = gym.make("Pendulum-v1")
    model = SAC(
        "MlpPolicy",
        env,
        learning_rate=cfg.learning_rate,
        buffer_size=cfg.buffer_size,
        learning_starts=cfg.learning_starts,
        batch_size=cfg.batch_size,
        tau=cfg.tau,
        gamma=cfg.gamma,
        train_freq=cfg.train_freq,
        gradient_steps=cfg.gradient_steps,
        ent_coef="auto",
        policy_kwargs={"net_arch": [cfg.hidden_units] * cfg.num_layers},
        seed=seed,
        device="cpu",
        verbose=0,
    )
    t = time.perf_counter()
    model.learn(steps)
    sb3_s = time.perf_counter() - t

    class _Det:
        def predict(self, obs, deterministic=True):
            return model.predict(obs, deterministic=deterministic)[0]

    sb3_ret = evaluate(_Det(), gym.make("Pendulum-v1"), episodes=10)
    out = {
        "seed": seed,
        "steps": steps,
        "ours_return": round(ours_ret, 1),
        "ours_steps_per_s": round(steps / ours_s, 1),
        "sb3_return": round(sb3_ret, 1),
        "sb3_steps_per_s": round(steps / sb3_s, 1),
    }
    print("pendulum", out, flush=True)
    return out


def interleaved(chunks: int, chunk: int = 100, warmup: int = 300) -> dict:
    """Throughput measured in alternating chunks of ``chunk`` steps (ours, SB3, ours, ...) after
    ``warmup`` steps each, so both meet the same load on a shared machine; ms per env step, by the
    wall clock and by this process's CPU time (one thread: the CPU time leaves out the time other
    jobs held the core, which on a loaded machine is most of the wall time)."""
    import gymnasium as gym
    from stable_baselines3 import SAC

    from academy_pure.training import SACConfig, learn

    cfg = SACConfig(learning_starts=100)
    env = gym.make("Pendulum-v1")
    ours = learn(env, warmup, cfg, seed=0)
    model = SAC("MlpPolicy", gym.make("Pendulum-v1"), learning_starts=100, device="cpu", verbose=0, seed=0)
    model.learn(warmup)

    def timed(run) -> tuple[float, float]:
        t, c = time.perf_counter(), time.process_time()
        run()
        return (time.perf_counter() - t) / chunk * 1e3, (time.process_time() - c) / chunk * 1e3

    rows = []
    for _ in range(chunks):
        a, a_cpu = timed(lambda: learn(env, chunk, learner=ours))  # (each chunk starts a new episode)
        b, b_cpu = timed(lambda: model.learn(chunk, reset_num_timesteps=False))
        rows.append(
            {
                "ours_ms": round(a, 1),
                "sb3_ms": round(b, 1),
                "ratio": round(b / a, 2),
                "ours_cpu_ms": round(a_cpu, 2),
                "sb3_cpu_ms": round(b_cpu, 2),
                "cpu_ratio": round(b_cpu / a_cpu, 2),
            }
        )
        print("interleaved", rows[-1], flush=True)
    return {
        "chunk": chunk,
        "rows": rows,
        "median_ratio": statistics.median(r["ratio"] for r in rows),
        "median_cpu_ratio": statistics.median(r["cpu_ratio"] for r in rows),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pendulum-steps", type=int, default=10_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--bb-budget", type=int, default=100_000, help="agent steps per Balance Ball run at most")
    parser.add_argument("--bb-seeds", type=int, default=1)
    parser.add_argument("--skip-balance-ball", action="store_true")
    parser.add_argument("--skip-pendulum", action="store_true")
    parser.add_argument("--quick", action="store_true", help="tiny budgets (checks it runs; no targets)")
    parser.add_argument("--interleaved", type=int, default=3, help="chunks of the interleaved throughput check")
    parser.add_argument("--out", default="sac", help="results name: bench/results/NAME.md and NAME.json")
    args = parser.parse_args()
    if args.quick:
        args.pendulum_steps, args.seeds, args.bb_budget, args.bb_seeds = 500, 1, 2_000, 1
    from devtools import boot, pure

    pure.register()
    import torch

    torch.set_num_threads(1)
    results: dict = {"balance_ball": [], "pendulum": []}
    sections = []
    cmd = "nice -n 15 .venv/bin/python bench/bench_sac.py " + " ".join(sys.argv[1:])
    if not args.skip_balance_ball:
        mod = boot.boot()
        rows: list[dict] = []
        results["balance_ball"] = rows
        for s in range(args.bb_seeds):
            for alg in ("PPO", "SAC"):
                rows.append(balance_ball(alg, args.bb_budget, s, mod))
                # written after every run: kept if a later run (or the Pendulum part) is interrupted
                _write(args.out, cmd, [*sections, _bb_section(rows, args.bb_budget)], results)
        sections.append(_bb_section(rows, args.bb_budget))
    if not args.skip_pendulum and args.pendulum_steps > 0:
        rows = [pendulum(args.pendulum_steps, s) for s in range(args.seeds)]
        results["pendulum"] = rows

        def med(key: str) -> float:
            return statistics.median(r[key] for r in rows)

        ratio = med("ours_steps_per_s") / med("sb3_steps_per_s")
        sections.append(
            f"### Pendulum-v1, {args.pendulum_steps:,} steps, seeds 0–{args.seeds - 1} (medians)\n\n"
            "| | deterministic return (10 episodes) | env steps/s (learning included) | returns per seed |\n"
            "|---|---|---|---|\n"
            f"| Agent Academy SAC | {med('ours_return'):.1f} | {med('ours_steps_per_s'):.1f} | "
            f"{', '.join(str(r['ours_return']) for r in rows)} |\n"
            f"| SB3 SAC | {med('sb3_return'):.1f} | {med('sb3_steps_per_s'):.1f} | "
            f"{', '.join(str(r['sb3_return']) for r in rows)} |\n\n"
            f"Throughput ours / SB3: {ratio:.2f}× (goal ≥ 1.3×).\n"
        )
    if not args.skip_pendulum and args.interleaved:
        inter = interleaved(args.interleaved)
        results["interleaved"] = inter
        sections.append(
            f"### Pendulum-v1 throughput, interleaved chunks of {inter['chunk']} steps (the same load for both)\n\n"
            "| chunk | ours ms/step | SB3 ms/step | SB3 / ours | ours CPU ms/step | SB3 CPU ms/step | SB3 / ours CPU |"
            "\n"
            "|---|---|---|---|---|---|---|\n"
            + "\n".join(
                f"| {i} | {r['ours_ms']} | {r['sb3_ms']} | {r['ratio']}× | {r['ours_cpu_ms']} | {r['sb3_cpu_ms']} | "
                f"{r['cpu_ratio']}× |"
                for i, r in enumerate(inter["rows"])
            )
            + f"\n\nMedian throughput ours / SB3: {inter['median_ratio']:.2f}× by the wall clock, "
            f"{inter['median_cpu_ratio']:.2f}× by CPU time (goal ≥ 1.3×).\n"
        )
    md = _write(args.out, cmd, sections, results)
    print(md)
    return 0


def _bb_section(rows: list[dict], budget: int) -> str:
    """The Balance Ball table and, per algorithm, the median agent steps to 100 (unreached runs count as the budget)."""
    lines = [
        f"| {r['algorithm']} | {r['seed']} | "
        f"{'not reached' if r['steps_to_100'] is None else format(r['steps_to_100'], ',')} | "
        f"{r['agent_steps']:,} | {r['seconds']} | {r['final_mean_reward']} |"
        for r in rows
    ]
    med = {}
    for alg in ("PPO", "SAC"):
        steps = [budget if r["steps_to_100"] is None else r["steps_to_100"] for r in rows if r["algorithm"] == alg]
        if steps:
            med[alg] = statistics.median(steps)
    summary = ", ".join(f"{alg} {v:,.0f}" for alg, v in med.items())
    if len(med) == 2:
        summary += f"; SAC / PPO: {med['SAC'] / med['PPO']:.2f}× (goal ≤ 0.5×)"
    return (
        f"### Balance Ball (12 agents) to mean reward 100, at most {budget:,} agent steps\n\n"
        f"SAC: defaults with {BB_SAC}; PPO: defaults.\n\n"
        "| algorithm | seed | agent steps to 100 | agent steps run | seconds | final mean reward |\n"
        "|---|---|---|---|---|---|\n" + "\n".join(lines) + f"\n\nMedian agent steps to 100: {summary}.\n"
    )


def _write(name: str, cmd: str, sections: list[str], results: dict) -> str:
    md = f"## SAC (issue 17.1)\n\nCommand: `{cmd}` (2 shared CPU cores, no GPU, torch 1 thread)\n\n" + "\n".join(
        sections
    )
    write_results(name, md, results)
    return md


if __name__ == "__main__":
    raise SystemExit(main())
