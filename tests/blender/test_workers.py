"""Training with worker processes (drivers/workers.py): 2 headless Blenders collect, this process learns."""

from __future__ import annotations

import importlib
import io
import json
import os
import signal
import subprocess
import sys

import bpy
import numpy as np
import pytest

from devtools import boot

workers = importlib.import_module(boot.MODULE + ".drivers.workers")
balance_ball = importlib.import_module(boot.MODULE + ".examples.balance_ball")
callbacks = importlib.import_module(boot.MODULE + ".env.callbacks")
sessions = importlib.import_module(boot.MODULE + ".env.sessions")
state_check = importlib.import_module(boot.MODULE + ".training.state_check")
AcademyError = importlib.import_module(boot.MODULE + ".env.academy").AcademyError

BRAIN = "3DBall"
STEPS = 24_000
AGENTS = 12  # Balance Ball's


def _children() -> list[int]:
    """This process's child processes (from /proc)."""
    me, out = os.getpid(), []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == me:
                out.append(int(entry))
    return out


class Watch(callbacks.Callback):
    """Notes the mean reward after the first round (the untrained policy's) and the workers running."""

    def __init__(self):
        self.baseline = None
        self.children: list[int] = []

    def on_progress(self, run):
        if self.baseline is None:
            self.baseline = run.stats[BRAIN].mean_return
            self.children = _children()


def _train(tmp_path, name, seed=3, steps=STEPS, watch=None):
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = balance_ball.build(bpy.context.scene)
    watch = watch or Watch()
    result = workers.train_workers(
        scene, tmp_path / name, workers=2, steps=steps, seed=seed, progress=False, callbacks=[watch]
    )
    return result, watch, scene.academy.brains[BRAIN].trained_steps


@pytest.fixture(scope="module")
def learned(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("workers"), "learned")


def test_two_workers_learn_with_one_process_update_size(learned):
    result, watch, trained_steps = learned
    s = result.summary
    mine = s["brains"][BRAIN]
    # one update learns from num_steps x agents samples, as with one process: 32 steps x 24 agents
    per_update = 64 * AGENTS
    assert s["workers"] == 2 and s["updates"] == -(-STEPS // per_update)
    assert s["agent_steps"] == mine["agent_steps"] == s["updates"] * per_update
    assert mine["learner"]["num_updates"] == s["updates"]
    assert mine["learner"]["total_steps"] == s["agent_steps"]
    assert mine["episodes"] > 0 and len(mine["curve"]) > 3
    # far better than the untrained policy it started from (the first round's episodes); in one
    # process this seed goes from 1.1 to 19 in 24,000 agent steps
    assert watch.baseline == watch.baseline and mine["mean_episode_reward"] > 3 * watch.baseline, (
        watch.baseline,
        mine["curve"],
    )
    assert len(watch.children) == 2  # the workers were this process's children, and they are gone
    assert _children() == []
    assert trained_steps == s["agent_steps"]  # stored in the Brain, as one process stores it
    assert (result.checkpoints[-1].name, result.checkpoints[-1].exists()) == (f"{BRAIN}-final.academy", True)
    # a checkpoint is what one process writes: the scene's agents, the Brain's rollout length
    checked = state_check.load_state(result.checkpoints[-1].read_bytes())
    assert checked.header["num_agents"] == AGENTS and checked.config.num_steps == 64
    assert checked.header["total_steps"] == s["agent_steps"]


def test_the_same_seed_and_workers_give_the_same_curve(tmp_path):
    (a, _, _), (b, _, _) = (_train(tmp_path, f"run{i}", seed=5, steps=3000) for i in range(2))
    assert a.summary["agent_steps"] == 4 * 64 * AGENTS and len(a.summary["brains"][BRAIN]["curve"]) >= 3
    assert a.summary["brains"][BRAIN]["curve"] == b.summary["brains"][BRAIN]["curve"]
    assert a.summary["brains"][BRAIN]["learner"] == b.summary["brains"][BRAIN]["learner"]
    assert a.checkpoints[-1].read_bytes() == b.checkpoints[-1].read_bytes()


def test_worker_seeds_differ_and_follow_the_academy_seed():
    seeds = [workers.worker_seed(3, i) for i in range(4)]
    assert len(set(seeds)) == 4 and seeds == [workers.worker_seed(3, i) for i in range(4)]
    assert workers.worker_seed(4, 0) != seeds[0]


@pytest.mark.lts
def test_messages_carry_arrays_without_pickle():
    buf = io.BytesIO()
    arrays = {"obs/vector": np.arange(12, dtype=np.float32).reshape(3, 4), "done": np.array([True, False])}
    workers.send(buf, {"type": "fragment", "brain": "B"}, arrays)
    buf.seek(0)
    header, back = workers.recv(buf)
    assert header == {"type": "fragment", "brain": "B"}
    assert all(np.array_equal(back[k], v) and back[k].dtype == v.dtype for k, v in arrays.items())
    with pytest.raises(EOFError):
        workers.recv(io.BytesIO(buf.getvalue()[:-3]))
    objects = io.BytesIO()
    with pytest.raises(ValueError):  # object arrays would need pickle
        workers.send(objects, {"type": "x"}, {"o": np.array([{}], dtype=object)})


@pytest.mark.lts  # the workers boot Blender 4.5's module too
def test_an_error_in_a_worker_names_it_and_leaves_no_worker(tmp_path, monkeypatch):
    monkeypatch.setenv(workers.FAIL_ENV, "1:2")
    with pytest.raises(AcademyError, match=r"Worker 1 \(process \d+\) .*failing on purpose"):
        _train(tmp_path, "fails", steps=5000)
    assert _children() == [] and sessions.active_sessions() == ()
    assert not (tmp_path / "fails" / "summary.json").exists()


def test_a_killed_worker_and_a_stuck_one_are_replaced_and_training_goes_on(tmp_path, monkeypatch):
    # worker 0 is killed (SIGKILL) at its second fragment, worker 1 stops answering at its third
    monkeypatch.setenv(workers.FAIL_ENV, "0:2:kill,1:3:hang")
    monkeypatch.setattr(importlib.import_module(boot.MODULE + ".drivers.worker"), "ANSWER_WAIT_S", 5.0)
    result, _, trained_steps = _train(tmp_path, "killed", steps=5000)
    s = result.summary
    assert s["workers_replaced"] == 2 and s["updates"] == -(-5000 // (64 * AGENTS))
    assert s["agent_steps"] == trained_steps == s["updates"] * 64 * AGENTS
    assert _children() == [] and sessions.active_sessions() == ()


def _ours(tmpdir) -> list[int]:
    """Processes whose environment names ``tmpdir`` (a CLI run's workers inherit it)."""
    mark = f"TMPDIR={tmpdir}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if mark in f.read().split(b"\0"):
                        found.append(int(entry))
            except OSError:
                continue
    return found


ACADEMY_CLI = [sys.executable, str(boot.ROOT / "devtools" / "academy.py")]


def _env(tmp_path):
    """A child with its own temp folder: its workers inherit it, so they can be found (and counted) by it."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("BLENDER_USER_RESOURCES", None)
    return env


@pytest.fixture(scope="module")
def blend(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "bb.blend"
    made = subprocess.run([*ACADEMY_CLI, "example", "balance_ball", "--out", str(path)], capture_output=True)
    assert made.returncode == 0, made.stderr
    return path


def test_the_command_line_trains_with_workers(blend, tmp_path):
    env, out = _env(tmp_path), tmp_path / "out"
    args = ["train", str(blend), "--workers", "2", "--steps", "1500", "--out", str(out), "--seed", "1"]
    proc = subprocess.run([*ACADEMY_CLI, *args], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["workers"] == 2 and summary["agent_steps"] == 2 * 64 * AGENTS  # two updates cover 1,500
    assert "agent steps" in proc.stderr and "mean reward" in proc.stderr  # the progress line
    assert (out / "checkpoints" / f"{BRAIN}-final.academy").exists() and (out / "bb-trained.blend").exists()
    assert list((out / "tensorboard" / BRAIN).glob("events.out.tfevents.*"))
    assert _ours(tmp_path) == []
    refused = subprocess.run([*ACADEMY_CLI, "train", str(blend), "--workers", "0"], capture_output=True, text=True)
    assert refused.returncode == 2 and "--workers must be at least 1" in refused.stderr


def test_ctrl_c_stops_every_worker_and_keeps_the_last_checkpoint(blend, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [*ACADEMY_CLI, "train", str(blend), "--workers", "2", "--steps", "10000000", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(tmp_path),
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        for line in proc.stdout:  # training runs once the progress line prints
            if "agent steps" in line:
                break
        assert len(_ours(tmp_path)) == 3  # the command and its two workers
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole group, the workers too
        rest, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, rest
    checkpoint = out / "checkpoints" / f"{BRAIN}-interrupted.academy"
    summary = json.loads((out / "summary.json").read_text())
    assert checkpoint.exists() and summary["interrupted"] is True and summary["workers"] == 2
    assert rest.strip().splitlines()[-1] == (
        f"academy train: interrupted at {summary['agent_steps']:,} agent steps; checkpoint {checkpoint}, "
        f"trained copy {out / 'bb-trained.blend'}"
    )
    assert "Traceback" not in rest and _ours(tmp_path) == []


def test_a_brain_that_does_not_learn_has_its_own_statistics_from_the_workers(tmp_path):
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = balance_ball.build(bpy.context.scene, agents=8)
    scene.academy.max_steps = 50  # the rule balances for ever: its episodes end here
    rule = scene.academy.brains.add()
    rule.name, rule.brain_type = "Rule", "HEURISTIC"
    for i in range(4, 8):
        scene.objects[f"Platform.{i:03d}"].academy_agent.brain = "Rule"
    result = workers.train_workers(scene, tmp_path / "out", workers=2, steps=2000, seed=1, progress=False)
    s = result.summary
    mine, theirs = s["brains"][BRAIN], s["brains"]["Rule"]
    assert s["trained"] == [BRAIN] and theirs["type"] == "HEURISTIC"
    # the budget counts every Brain's agent steps, as in one process; each Brain's are its own
    assert s["agent_steps"] == mine["agent_steps"] + theirs["agent_steps"] >= 2000
    assert mine["agent_steps"] == theirs["agent_steps"] == s["updates"] * 64 * 4
    assert theirs["episodes"] > 0 and theirs["mean_episode_length"] == 50  # the rule never drops the ball
    assert _children() == []
