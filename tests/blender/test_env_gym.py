"""The scene as a gymnasium environment, and Stable-Baselines3 training on it."""

import importlib

import bpy
import numpy as np
import pytest

from devtools import boot

M = boot.MODULE
gym_mod = importlib.import_module(M + ".drivers.gym")
bb = importlib.import_module(M + ".examples.balance_ball")
AcademyError = importlib.import_module(M + ".env.academy").AcademyError

pytestmark = pytest.mark.lts


def balance_ball(agents=3):
    bpy.ops.wm.read_homefile(use_empty=True)
    return bb.build(bpy.context.scene, agents=agents)


def test_single_agent_env_passes_gymnasiums_checker():
    from gymnasium.utils.env_checker import check_env

    env = gym_mod.make_env(balance_ball(), "3DBall")
    try:
        check_env(env, skip_render_check=True)
        obs, _ = env.reset(seed=3)
        assert obs.shape == (8,) and obs.dtype == np.float32
        total, steps = 0.0, 0
        terminated = truncated = False
        while not (terminated or truncated):
            obs, reward, terminated, truncated, info = env.step(np.zeros(2, dtype=np.float32))
            total, steps = total + reward, steps + 1
        assert terminated and info["is_success"] is False  # with no tilting the ball rolls off
        assert total == pytest.approx(0.1 * (steps - 1) - 1.0)
    finally:
        env.close()


def test_reset_with_a_seed_is_deterministic():
    env = gym_mod.make_env(balance_ball(), "3DBall")
    try:
        a, _ = env.reset(seed=7)
        b, _ = env.reset(seed=7)
        c, _ = env.reset(seed=8)
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
    finally:
        env.close()


def test_closing_the_env_restores_the_scene():
    scene = balance_ball()
    bpy.context.view_layer.update()
    before = {o.name: tuple(o.matrix_world.translation) + tuple(o.rotation_euler) for o in scene.objects}
    env = gym_mod.make_env(scene, "3DBall")
    env.reset(seed=0)
    for _ in range(30):
        env.step(np.ones(2, dtype=np.float32))
    env.close()
    bpy.context.view_layer.update()
    after = {o.name: tuple(o.matrix_world.translation) + tuple(o.rotation_euler) for o in scene.objects}
    assert after.keys() == before.keys()
    for name, values in before.items():
        assert after[name] == pytest.approx(values, abs=1e-6), name


def test_vector_env_batches_every_agent_with_same_step_autoreset():
    venv = gym_mod.make_vector_env(balance_ball(agents=3), "3DBall")
    try:
        assert venv.num_envs == 3
        obs, _ = venv.reset(seed=1)
        assert obs.shape == (3, 8) and venv.action_space.shape == (3, 2)
        saw_final = False
        for _ in range(80):
            obs, rew, term, trunc, info = venv.step(np.zeros((3, 2), dtype=np.float32))
            assert obs.shape == (3, 8) and rew.shape == (3,)
            if term.any():
                saw_final = True
                i = int(np.nonzero(term)[0][0])
                assert info["_final_obs"][i] and info["final_obs"][i].shape == (8,)
                assert rew[i] == pytest.approx(-1.0)
                assert abs(info["final_obs"][i][4]) > 2.0 or np.abs(info["final_obs"][i][2:4]).max() > 3.0  # fell
                assert obs[i][4] == pytest.approx(4.0, abs=0.05)  # and is back on top in the same step
        assert saw_final
    finally:
        venv.close()


def test_stable_baselines3_trains_on_the_vector_env():
    sb3 = pytest.importorskip("stable_baselines3")
    import torch

    torch.set_num_threads(1)
    venv = gym_mod.make_sb3_vec_env(balance_ball(agents=4), "3DBall", seed=0)
    try:
        model = sb3.PPO("MlpPolicy", venv, n_steps=64, batch_size=64, n_epochs=2, seed=0, device="cpu")
        model.learn(total_timesteps=1024)
        assert model.num_timesteps >= 1024
        actions, _ = model.predict(venv.reset(), deterministic=True)
        assert actions.shape == (4, 2)
    finally:
        venv.close()


def test_vector_env_survives_the_timeline_wrapping_around(monkeypatch):
    session_mod = importlib.import_module(M + ".env.session")
    monkeypatch.setattr(session_mod, "WRAP_FRAMES", 20)
    scene = balance_ball(agents=2)
    scene.academy.max_steps = 0
    venv = gym_mod.make_vector_env(scene, "3DBall")
    try:
        venv.reset(seed=0)
        wrapped = False
        for _ in range(12):  # 5 frames per decision: the 20-frame wrap comes every 4 decisions
            obs, rew, term, trunc, info = venv.step(np.zeros((2, 2), dtype=np.float32))
            if trunc.all():
                wrapped = True
                assert info["final_obs"][0].shape == (8,)
        assert wrapped
    finally:
        venv.close()


def test_agents_that_wait_for_a_reset_are_refused_with_a_clear_message():
    scene = balance_ball(agents=2)
    scene.objects["Platform.001"].academy_agent.reset_on_done = False
    with pytest.raises(AcademyError, match="Agent 'Platform.001' has Reset on Done off"):
        gym_mod.make_vector_env(scene, "3DBall")
    assert importlib.import_module(M + ".env.sessions").active_sessions() == ()
    scene.objects["Platform.001"].academy_agent.reset_on_done = True
    gym_mod.make_vector_env(scene, "3DBall").close()


def test_registered_id_makes_the_env_and_the_vector_env():
    import gymnasium

    assert gym_mod.ENV_ID in gymnasium.registry
    balance_ball(agents=3)
    env = gymnasium.make(gym_mod.ENV_ID, brain="3DBall", agent="Platform.001")
    try:
        assert env.unwrapped.agent_name == "Platform.001"
        obs, _ = env.reset(seed=0)
        assert obs.shape == (8,)
    finally:
        env.close()
    venv = gymnasium.make_vec(gym_mod.ENV_ID, num_envs=3, brain="3DBall")
    try:
        assert venv.num_envs == 3
        obs, _ = venv.reset(seed=0)
        assert obs.shape == (3, 8)
    finally:
        venv.close()
    with pytest.raises(AcademyError, match="Brain '3DBall' has 3 agents.*num_envs=3"):
        gymnasium.make_vec(gym_mod.ENV_ID, num_envs=2, brain="3DBall")


def test_registered_id_opens_a_blend_path(tmp_path):
    import gymnasium

    balance_ball(agents=2)
    path = tmp_path / "ball.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    bpy.ops.wm.read_homefile(use_empty=True)
    venv = gymnasium.make_vec(gym_mod.ENV_ID, num_envs=2, blend_or_scene=str(path), brain="3DBall")
    try:
        assert venv.reset(seed=0)[0].shape == (2, 8)
    finally:
        venv.close()


def test_gymnasiums_vector_wrappers_accept_the_vector_env():
    from gymnasium.vector import AutoresetMode
    from gymnasium.wrappers.vector import RecordEpisodeStatistics

    venv = gym_mod.make_vector_env(balance_ball(agents=3), "3DBall")
    assert venv.metadata["autoreset_mode"] is AutoresetMode.SAME_STEP
    wrapped = RecordEpisodeStatistics(venv)  # NormalizeObservation refuses SAME_STEP (gymnasium 1.4)
    try:
        wrapped.reset(seed=2)
        episodes = 0
        for _ in range(80):
            obs, rew, term, trunc, info = wrapped.step(np.zeros((3, 2), dtype=np.float32))
            assert obs.shape == (3, 8) and np.isfinite(obs).all()
            done = term | trunc
            if done.any():
                assert np.array_equal(info["_final_info"], done)
                assert np.array_equal(info["final_info"]["_is_success"], done)
                assert np.array_equal(info["_episode"], done)
                i = int(np.nonzero(done)[0][0])
                assert info["episode"]["l"][i] >= 1
                assert info["episode"]["r"][i] == pytest.approx(0.1 * (info["episode"]["l"][i] - 1) - 1.0, abs=1e-4)
                episodes += int(done.sum())
        assert episodes >= 3
        assert len(wrapped.return_queue) == episodes
    finally:
        wrapped.close()
