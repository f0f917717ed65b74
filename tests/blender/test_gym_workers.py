"""Whole scenes in worker processes as gymnasium / SB3 vector envs (drivers/gym_workers.py), and the
scene's env in gymnasium's AsyncVectorEnv (devtools/gym_spawn.py)."""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import bpy
import numpy as np
import pytest
from test_workers import _children

from devtools import boot, gym_spawn

M = boot.MODULE
gym_mod = importlib.import_module(M + ".drivers.gym")
gym_workers = importlib.import_module(M + ".drivers.gym_workers")
worker_seed = importlib.import_module(M + ".drivers.worker").worker_seed
bb = importlib.import_module(M + ".examples.balance_ball")
AcademyError = importlib.import_module(M + ".env.academy").AcademyError

AGENTS = 3
SCENES = 2
STEPS = 120


@pytest.fixture(scope="module")
def blend(tmp_path_factory) -> Path:
    bpy.ops.wm.read_homefile(use_empty=True)
    bb.build(bpy.context.scene, agents=AGENTS)
    path = tmp_path_factory.mktemp("scenes") / "balance_ball.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
    return path


def _actions(steps: int, n: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(-1, 1, (steps, n, 2)).astype(np.float32)


def _trajectory(venv, actions, reset_seed=None) -> dict:
    """Every step's outputs (obs, rewards, ends, final observations, successes) as arrays."""
    obs, _ = venv.reset(seed=reset_seed)
    out = {"obs": [obs], "rew": [], "term": [], "trunc": [], "final": [], "success": []}
    for a in actions:
        obs, rew, term, trunc, info = venv.step(a)
        out["obs"].append(obs)
        out["rew"].append(rew)
        out["term"].append(term)
        out["trunc"].append(trunc)
        rows = info.get("_final_obs", np.zeros(len(rew), bool))
        out["final"].append(
            np.stack([info["final_obs"][i] if rows[i] else np.zeros_like(obs[i]) for i in range(len(rew))])
        )
        success = info.get("final_info", info).get("is_success", np.zeros(len(rew), bool))
        out["success"].append(np.asarray(success) & (term | trunc))
    return {k: np.stack(v) for k, v in out.items()}


@pytest.mark.parametrize("mode", ["SameStep", "NextStep"])
def test_two_scenes_in_workers_give_what_two_in_process_vector_envs_give(blend, mode):
    seed = 11
    actions = _actions(STEPS, SCENES * AGENTS)
    venv = gym_workers.make_scene_vector_env(blend, "3DBall", num_scenes=SCENES, seed=seed, autoreset_mode=mode)
    try:
        assert venv.num_envs == SCENES * AGENTS and venv.observation_space.shape == (SCENES * AGENTS, 8)
        assert venv.metadata["autoreset_mode"].value == mode
        assert sorted(_children()) == sorted(venv.worker_pids) and len(venv.worker_pids) == SCENES
        got = _trajectory(venv, actions)
        again = _trajectory(venv, actions[:20], reset_seed=5)  # reset(seed=s) reseeds scene k with worker_seed(s, k)
        per_scene, _ = venv.reset(seed=[worker_seed(5, k) for k in range(SCENES)])  # or takes one seed per scene
        np.testing.assert_array_equal(per_scene, again["obs"][0])
    finally:
        venv.close()
    assert _children() == []
    for k in range(SCENES):
        rows = slice(k * AGENTS, (k + 1) * AGENTS)
        ref = gym_mod.make_vector_env(str(blend), "3DBall", seed=worker_seed(seed, k), autoreset_mode=mode)
        try:
            want = _trajectory(ref, actions[:, rows])
            want_again = _trajectory(ref, actions[:20, rows], reset_seed=worker_seed(5, k))
        finally:
            ref.close()
        for key, value in want.items():
            np.testing.assert_array_equal(got[key][:, rows], value, err_msg=f"scene {k}: {key}")
        for key, value in want_again.items():
            np.testing.assert_array_equal(again[key][:, rows], value, err_msg=f"scene {k} after reset(seed): {key}")
    assert got["term"].sum() >= 2  # episodes ended (and were reset) on the way
    assert not np.array_equal(got["obs"][:, :AGENTS], got["obs"][:, AGENTS:])  # each scene its own seed


def test_a_scene_worker_dead_once_too_often_is_named_and_closing_ends_the_others(blend, monkeypatch):
    monkeypatch.setattr(importlib.import_module(M + ".drivers.workers"), "REPLACEMENTS_PER_WORKER", 0)
    venv = gym_workers.make_scene_vector_env(blend, "3DBall", num_scenes=SCENES, seed=1)
    try:
        venv.reset()
        venv.step(np.zeros((SCENES * AGENTS, 2), np.float32))
        victim = venv.worker_pids[1]
        os.kill(victim, signal.SIGKILL)
        with pytest.raises(AcademyError, match=rf"Scene worker 1 \(process {victim}\) ended unexpectedly"):
            venv.step(np.zeros((SCENES * AGENTS, 2), np.float32))
    finally:
        venv.close()
    assert _children() == []


@pytest.mark.parametrize("mode", ["SameStep", "NextStep"])
def test_a_killed_scene_worker_is_replaced_its_agents_reset_and_the_env_goes_on(blend, mode):
    seed, n = 4, SCENES * AGENTS
    actions = _actions(12, n)
    rows, others = slice(AGENTS, 2 * AGENTS), slice(0, AGENTS)
    venv = gym_workers.make_scene_vector_env(blend, "3DBall", num_scenes=SCENES, seed=seed, autoreset_mode=mode)
    try:
        obs, _ = venv.reset()
        for a in actions[:3]:
            obs, *_ = venv.step(a)
        victim = venv.worker_pids[1]
        os.kill(victim, signal.SIGKILL)
        after, rew, term, trunc, info = venv.step(actions[3])
        assert venv.workers_replaced == 1 and venv.worker_pids[1] != victim
        assert sorted(_children()) == sorted(venv.worker_pids)
        np.testing.assert_array_equal(info["worker_replaced"], np.arange(n) // AGENTS == 1)
        np.testing.assert_array_equal(info["_worker_replaced"], info["worker_replaced"])
        assert trunc[rows].all() and not term[rows].any() and (rew[rows] == 0).all()
        assert not trunc[others].any()  # the other scene stepped as usual
        # the new scene: reset with a seed of its own, as an in-process env with that seed resets
        ref = gym_mod.make_vector_env(str(blend), "3DBall", seed=worker_seed(seed, 1 + SCENES))
        try:
            fresh, _ = ref.reset(seed=worker_seed(seed, 1 + SCENES))
        finally:
            ref.close()
        if mode == "SameStep":
            np.testing.assert_array_equal(np.stack(list(info["final_obs"][rows])), obs[rows])  # the last seen
            np.testing.assert_array_equal(after[rows], fresh)
            assert not info["final_info"]["is_success"][rows].any()
        else:
            np.testing.assert_array_equal(after[rows], obs[rows])  # the last seen, then the fresh scene
            after, rew, term, trunc, info = venv.step(actions[4])
            np.testing.assert_array_equal(after[rows], fresh)
            assert (rew[rows] == 0).all() and not (term | trunc)[rows].any() and "worker_replaced" not in info
        for a in actions[5:]:  # and it goes on
            after, rew, term, trunc, info = venv.step(a)
        assert not np.array_equal(after[rows], fresh)
    finally:
        venv.close()
    assert _children() == []


def test_render_gives_each_scene_its_own_camera_view(tmp_path):
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bb.build(bpy.context.scene, agents=AGENTS)
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 64, 48, 100
    path = tmp_path / "small.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
    plain = gym_workers.make_scene_vector_env(path, "3DBall", num_scenes=1, seed=2)
    try:
        plain.reset()
        assert plain.render() is None  # no render mode, no frame (gymnasium's convention)
    finally:
        plain.close()
    venv = gym_workers.make_scene_vector_env(path, "3DBall", num_scenes=SCENES, seed=2, render_mode="rgb_array")
    try:
        assert venv.render_mode == "rgb_array" and "rgb_array" in venv.metadata["render_modes"]
        venv.reset()
        for a in _actions(15, SCENES * AGENTS):
            venv.step(a)
        frames = venv.render()
        assert len(frames) == SCENES * AGENTS and frames[0].shape == (48, 64, 3) and frames[0].dtype == np.uint8
        np.testing.assert_array_equal(frames[0], frames[AGENTS - 1])  # a scene's agents share its camera
        assert not np.array_equal(frames[0], frames[AGENTS])  # each scene its own (seeds differ)
    finally:
        venv.close()
    assert _children() == []
    ref = gym_mod.make_vector_env(str(path), "3DBall", seed=worker_seed(2, 0), render_mode="rgb_array")
    try:
        ref.reset()
        for a in _actions(15, SCENES * AGENTS)[:, :AGENTS]:
            ref.step(a)
        np.testing.assert_array_equal(ref.render()[0], frames[0])  # what the scene gives in-process
    finally:
        ref.close()
    with pytest.raises(ValueError, match="rgb_array"):
        gym_workers.make_scene_vector_env(path, "3DBall", num_scenes=1, render_mode="human")


def test_a_worker_that_cannot_run_the_scene_says_why(blend):
    with pytest.raises(AcademyError, match=r"Scene worker 0 \(process \d+\) .*Brain"):
        gym_workers.make_scene_vector_env(blend, "No Such Brain", num_scenes=1)
    assert _children() == []
    with pytest.raises(AcademyError, match="No .blend file"):
        gym_workers.make_scene_vector_env(blend.parent / "missing.blend", "3DBall", num_scenes=1)


def test_sb3_ppo_learns_on_whole_scenes_in_workers():
    from stable_baselines3 import PPO

    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bb.build(bpy.context.scene, agents=AGENTS)  # a Scene: the workers open a saved copy
    venv = gym_workers.make_sb3_scene_vec_env(scene, "3DBall", num_scenes=SCENES, seed=2)
    try:
        assert venv.num_envs == SCENES * AGENTS
        model = PPO("MlpPolicy", venv, n_steps=32, batch_size=48, n_epochs=1, seed=0, device="cpu")
        model.learn(total_timesteps=32 * SCENES * AGENTS * 2)
        assert model.num_timesteps == 32 * SCENES * AGENTS * 2
        obs = venv.reset()
        _, _, dones, infos = venv.step(np.ones((SCENES * AGENTS, 2), np.float32))
        assert obs.shape == (SCENES * AGENTS, 8) and dones.shape == (SCENES * AGENTS,)
        for _ in range(80):  # tilting hard, every ball rolls off: each end carries its last observation
            _, _, dones, infos = venv.step(np.ones((SCENES * AGENTS, 2), np.float32))
            for i in np.nonzero(dones)[0]:
                assert infos[i]["terminal_observation"].shape == (8,) and infos[i]["is_success"] is False
    finally:
        venv.close()
    assert _children() == []


def test_gymnasiums_async_vector_env_runs_the_scene_with_or_without_bpy_in_the_parent(blend):
    # in a process of its own: spawn's resource tracker would outlive the env in this one
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("async_scene_env.py")), str(blend)],
        capture_output=True,
        text=True,
        timeout=600,
        env={k: v for k, v in os.environ.items() if k != "BLENDER_USER_RESOURCES"},
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-2000:]
    result = json.loads(lines[-1][len("RESULT ") :])
    assert result["bpy_free_parent"] is True  # the parent built and stepped the vector env without bpy
    assert result["shape"] == [61, 2, 8] and result["scenes_differ"] and result["ends"] >= 1
    assert result["spawn_matches"] == [True, True] and result["forkserver_matches"] is True


def test_factories_pickle_without_bpy_and_the_shadowing_folders_go():
    import pickle

    fns = gym_workers.scene_env_fns("/x.blend", "B", n=2, seed=7, agents=["a", "b"])
    assert [f.kwargs["seed"] for f in fns] == [7, 8] and [f.kwargs["agent"] for f in fns] == ["a", "b"]
    code = (
        "import pickle, sys; f = pickle.loads(sys.stdin.buffer.read()); print(f.kwargs['agent'], 'bpy' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=pickle.dumps(fns[1]), capture_output=True, check=True, timeout=60
    ).stdout
    assert out.split() == [b"b", b"False"]
    # the folders `import bpy` put first on sys.path hold the Python half of bpy, which needs `_bpy`
    shadowing = [p for p in sys.path if (Path(p) / "bpy" / "__init__.py").is_file()]
    assert shadowing, sys.path
    saved = list(sys.path)
    bpy_module = sys.modules.pop("bpy")
    try:
        removed = gym_spawn.unshadow_bpy()
        compiled = [p for p in saved if list((Path(p) / "bpy").glob("__init__*.so"))]  # site-packages stays
        assert set(shadowing) <= set(removed) and compiled and not set(removed) & set(compiled)
    finally:
        sys.modules["bpy"] = bpy_module
        sys.path[:] = saved


def test_spaces_travel_as_json_and_arrays():
    from gymnasium import spaces as gs

    space = gs.Dict(
        {
            "v": gs.Box(np.array([-1, 0], np.float32), np.array([1, 2], np.float32)),
            "img": gs.Box(0, 255, (4, 4, 3), np.uint8),
            "d": gs.Discrete(5, start=1),
            "m": gs.MultiDiscrete([3, 2]),
        }
    )
    desc, arrays = gym_workers.space_message(space)
    desc = json.loads(json.dumps(desc))
    assert gym_workers.space_from(desc, arrays) == space
    with pytest.raises(TypeError):
        gym_workers.space_message(gs.Text(5))
