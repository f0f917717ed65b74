"""Training on a real two-node Ray cluster (drivers/ray_pool.py): ``--ray-address`` (issue 14 point 2).

A head and a second node are started with ``ray start`` on a loopback address, one CPU each, so
two worker actors can only run one per node (``devtools/ray_cluster.py``: on 127.0.0.2, and why;
the teardown ends the cluster's own processes by id).
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time

import bpy
import pytest

from devtools import boot, ray_cluster

workers = importlib.import_module(boot.MODULE + ".drivers.workers")
ray_pool = importlib.import_module(boot.MODULE + ".drivers.ray_pool")
balance_ball = importlib.import_module(boot.MODULE + ".examples.balance_ball")
sessions = importlib.import_module(boot.MODULE + ".env.sessions")
AcademyError = importlib.import_module(boot.MODULE + ".env.academy").AcademyError

BRAIN = "3DBall"
AGENTS = 12  # Balance Ball's
ROUND = 64 * AGENTS  # one update: 32 decisions x 12 agents x 2 workers
ACTOR = "ray::AcademyWorker"  # an actor's process title
ACADEMY_CLI = [sys.executable, str(boot.ROOT / "devtools" / "academy.py")]


class Cluster:
    def __init__(self, local: ray_cluster.LocalCluster, nodes: set[str]):
        self.local, self.address, self.nodes = local, local.address, nodes

    def actors(self, wait_s: float = 60.0) -> list[int]:
        """Actor processes still alive once none is left or ``wait_s`` has passed: Ray ends an actor's
        process after the call that ended it returned (seconds here: Blender's exit, a loaded machine)."""
        deadline = time.monotonic() + wait_s
        while True:
            left = self.local.processes(ACTOR)
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.25)


@pytest.fixture(scope="module")
def cluster():
    ray = pytest.importorskip("ray", reason="the ray package is not installed (requirements-dev.txt has it)")
    if not ray_cluster.ray_command().exists():
        pytest.skip(f"no ray command beside {sys.executable}")
    local = ray_cluster.start(nodes=2, cpus=1)
    try:
        ray.init(address=local.address, log_to_driver=False, logging_level="WARNING")
        try:
            nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
        finally:
            ray.shutdown()
        assert len(nodes) == 2
        yield Cluster(local, nodes)
    finally:
        left = local.stop()
        assert left == [], f"Ray processes left: {left}"


def _scene(agents: int = AGENTS):
    bpy.ops.wm.read_homefile(use_empty=True)
    return balance_ball.build(bpy.context.scene, agents=agents)


def _train(cluster, out, workers_=2, **kw):
    return workers.train_workers(_scene(), out, workers=workers_, progress=False, ray_address=cluster.address, **kw)


def test_two_nodes_each_host_an_actor_and_training_completes(cluster, tmp_path):
    result = _train(cluster, tmp_path / "ray", steps=1500, seed=5)
    s = result.summary
    assert s["workers"] == 2 and s["updates"] == 2 and s["agent_steps"] == 2 * ROUND
    where = s["ray"]["workers"]
    assert s["ray"]["address"] == cluster.address and [w["worker"] for w in where] == [0, 1]
    assert {w["node"] for w in where} == cluster.nodes  # one actor on each node
    assert json.loads((tmp_path / "ray" / "summary.json").read_text())["ray"] == s["ray"]
    assert (result.checkpoints[-1].name, result.checkpoints[-1].exists()) == (f"{BRAIN}-final.academy", True)
    assert cluster.actors() == [] and sessions.active_sessions() == ()


@pytest.mark.slow  # (10-20 s each on an idle machine, minutes on a crowded one: make test has the one above)
def test_actors_and_local_workers_give_the_same_curve(cluster, tmp_path):
    # the same worker loop and the same exchange: the same seed and N give the same curve and weights
    remote = _train(cluster, tmp_path / "ray", steps=1500, seed=5)
    local = workers.train_workers(_scene(), tmp_path / "local", workers=2, steps=1500, seed=5, progress=False)
    assert len(remote.summary["brains"][BRAIN]["curve"]) >= 2
    assert remote.summary["brains"][BRAIN]["curve"] == local.summary["brains"][BRAIN]["curve"]
    assert remote.summary["brains"][BRAIN]["learner"] == local.summary["brains"][BRAIN]["learner"]
    assert remote.checkpoints[-1].read_bytes() == local.checkpoints[-1].read_bytes()


@pytest.mark.slow
def test_a_killed_actor_is_replaced_and_a_file_that_does_not_open_is_named(cluster, tmp_path, monkeypatch):
    monkeypatch.setenv(workers.FAIL_ENV, "1:2:kill")  # actor 1 kills its own process at its second fragment
    result = _train(cluster, tmp_path / "killed", steps=3000, seed=2)
    s = result.summary
    assert s["workers_replaced"] == 1 and s["agent_steps"] == s["updates"] * ROUND >= 3000
    assert [w["worker"] for w in s["ray"]["workers"]] == [0, 1, 1]  # the replacement reported where it ran
    assert cluster.actors() == [] and sessions.active_sessions() == ()
    monkeypatch.delenv(workers.FAIL_ENV)
    monkeypatch.setattr(ray_pool, "_scene_bytes", lambda path: b"not a blend file")
    opening = r"Worker 0 \(a Ray actor\) AcademyError: cannot open /\S+/scene\.blend: RuntimeError: "
    with pytest.raises(AcademyError, match=opening):
        _train(cluster, tmp_path / "bad", steps=1500)
    assert cluster.actors() == [] and sessions.active_sessions() == ()
    assert not (tmp_path / "bad" / "summary.json").exists()
    with pytest.raises(AcademyError, match=r"has 2 CPUs: 3 workers need one each"):
        _train(cluster, tmp_path / "big", 3, steps=1500)


@pytest.mark.slow
def test_ctrl_c_ends_every_actor_and_keeps_the_last_checkpoint(cluster, tmp_path):
    blend, out = tmp_path / "bb.blend", tmp_path / "out"
    made = subprocess.run([*ACADEMY_CLI, "example", "balance_ball", "--out", str(blend)], capture_output=True)
    assert made.returncode == 0, made.stderr
    env = {k: v for k, v in os.environ.items() if k != "BLENDER_USER_RESOURCES"}
    args = ["train", str(blend), "--ray-address", cluster.address, "--workers", "2", "--steps", "10000000"]
    proc = subprocess.Popen(
        [*ACADEMY_CLI, *args, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        for line in proc.stdout:  # training runs once the progress line prints
            if "agent steps" in line:
                break
        assert len(cluster.actors(wait_s=0)) == 2
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the actors are not in the terminal's group, the driver ends them
        rest, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, rest
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] is True and len(summary["ray"]["workers"]) == 2
    assert (out / "checkpoints" / f"{BRAIN}-interrupted.academy").exists()
    assert "Traceback" not in rest and cluster.actors() == []


def test_without_ray_the_flag_is_refused_naming_the_package(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(AcademyError, match=r"--ray-address needs the ray package .*pip install 'ray=="):
        workers.train_workers(_scene(), tmp_path / "out", workers=2, steps=100, progress=False, ray_address="auto")
    assert sessions.active_sessions() == ()
    script = (
        "import runpy, sys; sys.modules['ray'] = None; "
        f"sys.argv = ['academy', 'train', {str(tmp_path / 'x.blend')!r}, '--ray-address', 'auto']; "
        f"runpy.run_path({str(boot.ROOT / 'devtools' / 'academy.py')!r}, run_name='__main__')"
    )
    (tmp_path / "x.blend").write_bytes(b"")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "--ray-address needs the ray package" in proc.stderr, proc.stderr
