"""A Brain's model to and from a Stable-Baselines3 PPO .zip: the Export/Import Brain operators' SB3 format,
``academy export/import --sb3``, and training on after an import."""

import importlib

import bpy
import numpy as np
import pytest

from devtools import boot

M = boot.MODULE
sb3 = pytest.importorskip("stable_baselines3")
bb = importlib.import_module(M + ".examples.balance_ball")
Session = importlib.import_module(M + ".env.session").Session
brain_store = importlib.import_module(M + ".env.brain_store")
load_learner = importlib.import_module(M + ".training.factory").load_learner
STATE = importlib.import_module(M + ".core.names").STATE_KEY


def balance_ball():
    bpy.ops.wm.read_homefile(use_empty=True)
    return bb.build(bpy.context.scene, agents=2)


@pytest.fixture(scope="module")
def trained_state():
    """Balance Ball (observations normalised) trained 600 steps, as stored bytes."""
    import torch

    torch.set_num_threads(1)
    scene = balance_ball()
    session = Session(scene, training=True, steps=600).start()
    session.run()
    session.finish()
    return bytes(scene.academy.brains[0][STATE])


def _obs(learner, n=32):
    rms = learner.obs_proc.rms.get("obs")
    rng = np.random.default_rng(0)
    if rms is None:
        return rng.normal(size=(n, *learner.obs_space.shape)).astype(np.float32)
    return (rms.mean + np.sqrt(rms.var) * rng.uniform(-2, 2, (n, rms.mean.size))).astype(np.float32)


def _same(model, learner, obs):
    import torch

    np.testing.assert_allclose(model.predict(obs, deterministic=True)[0], learner.predict(obs), rtol=1e-6, atol=1e-6)
    with torch.no_grad():
        values = model.policy.predict_values(torch.from_numpy(obs)).numpy().ravel()
    np.testing.assert_allclose(values, learner.predict_values(obs), rtol=1e-6, atol=1e-6)


def test_export_and_import_a_brain_as_sb3_with_the_operators(academy, trained_state, tmp_path):
    scene = balance_ball()
    brain = scene.academy.brains[0]
    brain[STATE] = trained_state
    ours = load_learner(trained_state)
    assert ours.config.normalize_obs  # folded into the first layers on the way out
    path = tmp_path / "ball.zip"
    assert bpy.ops.academy.brain_export(filepath=str(path), format="SB3") == {"FINISHED"}
    model = sb3.PPO.load(path, device="cpu")
    obs = _obs(ours)
    _same(model, ours, obs)
    assert model.n_steps == brain.ppo.num_steps and model.batch_size == brain.ppo.minibatch_size

    bpy.ops.academy.brain_forget()
    brain.ppo.gamma, brain.ppo.normalize_obs = 0.5, True
    assert bpy.ops.academy.brain_import(filepath=str(path), format="SB3") == {"FINISHED"}
    imported = load_learner(brain_store.stored_state(brain))
    _same(model, imported, obs)
    assert brain.ppo.gamma == pytest.approx(0.99) and not brain.ppo.normalize_obs  # the model's settings
    assert brain.trained_steps == ours.total_steps and brain.algorithm == "PPO"

    # trains on in the scene from the imported model
    session = Session(scene, training=True, steps=300).start()
    session.run()
    session.finish()
    after = load_learner(brain_store.stored_state(brain))
    assert after.total_steps > imported.total_steps and after.num_updates >= 1


def test_sb3_refusals_name_the_brain_and_keep_its_model(academy, trained_state, tmp_path):
    scene = balance_ball()
    brain = scene.academy.brains[0]
    brain[STATE] = trained_state
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(RuntimeError, match="Brain '3DBall': junk.zip cannot be imported: .*not a Stable-Baselines3"):
        bpy.ops.academy.brain_import(filepath=str(tmp_path / "junk.zip"), format="SB3")
    assert bytes(brain[STATE]) == trained_state
    # an SB3 model of other shapes
    gym = pytest.importorskip("gymnasium")
    sb3_mod = importlib.import_module(M + ".training.sb3")
    env = sb3.common.vec_env.DummyVecEnv(
        [lambda: sb3_mod._SpacesEnv(gym.spaces.Box(-1, 1, (3,)), gym.spaces.Box(-1, 1, (2,)))]
    )
    sb3.PPO("MlpPolicy", env, n_steps=8, batch_size=8, device="cpu").save(tmp_path / "other.zip")
    why = r"Brain '3DBall': other.zip cannot be imported: the model observes Box\(3,\), not Box\(8,\)"
    with pytest.raises(RuntimeError, match=why):
        bpy.ops.academy.brain_import(filepath=str(tmp_path / "other.zip"), format="SB3")
    assert bytes(brain[STATE]) == trained_state


def test_the_command_line_exports_and_imports_sb3(academy, capsys, trained_state, tmp_path):
    scene = balance_ball()
    scene.academy.brains[0][STATE] = trained_state
    blend = tmp_path / "ball.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    out = tmp_path / "ball.zip"
    assert academy.cli.main(["export", str(blend), "--brain", "3DBall", "--sb3", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"wrote {out} (Brain '3DBall', sb3)" in captured.out
    assert "note: observation normalisation is folded into the first layers without its clip" in captured.err
    ours = load_learner(trained_state)
    _same(sb3.PPO.load(out, device="cpu"), ours, _obs(ours))

    bpy.ops.wm.read_homefile(use_empty=True)
    bb.build(bpy.context.scene, agents=2)
    fresh = tmp_path / "fresh.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(fresh))
    saved = tmp_path / "imported.blend"
    assert academy.cli.main(["import", str(fresh), "--brain", "3DBall", "--sb3", str(out), "--out", str(saved)]) == 0
    assert "Brain '3DBall' now has a model trained" in capsys.readouterr().out
    bpy.ops.wm.open_mainfile(filepath=str(saved))
    imported = load_learner(brain_store.stored_state(bpy.context.scene.academy.brains[0]))
    _same(sb3.PPO.load(out, device="cpu"), imported, _obs(ours))

    # errors: a Brain that is not there (usage), a model that cannot convert (named, one line)
    assert academy.cli.main(["export", str(blend), "--brain", "Nope", "--sb3", str(out)]) == 2
    assert "no Brain named 'Nope'" in capsys.readouterr().err
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    brain = bpy.context.scene.academy.brains[0]
    brain.ppo.continuous_dist = "squashed"
    state = load_learner(trained_state)
    squashed = importlib.import_module(M + ".training.factory").make_learner(
        state.config.replace(continuous_dist="squashed"), state.obs_space, state.action_space, num_agents=2
    )
    brain_store.store_state(brain, squashed.save_bytes())
    bpy.ops.wm.save_mainfile()
    assert academy.cli.main(["export", str(blend), "--brain", "3DBall", "--sb3", str(tmp_path / "s.zip")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("academy export: error: Brain '3DBall': cannot export to Stable-Baselines3: ")
    assert "squashes only with gSDE" in err and not (tmp_path / "s.zip").exists()


def test_the_command_line_exports_onnx_in_each_convention(academy, capsys, trained_state, tmp_path):
    onnx = pytest.importorskip("onnx")
    scene = balance_ball()
    scene.academy.brains[0][STATE] = trained_state
    blend = tmp_path / "ball.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    inputs = {}
    for convention in ("academy", "mlagents", "godot"):
        out = tmp_path / f"{convention}.onnx"
        assert (
            academy.cli.main(
                ["export", str(blend), "--brain", "3DBall", "--onnx", str(out), "--convention", convention]
            )
            == 0
        )
        model = onnx.load(str(out))
        assert {p.key: p.value for p in model.metadata_props}["convention"] == convention
        inputs[convention] = [i.name for i in model.graph.input]
    assert inputs["mlagents"][0] == "obs_0" and inputs["godot"] == ["obs", "state_ins"] and inputs["academy"] == ["obs"]
    capsys.readouterr()
    assert (
        academy.cli.main(
            ["export", str(blend), "--brain", "3DBall", "--sb3", str(tmp_path / "x.zip"), "--convention", "godot"]
        )
        == 2
    )
    assert "--convention applies to --onnx only" in capsys.readouterr().err
