"""Seeded fingerprints of learning, stepping and baking, to show a refactoring changed no behaviour.

Each case builds an example scene, runs it with a fixed seed and records hashes of what came out
(the stored model's arrays, the last observations, a vector env's transitions, a bake's keys) plus
the few numbers a designer sees (steps, updates, episodes, the curve). ``tests/blender/
test_fingerprint.py`` runs this in a fresh interpreter (``ATEN_CPU_CAPABILITY=default``, one torch
thread) and compares with ``tests/blender/data/fingerprint.json``.

The hashes are exact only on the kind of CPU that recorded them: even with torch's portable
kernels, another CPU model gives other last bits (an Intel Xeon and an AMD EPYC, both AVX-512,
trained different weights from the same seed), so the file keeps one entry per CPU model
(:func:`machine`). On a CPU it has no entry for, the test compares what does not depend on the
last bits (:func:`close`): the counts exactly, the curve and the mean reward within a tolerance.

    .venv/bin/python devtools/fingerprint.py [--write]     # print (or store, for this CPU) the fingerprint

Every training case (a–d) depends on the default values of whatever the example does not set
(hyper-parameters, agent and Academy settings), so a change of defaults means ``--write`` again;
(e) and (f) depend only on the Balance Ball example's settings (no learner runs).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "blender" / "data" / "fingerprint.json"


#: fingerprint entries that hold on any CPU (the rest are hashes of floats, exact only on one CPU model)
COUNTS = ("agent_steps", "episodes", "total_steps", "num_updates", "episodes_ended", "count")
CLOSE = ("curve", "mean_reward", "max_error")
TOLERANCE = (0.05, 0.05)  # (relative, absolute): the same seed on another CPU learns the same, nearly


def machine() -> str:
    """This CPU's model name (the key of its entry in the stored fingerprints)."""
    import platform

    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or platform.machine()


def close(measured, stored, path: str = "") -> list[str]:
    """Where two fingerprints differ in what holds on any CPU (empty: they agree).

    Counts must be equal, curves and means within :data:`TOLERANCE`; hashes are not compared.
    """
    import math

    if isinstance(stored, dict) and isinstance(measured, dict):
        out = [f"{path}/{k}: missing" for k in stored.keys() - measured.keys()]
        out += [f"{path}/{k}: unexpected" for k in measured.keys() - stored.keys()]
        for k in sorted(stored.keys() & measured.keys()):
            if k in COUNTS or k in CLOSE or isinstance(stored[k], dict):
                out += close(measured[k], stored[k], f"{path}/{k}")
        return out
    if isinstance(stored, list) and isinstance(measured, list):
        if len(stored) != len(measured):
            return [f"{path}: {len(measured)} values, stored {len(stored)}"]
        return [e for i, (m, s) in enumerate(zip(measured, stored, strict=True)) for e in close(m, s, f"{path}[{i}]")]
    if isinstance(stored, float) or isinstance(measured, float):
        rel, abs_ = TOLERANCE
        ok = math.isclose(float(measured), float(stored), rel_tol=rel, abs_tol=abs_)
        return [] if ok else [f"{path}: {measured}, stored {stored}"]
    return [] if measured == stored else [f"{path}: {measured}, stored {stored}"]


def _mod(name: str):
    """The add-on's module ``name`` (the add-on is registered as ``bl_ext.academy_dev.agent_academy``)."""
    from importlib import import_module

    from devtools import boot

    return import_module(f"{boot.MODULE}.{name}")


def _hash_arrays(arrays: dict) -> str:
    import numpy as np

    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def _hash_json(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _obs_arrays(obs) -> dict:
    return dict(obs) if isinstance(obs, dict) else {"vector": obs}


def _model(brain) -> dict:
    """Hash of a Brain's stored model and the counters in its header."""
    persistence, store = _mod("training.persistence"), _mod("env.brain_store")
    header, arrays = persistence.unpack_state(store.stored_state(brain))
    return {
        "model": _hash_arrays(arrays),
        "total_steps": int(header.get("total_steps", -1)),
        "num_updates": int(header.get("num_updates", -1)),
        "learner_episodes": hashlib.sha256(json.dumps(header.get("episodes"), sort_keys=True).encode()).hexdigest()[
            :16
        ],
        "header": hashlib.sha256(json.dumps(header, sort_keys=True, default=str).encode()).hexdigest()[:16],
    }


def _curve(brain) -> list[float]:
    return [round(float(v), 6) for v in brain.get("academy_curve", ())]


def _train(scene, steps: int, seed: int = 0, curve: bool = True) -> dict:
    session_mod = _mod("env.session")
    session = session_mod.Session(scene, training=True, steps=steps, seed=seed)
    session.start()
    session.run(interval_s=0.25)
    session.finish(store=True)
    out = {"agent_steps": session.agent_steps, "episodes": session.episodes, "brains": {}}
    for name in session.brains:
        state = session.brain(name)
        brain = scene.academy.brains[name]
        entry = {"last_obs": _hash_arrays(_obs_arrays(state.last_obs))}
        if brain.brain_type == "TRAINING":
            entry |= _model(brain)
            if curve:
                entry["curve"] = _curve(brain)
            entry["mean_reward"] = round(float(brain.mean_reward), 6)
        out["brains"][name] = entry
    return out


def _fresh():
    import bpy

    bpy.ops.wm.read_homefile(use_empty=True)
    return bpy.context.scene


def case_balance_ball() -> dict:
    """(a) Balance Ball, PPO, 3,000 agent steps, seed 0."""
    bb = _mod("examples.balance_ball")

    return _train(bb.build(_fresh(), agents=6), 3000)


def case_grid_world() -> dict:
    """(b) Grid World, DQN, 2,000 agent steps."""
    gw = _mod("examples.grid_world")

    return _train(gw.build(_fresh(), agents=4), 2000)


def case_evacuation() -> dict:
    """(c) Evacuation, PPO: resets, randomisation, Reset on Done."""
    ev = _mod("examples.evacuation")

    return _train(ev.build(_fresh(), agents=4), 1500)


def case_training_and_heuristic() -> dict:
    """(d) A Training Brain beside a Heuristic one (Balance Ball: 4 platforms learn, 4 balance by rule).

    The issue's measurement: the Training Brain's stored mean reward was the Academy-wide one (the
    Heuristic Brain's episodes mixed in); it must be the Brain's own.
    """
    bb = _mod("examples.balance_ball")

    scene = bb.build(_fresh(), agents=8)
    scene.academy.max_steps = 50  # the rule balances for ever: its episodes end here
    heuristic = scene.academy.brains.add()
    heuristic.name, heuristic.brain_type = "Rule", "HEURISTIC"
    for i in range(4, 8):
        scene.objects[f"Platform.{i:03d}"].academy_agent.brain = "Rule"
    return _train(scene, 3000, curve=False)  # the stored curve becomes the Brain's own too


def case_vector_env() -> dict:
    """(e) ``make_vector_env`` on Balance Ball with a seeded action sequence."""
    import numpy as np

    bb, gym_mod = _mod("examples.balance_ball"), _mod("drivers.gym")
    scene = bb.build(_fresh(), agents=4)
    env = gym_mod.make_vector_env(scene, seed=0)
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=0)
    parts = {"obs0": obs}
    try:
        for t in range(150):
            actions = rng.uniform(-1.0, 1.0, size=env.action_space.shape).astype(np.float32)
            obs, rew, term, trunc, _info = env.step(actions)
            parts[f"{t:03d}"] = np.concatenate([np.ravel(obs), rew, term, trunc]).astype(np.float64)
    finally:
        env.close()
    return {
        "transitions": _hash_arrays(parts),
        "episodes_ended": int(sum(p[-8:].sum() for k, p in parts.items() if k != "obs0")),
    }


def case_bake() -> dict:
    """(f) A 100-frame bake of a Heuristic Balance Ball (the keys written and the replay's error)."""
    import bpy
    import numpy as np

    bb, bake_mod, compat = _mod("examples.balance_ball"), _mod("bake"), _mod("compat")
    scene = bb.build(_fresh(), agents=2)
    scene.academy.brains[0].brain_type = "HEURISTIC"
    result = bake_mod.bake(scene, scene.academy.brains[0].name, frame_start=1, frame_end=100, seed=0)
    info = next(t for t in bake_mod.takes(scene) if t.name == result.take)
    action = bpy.data.actions[info.action]
    keys = {}
    for slot in action.slots:
        for fc in compat.action_fcurves(action, slot):
            co = np.zeros(2 * len(fc.keyframe_points), dtype=np.float32)
            fc.keyframe_points.foreach_get("co", co)
            keys[f"{slot.name_display}|{fc.data_path}|{fc.array_index}"] = co
    return {"keys": _hash_arrays(keys), "count": result.keys, "max_error": round(float(result.max_error), 6)}


CASES = {
    "a_balance_ball": case_balance_ball,
    "b_grid_world": case_grid_world,
    "c_evacuation": case_evacuation,
    "d_training_and_heuristic": case_training_and_heuristic,
    "e_vector_env": case_vector_env,
    "f_bake": case_bake,
}


def fingerprint() -> dict:
    """Run every case in this process (call :func:`run` for the pinned, fresh-interpreter version)."""
    for path in (ROOT,):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    from devtools import boot

    boot.boot()
    import torch

    torch.set_num_threads(1)
    return {name: case() for name, case in CASES.items()}


def run() -> dict:
    """The fingerprint from a fresh interpreter with torch pinned to its portable kernels and one thread."""
    import subprocess

    env = dict(os.environ, ATEN_CPU_CAPABILITY="default", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve())], capture_output=True, text=True, env=env, timeout=600
    )
    if proc.returncode != 0:
        raise RuntimeError(f"fingerprint failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    if "--write" in sys.argv:
        DATA.parent.mkdir(parents=True, exist_ok=True)
        stored = json.loads(DATA.read_text()) if DATA.exists() else {}
        stored[machine()] = run()  # the other CPUs' entries stay as recorded
        DATA.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
        print(DATA, "for", machine())
    else:
        print(json.dumps(fingerprint(), sort_keys=True))
