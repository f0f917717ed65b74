"""The scene as a PettingZoo ParallelEnv over several Brains (issue 15.4)."""

import importlib
import importlib.util
import sys
import warnings

import bpy
import numpy as np
import pytest

from devtools import boot

M = boot.MODULE
S = importlib.import_module(M + ".core.specs")
A = importlib.import_module(M + ".env.academy")
gym_mod = importlib.import_module(M + ".drivers.gym")
pz_mod = importlib.import_module(M + ".drivers.pettingzoo")
sessions = importlib.import_module(M + ".env.sessions")
Session = importlib.import_module(M + ".env.session").Session
seek_scene = importlib.import_module("seek_scene")

pytestmark = pytest.mark.lts

needs_pettingzoo = pytest.mark.skipif(
    importlib.util.find_spec("pettingzoo") is None,
    reason="pettingzoo is not installed (pip install -c constraints.txt pettingzoo)",
)

END_AT = 4.5  # a walker's episode ends (terminated) once it has walked past this


def add_walkers(scene, max_steps, brain="Walk", first=1):
    """Agents on Brain ``brain`` that walk along X by their (continuous) action every frame; agent i's
    episode is cut after ``max_steps[i]`` decisions or ends once X > END_AT. Observation: X, Step;
    reward: X. No randomness."""
    b = scene.academy.brains.add()
    b.name, b.brain_type = brain, "HEURISTIC"
    x = S.Property(S.SELF, "location", index=0)
    spec = S.Behaviour(
        observations=(x, S.StepInfo("STEP")),
        actions=S.ContinuousActions(1, -10.0, 10.0),
        writes=(S.Write(S.SELF, "location", S.Action(0), index=0, mode="ADD"),),
        rewards=(S.Reward(x),),
        ends=(S.End(S.Compare("GREATER_THAN", x, S.as_expr(END_AT))),),
        heuristic=S.Const((1.0,)),
    )
    out = []
    for i, steps in enumerate(max_steps):
        obj = bpy.data.objects.new(f"A{first + i}", None)
        scene.collection.objects.link(obj)
        obj.location = (0.0, 100.0 + i, 0.0)
        settings = obj.academy_agent
        settings.enabled, settings.brain, settings.max_steps = True, brain, steps
        A.set_behaviour(obj, spec)
        out.append(obj)
    return out


def two_brains(walk_steps=(3, 6), seek_steps=(5, 9)):
    """Seek (discrete actions, a random target at every reset) and Walk (continuous), on one scene.

    Decision period 1; the agents' episodes have different lengths so they end at different steps."""
    scene = seek_scene.build(agents=len(seek_steps), algorithm="PPO", seed=3)
    scene.academy.decision_period = 1
    for i, steps in enumerate(seek_steps):
        scene.objects[f"Walker.{i:03d}"].academy_agent.max_steps = steps
    add_walkers(scene, walk_steps)
    return scene


def walkers_only(max_steps=(2, 5)):
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.academy.decision_period = 1
    add_walkers(scene, max_steps)
    return scene


@needs_pettingzoo
def test_passes_pettingzoos_parallel_api_test_over_two_brains():
    from pettingzoo.test import parallel_api_test

    env = pz_mod.parallel_env(two_brains(), seed=0)
    try:
        assert env.possible_agents == ["Walker.000", "Walker.001", "A1", "A2"]
        assert env.brains == {"Walker.000": "Seek", "Walker.001": "Seek", "A1": "Walk", "A2": "Walk"}
        assert env.action_space("Walker.000").n == 5 and env.action_space("A1").shape == (1,)
        assert env.observation_space("Walker.000").shape == (3,) and env.observation_space("A2").shape == (2,)
        assert env.action_space("A1") is not env.action_space("A2")  # seeding one leaves the other alone
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # its warnings (keys missing or extra, agents revived) fail the test
            parallel_api_test(env, num_cycles=40)
    finally:
        env.close()
    assert sessions.active_sessions() == ()


@needs_pettingzoo
def test_the_aec_conversion_passes_pettingzoos_api_test():
    from pettingzoo.test import api_test
    from pettingzoo.utils.conversions import parallel_to_aec

    env = parallel_to_aec(pz_mod.parallel_env(two_brains(), seed=0))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            api_test(env, num_cycles=30)
    finally:
        env.close()
    # its advice on names, unbounded observations and agents of different shapes: this scene's nature
    advice = ("named in the format", "is -infinity", "is infinity", "different observation space", "different shapes")
    advice += ("all zeros",)
    others = [str(w.message) for w in caught if not any(a in str(w.message) for a in advice)]
    assert others == []


def _pz_rollout(scene, brains, seed, actions_for, steps):
    """Per agent: the observations (reset first) and rewards until its episode ends, from the PettingZoo env."""
    env = pz_mod.parallel_env(scene, brains=brains, seed=seed)
    try:
        obs, _ = env.reset(seed=seed)
        seen = {a: [obs[a]] for a in env.agents}
        rewards = {a: [] for a in env.agents}
        for t in range(steps):
            if not env.agents:
                break
            obs, rew, term, trunc, _ = env.step({a: actions_for(a, t) for a in env.agents})
            for a in rew:
                seen[a].append(obs[a])
                rewards[a].append(rew[a])
        return seen, rewards
    finally:
        env.close()


def _gym_rollout(scene, brain, seed, actions_for, steps):
    """The same from gymnasium's vector env over one Brain, each agent until its first episode ends."""
    venv = gym_mod.make_vector_env(scene, brain, seed=seed)
    try:
        agents = list(venv._driver.session.brain(brain).agents)
        obs, _ = venv.reset(seed=seed)
        seen = {a: [obs[i]] for i, a in enumerate(agents)}
        rewards = {a: [] for a in agents}
        live = set(agents)
        for t in range(steps):
            batch = np.stack([np.asarray(actions_for(a, t)) for a in agents])
            obs, rew, term, trunc, info = venv.step(batch)
            for i, a in enumerate(agents):
                if a in live:
                    done = term[i] or trunc[i]
                    seen[a].append(info["final_obs"][i] if done else obs[i])
                    rewards[a].append(rew[i])
                    if done:
                        live.discard(a)
        return seen, rewards
    finally:
        venv.close()


@needs_pettingzoo
def test_observations_and_rewards_equal_the_gym_vector_env_of_each_brain():
    scene = two_brains()
    rng = np.random.default_rng(5)
    table = {(a, t): rng.integers(0, 5) for a in ("Walker.000", "Walker.001") for t in range(20)}
    table |= {(a, t): rng.uniform(0.2, 1.2, size=1).astype(np.float32) for a in ("A1", "A2") for t in range(20)}

    def act(agent, t):
        return table[agent, t]

    both_obs, both_rew = _pz_rollout(scene, None, 11, act, 20)
    for brain in ("Seek", "Walk"):
        want_obs, want_rew = _gym_rollout(scene, brain, 11, act, 20)
        for agent, rewards in want_rew.items():
            assert len(both_rew[agent]) == len(rewards) >= 2, agent  # the same episode length
            np.testing.assert_allclose(both_rew[agent], rewards, atol=1e-6, err_msg=agent)
            np.testing.assert_allclose(np.stack(both_obs[agent]), np.stack(want_obs[agent]), atol=1e-6, err_msg=agent)
    # the Seek targets are drawn at random: another seed gives other observations
    other_obs, _ = _pz_rollout(scene, ["Seek"], 12, act, 1)
    assert not np.allclose(other_obs["Walker.000"][0], both_obs["Walker.000"][0])


@needs_pettingzoo
def test_a_done_agent_leaves_agents_and_waits_until_reset():
    scene = walkers_only(max_steps=(2, 4))
    a1, a2 = scene.objects["A1"], scene.objects["A2"]
    env = pz_mod.parallel_env(scene)
    one = np.ones(1, dtype=np.float32)
    try:
        obs, infos = env.reset(seed=0)
        assert env.agents == ["A1", "A2"] and infos == {"A1": {}, "A2": {}}
        env.step({"A1": one, "A2": one})
        obs, rew, term, trunc, info = env.step({"A1": one, "A2": one})
        assert trunc == {"A1": True, "A2": False} and term == {"A1": False, "A2": False}
        assert info["A1"] == {"is_success": False} and info["A2"] == {}
        np.testing.assert_allclose(obs["A1"], [2.0, 2.0])  # its last observation, not a reset one
        assert env.agents == ["A2"]
        with pytest.raises(A.AcademyError, match="Agent 'A1''s episode has ended"):
            env.step({"A1": one, "A2": one})
        with pytest.raises(A.AcademyError, match="No action for agent 'A2'"):
            env.step({})
        with pytest.raises(A.AcademyError, match="'Nobody' is not an agent"):
            env.step({"A2": one, "Nobody": one})
        with pytest.raises(A.AcademyError, match="Agent 'A2': action .* does not fit"):
            env.step({"A2": np.ones(3)})
        for _ in range(2):
            obs, rew, term, trunc, info = env.step({"A2": one})
            assert set(obs) == {"A2"} and a1.location.x == pytest.approx(2.0)  # A1 waits: no reset, no walking
        assert trunc == {"A2": True} and env.agents == []
        np.testing.assert_allclose(obs["A2"], [4.0, 4.0])
        assert a2.location.x == pytest.approx(4.0)  # the scene shows how the episode ended until reset()
        with pytest.raises(A.AcademyError, match="call reset"):
            env.step({})
        obs, _ = env.reset()
        assert env.agents == ["A1", "A2"]
        np.testing.assert_allclose(obs["A1"], [0.0, 0.0])
        np.testing.assert_allclose(obs["A2"], [0.0, 0.0])
    finally:
        env.close()
    assert a1.location.x == 0.0 and a2.location.x == 0.0  # the scene is restored


@needs_pettingzoo
def test_reset_on_done_does_not_reset_an_agent_and_the_gym_envs_still_refuse_waiting():
    scene = walkers_only(max_steps=(1, 4))
    assert scene.objects["A1"].academy_agent.reset_on_done  # the PettingZoo env makes it wait all the same
    env = pz_mod.parallel_env(scene)
    try:
        env.reset(seed=0)
        _, _, _, trunc, _ = env.step({"A1": np.ones(1), "A2": np.ones(1)})
        assert trunc["A1"] and env.agents == ["A2"]
        env.step({"A2": np.ones(1)})
        assert env._session.brain("Walk").waiting.tolist() == [True, False]
    finally:
        env.close()
    scene.objects["A1"].academy_agent.reset_on_done = False
    with pytest.raises(A.AcademyError, match="Agent 'A1' has Reset on Done off"):
        gym_mod.make_vector_env(scene, "Walk")


@needs_pettingzoo
def test_an_agent_that_terminates_leaves_too():
    scene = walkers_only(max_steps=(0, 0))
    env = pz_mod.parallel_env(scene)
    try:
        env.reset(seed=0)
        obs, rew, term, trunc, _ = env.step({"A1": np.full(1, 5.0), "A2": np.full(1, 1.0)})
        assert term == {"A1": True, "A2": False} and not any(trunc.values())
        assert rew["A1"] == pytest.approx(5.0) and env.agents == ["A2"]
    finally:
        env.close()


@needs_pettingzoo
def test_the_timeline_wrapping_truncates_every_live_agent(monkeypatch):
    monkeypatch.setattr(importlib.import_module(M + ".env.session"), "WRAP_FRAMES", 6)
    scene = walkers_only(max_steps=(0, 0))
    scene.academy.max_steps = 0  # no episode ends but by the wrap
    env = pz_mod.parallel_env(scene)
    zero = np.zeros(1, dtype=np.float32)
    try:
        env.reset(seed=0)
        for _ in range(10):
            obs, rew, term, trunc, _ = env.step({a: zero for a in env.agents})
            if not env.agents:
                break
        assert trunc == {"A1": True, "A2": True} and env.agents == []
    finally:
        env.close()


@needs_pettingzoo
def test_brains_chooses_which_brains_play():
    scene = two_brains()
    env = pz_mod.parallel_env(scene, brains="Walk")
    try:
        assert env.possible_agents == ["A1", "A2"]
        before = tuple(scene.objects["Walker.000"].location)
        env.reset(seed=0)
        for _ in range(2):
            env.step({a: np.ones(1) for a in env.agents})
        assert tuple(scene.objects["Walker.000"].location) == before  # Seek does not run: it stands still
    finally:
        env.close()
    with pytest.raises(A.AcademyError, match="Brain 'Nope' is not in Scene"):
        pz_mod.parallel_env(scene, brains=["Nope"])
    scene.academy.brains.add().name = "Empty"
    with pytest.raises(A.AcademyError, match="Brain 'Empty' has no agents"):
        pz_mod.parallel_env(scene, brains=["Walk", "Empty"])
    env = pz_mod.parallel_env(scene)  # by default every Brain with agents
    try:
        assert sorted(set(env.brains.values())) == ["Seek", "Walk"]
    finally:
        env.close()
    assert sessions.active_sessions() == ()


@needs_pettingzoo
def test_render_gives_the_scene_cameras_view():
    bpy.ops.wm.read_homefile()  # the factory scene has a camera
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 40, 30, 100
    scene.academy.decision_period = 1
    add_walkers(scene, (5,))
    env = pz_mod.parallel_env(scene, render_mode="rgb_array")
    try:
        assert env.metadata["render_modes"] == ["rgb_array"] and env.metadata["render_fps"] > 0
        env.reset(seed=0)
        frame = env.render()
        assert frame.shape == (30, 40, 3) and frame.dtype == np.uint8
    finally:
        env.close()
    env = pz_mod.parallel_env(scene)
    try:
        assert env.render() is None
    finally:
        env.close()
    scene.camera = None
    with pytest.raises(A.AcademyError, match="has no camera"):
        pz_mod.parallel_env(scene, render_mode="rgb_array")


def test_without_pettingzoo_the_error_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "pettingzoo", None)
    with pytest.raises(ImportError, match="needs the 'pettingzoo' package"):
        pz_mod.parallel_env(walkers_only())
    assert sessions.active_sessions() == ()


def test_the_session_steps_several_external_brains_at_once():
    scene = two_brains()
    session = Session(scene, training=False, steps=0, brains=["Seek", "Walk"], external=["Seek", "Walk"]).start()
    try:
        steps = session.step_brains({"Seek": np.array([1, 2]), "Walk": np.full((2, 1), 0.5, dtype=np.float32)})
        assert set(steps) == {"Seek", "Walk"}
        np.testing.assert_allclose(steps["Walk"].obs[:, 0], [0.5, 0.5])
        np.testing.assert_allclose(steps["Walk"].rewards, [0.5, 0.5])
        assert steps["Seek"].obs.shape == (2, 3)
        with pytest.raises(A.AcademyError, match="Brain 'Nope' does not take its actions from outside"):
            session.step_brains({"Nope": np.zeros(1)})
    finally:
        session.finish(store=False)
    with pytest.raises(A.AcademyError, match=r"Brain 'Nope' \(wait for reset\) is not running"):
        Session(scene, training=False, steps=0, wait_for_reset=["Nope"])
    with pytest.raises(A.AcademyError, match="cannot both reset at the next step and wait"):
        Session(scene, training=False, steps=0, next_step_reset=["Walk"], wait_for_reset=["Walk"])
