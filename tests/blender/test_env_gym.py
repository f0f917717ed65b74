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


# -- autoreset modes ------------------------------------------------------------------------

S = importlib.import_module(M + ".core.specs")
A = importlib.import_module(M + ".env.academy")
Session = importlib.import_module(M + ".env.session").Session
END_AT = 4.5  # a walker's episode ends (terminated) once it has walked past this


def walkers(max_steps=(3, 6, 8), decision_period=1, objects=None):
    """Agents that walk along X by their action every frame; agent i's episode is cut after
    ``max_steps[i]`` decisions or ends once X > END_AT. Observation: X, Step, Episode; reward: X."""
    if objects is None:
        bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.academy.decision_period = decision_period
    brain = scene.academy.brains.add()
    brain.name, brain.brain_type = "B", "HEURISTIC"
    x = S.Property(S.SELF, "location", index=0)
    spec = S.Behaviour(
        observations=(x, S.StepInfo("STEP"), S.StepInfo("EPISODE")),
        actions=S.ContinuousActions(1, -10.0, 10.0),
        writes=(S.Write(S.SELF, "location", S.Action(0), index=0, mode="ADD"),),
        rewards=(S.Reward(x),),
        ends=(S.End(S.Compare("GREATER_THAN", x, S.as_expr(END_AT))),),
        heuristic=S.Const((1.0,)),
    )
    for i, steps in enumerate(max_steps):
        obj = objects[i] if objects else bpy.data.objects.new(f"A{i + 1}", None)
        if not objects:
            scene.collection.objects.link(obj)
        obj.location = (0.0, float(i), 0.0)
        settings = obj.academy_agent
        settings.enabled, settings.brain, settings.max_steps = True, "B", steps
        A.set_behaviour(obj, spec)
    return scene


class Walker:
    """What one agent of :func:`walkers` does, as a plain gymnasium env (the reference)."""

    def __new__(cls, max_steps: int):
        import gymnasium as gym

        class _Walker(gym.Env):
            observation_space = gym.spaces.Box(-np.inf, np.inf, (3,), np.float32)
            action_space = gym.spaces.Box(-10.0, 10.0, (1,), np.float32)

            def __init__(self):
                self.episodes = 0

            def _obs(self):
                return np.array([self.x, self.steps, self.episodes], np.float32)

            def reset(self, *, seed=None, options=None):
                super().reset(seed=seed)
                self.x, self.steps = np.float32(0.0), 0
                return self._obs(), {}

            def step(self, action):
                self.x = np.float32(self.x + np.float32(action[0]))
                self.steps += 1
                terminated = bool(self.x > END_AT)
                truncated = not terminated and self.steps >= max_steps
                obs = self._obs()
                self.episodes += terminated or truncated
                info = {"is_success": False} if terminated or truncated else {}
                return obs, float(self.x), terminated, truncated, info

        return _Walker()


def reference(max_steps, mode):
    from gymnasium.vector import SyncVectorEnv

    return SyncVectorEnv([lambda n=n: Walker(n) for n in max_steps], autoreset_mode=mode)


def actions(steps, n, seed=0):
    return np.random.default_rng(seed).uniform(0.5, 1.5, size=(steps, n, 1)).astype(np.float32)


def assert_same_infos(ours, theirs):
    assert sorted(ours) == sorted(theirs)
    for key, value in theirs.items():
        if key == "final_obs":
            for i in np.nonzero(theirs["_final_obs"])[0]:
                np.testing.assert_allclose(ours[key][i], value[i], atol=1e-5)
        elif key == "final_info":
            assert_same_infos(ours[key], value)
        else:
            np.testing.assert_array_equal(ours[key], value, err_msg=key)


@pytest.mark.parametrize("mode", ["NEXT_STEP", "SAME_STEP"])
def test_autoreset_matches_gymnasiums_sync_vector_env_step_for_step(mode):
    from gymnasium.vector import AutoresetMode

    mode = AutoresetMode[mode]
    max_steps = (3, 6, 8)
    venv = gym_mod.make_vector_env(walkers(max_steps), "B", autoreset_mode=mode)
    ref = reference(max_steps, mode)
    try:
        assert venv.metadata["autoreset_mode"] is mode
        ours, _ = venv.reset(seed=0)
        theirs, _ = ref.reset(seed=0)
        np.testing.assert_allclose(ours, theirs)
        ends = 0
        for a in actions(30, 3):
            ours = venv.step(a)
            theirs = ref.step(a)
            for got, want in zip(ours[:4], theirs[:4], strict=True):
                np.testing.assert_allclose(got, want, atol=1e-5)
            assert_same_infos(ours[4], theirs[4])
            ends += int((theirs[2] | theirs[3]).sum())
        assert ends >= 8  # truncations and terminations, several per agent
    finally:
        venv.close()
        ref.close()


def test_next_step_the_ended_agent_stands_still_then_resets():
    scene = walkers(max_steps=(2, 50), decision_period=3)
    venv = gym_mod.make_vector_env(scene, "B", autoreset_mode="NextStep")
    a1 = scene.objects["A1"]
    seen = []

    def record(scene, depsgraph=None):
        seen.append((scene.frame_current, round(a1.location.x, 4)))

    try:
        venv.reset(seed=0)
        step = np.full((2, 1), 0.5, dtype=np.float32)  # 0.5 per frame, 1.5 per decision
        obs, *_ = venv.step(step)
        obs, rew, term, trunc, _ = venv.step(step)
        assert trunc.tolist() == [True, False] and obs[0, 0] == pytest.approx(3.0)  # its last observation
        bpy.app.handlers.frame_change_post.append(record)
        try:
            obs, rew, term, trunc, _ = venv.step(np.full((2, 1), 5.0, dtype=np.float32))  # A1's action is ignored
        finally:
            bpy.app.handlers.frame_change_post.remove(record)
        assert [x for _, x in seen[:2]] == [3.0, 3.0]  # A1 waited: its actuator did not write
        np.testing.assert_allclose(obs[0], [0.0, 0.0, 1.0])  # then it was reset (its first observation)
        assert rew[0] == 0.0 and not term[0] and not trunc[0]
        assert obs[1, 0] == pytest.approx(18.0) and rew[1] == pytest.approx(18.0)  # A2 walked on
        obs, *_ = venv.step(step)
        assert obs[0, 0] == pytest.approx(1.5)  # and A1 walks again
    finally:
        venv.close()


def test_next_step_after_the_timeline_wraps_every_agent_waits_a_step(monkeypatch):
    monkeypatch.setattr(importlib.import_module(M + ".env.session"), "WRAP_FRAMES", 4)
    venv = gym_mod.make_vector_env(walkers(max_steps=(0, 0)), "B", autoreset_mode="NextStep")
    try:
        venv.reset(seed=0)
        one = np.ones((2, 1), dtype=np.float32)
        rows = [venv.step(one) for _ in range(6)]
        wrap = next(i for i, r in enumerate(rows) if r[3].any())
        obs, rew, term, trunc, _ = rows[wrap]
        assert trunc.all() and not term.any()
        np.testing.assert_allclose(obs[:, 0], rows[wrap - 1][0][:, 0])  # the last observation, unchanged
        obs, rew, term, trunc, _ = rows[wrap + 1]  # the step after: each agent resets, reward 0
        np.testing.assert_allclose(obs[:, :2], [[0.0, 0.0], [0.0, 0.0]])
        assert (rew == 0).all() and not (term | trunc).any()
        np.testing.assert_allclose(rows[wrap + 2][0][:, 0], [1.0, 1.0])
    finally:
        venv.close()


def test_session_next_step_reset_waits_one_decision_whatever_reset_on_done():
    scene = walkers(max_steps=(3, 50))
    scene.objects["A1"].academy_agent.reset_on_done = False  # next-step reset takes over the Academy reset
    session = Session(scene, training=False, steps=0, next_step_reset=["B"]).start()
    state = session.brain("B")
    xs = [state.last_obs[0, 0]]
    for _ in range(9):
        scene.frame_set(scene.frame_current + 1)
        xs.append(state.last_obs[0, 0])
    assert session.error is None
    session.finish()
    np.testing.assert_allclose(xs, [0, 1, 2, 3, 0, 1, 2, 3, 0, 1])  # ends at 3, waits, resets at the next
    with pytest.raises(A.AcademyError, match="Brain 'Nope' \\(next-step reset\\) is not running"):
        Session(scene, training=False, steps=0, next_step_reset=["Nope"])


def test_autoreset_mode_is_checked():
    from gymnasium.vector import AutoresetMode

    scene = walkers(max_steps=(3,))
    with pytest.raises(ValueError, match="autoreset_mode 'Sometimes'"):
        gym_mod.make_vector_env(scene, "B", autoreset_mode="Sometimes")
    with pytest.raises(AcademyError, match="DISABLED is not supported"):
        gym_mod.make_vector_env(scene, "B", autoreset_mode=AutoresetMode.DISABLED)
    assert importlib.import_module(M + ".env.sessions").active_sessions() == ()


def test_normalize_observation_and_other_vector_wrappers_match_the_reference_with_next_step():
    from gymnasium.vector import AutoresetMode
    from gymnasium.wrappers import vector as wv

    def wrap(env):
        env = wv.NormalizeObservation(wv.RecordEpisodeStatistics(env))
        return wv.ClipReward(wv.NormalizeReward(env), -5.0, 5.0)

    max_steps = (3, 6, 8)
    same_step = gym_mod.make_vector_env(walkers(max_steps), "B")
    try:  # why NEXT_STEP is needed: gymnasium 1.4 refuses same-step here
        with pytest.raises(ValueError, match="Expected autoreset_mode to be NEXT_STEP"):
            wv.NormalizeObservation(same_step)
    finally:
        same_step.close()
    import gymnasium

    ours = wrap(gymnasium.make_vec(gym_mod.ENV_ID, num_envs=3, brain="B", autoreset_mode=AutoresetMode.NEXT_STEP))
    theirs = wrap(reference(max_steps, AutoresetMode.NEXT_STEP))
    try:
        np.testing.assert_allclose(ours.reset(seed=0)[0], theirs.reset(seed=0)[0], atol=1e-5)
        episodes = 0
        for a in actions(30, 3, seed=1):
            got, want = ours.step(a), theirs.step(a)
            for g, w in zip(got[:4], want[:4], strict=True):
                np.testing.assert_allclose(g, w, atol=1e-4)
            if "episode" in want[4]:
                np.testing.assert_array_equal(got[4]["_episode"], want[4]["_episode"])
                done = want[4]["_episode"]
                np.testing.assert_allclose(got[4]["episode"]["r"][done], want[4]["episode"]["r"][done], atol=1e-4)
                np.testing.assert_array_equal(got[4]["episode"]["l"][done], want[4]["episode"]["l"][done])
                episodes += int(done.sum())
        assert episodes >= 8
        assert np.abs(got[0]).max() < 10 and np.abs(got[0]).std() > 0.1  # normalised, not constant
    finally:
        ours.close()
        theirs.close()


# -- render() from the scene camera ----------------------------------------------------------


def red_cube_stage(width=96, height=64, percentage=100, agents=1):
    """The factory cube, red, as a walker (and ``agents - 1`` empties walking behind it); the
    camera 12 units in front (-Y) looking along +Y."""
    import math

    scene = bpy.context.scene
    cube, cam = bpy.data.objects["Cube"], bpy.data.objects["Camera"]
    cube.color = (1.0, 0.0, 0.0, 1.0)
    cam.location, cam.rotation_euler = (0.0, -12.0, 0.0), (math.pi / 2, 0.0, 0.0)
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.resolution_percentage = percentage
    others = [bpy.data.objects.new(f"E{i}", None) for i in range(1, agents)]
    for obj in others:
        scene.collection.objects.link(obj)
    walkers(max_steps=(50,) * agents, objects=[cube, *others])
    cube.location.x = -3.0  # the designer's place: the walker starts on the left
    return scene


def red(frame: np.ndarray) -> np.ndarray:
    img = frame.astype(int)
    return (img[..., 0] > 100) & (img[..., 1] < 60) & (img[..., 2] < 60)


def test_render_gives_the_scene_cameras_view_and_follows_the_agent():
    env = gym_mod.make_env(red_cube_stage(), "B", render_mode="rgb_array")
    try:
        assert "rgb_array" in env.metadata["render_modes"] and env.render_mode == "rgb_array"
        env.reset(seed=0)
        first = env.render()
        assert first.shape == (64, 96, 3) and first.dtype == np.uint8
        assert 0.02 < red(first).mean() < 0.5  # the cube, in colour, on the background
        left = np.nonzero(red(first))[1].mean()
        assert left < 48  # the walker starts left of the centre
        for _ in range(3):
            env.step(np.array([1.0], dtype=np.float32))
        moved = env.render()
        assert np.nonzero(red(moved))[1].mean() > left + 10  # it walked right: so did its image
        assert red(moved).mean() == pytest.approx(red(first).mean(), rel=0.2)
    finally:
        env.close()


def test_render_size_follows_the_scene_resolution_within_the_limit():
    scene = red_cube_stage(width=64, height=48, percentage=50)
    assert gym_mod.render_size(scene) == (32, 24)
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 4000, 2000, 100
    assert gym_mod.render_size(scene) == (1024, 512)  # the camera sensor's limit, the aspect kept
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 64, 48, 50
    env = gym_mod.make_env(scene, "B", render_mode="rgb_array")
    try:
        env.reset(seed=0)
        assert env.render().shape == (24, 32, 3)
    finally:
        env.close()


def test_the_vector_env_renders_one_frame_per_agent_through_make_vec():
    import gymnasium

    red_cube_stage(agents=2)
    venv = gymnasium.make_vec(gym_mod.ENV_ID, num_envs=2, brain="B", render_mode="rgb_array", autoreset_mode="NextStep")
    try:
        assert venv.metadata["autoreset_mode"].name == "NEXT_STEP" and venv.render_mode == "rgb_array"
        venv.reset(seed=0)
        frames = venv.render()
        assert len(frames) == 2  # one scene, one camera: the same view for each sub-environment
        assert frames[0].shape == (64, 96, 3) and red(frames[0]).any()
        np.testing.assert_array_equal(frames[0], frames[1])
    finally:
        venv.close()
    plain = gym_mod.make_vector_env(bpy.context.scene, "B")
    try:
        plain.reset(seed=0)
        assert plain.render() is None  # no render mode, no frame (gymnasium's convention)
    finally:
        plain.close()


def test_rendering_a_scene_without_a_camera_is_refused_naming_the_scene():
    scene = walkers(max_steps=(5,))
    scene.name = "Stage"
    with pytest.raises(AcademyError, match="Scene 'Stage' has no camera to render from"):
        gym_mod.make_env(scene, "B", render_mode="rgb_array")
    with pytest.raises(AcademyError, match="Scene 'Stage' has no camera"):
        gym_mod.make_vector_env(scene, "B", render_mode="rgb_array")
    with pytest.raises(ValueError, match="render_mode 'human'"):
        gym_mod.make_env(scene, "B", render_mode="human")
    assert importlib.import_module(M + ".env.sessions").active_sessions() == ()
    gym_mod.make_env(scene, "B").close()  # without rendering it needs no camera


def test_the_render_env_passes_gymnasiums_checker_with_its_render_check():
    from gymnasium.utils.env_checker import check_env

    env = gym_mod.make_env(red_cube_stage(), "B", render_mode="rgb_array")
    try:
        check_env(env)  # render included
    finally:
        env.close()
