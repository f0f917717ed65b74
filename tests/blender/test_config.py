"""Run files: ./academy train --config RUN.toml, ./academy config FILE.blend, and what summary.json records."""

import json
import sys
import tomllib

import bpy
import pytest

pytestmark = pytest.mark.lts
BRAIN = "3DBall"


@pytest.fixture
def blend(academy, tmp_path):
    academy.examples.balance_ball.build(bpy.context.scene, agents=2)
    path = tmp_path / "bb.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    return path


def _train(academy, blend, out, *more) -> dict:
    assert academy.cli.main(["train", str(blend), "--steps", "40", "--out", str(out), *more]) == 0
    run = out / more[more.index("--run-id") + 1] if "--run-id" in more else out
    return json.loads((run / "summary.json").read_text())


def test_config_of_a_file_then_training_with_it_changes_nothing(academy, blend, tmp_path):
    first = tmp_path / "run.toml"
    assert academy.cli.main(["config", str(blend), "--out", str(first)]) == 0
    written = tomllib.loads(first.read_text())
    assert written["brains"][BRAIN]["algorithm"] == "PPO" and "learning_rate" in written["brains"][BRAIN]["ppo"]
    plain = _train(academy, blend, tmp_path / "plain")
    configured = _train(academy, blend, tmp_path / "configured", "--config", str(first))
    assert configured["hyperparameters"] == plain["hyperparameters"] and configured["seed"] == plain["seed"]
    assert configured["brains"][BRAIN]["mean_episode_reward"] == plain["brains"][BRAIN]["mean_episode_reward"]
    again = tmp_path / "again.toml"
    assert academy.cli.main(["config", str(tmp_path / "configured" / "bb-trained.blend"), "--out", str(again)]) == 0
    assert again.read_text() == first.read_text()


def test_the_file_sets_the_settings_the_learner_uses_and_the_trained_copy_keeps(academy, blend, tmp_path):
    run = tmp_path / "run.toml"
    run.write_text(
        f'[academy]\nseed = 7\n\n[brains.{BRAIN}]\nalgorithm = "ppo"\n\n'
        f"[brains.{BRAIN}.ppo]\nlearning_rate = 1e-3\nnum_steps = 8\n"
    )
    plain = _train(academy, blend, tmp_path / "plain")
    s = _train(academy, blend, tmp_path / "out", "--config", str(run), "--run-id", "r1")
    assert plain["hyperparameters"][BRAIN]["learning_rate"] == 3e-4 and plain["seed"] == 0  # the controls
    assert s["hyperparameters"][BRAIN]["learning_rate"] == 1e-3 and s["hyperparameters"][BRAIN]["num_steps"] == 8
    assert s["seed"] == 7 and s["run_id"] == "r1" and s["config"] == str(run)
    assert s["brains"][BRAIN]["learner"]["learning_rate"] == pytest.approx(1e-3)  # the learner ran with it
    assert plain["brains"][BRAIN]["learner"]["learning_rate"] == pytest.approx(3e-4)
    # 8-step rollouts of 2 agents update within 40 steps; the default 64 do not
    assert s["brains"][BRAIN]["learner"].get("policy_loss") is not None
    assert plain["brains"][BRAIN]["learner"].get("policy_loss") is None
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "out" / "r1" / "bb-trained.blend"))
    kept = bpy.context.scene.academy
    assert kept.seed == 7 and kept.brains[BRAIN].ppo.num_steps == 8
    assert kept.brains[BRAIN].ppo.learning_rate == pytest.approx(1e-3)
    overridden = _train(academy, blend, tmp_path / "seed", "--config", str(run), "--seed", "3")
    assert overridden["seed"] == 3  # the command line's --seed wins over the file's


def test_a_run_file_sets_sac_and_its_table(academy, blend, tmp_path):
    run = tmp_path / "run.toml"
    run.write_text(
        f'[brains.{BRAIN}]\nalgorithm = "sac"\n\n[brains.{BRAIN}.sac]\nlearning_starts = 10\nbatch_size = 8\n'
        "hidden_units = 16\ntau = 0.02\n"
    )
    s = _train(academy, blend, tmp_path / "out", "--config", str(run))
    assert s["hyperparameters"][BRAIN]["tau"] == 0.02 and s["hyperparameters"][BRAIN]["hidden_units"] == 16
    learner = s["brains"][BRAIN]["learner"]
    assert learner["critic_loss"] == learner["critic_loss"] and learner["ent_coef"] > 0  # SAC learned
    written = tmp_path / "written.toml"
    assert academy.cli.main(["config", str(tmp_path / "out" / "bb-trained.blend"), "--out", str(written)]) == 0
    assert tomllib.loads(written.read_text())["brains"][BRAIN]["sac"]["tau"] == pytest.approx(0.02)


def test_summary_records_the_versions(academy, blend, tmp_path):
    import numpy

    s = _train(academy, blend, tmp_path / "out")
    versions = s["versions"]
    assert versions["blender"] == bpy.app.version_string and versions["numpy"] == numpy.__version__
    assert versions["python"] == sys.version.split()[0]
    assert versions["agent_academy"] == academy.compat.extension_version()
    assert versions["torch"] == academy.compat.torch_version()
    assert s["parts"][0]["hyperparameters"] == s["hyperparameters"]  # each part of a resumed run keeps its own


@pytest.mark.parametrize(
    ("text", "table", "key"),
    [
        ("[brains.Nope]\nalgorithm = 'PPO'\n", "[brains.Nope]", "Nope"),
        (f"[brains.{BRAIN}.ppo]\nlearnig_rate = 0.1\n", f"[brains.{BRAIN}.ppo]", "learnig_rate"),
        (f"[brains.{BRAIN}.ppo]\nnum_steps = 'many'\n", f"[brains.{BRAIN}.ppo]", "num_steps"),
        (f"[brains.{BRAIN}.ppo]\nnum_steps = 8.5\n", f"[brains.{BRAIN}.ppo]", "num_steps"),
        (f"[brains.{BRAIN}.ppo]\nlearning_rate = 2.0\n", f"[brains.{BRAIN}.ppo]", "learning_rate"),
        (f"[brains.{BRAIN}.ppo]\nactivation = 'gelu'\n", f"[brains.{BRAIN}.ppo]", "activation"),
        (f"[brains.{BRAIN}]\ndeterministic = 1\n", f"[brains.{BRAIN}]", "deterministic"),
        (f"[brains.{BRAIN}]\nalgorithm = 'A2C'\n", f"[brains.{BRAIN}]", "algorithm"),
        ("[academy]\nseed = -1\n", "[academy]", "seed"),
        ("[academy]\ngravity = 9.8\n", "[academy]", "gravity"),
    ],
)
def test_a_wrong_file_is_one_line_naming_the_file_the_table_and_the_key(
    academy, blend, tmp_path, capsys, text, table, key
):
    run = tmp_path / "run.toml"
    run.write_text(text)
    out = tmp_path / "out"
    assert academy.cli.main(["train", str(blend), "--steps", "40", "--out", str(out), "--config", str(run)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert str(run) in line and table in line and key in line, line
    assert not (out / "summary.json").exists()


def test_nothing_is_set_unless_every_key_is_right(academy, blend, tmp_path):
    scene = bpy.context.scene
    run = tmp_path / "run.toml"
    run.write_text(f"[academy]\nseed = 5\n\n[brains.{BRAIN}.ppo]\nnum_epochs = 2\ngamma = 1.5\n")
    with pytest.raises(academy.drivers.run_config.RunConfigError, match="gamma"):
        academy.drivers.run_config.apply_config(scene, run)
    assert scene.academy.seed == 0 and scene.academy.brains[BRAIN].ppo.num_epochs == 4
    run.write_text(f"[academy]\nseed = 5\n\n[brains.{BRAIN}.ppo]\nnum_epochs = 2\ngamma = 0.9\n")
    academy.drivers.run_config.apply_config(scene, run)
    assert scene.academy.seed == 5 and scene.academy.brains[BRAIN].ppo.num_epochs == 2


def test_a_file_that_is_not_toml_is_refused_before_force_deletes_the_run(academy, blend, tmp_path, capsys):
    out = tmp_path / "out"
    _train(academy, blend, out)
    run = tmp_path / "run.toml"
    run.write_text("[brains\n")
    argv = ["train", str(blend), "--steps", "40", "--out", str(out), "--force", "--config", str(run)]
    assert academy.cli.main(argv) == 2
    assert str(run) in capsys.readouterr().err
    assert (out / "summary.json").exists()


@pytest.mark.parametrize(
    "text", ["[brains.NoSuchBrain.ppo]\ngamma = 0.9\n", "[brains.BRAIN.ppo]\ngamma = 1.5\n"], ids=["brain", "value"]
)
def test_a_config_refused_once_the_file_is_open_leaves_the_run_that_force_would_replace(
    academy, blend, tmp_path, capsys, text
):
    """An unknown Brain or a bad value is found only once the .blend is open; --force must not
    have cleared the old run by then (it did: a typo in the config cost the designer's run)."""
    out = tmp_path / "out"
    _train(academy, blend, out)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    run = tmp_path / "run.toml"
    run.write_text(text.replace("BRAIN", BRAIN))
    argv = ["train", str(blend), "--steps", "40", "--out", str(out), "--force", "--config", str(run)]
    assert academy.cli.main(argv) == 2
    assert str(run) in capsys.readouterr().err
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before and before


def test_any_brain_name_and_value_survive_the_file(academy, blend, tmp_path):
    run_config = academy.drivers.run_config
    scene = bpy.context.scene
    brain = scene.academy.brains[BRAIN]
    brain.name = 'Ball "A".1 \\ é'  # needs a quoted TOML key
    brain.ppo.learning_rate, brain.ppo.gamma, brain.ppo.lr_schedule = 0.000123, 0.987654, "linear"
    path = run_config.write_config(scene, tmp_path / "run.toml")
    assert tomllib.loads(path.read_text())["brains"][brain.name]["ppo"]["lr_schedule"] == "linear"
    kept = {k: getattr(brain.ppo, k) for k in ("learning_rate", "gamma", "lr_schedule")}
    brain.ppo.learning_rate, brain.ppo.gamma, brain.ppo.lr_schedule = 0.5, 0.5, "constant"
    run_config.apply_config(scene, path)
    assert {k: getattr(brain.ppo, k) for k in kept} == kept  # the same float32 values, not merely close
