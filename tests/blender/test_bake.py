"""Baking a Brain's behaviour into takes: keyframes that play back without the add-on."""

import importlib
import json
import math
import os
import subprocess
import sys

import bpy
import numpy as np
import pytest
from mathutils import Matrix

from devtools import boot

M = boot.MODULE
S = importlib.import_module(M + ".core.specs")
A = importlib.import_module(M + ".env.academy")
B = importlib.import_module(M + ".bake")
TAKE_PROP = importlib.import_module(M + ".core.names").TAKE_PROP
compat = importlib.import_module(M + ".compat")
Session = importlib.import_module(M + ".env.session").Session
bb = importlib.import_module(M + ".examples.balance_ball")

pytestmark = pytest.mark.lts

# Opens a baked file in a fresh bpy that never enables the extension, plays the range and compares
# every object's world matrix with the recording.
PLAYBACK = """
import atexit, json, os, shutil, sys, tempfile
os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp()
atexit.register(shutil.rmtree, os.environ["BLENDER_USER_RESOURCES"], True)
import bpy, numpy as np
blend, recorded = sys.argv[1], sys.argv[2]
bpy.ops.wm.open_mainfile(filepath=blend, load_ui=False)
data = np.load(recorded)
frames = data["frames"]
scene = bpy.context.scene
worst = {}
for f, frame in enumerate(frames):
    scene.frame_set(int(frame))
    for name in data.files:
        if name == "frames":
            continue
        m = np.array(scene.objects[name].matrix_world)
        worst[name] = max(worst.get(name, 0.0), float(np.abs(m - data[name][f]).max()))
print(json.dumps({"addon": hasattr(bpy.types.Scene, "academy"), "worst": worst, "frames": len(frames)}))
"""


def balance_ball(agents=2, brain_type="HEURISTIC", **academy):
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bb.build(bpy.context.scene, agents=agents)
    scene.academy.brains[0].brain_type = brain_type
    for key, value in academy.items():
        setattr(scene.academy, key, value)
    return scene


def take_curves(scene, take):
    """{(datablock, data path, index): (keys, 2)} of a take's Action."""
    info = next(t for t in B.takes(scene) if t.name == take)
    action = bpy.data.actions[info.action]
    out = {}
    for slot in action.slots:
        for fc in compat.action_fcurves(action, slot):
            co = np.zeros(2 * len(fc.keyframe_points), dtype=np.float32)
            fc.keyframe_points.foreach_get("co", co)
            out[(slot.name_display, fc.data_path, fc.array_index)] = co.reshape(-1, 2)
    return out


def world_matrices(scene, names):
    return {n: np.array(scene.objects[n].matrix_world) for n in names}


def test_a_trained_brain_bakes_and_plays_back_without_the_extension(tmp_path):
    import torch

    torch.set_num_threads(1)
    scene = balance_ball(agents=12, brain_type="TRAINING")
    session = Session(scene, training=True, steps=2000).start()
    session.run()
    session.finish(store=True)
    assert scene.academy.brains["3DBall"].get("academy_state")

    result = B.bake(scene, "3DBall", 1, 500, seed=7)
    names = [f"{kind}.{i:03d}" for kind in ("Platform", "Ball") for i in range(12)]
    assert sorted(result.objects) == sorted(names)
    assert result.max_error < 1e-4 and not result.mismatched
    assert result.keys >= 24 * 9 * 500
    for name in names:
        assert result.matrices[name].shape == (500, 4, 4)
    # the rollout moved the balls: this is not a still scene
    assert np.abs(result.matrices["Ball.000"] - result.matrices["Ball.000"][0]).max() > 0.5

    blend = tmp_path / "baked.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
    recorded = tmp_path / "recorded.npz"
    np.savez(recorded, frames=np.arange(1, 501), **result.matrices)
    script = tmp_path / "playback.py"
    script.write_text(PLAYBACK)
    proc = subprocess.run(
        [sys.executable, str(script), str(blend), str(recorded)], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["addon"] is False and out["frames"] == 500
    assert set(out["worst"]) == set(names)
    assert max(out["worst"].values()) < 1e-4, out["worst"]


def test_same_seed_gives_identical_keys_and_another_seed_another_take():
    scene = balance_ball(agents=2)
    first = B.bake(scene, "3DBall", 1, 60, seed=3)
    keys_first = take_curves(scene, first.take)
    again = B.bake(scene, "3DBall", 1, 60, seed=3)
    assert again.take == first.take
    keys_again = take_curves(scene, again.take)
    assert keys_first.keys() == keys_again.keys()
    for key, co in keys_first.items():
        np.testing.assert_array_equal(co, keys_again[key], err_msg=str(key))
    assert len(B.takes(scene)) == 1  # re-baking replaced the take
    other = B.bake(scene, "3DBall", 1, 60, seed=4)
    assert other.take != first.take and len(B.takes(scene)) == 2
    ball = scene.objects["Ball.000"]
    assert [t.name for t in ball.animation_data.nla_tracks] == [first.take, other.take]  # newest on top
    keys_other = take_curves(scene, other.take)
    assert any(not np.array_equal(co, keys_other[k]) for k, co in keys_first.items())
    # re-baking the older take keeps its track's place under the newer one
    B.bake(scene, "3DBall", 1, 60, seed=3)
    assert [t.name for t in ball.animation_data.nla_tracks] == [first.take, other.take]
    assert len([a for a in bpy.data.actions if a.get(TAKE_PROP)]) == 2


def test_a_take_is_a_hold_strip_on_its_own_track_with_one_slot_per_object():
    scene = balance_ball(agents=2)
    result = B.bake(scene, "3DBall", 1, 40, seed=0, take_name="Calm")
    assert result.take == "Calm" and result.action == "Take Calm"
    action = bpy.data.actions["Take Calm"]
    assert sorted(s.name_display for s in action.slots) == ["Ball.000", "Ball.001", "Platform.000", "Platform.001"]
    for name in ("Ball.000", "Platform.001"):
        ad = scene.objects[name].animation_data
        assert ad.action is None  # nothing became active: the take is only in the NLA
        (track,) = ad.nla_tracks
        (strip,) = track.strips
        assert track.name == "Calm" and strip.action == action and strip.action_slot.name_display == name
        assert (strip.blend_type, strip.extrapolation, strip.influence) == ("REPLACE", "HOLD", 1.0)
    paths = {(k[1], k[2]) for k in take_curves(scene, "Calm") if k[0] == "Ball.000"}
    expected = {(p, i) for p in ("location", "rotation_euler", "scale") for i in range(3)}
    assert paths == expected | {("rigid_body.kinematic", 0)}
    assert B.remove_take(scene, "Calm") and not B.takes(scene)
    assert "Take Calm" not in bpy.data.actions and not scene.objects["Ball.000"].animation_data.nla_tracks


def test_rigid_bodies_are_animated_only_for_the_range_and_muted_takes_give_back_the_scene():
    scene = balance_ball(agents=2)
    names = [o.name for o in scene.objects]
    before = []
    for frame in range(1, 41):  # the designer's scene playing on its own: balls fall onto still platforms
        scene.frame_set(frame)
        before.append(world_matrices(scene, names))
    scene.frame_set(1)
    result = B.bake(scene, "3DBall", 5, 30, seed=0)
    kin = take_curves(scene, result.take)[("Ball.000", "rigid_body.kinematic", 0)]
    np.testing.assert_array_equal(kin, [[4, 0], [5, 1], [30, 1], [31, 0]])
    assert scene.objects["Ball.000"].rigid_body.kinematic is False  # the setting itself is the designer's
    with B.takes_muted(scene):
        for frame in range(1, 41):
            scene.frame_set(frame)
            now = world_matrices(scene, names)
            for name in names:
                np.testing.assert_allclose(now[name], before[frame - 1][name], atol=1e-5, err_msg=f"{name} @ {frame}")
    scene.frame_set(5)
    np.testing.assert_allclose(np.array(scene.objects["Ball.000"].matrix_world), result.matrices["Ball.000"][0])


def test_hand_made_keyframes_survive_a_bake():
    scene = balance_ball(agents=2)
    platform = scene.objects["Platform.000"]
    platform["glow"] = 0.0
    platform.keyframe_insert('["glow"]', frame=1)
    platform["glow"] = 1.0
    platform.keyframe_insert('["glow"]', frame=30)
    x, y, _ = platform.location
    platform.keyframe_insert("location", frame=200)  # the same channel as the take, outside its range
    platform.location.z = 1.0
    platform.keyframe_insert("location", frame=220)
    platform.location.z = 0.0
    cam = scene.objects["Camera"]
    cam.keyframe_insert("location", frame=1)
    cam.location.x += 5
    cam.keyframe_insert("location", frame=50)
    designer_action = platform.animation_data.action

    def keys(obj):
        return {
            (fc.data_path, fc.array_index): [tuple(k.co) for k in fc.keyframe_points]
            for fc in compat.animated_fcurves(obj)
        }

    before_platform, before_cam = keys(platform), keys(cam)
    result = B.bake(scene, "3DBall", 1, 60, seed=0)
    assert result.max_error < 1e-4 and not result.mismatched
    assert platform.animation_data.action == designer_action  # still the active Action
    assert keys(platform) == before_platform and keys(cam) == before_cam
    assert "Camera" not in result.objects and "Camera" in result.followers  # its own animation moves it
    scene.frame_set(30)
    assert platform["glow"] == pytest.approx(1.0)
    scene.frame_set(210)
    assert tuple(platform.location) == pytest.approx((x, y, 0.5))  # the designer's keys rule outside the take
    assert [t.name for t in platform.animation_data.nla_tracks] == [result.take]


def test_children_and_constrained_objects_follow_and_parents_are_respected():
    scene = balance_ball(agents=2)
    ball = scene.objects["Ball.000"]
    child = bpy.data.objects.new("Marker", None)
    scene.collection.objects.link(child)
    child.location = (0.0, 0.0, 1.0)
    child.parent = ball
    follower = bpy.data.objects.new("Follower", None)
    scene.collection.objects.link(follower)
    follower.constraints.new("COPY_LOCATION").target = scene.objects["Ball.001"]
    rig = bpy.data.objects.new("Rig", None)  # a parent with an offset and a parent-inverse matrix
    scene.collection.objects.link(rig)
    rig.location = (0.0, 0.0, 2.0)
    bpy.context.view_layer.update()
    platform = scene.objects["Platform.001"]
    platform.parent = rig
    platform.matrix_parent_inverse = rig.matrix_world.inverted()
    result = B.bake(scene, "3DBall", 1, 80, seed=2)
    assert {"Marker", "Follower"} <= set(result.followers)
    assert "Platform.001" in result.objects and "Rig" not in result.objects + result.followers
    assert result.max_error < 1e-4 and not result.mismatched


@pytest.mark.parametrize("mode", ["XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX", "QUATERNION", "AXIS_ANGLE"])
def test_decompose_round_trips_every_rotation_mode_with_deltas(mode):
    rng = np.random.default_rng(1)
    obj = bpy.data.objects.new("O", None)
    bpy.context.scene.collection.objects.link(obj)
    obj.rotation_mode = mode
    if mode != "AXIS_ANGLE":  # Blender has no delta for axis-angle rotations
        obj.delta_rotation_euler = (0.1, -0.2, 0.3)
        obj.delta_rotation_quaternion = (0.9, 0.1, 0.2, -0.1)
    obj.delta_location = (1.0, 2.0, 3.0)
    obj.delta_scale = (1.0, 2.0, 0.5)
    mats = []
    for _ in range(20):
        q = rng.normal(size=4)
        rot = Matrix.Rotation(0.0, 4, "X")
        from mathutils import Quaternion

        rot = Quaternion(q / np.linalg.norm(q)).to_matrix().to_4x4()
        scale = Matrix.Diagonal((*rng.uniform(0.5, 2.0, 3), 1.0))
        mats.append(np.array(Matrix.Translation(rng.normal(size=3)) @ rot @ scale))
    mats = np.array(mats)
    channels = B.decompose(mats, obj)
    for f in range(len(mats)):
        for path, values in channels.items():
            setattr(obj, path, tuple(values[f]))
        np.testing.assert_allclose(np.array(obj.matrix_basis), mats[f], atol=1e-5, err_msg=f"frame {f}")
    rot_path = next(p for p in channels if p.startswith("rotation"))
    if mode not in ("QUATERNION", "AXIS_ANGLE"):
        assert np.abs(np.diff(channels[rot_path], axis=0)).max() <= math.pi + 1e-9  # unwrapped


def test_properties_the_actuators_write_are_keyed():
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    agent = bpy.data.objects.new("Agent", bpy.data.meshes.new("m"))
    scene.collection.objects.link(agent)
    agent["energy"] = 0.0
    agent.modifiers.new("Wave", "WAVE").height = 0.0
    brain = scene.academy.brains.add()
    brain.name, brain.brain_type = "B", "HEURISTIC"
    agent.academy_agent.enabled, agent.academy_agent.brain = True, "B"
    spec = S.Behaviour(
        observations=(S.Property(S.SELF, '["energy"]'),),
        actions=S.ContinuousActions(1),
        writes=(
            S.Write(S.SELF, '["energy"]', S.Action(0) * 0.25, mode="ADD", high=2.0),
            S.Write(S.SELF, 'modifiers["Wave"].height', S.Action(0) * 0.5, mode="ADD"),
            S.Write(S.SELF, "location", S.Action(0) * 0.1, index=2, mode="ADD"),
        ),
        heuristic=S.Const((1.0,)),
    )
    A.set_behaviour(agent, spec)
    result = B.bake(scene, "B", 1, 20)
    curves = take_curves(scene, result.take)
    assert sorted(result.properties) == ['Agent: ["energy"]', 'Agent: modifiers["Wave"].height']
    energy = curves[("Agent", '["energy"]', 0)]
    assert energy[0, 0] == 1 and energy[-1, 0] == 20 and energy[-1, 1] == pytest.approx(2.0)  # clamped
    assert ("Agent", "location", 2) in curves  # the transform, from the world matrix
    assert agent["energy"] == 0.0  # the scene itself is restored; the take animates it
    scene.frame_set(10)
    assert agent["energy"] == pytest.approx(energy[9, 1])
    assert agent.modifiers["Wave"].height == pytest.approx(curves[("Agent", 'modifiers["Wave"].height', 0)][9, 1])
    assert result.max_error < 1e-4
    with B.takes_muted(scene):
        assert agent["energy"] == 0.0 and agent.modifiers["Wave"].height == 0.0  # the values before the bake
    again = B.bake(scene, "B", 1, 20)  # starts from those values, not from the take's
    for key, co in take_curves(scene, again.take).items():
        np.testing.assert_array_equal(co, curves[key], err_msg=str(key))


def test_every_nth_frame_and_a_tolerance_give_fewer_keys_within_the_tolerance():
    scene = balance_ball(agents=2)
    full = B.bake(scene, "3DBall", 1, 120, seed=0, take_name="full")
    coarse = B.bake(scene, "3DBall", 1, 120, seed=0, take_name="coarse", tolerance=0.01, verify=False)
    sparse = B.bake(scene, "3DBall", 1, 120, seed=0, take_name="sparse", every=10, verify=False)
    assert coarse.keys < full.keys / 3 and sparse.keys < full.keys / 5
    exact = take_curves(scene, "full")
    loose = {k: v for k, v in take_curves(scene, "coarse").items() if k[1] != "rigid_body.kinematic"}
    action = bpy.data.actions["Take coarse"]
    for slot in action.slots:
        for fc in compat.action_fcurves(action, slot):
            if fc.data_path == "rigid_body.kinematic":
                continue
            truth = exact[(slot.name_display, fc.data_path, fc.array_index)]
            got = np.array([fc.evaluate(f) for f in truth[:, 0]])
            assert np.abs(got - truth[:, 1]).max() <= 0.01 + 1e-5, (slot.name_display, fc.data_path)
    assert loose
    frames = take_curves(scene, "sparse")[("Ball.000", "location", 0)][:, 0]
    assert list(frames) == [*range(1, 120, 10), 120]


def test_several_seeds_give_several_takes_and_from_reset_false_starts_from_the_scene():
    scene = balance_ball(agents=2)
    results = B.bake_takes(scene, "3DBall", 1, 30, seeds=[0, 1, 2], verify=False)
    assert [r.take for r in results] == [f"3DBall seed {s} 1-30" for s in (0, 1, 2)]
    assert [t.seed for t in B.takes(scene)] == [0, 1, 2]
    start = np.array(scene.objects["Ball.000"].location)  # the designer's position (takes muted inside bake)
    with B.takes_muted(scene):
        start = np.array(scene.objects["Ball.000"].location)
    plain = B.bake(scene, "3DBall", 1, 30, from_reset=False, take_name="plain", verify=False)
    np.testing.assert_allclose(plain.matrices["Ball.000"][0][:3, 3], start, atol=1e-5)
    reset = results[0].matrices["Ball.000"][0][:3, 3]
    assert np.abs(reset[:2] - start[:2]).max() > 1e-3  # the reset randomised the ball's position


def test_baking_restores_the_scene_apart_from_the_takes():
    scene = balance_ball(agents=2)
    scene.frame_set(12)

    def state():
        bpy.context.view_layer.update()
        out = {"frame": scene.frame_current, "start": scene.frame_start, "end": scene.frame_end}
        world = scene.rigidbody_world
        out["cache"] = (world.point_cache.frame_start, world.point_cache.frame_end)
        for obj in scene.objects:
            out[obj.name] = (
                tuple(round(v, 6) for v in obj.location),
                tuple(round(v, 6) for v in obj.rotation_euler),
                None if obj.rigid_body is None else (obj.rigid_body.kinematic, obj.rigid_body.enabled),
            )
        return out

    before = state()
    B.bake(scene, "3DBall", 3, 50, seed=1)
    with B.takes_muted(scene):
        assert state() == before


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(brain_name="Nope"), "No Brain named 'Nope'.*Brains: 3DBall"),
        (dict(frame_start=10, frame_end=10), "frame range 10-10 is empty"),
        (dict(every=0), "N ≥ 1"),
        (dict(objects=["Ghost"]), "Object 'Ghost' is not in scene"),
        (dict(brain_type="INFERENCE"), "Brain '3DBall' is Inference but has no trained model"),
        (dict(brain_type="TRAINING"), "Brain '3DBall' has not been trained yet: press Train first"),
    ],
)
def test_bad_requests_are_refused_with_the_reason(kwargs, message):
    scene = balance_ball(agents=2)
    if "brain_type" in kwargs:
        scene.academy.brains[0].brain_type = kwargs.pop("brain_type")
    args = dict(brain_name="3DBall", frame_start=1, frame_end=20) | kwargs
    with pytest.raises(B.BakeError, match=message):
        B.bake(scene, **args)
    assert not B.takes(scene)


def test_a_running_session_blocks_baking():
    scene = balance_ball(agents=2)
    session = Session(scene, training=False, steps=0).start()
    try:
        with pytest.raises(B.BakeError, match="running Academy session"):
            B.bake(scene, "3DBall", 1, 20)
    finally:
        session.finish()


# -- the command line ----------------------------------------------------------------------------


def _run(*args):
    return subprocess.run([sys.executable, str(boot.ROOT / "devtools" / "academy.py"), *args],
                          capture_output=True, text=True, timeout=600)  # fmt: skip


def test_cli_bake_writes_a_baked_copy(tmp_path):
    scene = balance_ball(agents=2)
    blend = tmp_path / "bb.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
    proc = _run("bake", str(blend), "--brain", "3DBall", "--frames", "1-40", "--seed", "5")
    assert proc.returncode == 0, proc.stderr
    baked = tmp_path / "bb-baked.blend"
    assert baked.exists() and "3DBall seed 5 1-40" in proc.stdout
    bpy.ops.wm.open_mainfile(filepath=str(baked))
    assert [t.name for t in B.takes(bpy.context.scene)] == ["3DBall seed 5 1-40"]
    out = tmp_path / "elsewhere.blend"
    proc = _run("bake", str(blend), "--brain", "3DBall", "--frames", "2-9", "--seeds", "1,2", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    bpy.ops.wm.open_mainfile(filepath=str(out))
    assert [t.seed for t in B.takes(bpy.context.scene)] == [1, 2]
    del scene


@pytest.mark.parametrize(
    "args, message",
    [
        (["bake", "missing.blend", "--brain", "B", "--frames", "1-9"], "no such file: missing.blend"),
        (["bake", "x.blend", "--brain", "B", "--frames", "9-1"], "--frames"),
        (["bake", "x.blend", "--brain", "B", "--frames", "abc"], "--frames"),
        (["bake", "x.blend", "--frames", "1-9"], "the following arguments are required: --brain"),
        (["bake", "x.blend", "--brain", "B", "--frames", "1-9", "--every", "0"], "--every"),
        (["bake", "x.blend", "--brain", "B", "--frames", "1-9", "--seeds", "a,b"], "--seeds"),
    ],
)
def test_cli_bad_arguments_are_one_line_errors(academy, capsys, args, message):
    assert academy.cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_cli_unknown_brain_is_a_usage_error(academy, capsys, tmp_path):
    balance_ball(agents=2)
    blend = tmp_path / "bb.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
    assert academy.cli.main(["bake", str(blend), "--brain", "Nope", "--frames", "1-9"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no Brain named 'Nope'" in err
    assert not os.path.exists(tmp_path / "bb-baked.blend")


def test_an_active_action_over_a_baked_channel_is_reported():
    scene = balance_ball(agents=2)
    ball = scene.objects["Ball.000"]
    ball.keyframe_insert("location", frame=200)  # the designer's keys on a channel the take keys
    result = B.bake(scene, "3DBall", 1, 40, seed=0)
    assert any("'Ball.000'" in w and "push it down" in w for w in result.warnings)
    assert "Ball.000" in result.mismatched  # the active Action plays over the take: said, not hidden
    assert "Ball.001" not in result.mismatched
