"""./academy train's runs: --run-id folders, refusal, --force, --resume, --initialize-from (as mlagents-learn)."""

import importlib
import json
import re
import subprocess
import sys

import pytest

from devtools import boot

pytestmark = pytest.mark.lts
BRAIN = "3DBall"


def _run(*args):
    return subprocess.run([sys.executable, str(boot.ROOT / "devtools" / "academy.py"), *args],
                          capture_output=True, text=True, timeout=600)  # fmt: skip


def _train(blend, out, *more):
    proc = _run("train", str(blend), "--steps", "600", "--checkpoint-every", "300", "--out", str(out), *more)
    return proc


@pytest.fixture(scope="module")
def blend(tmp_path_factory):
    path = tmp_path_factory.mktemp("example") / "bb.blend"
    proc = _run("example", "balance_ball", "--out", str(path))
    assert proc.returncode == 0, proc.stderr
    return path


def _numbered(run) -> list[int]:
    names = [p.name for p in (run / "checkpoints").iterdir()]
    return sorted(int(m.group(1)) for n in names if (m := re.fullmatch(rf"{BRAIN}-(\d+)\.academy", n)))


def _tensorboard_steps(run) -> list[int]:
    tensorboard = importlib.import_module(boot.MODULE + ".core.tensorboard")
    steps = []
    for events in sorted((run / "tensorboard" / BRAIN).glob("events.out.tfevents.*")):
        steps += [step for step, tag, _v in tensorboard.read_scalars(events) if tag == "Environment/Cumulative Reward"]
    return steps


def _stored_steps(path) -> int:
    check = (
        f"import sys; sys.path.insert(0, {str(boot.ROOT)!r})\nfrom devtools import boot; boot.boot()\n"
        "import bpy\n"
        "bpy.ops.wm.open_mainfile(filepath=sys.argv[-1])\n"
        f"print('STEPS', bpy.context.scene.academy.brains['{BRAIN}'].trained_steps)\n"
    )
    proc = subprocess.run([sys.executable, "-c", check, str(path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.split("STEPS")[-1])


def test_a_used_run_is_refused_and_force_overwrites_it(blend, tmp_path):
    out = tmp_path / "out"
    assert _train(blend, out, "--run-id", "a").returncode == 0
    run = out / "a"
    assert (
        (run / "summary.json").exists() and (run / "bb-trained.blend").exists() and not (out / "summary.json").exists()
    )
    (run / "checkpoints" / "stale.academy").write_bytes(b"")  # a file of the run before
    again = _train(blend, out, "--run-id", "a")
    assert again.returncode != 0
    (line,) = [ln for ln in again.stderr.splitlines() if ln.strip()]
    assert str(run) in line and "--force" in line and "--resume" in line
    assert (run / "checkpoints" / "stale.academy").exists()  # refused: nothing touched
    forced = _train(blend, out, "--run-id", "a", "--force")
    assert forced.returncode == 0, forced.stderr
    assert not (run / "checkpoints" / "stale.academy").exists()
    assert len(list((run / "tensorboard" / BRAIN).glob("events.*"))) == 1  # the earlier run's curve is gone
    summary = json.loads((run / "summary.json").read_text())
    assert summary["run_id"] == "a" and len(summary["parts"]) == 1
    # without --run-id the run is --out itself, refused the same way
    assert _train(blend, tmp_path / "plain").returncode == 0
    assert _train(blend, tmp_path / "plain").returncode != 0
    # forcing a run whose own trained copy is the file trained: the file is read, then replaced by the new copy
    copy = tmp_path / "plain" / "bb-trained.blend"
    again = _train(copy, tmp_path / "plain", "--force")
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in copy.parent.glob("*.blend")) == ["bb-trained.blend"]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_resume_continues_steps_checkpoints_tensorboard_and_summary(blend, tmp_path, workers):
    out = tmp_path / "out"
    assert _train(blend, out, "--run-id", "r").returncode == 0
    run = out / "r"
    first = json.loads((run / "summary.json").read_text())
    first_numbers, first_tb = _numbered(run), _tensorboard_steps(run)
    assert first_numbers and max(first_numbers) <= first["agent_steps"] < 900
    resumed = _train(blend, out, "--run-id", "r", "--resume", "--workers", workers)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert [p["agent_steps"] for p in summary["parts"]] == [first["agent_steps"], summary["agent_steps"]]
    assert summary["total_agent_steps"] == first["agent_steps"] + summary["agent_steps"]
    later = [n for n in _numbered(run) if n not in first_numbers]
    if workers == "1":  # (worker runs collect in larger slices: their 600 steps end before a checkpoint is due)
        assert later and min(later) > first["agent_steps"]  # numbered by total steps: the first part's stay
    assert set(first_numbers) <= set(_numbered(run))
    steps = _tensorboard_steps(run)
    assert steps[: len(first_tb)] == first_tb and len(steps) > len(first_tb)
    assert steps == sorted(steps)  # the curve goes on, never back
    assert sorted(p.name for p in run.glob("*.blend")) == ["bb-trained.blend"]  # no bb-trained-trained.blend
    assert _stored_steps(run / "bb-trained.blend") == summary["total_agent_steps"]


def test_initialize_from_starts_a_new_run_from_another(blend, tmp_path):
    out = tmp_path / "out"
    assert _train(blend, out, "--run-id", "base").returncode == 0
    base = json.loads((out / "base" / "summary.json").read_text())
    proc = _train(blend, out, "--run-id", "next", "--initialize-from", "base")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "next" / "summary.json").read_text())
    assert summary["initialized_from"] == "base" and len(summary["parts"]) == 1
    assert min(_numbered(out / "next")) > base["agent_steps"]  # the Brain came with base's training
    assert _stored_steps(out / "next" / "bb-trained.blend") == base["agent_steps"] + summary["agent_steps"]
    missing = _train(blend, out, "--run-id", "other", "--initialize-from", "nowhere")
    assert missing.returncode != 0 and "nowhere" in missing.stderr


def test_the_trained_copy_name_never_piles_up():
    runs = importlib.import_module(boot.MODULE + ".drivers.runs")
    assert runs.trained_name("x/bb.blend") == "bb-trained.blend"
    assert runs.trained_name("x/bb-trained.blend") == "bb-trained.blend"
