"""Run by test_gym_workers.py in a process of its own: gymnasium's AsyncVectorEnv over the scene's
factories (devtools.gym_spawn), first from a parent that never imports bpy, then from one that has
booted it. Its own process because multiprocessing's spawn starts a resource tracker that outlives
the vector env (the tests count the children they leave). Prints one JSON line."""

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gymnasium.vector import AsyncVectorEnv  # noqa: E402

from devtools.gym_spawn import scene_env_fns  # noqa: E402

STEPS = 60


def run(fns, context: str, n: int) -> np.ndarray:
    venv = AsyncVectorEnv(fns, context=context)
    try:
        assert venv.num_envs == n
        obs, _ = venv.reset()
        seen = [obs]
        for t in range(STEPS):
            obs, *_ = venv.step(np.full((n, 2), np.sin(t), dtype=np.float32))
            seen.append(obs)
        return np.stack(seen)
    finally:
        venv.close()


def main(blend: str) -> None:
    out = {"ends": 0}
    first = run(scene_env_fns(blend, "3DBall", 2, seed=3), "spawn", 2)
    out["bpy_free_parent"] = "bpy" not in sys.modules
    from devtools import boot

    boot.boot()
    import importlib

    gym = importlib.import_module(boot.MODULE + ".drivers.gym")
    again = run(scene_env_fns(blend, "3DBall", 1, seed=4), "forkserver", 1)
    reference = []
    for seed in (3, 4):  # each factory's env, in this process
        env = gym.make_env(blend, "3DBall", seed=seed)
        obs, _ = env.reset()
        seen, ended = [obs], False
        for t in range(STEPS):  # as AsyncVectorEnv's next-step autoreset: the step after an end resets
            if ended:
                obs, ended = env.reset()[0], False
            else:
                obs, _, term, trunc, _ = env.step(np.full(2, np.sin(t), dtype=np.float32))
                ended = term or trunc
                out["ends"] += int(ended)
            seen.append(obs)
        env.close()
        reference.append(np.stack(seen))
    out["shape"] = list(first.shape)
    out["spawn_matches"] = [bool(np.array_equal(first[:, i], reference[i])) for i in range(2)]
    out["forkserver_matches"] = bool(np.array_equal(again[:, 0], reference[1]))
    out["scenes_differ"] = not np.array_equal(first[:, 0], first[:, 1])
    print("RESULT " + json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
