"""Every example builds from nothing, runs, learns a little (short CI versions of the bench runs).

Every example is configured by one behaviour node tree its agents share; the tree compiles to
exactly the example's Python spec, and a scene built from either steps identically.
"""

import importlib

import bpy
import numpy as np
import pytest

from devtools import boot

M = boot.MODULE
Session = importlib.import_module(M + ".env.session").Session
EXAMPLES = importlib.import_module(M + ".examples").EXAMPLES
nodes = importlib.import_module(M + ".nodes")
gym_mod = importlib.import_module(M + ".drivers.gym")
TREES = {"balance_ball": "Balance Ball", "grid_world": "Grid World", "evacuation": "Evacuation",
         "switch_goal": "Switch Goal", "cue_memory": "Remember the Cue"}  # fmt: skip

pytestmark = pytest.mark.lts


def build(name, **kwargs):
    bpy.ops.wm.read_homefile(use_empty=True)
    return EXAMPLES[name].build(bpy.context.scene, **kwargs)


@pytest.mark.parametrize(
    "name, algorithm",
    [
        ("balance_ball", "PPO"),
        ("grid_world", "DQN"),
        ("grid_world", "PPO"),
        ("evacuation", "PPO"),
        ("cue_memory", "PPO"),
    ],
)
def test_each_example_trains_a_few_hundred_steps(name, algorithm):
    import torch

    torch.set_num_threads(1)
    scene = build(name)
    scene.academy.brains[0].algorithm = algorithm
    session = Session(scene, training=True, steps=400).start()
    session.run()
    assert session.error is None and session.agent_steps >= 400
    session.finish()
    brain = scene.academy.brains[0]
    assert brain.trained_steps >= 400 and brain.get("academy_state")


def test_grid_world_sees_only_pixels_and_resets_to_distinct_cells():
    scene = build("grid_world", agents=4, use_nodes=False)  # the test edits the Python spec
    scene.academy.max_steps = 1  # every decision is a reset
    scene.academy.brains[0].brain_type = "HEURISTIC"
    spec_mod = importlib.import_module(M + ".core.specs")
    behaviours = importlib.import_module(M + ".env.behaviours")
    gw = EXAMPLES["grid_world"]
    spec = gw.behaviour()
    import dataclasses

    for obj in scene.objects:
        if obj.academy_agent.enabled:
            behaviours.set_behaviour(obj, dataclasses.replace(spec, heuristic=spec_mod.Const((0.0,))))
    session = Session(scene, training=False, steps=0).start()
    state = session.brain("GridWorld")
    assert set(state.last_obs) == {"camera_0"}  # no vector observation at all
    cells = set()
    for _ in range(40):
        scene.frame_set(scene.frame_current + 1)
        for i in range(4):
            a, g, p = (scene.objects[f"{n}.{i:03d}"].location for n in ("Agent", "Goal", "Pit"))
            spots = {(round(v.x), round(v.y)) for v in (a, g, p)}
            assert len(spots) == 3, "agent, goal and pit must be on different cells"
            assert all(-2 <= x <= 2 and -2 <= y <= 2 for x, y in spots)
            cells.add((round(a.x), round(a.y)))
    assert len(cells) > 15  # the agent starts all over the grid
    image = state.last_obs["camera_0"][0]
    colours = {tuple(int(c) // 64 for c in px) for px in image.reshape(-1, 3)}
    assert len(colours) >= 4  # floor, agent, goal and pit are all visible
    session.finish()


def _agent_columns(image):
    """The image columns where Grid World's agent (blue) is drawn."""
    blue = (image[..., 2] > 200) & (image[..., 0] < 150) & (image[..., 1] < 200)
    return set(np.nonzero(blue.any(axis=0))[0].tolist())


def test_a_camera_brains_final_observation_shows_where_the_episode_ended():
    """The final image of an ended episode is captured before the reset, not shared with the next
    episode's first image: always moving Right, every truncated Grid World episode ends against the
    right wall, wherever the next one starts (a truncation bootstrapped from the next episode's first
    image teaches that stalling pays)."""
    scene = build("grid_world", agents=4)
    scene.academy.max_steps = 6  # at most 4 moves reach the right wall
    venv = gym_mod.make_vector_env(scene, seed=0)
    truncations = moved = 0
    try:
        venv.reset(seed=0)
        for _ in range(40):
            obs, _rew, _term, trunc, info = venv.step(np.full(4, 3))  # Right
            for i in np.nonzero(trunc)[0]:
                final = _agent_columns(np.asarray(info["final_obs"][i]["camera_0"]))
                assert final and min(final) >= 25, f"agent {i}'s final image shows it at columns {sorted(final)}"
                truncations += 1
                moved += min(_agent_columns(np.asarray(obs["camera_0"][i])) or {99}) < 25
    finally:
        venv.close()
    assert truncations >= 8 and moved >= 3, (truncations, moved)  # new episodes start elsewhere


def test_evacuation_rays_see_the_room():
    scene = build("evacuation", agents=2, use_nodes=False)  # the test edits the Python spec
    scene.academy.brains[0].brain_type = "HEURISTIC"
    spec_mod = importlib.import_module(M + ".core.specs")
    behaviours = importlib.import_module(M + ".env.behaviours")
    import dataclasses

    spec = EXAMPLES["evacuation"].behaviour()
    for obj in scene.objects:
        if obj.academy_agent.enabled:
            behaviours.set_behaviour(obj, dataclasses.replace(spec, heuristic=spec_mod.Const((0.0, 0.0))))
    session = Session(scene, training=False, steps=0).start()
    obs = session.brain("Evacuation").last_obs
    rays = obs[:, : 9 * 6].reshape(2, 9, 6)  # per ray: wall, furniture, fire, exit, nothing, distance
    assert (rays[:, :, 4] == 0).all()  # in a closed room every ray hits something
    assert rays[:, :, 0].sum() > 0  # walls are seen
    assert ((rays[:, :, 5] > 0) & (rays[:, :, 5] < 1)).all()
    np.testing.assert_allclose(np.linalg.norm(obs[:, 54:57], axis=1), 1.0, atol=1e-5)  # the exit's direction
    session.finish()


@pytest.mark.parametrize("name", ["balance_ball", "grid_world", "evacuation", "switch_goal", "cue_memory"])
def test_each_example_is_one_shared_tree_that_compiles_to_its_python_spec(name):
    scene = build(name, agents=3)
    tree = bpy.data.node_groups[TREES[name]]
    compiled = nodes.compiled(tree).behaviour
    python = EXAMPLES[name].behaviour()
    for part in ("observations", "actions", "writes", "rewards", "ends", "on_reset", "heuristic", "cameras"):
        assert getattr(compiled, part) == getattr(python, part), part
    assert compiled == python
    assert nodes.validate(tree, scene) == []
    agents = [o for o in scene.objects if o.academy_agent.enabled]
    assert len(agents) == 3
    assert all(a.academy_agent.behaviour_tree == tree and a.academy_agent.behaviour_json == "" for a in agents)
    assert all(n.label for n in tree.nodes)  # every node says what it is for
    # the Python spec path stays available
    scene = build(name, agents=2, use_nodes=False)
    agents = [o for o in scene.objects if o.academy_agent.enabled]
    assert all(a.academy_agent.behaviour_tree is None and a.academy_agent.behaviour_json for a in agents)
    assert TREES[name] not in bpy.data.node_groups


def _rollout(name, use_nodes, agents=3, decisions=30):
    """Observations, rewards and episode ends of ``decisions`` steps of seeded random actions."""
    scene = build(name, agents=agents, use_nodes=use_nodes)
    scene.academy.max_steps = 8  # several resets (random cells, random rooms) within the run
    venv = gym_mod.make_vector_env(scene, seed=0)
    rng = np.random.default_rng(123)
    space = venv.single_action_space  # Discrete (Grid World) or MultiDiscrete (Evacuation)
    nvec = np.atleast_1d(space.nvec if hasattr(space, "nvec") else space.n)
    try:
        obs, _ = venv.reset(seed=0)
        record = [obs]
        for _ in range(decisions):
            actions = rng.integers(0, nvec, size=(agents, len(nvec)))
            if len(nvec) == 1:
                actions = actions[:, 0]
            obs, rew, term, trunc, info = venv.step(actions)
            finals = [info["final_obs"][i] for i in np.nonzero(term | trunc)[0]] if (term | trunc).any() else []
            record += [obs, rew, term, trunc, *finals]
    finally:
        venv.close()
    return record


def _flat(value):
    if isinstance(value, dict):
        return {k: np.asarray(v) for k, v in value.items()}
    return np.asarray(value)


@pytest.mark.parametrize("name", ["grid_world", "evacuation", "switch_goal", "cue_memory"])
def test_tree_and_python_spec_step_identically(name):
    """Same seed, same actions: the scene built from the tree and from the spec observe and earn the same."""
    ours, theirs = _rollout(name, use_nodes=True), _rollout(name, use_nodes=False)
    assert len(ours) == len(theirs)
    ends = 0
    for a, b in zip(ours, theirs, strict=True):
        a, b = _flat(a), _flat(b)
        if isinstance(a, dict):
            assert a.keys() == b.keys()
            for key in a:
                np.testing.assert_array_equal(a[key], b[key])
        else:
            np.testing.assert_array_equal(a, b)
            if a.dtype == bool:
                ends += int(a.sum())
    assert ends >= 3  # episodes ended and reset during the run
