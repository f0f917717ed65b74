"""Workers as actors on a Ray cluster: ``./academy train FILE --ray-address ADDRESS --workers N`` (issue 14).

The cluster case runs on Ray, not on a scheduler of our own: :class:`RayPool` joins a running
cluster (``ray.init(address=...)``: ``auto`` or ``HOST:PORT``) and starts N actors, one CPU each,
spread over its nodes. It is the driver side of :func:`.workers.train_workers` in place of the
local :class:`.workers.WorkerPool` (same methods: start, send, receive, stop, replace one that
died), so the lockstep rounds, the learner, the statistics and every file are the same code.

An actor is a Ray worker process on its node. It boots bpy with the extension the add-on's way
(``devtools/boot``, from a checkout on that node: the driver's path, or ``ACADEMY_CHECKOUT`` in
the environment ``ray start`` ran in) and hosts the worker loop of :mod:`.worker` (a
:class:`~.worker._Worker`); what the pipes carry becomes method calls: ``start`` (the orders, the
first weights and the scene file, ready) and ``collect`` (weights in, the next fragment out), whose
results are the same headers and named numpy arrays; no bpy object crosses. The .blend reaches the
nodes through Ray's object store: its bytes are put once and each actor writes them into its own
temporary folder on its node (removed when the actor ends, or by the next boot there if it was
killed). The weights of a round are put once for all the actors.

Faults: an actor that dies (killed, its node lost: ``RayActorError``) or that does not answer in
``ANSWER_WAIT_S`` (killed) is a :class:`.worker.WorkerDied` that the driver replaces with a new
actor; one whose worker raises (the file does not open, an error in the scene) sends the error,
which ends the run naming it. Leaving the pool stops every actor and kills what is left (the actors
are also owned by this driver in Ray's sense: they end when it does, however it ends).

Ray is imported only here, only when an address is given; the extension itself never needs it.
"""

from __future__ import annotations

import collections
import os
import signal
import threading
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..core.checks import one_line
from ..env.academy import AcademyError
from . import worker as _worker
from .worker import FAIL_ENV, ROOT, Arrays, WorkerDied

__all__ = ["CHECKOUT_ENV", "RayPool", "import_ray"]

CHECKOUT_ENV = "ACADEMY_CHECKOUT"  # on a node: where its checkout of the extension is (default: the driver's path)
RAY_REQUIREMENT = "ray==2.60.0"


def import_ray():
    """The ``ray`` module; an :class:`AcademyError` naming the package when this Python has none."""
    try:
        import ray
    except ImportError:
        raise AcademyError(
            f"--ray-address needs the ray package in this Python (pip install '{RAY_REQUIREMENT}'); "
            "Blender's own Python has none: train on a cluster from ./academy"
        ) from None
    return ray


def _actor_class():
    """The actor's class, made here so that Ray ships it by value: a node imports nothing of ours
    before the actor has booted bpy with the extension (its module's name exists only then)."""

    class AcademyWorker:
        """One worker on a node: bpy booted with the extension, hosting the worker loop."""

        def __init__(self, root: str, checkout_env: str):
            import importlib
            import sys

            self.error, self.worker, self.blend = None, None, None
            root = os.environ.get(checkout_env) or root
            try:
                if not os.path.isfile(os.path.join(root, "devtools", "boot.py")):
                    raise RuntimeError(f"no checkout of the extension at {root} on this node (set {checkout_env})")
                sys.path.insert(0, root)
                from devtools import boot

                boot.boot()
                self.module = importlib.import_module(boot.MODULE + ".drivers.worker")
                import torch

                torch.set_num_threads(1)
            except BaseException as exc:  # told at start(): the actor itself stays up to say it
                self.error = f"could not boot Blender with the extension: {type(exc).__name__}: {exc}"

        def _failed(self, exc: BaseException) -> tuple[dict, dict]:
            text = str(exc).strip().splitlines()
            return {"type": "error", "message": f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__}, {}

        def start(self, init: dict, arrays: dict, blend: bytes) -> tuple[dict, dict]:
            """Open the scene (``blend``: the driver's file's bytes) and make the first decision: ``ready``."""
            import ray

            if self.error is not None:
                return {"type": "error", "message": self.error}, {}
            try:
                # the boot's own temporary folder: removed with this process, or by the next boot if killed
                self.blend = os.path.join(os.environ["BLENDER_USER_RESOURCES"], "academy-scene.blend")
                with open(self.blend, "wb") as f:
                    f.write(blend)
                self.worker = self.module._Worker({**init, "blend": self.blend, "source": init["blend"]}, arrays)
                header = self.worker.start()
                ctx = ray.get_runtime_context()
                return {**header, "node": ctx.get_node_id(), "ip": ray.util.get_node_ip_address()}, {}
            except BaseException as exc:
                return self._failed(exc)

        def collect(self, header: dict | None, weights: dict) -> tuple[dict, dict]:
            """The weights for the Brain whose fragment went last; the next fragment."""
            try:
                return self.worker.collect(header, weights)
            except BaseException as exc:
                return self._failed(exc)

        def stop(self) -> None:
            """End the session and this actor (its exit handlers remove the boot's folders)."""
            import ray

            try:
                if self.worker is not None:
                    self.worker.finish()
            finally:
                ray.actor.exit_actor()

    return AcademyWorker


class RayPool:
    """N worker actors on the Ray cluster at ``address``. A context manager: leaving it ends every actor.

    The methods :func:`.workers.train_workers` calls are :class:`.workers.WorkerPool`'s: ``send``
    submits the call a message stands for (``init``: start and the first collect; ``weights``: the
    next collect), ``recv`` waits for its result."""

    def __init__(self, count: int, address: str, logdir: Path | None = None):
        self.ray = ray = import_ray()
        self.address = address
        self.owns = not ray.is_initialized()  # a caller that joined a cluster itself keeps it joined
        if self.owns:
            term = signal.getsignal(signal.SIGTERM)
            try:
                ray.init(address=address, log_to_driver=False, logging_level="WARNING")
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise AcademyError(f"cannot join the Ray cluster at {address}: {one_line(exc)}") from None
            finally:
                if threading.current_thread() is threading.main_thread() and term is not None:
                    signal.signal(signal.SIGTERM, term)  # ray.init's exits at once; ours cleans up first
        self.actors: list = []
        self.pending: list[collections.deque] = []  # each actor's calls not received yet, in order
        self.where: list[dict | None] = []  # each actor's node and process, once it is ready
        self.hosts: list[dict] = []  # every actor that became ready, replacements included
        self.started = 0
        self._blend: tuple[str | None, object] = (None, None)
        self._shared: tuple[object, object] = (None, None)
        self._stops: list = []
        try:
            cpus = ray.cluster_resources().get("CPU", 0)
            if cpus < count:
                raise AcademyError(f"the Ray cluster at {address} has {cpus:g} CPUs: {count} workers need one each")
            self._cls = ray.remote(num_cpus=1, max_restarts=0)(_actor_class())
            for _ in range(count):
                self.actors.append(None)
                self.pending.append(collections.deque())
                self.where.append(None)
                self.spawn(len(self.actors) - 1)
        except BaseException:
            self.close()
            raise

    def spawn(self, i: int) -> None:
        """Start actor ``i`` (again: a dead one is killed first, in case it is not quite dead)."""
        if self.actors[i] is not None:
            self._kill(self.actors[i])
        options: dict = {"scheduling_strategy": "SPREAD"}
        if os.environ.get(FAIL_ENV):  # the tests' hook reaches actors through their environment too
            options["runtime_env"] = {"env_vars": {FAIL_ENV: os.environ[FAIL_ENV]}}
        self.actors[i] = self._cls.options(**options).remote(str(ROOT), CHECKOUT_ENV)
        self.pending[i].clear()
        self.where[i] = None
        self.started += 1

    def __enter__(self) -> RayPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self.actors)

    def send(self, i: int, header: Mapping, arrays: Mapping[str, np.ndarray] | None = None) -> None:
        actor, kind = self.actors[i], header["type"]
        if kind == "init":
            self.pending[i].append(actor.start.remote(dict(header), dict(arrays or {}), self._scene(header["blend"])))
            self.pending[i].append(actor.collect.remote(None, {}))
        elif kind == "weights":
            if self._shared[0] is not arrays:  # one round's weights, put once for every actor
                self._shared = (arrays, self.ray.put(dict(arrays or {})))
            order = {k: v for k, v in header.items() if k != "type"}  # the Brain, and where its run is
            self.pending[i].append(actor.collect.remote(order, self._shared[1]))
        else:
            raise ValueError(f"no actor call for a '{kind}' message")

    def _scene(self, path: str):
        """The scene file's bytes in the object store (put once; every actor reads them from there)."""
        if self._blend[0] != path:
            self._blend = (path, self.ray.put(_scene_bytes(path)))
        return self._blend[1]

    def recv(self, i: int, expect: str, wait_s: float | None = None) -> tuple[dict, Arrays]:
        """Actor ``i``'s next result, which must be of type ``expect``; its failure as an AcademyError.

        An actor silent for ``wait_s`` seconds (default ``worker.ANSWER_WAIT_S``) is killed: stuck."""
        ray = self.ray
        wait_s = _worker.ANSWER_WAIT_S if wait_s is None else wait_s
        if not self.pending[i]:
            raise AcademyError(f"Worker {i} ({self._who(i)}) was not asked for '{expect}'")
        try:
            header, arrays = ray.get(self.pending[i].popleft(), timeout=wait_s)
        except ray.exceptions.GetTimeoutError:
            self._kill(self.actors[i])
            raise WorkerDied(f"Worker {i} ({self._who(i)}) did not answer in {wait_s:g} s (killed)") from None
        except ray.exceptions.RayActorError as exc:
            raise WorkerDied(f"Worker {i} ({self._who(i)}) ended unexpectedly: {one_line(exc)}") from None
        except ray.exceptions.RayError as exc:
            raise AcademyError(f"Worker {i} ({self._who(i)}): {one_line(exc)}") from None
        if header.get("type") == "ready":
            self.where[i] = {"worker": i, "node": header["node"], "ip": header["ip"], "pid": header["pid"]}
            self.hosts.append(self.where[i])
        if header.get("type") != expect:
            message = header.get("message") or f"sent '{header.get('type')}' instead of '{expect}'"
            raise AcademyError(f"Worker {i} ({self._who(i)}) {message}")
        return header, arrays

    def _who(self, i: int) -> str:
        where = self.where[i]
        if where is None:
            return "a Ray actor"
        return f"Ray actor, process {where['pid']} on node {where['node'][:8]} at {where['ip']}"

    def stop(self) -> None:
        """Tell every actor to end its session and exit (``close`` waits for them)."""
        self._stops = [actor.stop.remote() for actor in self.actors if actor is not None]

    def _kill(self, actor) -> None:
        try:
            self.ray.kill(actor, no_restart=True)
        except Exception:  # already gone
            pass

    def close(self) -> None:
        """End every actor: those told to stop get ``STOP_WAIT_S`` to exit, then all are killed (Ray ends
        a killed actor's process); this driver leaves the cluster if it joined it."""
        ray = self.ray
        try:
            if self._stops:
                ray.wait(self._stops, num_returns=len(self._stops), timeout=_worker.STOP_WAIT_S)
            for actor in self.actors:
                if actor is not None:
                    self._kill(actor)
            self.actors, self._stops, self._shared, self._blend = [], [], (None, None), (None, None)
        finally:
            if self.owns and ray.is_initialized():
                ray.shutdown()


def _scene_bytes(path: str) -> bytes:
    """The scene file the actors open (a function of its own: the tests send a broken one)."""
    return Path(path).read_bytes()
