"""Agent steps/s of the gymnasium vector envs on Balance Ball: in-process against whole scenes in 1 and 2
(or N) worker processes, and gymnasium's AsyncVectorEnv (one agent per process), one run each.

The same scene (12 agents), actions (uniform random, drawn before timing) and step count: the
in-process ``make_vector_env``, ``make_scene_vector_env`` with ``num_scenes`` 1 and N (N × 12
sub-environments), and ``AsyncVectorEnv(scene_env_fns(...))`` with N processes. Stepping is timed
after ``reset`` (the workers booted and the file open; startup is reported apart). No learning:
this is the env's cost, what an outside learner adds comes on top.

    .venv/bin/python bench/bench_gym_workers.py [--quick] [--steps N] [--scenes N]

``--scenes`` defaults to the machine's cores (at least 2). Writes bench/results/gym_workers.md and .json.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools import boot  # noqa: E402
from devtools.bench import write_results  # noqa: E402

AGENTS = 12


def _run(make, steps: int, seed: int = 0) -> dict:
    """Build the vector env, reset, and time ``steps`` steps of random actions."""
    start = time.perf_counter()
    venv = make()
    try:
        ready = time.perf_counter()
        venv.reset(seed=seed)
        actions = np.random.default_rng(seed).uniform(-1, 1, (steps, venv.num_envs, 2)).astype(np.float32)
        began = time.perf_counter()
        for a in actions:
            venv.step(a)
        took = time.perf_counter() - began
        n = venv.num_envs
    finally:
        venv.close()
    return {
        "sub_envs": n,
        "steps": steps,
        "agent_steps": steps * n,
        "startup_seconds": round(ready - start, 3),
        "step_seconds": round(took, 3),
        "agent_steps_per_second": round(steps * n / took, 1),
        "ms_per_step": round(took / steps * 1e3, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 vector steps instead of 2,000")
    parser.add_argument("--steps", type=int, help="vector steps per run")
    parser.add_argument("--scenes", type=int, default=max(2, os.cpu_count() or 2))
    args = parser.parse_args()
    steps = args.steps or (500 if args.quick else 2000)
    boot.boot()
    import bpy
    from gymnasium.vector import AsyncVectorEnv

    from devtools.gym_spawn import scene_env_fns

    gym = importlib.import_module(boot.MODULE + ".drivers.gym")
    gym_workers = importlib.import_module(boot.MODULE + ".drivers.gym_workers")
    bb = importlib.import_module(boot.MODULE + ".examples.balance_ball")
    n = args.scenes
    with tempfile.TemporaryDirectory() as tmp:
        blend = Path(tmp) / "balance_ball.blend"
        bpy.ops.wm.read_homefile(use_empty=True)
        bb.build(bpy.context.scene, agents=AGENTS)
        bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
        runs = {
            "in-process make_vector_env": _run(lambda: gym.make_vector_env(str(blend), "3DBall", seed=0), steps),
            "make_scene_vector_env, 1 scene": _run(
                lambda: gym_workers.make_scene_vector_env(blend, "3DBall", num_scenes=1, seed=0), steps
            ),
            f"make_scene_vector_env, {n} scenes": _run(
                lambda: gym_workers.make_scene_vector_env(blend, "3DBall", num_scenes=n, seed=0), steps
            ),
            f"AsyncVectorEnv(scene_env_fns), {n} processes, 1 agent each": _run(
                lambda: AsyncVectorEnv(scene_env_fns(blend, "3DBall", n, seed=0), context="forkserver"), steps
            ),
        }
    load = os.getloadavg()[0]  # other work on the machine: these rates are only comparable within one run
    base = runs["in-process make_vector_env"]["agent_steps_per_second"]
    table = "\n".join(
        f"| {label} | {r['sub_envs']} | {r['agent_steps']:,} | {r['startup_seconds']:.1f} | {r['ms_per_step']:.2f} "
        f"| {r['agent_steps_per_second']:,.0f} | {r['agent_steps_per_second'] / base:.2f}× |"
        for label, r in runs.items()
    )
    flags = (" --quick" if args.quick else "") + (f" --steps {args.steps}" if args.steps else "")
    flags += f" --scenes {args.scenes}" if args.scenes != max(2, os.cpu_count() or 2) else ""
    markdown = f"""## Gymnasium vector envs: whole scenes in worker processes (Balance Ball, {AGENTS} agents a scene)

`python bench/bench_gym_workers.py{flags}` on {os.cpu_count()} cores, shared with other work while
measuring (load average {load:.1f} at the end); one run each, {steps:,} vector steps of random actions after
`reset`, no learning (startup: building the env, the workers booting Blender and opening the file).

| vector env | sub-envs | agent steps | startup s | ms per step | agent steps/s | vs in-process |
|---|---|---|---|---|---|---|
{table}
"""
    md = write_results("gym_workers", markdown, {"steps": steps, "scenes": n, "load_average": load, "runs": runs})
    print(md.read_text())
    return 0


if __name__ == "__main__":
    boot.exit_process(main())
