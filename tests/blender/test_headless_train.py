"""./academy example and ./academy train, end to end in a subprocess (as a user runs them)."""

import importlib
import json
import signal
import subprocess
import sys

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
    assert summary["brains"] == ["3DBall"]
    assert summary["agent_steps"] >= 1500 and summary["episodes"] > 0
    assert summary["wall_seconds"] > 0 and summary["mean_episode_reward"] is not None
    assert summary["curve"] and summary["curve"][-1][0] <= summary["agent_steps"]
    checkpoints = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert "3DBall-final.academy" in checkpoints and len(checkpoints) >= 3
    assert "agent steps" in proc.stderr and "mean reward" in proc.stderr  # the progress line
    tensorboard = importlib.import_module(boot.MODULE + ".env.tensorboard")
    (events,) = (out / "tensorboard").glob("events.out.tfevents.*")
    scalars = tensorboard.read_scalars(events)
    rewards = [(step, value) for step, tag, value in scalars if tag == "Academy/mean_reward"]
    assert rewards and rewards[-1][0] <= summary["agent_steps"]
    assert [round(v, 3) for _s, v in rewards] == [round(r, 3) for _s, r, _n in summary["curve"] if r == r]

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


def test_ctrl_c_stops_cleanly_and_keeps_the_last_checkpoint(balance_ball_blend, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(boot.ROOT / "devtools" / "academy.py"),
            "train",
            str(balance_ball_blend),
            "--steps",
            "10000000",
            "--out",
            str(out),
        ],  # fmt: skip
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in proc.stderr:  # wait until training runs (the progress bar prints), then interrupt
        if "agent steps" in line:
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert (out / "checkpoints" / "3DBall-interrupted.academy").exists()
    assert json.loads((out / "summary.json").read_text())["interrupted"] is True


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


def test_demo_short_writes_every_result(tmp_path):
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
