"""Tennis (issue 15.5): the seed's rules, scripted rallies, learning beats a random pair, the bake replays a match."""

import dataclasses
import importlib

import bpy
import numpy as np
import pytest

from devtools import boot

M = boot.MODULE
Session = importlib.import_module(M + ".env.session").Session
S = importlib.import_module(M + ".core.specs")
behaviours = importlib.import_module(M + ".env.behaviours")
tennis = importlib.import_module(M + ".examples.tennis")

pytestmark = pytest.mark.lts


def one_arena(action: float = 3.0):
    """One arena, both rackets Heuristic with a fixed action (default No-op), without the serve: each
    test places the ball itself before the session starts."""
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = tennis.build(bpy.context.scene, agents=2)
    spec = dataclasses.replace(tennis.behaviour(), heuristic=S.Const((action,)), on_reset=())
    for obj in scene.objects:
        if obj.academy_agent.enabled:
            behaviours.set_behaviour(obj, spec)
    scene.academy.brains[0].brain_type = "HEURISTIC"
    return scene


def play(scene, ball, a, b, decisions=200, scale=1.0):
    """Place the ball (x, z, vx, vz, last; its scale ``scale``: radius 0.25 at 1) and the rackets' x,
    then play until the rally ends.

    Returns per decision (rewards of A and B, ended, the ball's rally array)."""
    obj = scene.objects
    x, z, vx, vz, last = ball
    obj["Ball.000"].location.x, obj["Ball.000"].location.z = x, z
    obj["Ball.000"].scale = (scale, scale, scale)
    obj["Ball.000"]["rally"] = [vx, vz, 0.0, last]
    obj["Racket A.000"].location.x, obj["Racket B.000"].location.x = a, b
    session = Session(scene, training=False, steps=0, seed=3).start()
    view = session.brain(tennis.BRAIN)
    assert view.agents == ("Racket A.000", "Racket B.000")
    history = []
    for _ in range(decisions):
        rally = list(obj["Ball.000"]["rally"])
        session.rollout(1)
        ended = bool(view.terminated.any())
        history.append((view.rewards.copy(), ended, rally if ended else list(obj["Ball.000"]["rally"])))
        if ended:
            assert view.terminated.all()  # both rackets' rally ends together
            break
    session.finish(store=False)
    return history


def test_a_return_rewards_the_hitter_over_the_net_and_the_receiver_when_it_lands():
    scene = one_arena()
    # a serve dropping onto A (team 0, on -x) standing under it; B waits at its back line and misses
    history = play(scene, ball=(-4.0, 3.0, -0.5, 0.0, -1.0), a=-4.0, b=7.9)
    rewards = np.array([h[0] for h in history])
    final = history[-1][2]
    assert final[2] == 1.0 and final[3] == 0.0  # one hit, by A (team 0)
    a_got = np.nonzero(rewards[:, 0])[0]
    b_got = np.nonzero(rewards[:, 1])[0]
    assert len(a_got) == 1 and rewards[a_got[0], 0] == pytest.approx(0.1)  # over the net after A's hit
    assert list(b_got) == [len(history) - 1] and rewards[-1, 1] == pytest.approx(0.1)  # landed: B did not hit last
    assert a_got[0] < len(history) - 1


@pytest.mark.parametrize("size", [0.2, 0.3])
def test_the_ball_size_reset_parameter_sets_the_ball_and_its_reach(size):
    """Each reset gives the ball the radius ``ball_size`` draws, and the ball hits as far as it reaches:
    a ball falling 0.44-0.45 from the racket's centre (its half thickness 0.2) is hit at radius 0.3 only."""
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = tennis.build(bpy.context.scene, agents=2)
    param = scene.academy.reset_parameters["ball_size"]
    param.mode, param.value = "FIXED", size
    scene.academy.brains[0].brain_type = "HEURISTIC"
    session = Session(scene, training=False, steps=0, seed=0).start()
    assert tuple(scene.objects["Ball.000"].scale) == pytest.approx((size / tennis.BASE_RADIUS,) * 3)
    session.finish(store=False)
    history = play(one_arena(), ball=(-4.0, 3.0, -0.01, 0.0, -1.0), a=-4.45, b=7.9, scale=size / tennis.BASE_RADIUS)
    assert history[-1][2][2] == (1.0 if size == 0.3 else 0.0)  # hits in the rally


def test_a_serve_that_lands_rewards_nobody():
    scene = one_arena()
    history = play(scene, ball=(-4.0, 3.0, -0.5, 0.0, -1.0), a=-7.9, b=4.0)
    assert history[-1][1] and history[-1][2][2] == 0.0
    assert np.abs(np.array([h[0] for h in history])).sum() == 0.0


@pytest.mark.parametrize("a, why", [(-0.6, "out"), (-7.9, "net")])
def test_the_last_hitter_pays_for_out_and_net(a, why):
    scene = one_arena()
    # the ball falls onto A: next to the net the return flies long; from the back line it drops into the net
    history = play(scene, ball=(a, 0.7 if why == "net" else 3.0, -0.5, 0.0, -1.0), a=a, b=7.9 if why == "net" else 0.6)
    rewards = np.array([h[0] for h in history])
    assert history[-1][2][2] == 1.0 and history[-1][2][3] == 0.0
    assert rewards[-1, 0] == pytest.approx(-0.1) and rewards[-1, 1] == 0.0
    if why == "net":
        assert rewards[:, 0].sum() == pytest.approx(-0.1)  # it never crossed: no reward for it
    else:
        assert rewards[:, 0].sum() == pytest.approx(0.0)  # over the net (+0.1), then out (-0.1)


def test_the_heuristic_pair_rallies_and_a_random_pair_does_not():
    """The game can be played (the hand-made controller keeps rallies going) and is not won by chance."""
    results = {}
    for kind in ("heuristic", "random"):
        bpy.ops.wm.read_homefile(use_empty=True)
        scene = tennis.build(bpy.context.scene, agents=8)
        if kind == "random":
            tennis.random_pair(scene)
        else:
            scene.academy.brains[0].brain_type = "HEURISTIC"
        session = Session(scene, training=False, steps=0, seed=5).start()
        stats = session.stats[tennis.BRAIN]
        with tennis.RallyCounter(scene) as rally:
            session.rollout(250)
        results[kind] = (rally.mean(stats.episodes), rally.hits, stats.episodes)
        session.finish(store=False)
    assert results["random"][2] >= 40 and results["random"][0] < 1.0, results
    hits, episodes = results["heuristic"][1:]
    assert hits >= 4 * 5, results  # every arena rallied
    assert hits / max(episodes / 2, 1) >= 10, results  # at least 10 hits per rally it ended (or the one still on)


PLAYBACK = """
import atexit, json, os, shutil, sys, tempfile
os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp()
atexit.register(shutil.rmtree, os.environ["BLENDER_USER_RESOURCES"], True)
import bpy, numpy as np
blend, recorded = sys.argv[1], sys.argv[2]
bpy.ops.wm.open_mainfile(filepath=blend, load_ui=False)
data = np.load(recorded)
scene = bpy.context.scene
worst = {}
for f, frame in enumerate(data["frames"]):
    scene.frame_set(int(frame))
    for name in data.files:
        if name != "frames":
            m = np.array(scene.objects[name].matrix_world)
            worst[name] = max(worst.get(name, 0.0), float(np.abs(m - data[name][f]).max()))
print(json.dumps({"addon": hasattr(bpy.types.Scene, "academy"), "worst": worst}))
"""


def test_a_match_bakes_both_rackets_and_the_ball_and_replays_without_the_extension(tmp_path):
    import json
    import subprocess
    import sys

    B = importlib.import_module(M + ".bake")
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = tennis.build(bpy.context.scene, agents=2)
    scene.academy.brains[0].brain_type = "HEURISTIC"
    with tennis.RallyCounter(scene) as rally:
        result = B.bake(scene, tennis.BRAIN, 1, 240, seed=2)
    names = ["Racket A.000", "Racket B.000", "Ball.000"]
    assert sorted(result.objects) == sorted(names)
    assert result.max_error < 1e-4 and not result.mismatched
    assert rally.hits >= 3  # a real match: the ball went back and forth
    xs = result.matrices["Ball.000"][:, 0, 3]
    assert xs.min() < -1.0 and xs.max() > 1.0  # over the net both ways
    for racket in names[:2]:
        assert np.ptp(result.matrices[racket][:, 0, 3]) > 0.5  # both rackets moved
    blend = tmp_path / "match.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
    recorded = tmp_path / "recorded.npz"
    np.savez(recorded, frames=np.arange(1, 241), **result.matrices)
    script = tmp_path / "playback.py"
    script.write_text(PLAYBACK)
    proc = subprocess.run(
        [sys.executable, str(script), str(blend), str(recorded)], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["addon"] is False and set(out["worst"]) == set(names)
    assert max(out["worst"].values()) < 1e-4, out["worst"]


def test_tennis_trains_a_few_hundred_steps_and_stores_its_brain():
    import torch

    torch.set_num_threads(1)
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = tennis.build(bpy.context.scene, agents=4)
    session = Session(scene, training=True, steps=400).start()
    session.run()
    assert session.error is None and session.agent_steps >= 400
    session.finish()
    brain = scene.academy.brains[tennis.BRAIN]
    assert brain.trained_steps >= 400 and brain.get("academy_state")


def _trained_hits_per_rally(seed: int) -> float:
    """Train with the example's settings and budget, then measure the pair on serves it never saw."""
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = tennis.build(bpy.context.scene)
    scene.academy.seed = seed
    session = Session(scene, training=True, steps=scene.academy.training_steps).start()
    session.run()
    session.finish(store=True)
    session = Session(scene, training=False, steps=0, seed=1000 + seed).start()
    stats = session.stats[tennis.BRAIN]
    with tennis.RallyCounter(scene) as rally:
        while stats.episodes < 80 and session.decisions < 20_000:
            session.rollout(100)
        mean = rally.mean(stats.episodes) if stats.episodes else rally.hits
    session.finish(store=False)
    return mean


@pytest.mark.slow
def test_a_trained_pair_keeps_rallies_going():
    """The issue's goal: median over three seeds of mean hits per rally >= 10 (a random pair: < 1)."""
    import torch

    torch.set_num_threads(1)
    results = [_trained_hits_per_rally(seed) for seed in (0, 1, 2)]
    assert float(np.median(results)) >= 10.0, results
