"""A real multi-node Ray cluster on this machine's loopback range, for the tests and the bench.

``ray start --head`` and ``ray start --address`` for each further node, one CPU each by default,
all on 127.0.0.2: Ray rewrites a ``--node-ip-address`` of 127.0.0.1 to the machine's outward
address (``ray._private.services.resolve_ip_for_localhost``); 127.0.0.2 is loopback too. Every
process of the cluster (the daemons and the workers they start) carries ``MARK=<its temp folder>``
in its environment (or descends from one that does), so :meth:`LocalCluster.stop` ends exactly
those, by process id: ``ray stop`` would end every Ray process of the machine, other people's
clusters included.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOST = "127.0.0.2"
MARK = "ACADEMY_RAY_CLUSTER"
START_WAIT_S = 150  # one `ray start`: seconds on an idle machine, a minute or more on a crowded one
# a node's wait for its registration is made for idle machines (and bounds a start that failed)
PATIENT = {"RAY_raylet_start_wait_time_s": "90"}


def free_port() -> int:
    """A TCP port free on :data:`HOST` now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _started(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot), None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def marked(mark: str) -> dict[int, str]:
    """The live processes whose environment carries ``MARK=mark``, and their descendants, with their
    command lines. (A Ray process that sets a long title overwrites its environment: its parent's
    mark finds it.)"""
    want, marks, parents, cmds = f"{MARK}={mark}".encode(), set(), {}, {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            pid = int(entry)
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if fields[0] == "Z":
                    continue
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmds[pid] = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
                parents[pid] = int(fields[1])
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if want in f.read().split(b"\0"):
                        marks.add(pid)
            except (OSError, IndexError, ValueError):
                continue
    found = set(marks)
    while True:
        more = {pid for pid, parent in parents.items() if parent in found and pid not in found}
        if not more:
            return {pid: cmds[pid] for pid in sorted(found)}
        found |= more


class LocalCluster:
    """A running cluster: its ``address`` (``HOST:PORT``) and its processes' ``mark``."""

    def __init__(self, address: str, mark: str, temp: Path):
        self.address, self.mark, self.temp = address, mark, temp

    def processes(self, title: str = "") -> list[int]:
        """The cluster's live processes, those whose command line (a worker's is its title) starts with ``title``."""
        return [pid for pid, cmd in marked(self.mark).items() if cmd.startswith(title)]

    def stop(self, wait_s: float = 10.0) -> list[int]:
        """End every process of the cluster (SIGTERM, then SIGKILL after ``wait_s``); those still alive."""
        seen: dict[int, str | None] = {}  # pid: its start time (a pid reused meanwhile is not ours)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.processes():  # the first round's stay: a child whose parent ended lost the link
                seen.setdefault(pid, _started(pid))
            for pid in [p for p, t in seen.items() if alive(p) and _started(p) == t]:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline and any(alive(p) and _started(p) == t for p, t in seen.items()):
                time.sleep(0.2)
        left = sorted({*self.processes(), *(p for p, t in seen.items() if alive(p) and _started(p) == t)})
        if not left:
            shutil.rmtree(self.temp, ignore_errors=True)  # Ray's logs and sockets
        return left


def ray_command() -> Path:
    """The ``ray`` command of this Python (the cluster must run the driver's Python and Ray)."""
    return Path(sys.executable).with_name("ray")


def start(nodes: int = 2, cpus: int = 1, env: dict | None = None, attempts: int = 3) -> LocalCluster:
    """Start a head and ``nodes - 1`` more nodes with ``cpus`` CPUs each; stopped again if one fails.

    A raylet gives its dashboard agent about 20 s to start (not configurable) and aborts after: on a
    crowded machine that happens, so a failed start is tried again, ``attempts`` times in all."""
    for attempt in range(attempts):
        try:
            return _start(nodes, cpus, env)
        except RuntimeError:
            if attempt == attempts - 1:
                raise
    raise ValueError("attempts must be at least 1")


def _start(nodes: int, cpus: int, env: dict | None) -> LocalCluster:
    temp = Path(tempfile.mkdtemp(prefix="academy-ray-", dir="/tmp"))  # Ray's socket paths must stay short
    env = {**(os.environ if env is None else env), MARK: str(temp), "RAY_USAGE_STATS_ENABLED": "0", **PATIENT}
    env.pop("RAY_ADDRESS", None)
    port = free_port()
    cluster = LocalCluster(f"{HOST}:{port}", str(temp), temp)
    common = ["--node-ip-address", HOST, "--num-cpus", str(cpus), "--object-store-memory", str(100 * 2**20)]
    head = ["--head", "--port", str(port), "--temp-dir", str(temp), "--include-dashboard=false"]
    head += ["--dashboard-port", str(free_port()), "--ray-client-server-port", str(free_port())]
    try:
        for i in range(nodes):
            cmd = [str(ray_command()), "start", *(head if i == 0 else ["--address", cluster.address]), *common]
            for flag in ("--dashboard-agent-listen-port", "--dashboard-agent-grpc-port", "--runtime-env-agent-port"):
                cmd += [flag, str(free_port())]  # fixed ports: two nodes of one machine must not share Ray's defaults
            cmd += ["--metrics-export-port", str(free_port())]
            try:
                started = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=START_WAIT_S)
            except subprocess.TimeoutExpired as exc:
                said = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr or ""
                raise RuntimeError(f"ray start (node {i}) did not end in {START_WAIT_S} s:\n{said[-3000:]}") from None
            if started.returncode != 0:
                raise RuntimeError(f"ray start (node {i}) failed:\n{started.stderr[-3000:]}")
    except BaseException:
        cluster.stop()
        raise
    return cluster
