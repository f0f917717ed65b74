"""Optional trackers (``env/trackers.py``, ``./academy train --track``): Weights & Biases and MLflow
get each Brain's numbers when their package is there, and a clear refusal when it is not.

Neither package is installed here: stand-in modules with their call signatures record what a run
sends them (the test checks our side of the seam, not the services)."""

import importlib
import sys
import types

import bpy
import pytest

from devtools import boot

M = boot.MODULE
bb = importlib.import_module(M + ".examples.balance_ball")
trackers = importlib.import_module(M + ".env.trackers")
callbacks = importlib.import_module(M + ".env.callbacks")


class _Recorder:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            return self

        return call


@pytest.fixture
def fake_packages(monkeypatch):
    """``wandb`` and ``mlflow`` modules whose every call is recorded."""
    wandb, mlflow = _Recorder(), _Recorder()
    for name, rec in (("wandb", wandb), ("mlflow", mlflow)):
        module = types.ModuleType(name)
        for fn in ("init", "set_experiment", "start_run", "log_params", "log_metrics", "end_run"):
            setattr(module, fn, getattr(rec, fn))
        monkeypatch.setitem(sys.modules, name, module)
    return wandb, mlflow


def _blend(tmp_path):
    bpy.ops.wm.read_homefile(use_empty=True)
    bb.build(bpy.context.scene, agents=2)
    path = tmp_path / "ball.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    return path


def test_train_with_track_logs_each_brain_to_wandb_and_mlflow(academy, fake_packages, tmp_path):
    wandb, mlflow = fake_packages
    blend = _blend(tmp_path)
    args = ["train", str(blend), "--steps", "2400", "--out", str(tmp_path / "run7"), "--track", "wandb"]
    assert academy.cli.main([*args, "--track", "mlflow", "--no-tensorboard"]) == 0

    name, _args, init = wandb.calls[0]
    assert name == "init" and init["name"] == "run7" and init["config"]["steps"] == 2400
    logs = [(kw["step"], a[0]) for n, a, kw in wandb.calls if n == "log"]
    steps = [s for s, _ in logs]
    assert steps == sorted(set(steps)) and steps[-1] == 2400 and len(steps) >= 2  # every 1,000 and the end
    assert all(b - a >= trackers.LOG_EVERY for a, b in zip(steps, steps[1:-1], strict=False))
    last = logs[-1][1]
    assert {f"{bb.BRAIN}/Environment/Cumulative Reward", f"{bb.BRAIN}/Losses/Policy Loss"} <= set(last)
    assert wandb.calls[-1] == ("finish", (), {"exit_code": 0})

    names = [n for n, _a, _kw in mlflow.calls]
    assert names[:3] == ["set_experiment", "start_run", "log_params"] and names[-1] == "end_run"
    assert mlflow.calls[-1][2] == {"status": "FINISHED"}
    metrics = [(kw["step"], a[0]) for n, a, kw in mlflow.calls if n == "log_metrics"]
    assert [s for s, _ in metrics] == steps and metrics[-1][1] == last  # the same numbers to both


def test_a_tracker_without_its_package_is_refused_before_anything_is_written(academy, capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "wandb", None)  # import wandb raises ImportError
    blend = _blend(tmp_path)
    out = tmp_path / "out"
    assert academy.cli.main(["train", str(blend), "--steps", "200", "--out", str(out), "--track", "wandb"]) == 2
    err = capsys.readouterr().err
    assert "the wandb tracker needs the wandb package, which is not installed here (pip install wandb)" in err
    assert not out.exists()


class _Session:
    def __init__(self):
        self.agent_steps = 0
        self.stats = {}

    def learner_stats(self):
        return {}


def test_tracker_logs_every_n_steps_and_closes_with_the_reason(fake_packages):
    _wandb, mlflow = fake_packages
    tracker = trackers.make_tracker("mlflow", run_name="r", log_every=500)
    tracker.values = lambda session: {"B/x": float(session.agent_steps)}
    session = _Session()
    tracker.on_start(session)
    for steps in (0, 100, 499, 500, 900, 1000, 1001):
        session.agent_steps = steps
        tracker.on_progress(session)
    tracker.on_stop(session, callbacks.ERROR)  # a failed run: not logged again, marked failed
    logged = [kw["step"] for n, _a, kw in mlflow.calls if n == "log_metrics"]
    assert logged == [0, 500, 1000]
    assert mlflow.calls[-1] == ("end_run", (), {"status": "FAILED"})
    with pytest.raises(trackers.TrackerError, match="unknown tracker 'neptune'"):
        trackers.make_tracker("neptune")
