"""Every example builds from nothing, runs, learns a little (short CI versions of the bench runs)."""

import importlib

import bpy
import numpy as np
import pytest

from devtools import boot

M = boot.MODULE
Session = importlib.import_module(M + ".env.session").Session
EXAMPLES = importlib.import_module(M + ".examples").EXAMPLES

pytestmark = pytest.mark.lts


def build(name, **kwargs):
    bpy.ops.wm.read_homefile(use_empty=True)
    return EXAMPLES[name].build(bpy.context.scene, **kwargs)


@pytest.mark.parametrize(
    "name, algorithm", [("balance_ball", "PPO"), ("grid_world", "DQN"), ("grid_world", "PPO"), ("evacuation", "PPO")]
)
def test_each_example_trains_a_few_hundred_steps(name, algorithm):
    import torch

    torch.set_num_threads(1)
    scene = build(name)
    scene.academy.brains[0].algorithm = algorithm
    session = Session(scene, training=True, steps=400).start()
    session.run()
    a = session.academy
    assert a.error is None and a.agent_steps >= 400
    session.finish()
    brain = scene.academy.brains[0]
    assert brain.trained_steps >= 400 and brain.get("academy_state")


def test_grid_world_sees_only_pixels_and_resets_to_distinct_cells():
    scene = build("grid_world", agents=4)
    scene.academy.max_steps = 1  # every decision is a reset
    scene.academy.brains[0].brain_type = "HEURISTIC"
    spec_mod = importlib.import_module(M + ".env.specs")
    behaviours = importlib.import_module(M + ".env.behaviours")
    gw = EXAMPLES["grid_world"]
    spec = gw.behaviour()
    import dataclasses

    for obj in scene.objects:
        if obj.academy_agent.enabled:
            behaviours.set_behaviour(obj, dataclasses.replace(spec, heuristic=spec_mod.Const((0.0,))))
    session = Session(scene, training=False, steps=0).start()
    state = session.academy.brains["GridWorld"]
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


def test_evacuation_rays_see_the_room():
    scene = build("evacuation", agents=2)
    scene.academy.brains[0].brain_type = "HEURISTIC"
    spec_mod = importlib.import_module(M + ".env.specs")
    behaviours = importlib.import_module(M + ".env.behaviours")
    import dataclasses

    spec = EXAMPLES["evacuation"].behaviour()
    for obj in scene.objects:
        if obj.academy_agent.enabled:
            behaviours.set_behaviour(obj, dataclasses.replace(spec, heuristic=spec_mod.Const((0.0, 0.0))))
    session = Session(scene, training=False, steps=0).start()
    obs = session.academy.brains["Evacuation"].last_obs
    rays = obs[:, : 9 * 6].reshape(2, 9, 6)  # per ray: wall, furniture, fire, exit, nothing, distance
    assert (rays[:, :, 4] == 0).all()  # in a closed room every ray hits something
    assert rays[:, :, 0].sum() > 0  # walls are seen
    assert ((rays[:, :, 5] > 0) & (rays[:, :, 5] < 1)).all()
    np.testing.assert_allclose(np.linalg.norm(obs[:, 54:57], axis=1), 1.0, atol=1e-5)  # the exit's direction
    session.finish()
