"""Train from the UI with Workers >= 2 (drivers/ui_train.py): a driver process and its workers train,
this Blender stays free and gets the model in its Brain."""

from __future__ import annotations

import importlib
import os
import sys
import time

import bpy
import pytest

from devtools import boot

ui_train = importlib.import_module(boot.MODULE + ".drivers.ui_train")
worker = importlib.import_module(boot.MODULE + ".drivers.worker")
balance_ball = importlib.import_module(boot.MODULE + ".examples.balance_ball")
sessions = importlib.import_module(boot.MODULE + ".env.sessions")
brain_store = importlib.import_module(boot.MODULE + ".env.brain_store")
state_check = importlib.import_module(boot.MODULE + ".training.state_check")
CURVE_KEY = importlib.import_module(boot.MODULE + ".core.names").CURVE_KEY
AcademyError = importlib.import_module(boot.MODULE + ".env.academy").AcademyError

BRAIN = "3DBall"
AGENTS = 12  # Balance Ball's
ROUND = 64 * AGENTS  # one PPO update's agent steps (the Brain's 64 steps x 12 agents)


def _parents() -> dict[int, int]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    out[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return out


def _descendants() -> list[int]:
    """This process's children, their children and so on (from /proc)."""
    parents, found, todo = _parents(), [], [os.getpid()]
    while todo:
        pid = todo.pop()
        kids = [p for p, pp in parents.items() if pp == pid]
        found += kids
        todo += kids
    return found


def _scene(workers: int = 2):
    scene = balance_ball.build(bpy.context.scene)
    scene.academy.workers = workers
    return scene


def _wait(run, until, timeout_s: float = 600.0) -> None:
    deadline = time.monotonic() + timeout_s
    while run.poll() and not until():
        assert time.monotonic() < deadline, "the driver did not get there"
        time.sleep(0.05)


def test_a_worker_is_blender_in_the_background_when_this_process_is_blender(tmp_path, monkeypatch):
    fake = tmp_path / "blender"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert worker.python_command("S", binary=str(fake)) == [
        str(fake),
        "--background",
        "--factory-startup",
        "--python-exit-code",
        "1",
        "--python-expr",
        "S",
        "--",
    ]
    # the pip bpy module (no binary path), this Python itself, a path that is not a program: this Python
    assert bpy.app.binary_path == ""
    for binary in ("", sys.executable, str(tmp_path / "missing")):
        assert worker.python_command("S", binary=binary) == [sys.executable, "-c", "S"]
    fake.chmod(0o644)
    assert worker.python_command("S", binary=str(fake)) == [sys.executable, "-c", "S"]
    fake.chmod(0o755)
    # the worker's command inside Blender enables the installed add-on instead of booting a checkout,
    # and reads its pipes after Blender's "--"
    monkeypatch.setattr(worker, "blender_binary", lambda binary=None: str(fake))
    command = worker.worker_command("drivers.ui_train")
    assert command[0] == str(fake) and command[-1] == "--"
    script = command[command.index("--python-expr") + 1]
    compile(script, "<worker>", "exec")
    assert f"addon_utils.enable({boot.MODULE!r}" in script and "boot.boot()" not in script
    assert f"{boot.MODULE!r} + '.' + 'drivers.ui_train'" in script
    args = script.split("worker_main(", 1)[1].rsplit("))", 1)[0]
    assert eval(args, {"sys": type("S", (), {"argv": [str(fake), "--background", "--", "7", "9"]})}) == ["7", "9"]
    assert eval(args, {"sys": type("S", (), {"argv": ["-c", "7", "9"]})}) == ["7", "9"]


def test_train_with_workers_stores_the_model_in_the_brain(monkeypatch):
    scene = _scene()
    seen: list[list[int]] = []
    poll = ui_train.WorkerTrain.poll

    def watched(run):
        if run.progress and not seen:
            seen.append(_descendants())
        return poll(run)

    monkeypatch.setattr(ui_train.WorkerTrain, "poll", watched)
    assert bpy.ops.academy.train(steps=1500) == {"FINISHED"}
    brain = scene.academy.brains[BRAIN]
    # two rounds of 2 workers x 32 steps x 12 agents cover 1,500 steps
    assert brain.trained_steps == 2 * ROUND
    checked = state_check.load_state(brain_store.stored_state(brain))
    assert checked.header["total_steps"] == 2 * ROUND and checked.header["num_agents"] == AGENTS
    assert len(brain.get(CURVE_KEY, ())) >= 3 and brain.mean_reward != 0.0
    assert len(seen) == 1 and len(seen[0]) == 3  # the driver and its two workers ran beside this Blender
    assert _descendants() == [] and sessions.active_sessions() == () and not ui_train.busy(scene.name)


def test_stop_keeps_the_last_checkpoint_and_leaves_no_process(tmp_path):
    scene = _scene()
    blend = tmp_path / "bb.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    out = tmp_path / "academy_runs" / scene.name
    run = ui_train.WorkerTrain(scene, 2, steps=10_000_000, out=out, blend=blend)
    try:
        _wait(run, lambda: run.progress.get("agent_steps", 0) > 0)
        assert len(_descendants()) == 3
        assert bpy.ops.academy.train.poll() is False  # one run per scene
        assert bpy.ops.academy.stop() == {"FINISHED"}
        _wait(run, lambda: False)
    finally:
        run.close()
    assert run.error is None and run.result[0]["interrupted"] is True
    assert run.store(scene) == [BRAIN]
    checkpoint = out / "checkpoints" / f"{BRAIN}-interrupted.academy"
    assert checkpoint.exists() and (out / "summary.json").exists()
    brain = scene.academy.brains[BRAIN]
    assert brain.trained_steps == state_check.load_state(checkpoint.read_bytes()).header["total_steps"] > 0
    assert brain_store.stored_state(brain) == checkpoint.read_bytes()  # the last checkpoint is the Brain's model
    assert _descendants() == [] and sessions.active_sessions() == () and not ui_train.busy(scene.name)


def test_the_panel_shows_the_run_and_its_curve_while_the_workers_train(tmp_path):
    """While the driver trains, the sidebar shows its agent steps, mean reward and curve as a run in
    this process does; the curve grown live is the one stored with the model at the end."""
    import math

    from recording_layout import draw_panel

    panels = importlib.import_module(boot.MODULE + ".panels")
    scene = _scene()
    blend = tmp_path / "bb.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    run = ui_train.WorkerTrain(scene, 2, steps=3 * ROUND, blend=blend)  # curve points every 1,000 steps
    try:
        before = draw_panel(panels.ACADEMY_PT_viewport, bpy.context)  # before any progress: no error
        assert ("label", "Agent steps: 0") in [entry[:2] for entry in before]
        _wait(run, lambda: len(run.stats[BRAIN].curve) >= 2)
        live = draw_panel(panels.ACADEMY_PT_viewport, bpy.context)
        texts = [entry[1] for entry in live if entry[0] == "label"]
        assert "Training" in texts and f"Agent steps: {run.agent_steps:,}" in texts
        assert any(t.startswith("Learning curve: ") for t in texts), texts
        _wait(run, lambda: False)
    finally:
        run.close()
    assert run.error is None and run.store(scene) == [BRAIN]
    stored = list(scene.academy.brains[BRAIN].get(CURVE_KEY, ()))
    grown = [v for point in run.stats[BRAIN].curve if not any(map(math.isnan, point)) for v in point]
    assert len(stored) >= 6 and stored == pytest.approx(grown)


def test_a_file_the_workers_cannot_open_is_an_error_in_the_ui(tmp_path, monkeypatch):
    _scene()
    blend = tmp_path / "bb.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    blend.write_bytes(b"not a blend file")
    # as if unchanged since saved (the pip module says a file is changed right after saving it)
    monkeypatch.setattr(ui_train, "saved_file", lambda: str(blend))
    with pytest.raises(RuntimeError, match=rf"Training driver \(process \d+\) cannot open {blend}"):
        bpy.ops.academy.train(steps=1500)
    assert _descendants() == [] and sessions.active_sessions() == ()


def test_the_workers_and_ray_address_settings_reach_the_run(monkeypatch):
    scene = _scene(workers=3)
    scene.academy.ray_address = " 10.0.0.7:6379 "
    got = {}

    class Fake:
        def __init__(self, scene, workers, **kwargs):
            got.update(workers=workers, **kwargs)
            raise AcademyError("no cluster here")

    monkeypatch.setattr(ui_train, "WorkerTrain", Fake)
    with pytest.raises(RuntimeError, match="no cluster here"):
        bpy.ops.academy.train(steps=100)
    assert got["workers"] == 3 and got["ray_address"] == "10.0.0.7:6379" and got["steps"] == 100
    scene.academy.workers = 1  # one: in this Blender, as before
    got.clear()
    assert bpy.ops.academy.train(steps=100) == {"FINISHED"} and got == {}


def test_a_workers_error_is_one_line_in_the_ui_naming_the_worker(monkeypatch):
    scene = _scene()
    monkeypatch.setenv(worker.FAIL_ENV, "1:1")  # worker 1 fails at its first fragment (the driver's env reaches it)
    with pytest.raises(RuntimeError) as raised:
        bpy.ops.academy.train(steps=1500)
    message = str(raised.value).strip()
    assert message.startswith("Error: Stopped: Worker 1 (process ") and "failing on purpose" in message
    assert message.endswith("; nothing learned was stored") and "\n" not in message and "AcademyError" not in message
    assert not brain_store.has_model(scene.academy.brains[BRAIN])
    assert _descendants() == [] and sessions.active_sessions() == ()
