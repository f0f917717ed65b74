"""./academy example and ./academy train, end to end in a subprocess (as a user runs them)."""

import importlib
import json
import os
import signal
import subprocess
import sys
import time

import bpy
import pytest

from devtools import boot

ACADEMY = str(boot.ROOT / "academy")
pytestmark = pytest.mark.lts


def _run(*args, **kwargs):
    return subprocess.run([sys.executable, str(boot.ROOT / "devtools" / "academy.py"), *args],
                          capture_output=True, text=True, timeout=600, **kwargs)  # fmt: skip


@pytest.fixture(scope="module")
def balance_ball_blend(tmp_path_factory):
    path = tmp_path_factory.mktemp("example") / "balance_ball.blend"
    proc = _run("example", "balance_ball", "--out", str(path))
    assert proc.returncode == 0, proc.stderr
    assert path.exists()
    return path


def test_train_writes_checkpoints_a_trained_copy_and_a_summary(balance_ball_blend, tmp_path):
    out = tmp_path / "out"
    proc = _run("train", str(balance_ball_blend), "--steps", "1500", "--out", str(out), "--checkpoint-every", "500")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["trained"] == ["3DBall"] and list(summary["brains"]) == ["3DBall"]
    mine = summary["brains"]["3DBall"]
    assert summary["agent_steps"] >= 1500 and summary["episodes"] == mine["episodes"] > 0
    assert summary["wall_seconds"] > 0 and mine["mean_episode_reward"] is not None and mine["type"] == "TRAINING"
    assert mine["curve"] and mine["curve"][-1][0] <= mine["agent_steps"] == summary["agent_steps"]
    checkpoints = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert "3DBall-final.academy" in checkpoints and len(checkpoints) >= 3
    assert "agent steps" in proc.stderr and "mean reward" in proc.stderr  # the progress line
    tensorboard = importlib.import_module(boot.MODULE + ".core.tensorboard")
    (events,) = (out / "tensorboard" / "3DBall").glob("events.out.tfevents.*")  # the Brain's own run
    scalars = tensorboard.read_scalars(events)
    rewards = [(step, value) for step, tag, value in scalars if tag == "Environment/Cumulative Reward"]
    tags = {tag for _s, tag, _v in scalars}
    assert {"Policy/Learning Rate", "Policy/Entropy", "Losses/Value Loss"} <= tags, tags
    assert rewards and rewards[-1][0] <= summary["agent_steps"]
    assert [round(v, 3) for _s, v in rewards] == [round(r, 3) for _s, r, _n in mine["curve"] if r == r]

    # the trained copy holds the Brain's model; the original file is untouched
    check = (
        "import bpy, sys\n"
        "bpy.ops.wm.open_mainfile(filepath=sys.argv[-1])\n"
        "b = bpy.context.scene.academy.brains['3DBall']\n"
        "print(b.trained_steps, len(b.get('academy_state', b'')))\n"
    )
    script = tmp_path / "check.py"
    script.write_text(
        f"import sys; sys.path.insert(0, {str(boot.ROOT)!r})\nfrom devtools import boot; boot.boot()\n" + check
    )
    trained = subprocess.run([sys.executable, str(script), str(out / "balance_ball-trained.blend")],
                             capture_output=True, text=True, timeout=300)  # fmt: skip
    steps, size = map(int, trained.stdout.split()[-2:])
    assert steps >= 1500 and size > 1000
    original = subprocess.run([sys.executable, str(script), str(balance_ball_blend)], capture_output=True, text=True)
    assert original.stdout.split()[-2:] == ["0", "0"]


def _popen(*args, **kwargs):
    return subprocess.Popen(
        [sys.executable, str(boot.ROOT / "devtools" / "academy.py"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def test_ctrl_c_stops_cleanly_and_keeps_the_last_checkpoint(balance_ball_blend, tmp_path):
    out = tmp_path / "out"
    proc = _popen("train", str(balance_ball_blend), "--steps", "10000000", "--out", str(out))
    for line in proc.stdout:  # wait until training runs (the progress bar prints), then interrupt
        if "agent steps" in line:
            break
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=300)
    assert proc.returncode == 130, rest
    checkpoint = out / "checkpoints" / "3DBall-interrupted.academy"
    assert checkpoint.exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] is True
    last = rest.strip().splitlines()[-1]
    assert last == (
        f"academy train: interrupted at {summary['agent_steps']:,} agent steps; checkpoint {checkpoint}, "
        f"trained copy {out / 'balance_ball-trained.blend'}"
    )
    assert "Traceback" not in rest and not list(out.rglob(".*.tmp-*"))  # no temporaries left


@pytest.mark.parametrize("stop", [False, True])
def test_target_prints_when_reached_and_stop_at_target_ends_the_run(balance_ball_blend, tmp_path, stop):
    out = tmp_path / "out"
    # -1000 is reached as soon as the reward window is full
    args = ["train", str(balance_ball_blend), "--steps", "3000", "--target", "-1000", "--out", str(out)]
    proc = _run(*args, *(["--stop-at-target"] if stop else []))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    mine = summary["brains"]["3DBall"]
    reached = [line for line in proc.stderr.splitlines() if line.startswith("reached mean reward")]
    assert len(reached) == 1 and "(target -1000) after" in reached[0] and mine["target_reward"] == -1000
    assert f"after {mine['steps_to_target']:,} agent steps" in reached[0]
    assert summary["stopped_at_target"] is stop and summary["interrupted"] is False
    assert ("stopping (--stop-at-target)" in reached[0]) is stop
    if stop:  # a normal end, early: final checkpoint, summary, trained copy
        assert summary["agent_steps"] < 3000 and summary["agent_steps"] >= mine["steps_to_target"]
        assert (out / "balance_ball-trained.blend").exists()
    else:
        assert summary["agent_steps"] >= 3000
    assert (out / "checkpoints" / "3DBall-final.academy").exists()


def test_target_is_for_every_training_brain_or_per_brain(academy, capsys):
    assert academy.cli._targets(["2.5", "Runner=1", "A=B=-3"]) == {None: 2.5, "Runner": 1.0, "A=B": -3.0}
    assert academy.cli.main(["train", "x.blend", "--target", "Runner=fast"]) == 2
    assert "--target Runner=fast: expected REWARD or BRAIN=REWARD" in capsys.readouterr().err
    assert academy.cli.main(["train", "x.blend", "--target", "=1"]) == 2
    assert "the Brain's name is missing" in capsys.readouterr().err


def test_stop_at_target_needs_a_target(academy, capsys):
    assert academy.cli.main(["train", "x.blend", "--stop-at-target"]) == 2
    assert "--stop-at-target needs --target" in capsys.readouterr().err


@pytest.mark.parametrize("point, message", [("boot", "academy: interrupted while starting"),
                                            ("load", "academy train: interrupted while loading ")])  # fmt: skip
def test_ctrl_c_while_starting_or_loading_is_one_line_and_130(balance_ball_blend, tmp_path, point, message):
    gate, out = tmp_path / "gate", tmp_path / "out"
    env = {**os.environ, "ACADEMY_TEST_HOLD": f"{point}:{gate}"}
    proc = _popen("train", str(balance_ball_blend), "--steps", "1000", "--out", str(out), env=env)
    for line in proc.stdout:  # the process is now inside the boot / inside open_mainfile
        if f"holding at {point}" in line:
            break
    proc.send_signal(signal.SIGINT)
    time.sleep(0.2)
    gate.touch()
    rest, _ = proc.communicate(timeout=300)
    assert proc.returncode == 130, rest
    lines = [line for line in rest.splitlines() if "Read blend" not in line]  # Blender's own note
    assert lines == [message + (str(balance_ball_blend) if point == "load" else "")], rest
    assert not out.exists()  # it did not go on to train


def test_failed_runs_leave_no_checkpoints_folder(academy, balance_ball_blend, tmp_path, monkeypatch, capsys):
    import bpy

    garbage = tmp_path / "garbage.blend"
    garbage.write_bytes(b"not a blend file at all")
    assert academy.cli.main(["train", str(garbage), "--out", str(tmp_path / "a")]) == 2
    assert not (tmp_path / "a").exists()

    empty = tmp_path / "empty.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(empty), copy=True)
    assert academy.cli.main(["train", str(empty), "--out", str(tmp_path / "b")]) == 1
    assert "No agents" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()

    bpy.ops.wm.open_mainfile(filepath=str(balance_ball_blend))
    bpy.context.scene.academy.brains["3DBall"].brain_type = "HEURISTIC"
    heuristic = tmp_path / "heuristic.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(heuristic), copy=True)
    assert academy.cli.main(["train", str(heuristic), "--out", str(tmp_path / "b")]) == 1
    assert "no Brain of type Training" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()

    session_mod = importlib.import_module(boot.MODULE + ".env.session")
    AcademyError = importlib.import_module(boot.MODULE + ".env.academy").AcademyError
    real_tick, calls = session_mod.Session.tick, []

    def failing_tick(self, *args, **kwargs):  # an error in the middle of the run, before any checkpoint
        calls.append(1)
        if len(calls) == 3:
            raise AcademyError("Brain '3DBall': injected failure")
        return real_tick(self, *args, **kwargs)

    monkeypatch.setattr(session_mod.Session, "tick", failing_tick)
    out = tmp_path / "c"
    args = ["train", str(balance_ball_blend), "--steps", "100000", "--checkpoint-every", "100000", "--out", str(out)]
    assert academy.cli.main(args) == 1
    assert "injected failure" in capsys.readouterr().err
    assert len(calls) == 3 and not (out / "checkpoints").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "missing.blend"], "no such file: missing.blend"),
        (["train", "x.blend", "--steps", "0"], "--steps must be at least 1"),
        (["train"], "the following arguments are required: FILE.blend"),
        (["example", "nope"], "invalid choice: 'nope'"),
    ],
)
def test_bad_arguments_are_one_line_errors(academy, capsys, args, message):
    assert academy.cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_demo_short_writes_every_result(academy, tmp_path):
    out = tmp_path / "out"
    proc = _run("demo", "--steps", "600", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["agent_steps"] >= 600 and summary["bake"]["keys"] > 0 and summary["bake"]["objects"] == 24
    for key in ("blend", "learning_curve_png", "contact_sheet_png"):
        assert (out / summary[key]).exists(), key
    for png in ("learning_curve.png", "contact_sheet.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Open the .blend in Blender" in proc.stdout and str(out / "contact_sheet.png") in proc.stdout
    # the .blend holds the trained Brain and the take (saved atomically: no .blend1 beside it)
    assert not list(out.glob("*.blend1")) and not list(out.glob("*@*"))
    bpy.ops.wm.open_mainfile(filepath=str(out / summary["blend"]))
    brain = bpy.context.scene.academy.brains[0]
    assert brain.trained_steps == summary["brains"][brain.name]["agent_steps"] > 0
    assert [t.name for t in academy.env.takes.takes(bpy.context.scene)] == [summary["bake"]["take"]]
