"""Inside one worker process of :mod:`.workers`, and the messages between it and the driver.

A message is a JSON header (4-byte little-endian length first) then, for each array it names, an
8-byte length and the array as ``np.save`` writes it with ``allow_pickle=False``: nothing a worker
or the driver reads can run code. :func:`worker_main` is the process's entry: it reads its orders
(``init``), opens the .blend, runs the Session and answers each full rollout with a ``fragment``,
then waits for ``weights`` (or ``stop``). A Ray actor (``drivers/ray_pool.py``) hosts the same
:class:`_Worker` without pipes: each of its method calls hands over the weights and returns the
next fragment (:meth:`_Worker.collect`), the same exchange in the same order.
"""

from __future__ import annotations

import io
import json
import os
import signal
import struct
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..core.checks import one_line
from ..core.stats import BrainStats
from ..env.academy import AcademyError
from ..env.session import Session

ROOT = Path(__file__).resolve().parent.parent
# test hook: "<worker>:<fragment>[:hang|:kill][,...]": that worker raises (hangs, dies) at that fragment
FAIL_ENV = "ACADEMY_TEST_WORKER_FAIL"

Arrays = dict[str, np.ndarray]
OUTCOMES = ("rewards", "ended", "truncated", "success", "active")  # a decision's, as BrainStats.record gets them


# -- the protocol: a JSON header and named arrays, length-prefixed, no pickle ----------------------
STOP_WAIT_S = 20.0  # how long a stopped worker may take to exit before it is killed
STARTUP_WAIT_S = 600.0  # a worker not ready (booted, the file open) this long after it started is stuck
ANSWER_WAIT_S = 600.0  # a worker silent this long while collecting one fragment is stuck


class WorkerDied(AcademyError):
    """A worker ended without saying why (killed, crashed): it can be replaced."""


def send(stream, header: Mapping, arrays: Mapping[str, np.ndarray] | None = None) -> None:
    """Write one message: ``header`` (JSON) and ``arrays`` (each as ``np.save`` bytes)."""
    arrays = arrays or {}
    blobs = []
    for value in arrays.values():
        buf = io.BytesIO()
        np.save(buf, np.asarray(value), allow_pickle=False)  # (ascontiguousarray would make 0-d arrays 1-d)
        blobs.append(buf.getvalue())
    head = json.dumps({**header, "arrays": list(arrays)}).encode()
    stream.write(b"".join([struct.pack("<I", len(head)), head, *(struct.pack("<Q", len(b)) + b for b in blobs)]))
    stream.flush()


def _read(stream, n: int) -> bytes:
    """Exactly ``n`` bytes (an unbuffered pipe hands them out in pieces)."""
    chunks = []
    while n > 0:
        data = stream.read(n)
        if not data:
            raise EOFError("the other end closed the pipe")
        chunks.append(data)
        n -= len(data)
    return b"".join(chunks)


def recv(stream) -> tuple[dict, Arrays]:
    """Read one message written by :func:`send`; ``EOFError`` when the other end is gone."""
    (size,) = struct.unpack("<I", _read(stream, 4))
    header = json.loads(_read(stream, size))
    arrays = {}
    for name in header.pop("arrays"):
        (size,) = struct.unpack("<Q", _read(stream, 8))
        arrays[name] = np.load(io.BytesIO(_read(stream, size)), allow_pickle=False)
    return header, arrays


def _under(prefix: str, arrays: Mapping[str, np.ndarray]) -> Arrays:
    p = prefix + "/"
    return {k[len(p) :]: v for k, v in arrays.items() if k.startswith(p)}


def worker_seed(seed: int, index: int) -> int:
    """Worker ``index``'s seed: distinct per worker, a function of the Academy's ``seed`` only."""
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, index]).generate_state(1)[0] & 0x7FFFFFFF)


# -- the worker process ---------------------------------------------------------------------------
class _Worker:
    """What runs inside one worker: the Session and the exchange at each full rollout."""

    def __init__(self, init: dict, arrays: Arrays, inbox=None, outbox=None):
        import bpy

        from ..training.ppo import PPOLearner
        from .replay_fragments import ReplayCollector, is_replay

        self.inbox, self.outbox, self.index = inbox, outbox, int(init["index"])
        self.stopping = False
        self.sent = 0
        self.fail_at, self.how = None, ""
        if not init.get("replaces"):  # a replacement is spared (the hook is about one failure)
            for order in filter(None, os.environ.get(FAIL_ENV, "").split(",")):
                where, when, how = (order.split(":") + ["", ""])[:3]
                if where == str(self.index):
                    self.fail_at, self.how = int(when), how
        try:
            bpy.ops.wm.open_mainfile(filepath=init["blend"], load_ui=False)
        except RuntimeError as exc:  # ("source": the driver's file a Ray actor's local copy came from)
            raise AcademyError(f"cannot open {init.get('source', init['blend'])}: {one_line(exc)}") from None
        scene = bpy.data.scenes.get(init["scene"])
        if scene is None:
            raise AcademyError(f"the file {init['blend']} has no scene '{init['scene']}'")
        self.session = Session(scene, training=True, steps=0, brains=init["brains"], seed=int(init["seed"]))
        if list(self.session.trained) != init["trained"]:
            raise AcademyError(f"trains {list(self.session.trained)}, the driver {init['trained']}")
        self.trained = list(init["trained"])
        self.collectors: dict[str, ReplayCollector] = {}  # the replay learners' (DQN, SAC)
        for i, name in enumerate(init["trained"]):
            learner = self.session.brain(name).learner
            if is_replay(learner):
                self.collectors[name] = ReplayCollector(learner, int(init["num_steps"][i]), int(init["copies"]))
            elif isinstance(learner, PPOLearner):
                learner.config = replace(learner.config, num_steps=int(init["num_steps"][i]))
                learner._alloc()
            else:
                raise AcademyError(f"Brain '{name}' uses {learner.algorithm.upper()}, which workers cannot run")
            self._load(name, _under(str(i), arrays), init["schedule"][i])
            # the Academy's update of this Brain becomes the exchange with the driver
            runner = self.session.academy.brains[name].runner
            runner.update_chunk = lambda _max=None, name=name, i=i: self._exchange(name, i)
        self.brains = list(init["brains"])
        self.logs = {name: self._log_outcomes(self.session.stats[name]) for name in self.brains}

    @staticmethod
    def _log_outcomes(stats: BrainStats) -> list:
        """Keep every decision's outcome (what ``BrainStats.record`` gets) for the driver's statistics."""
        log: list = []
        record = stats.record

        def logged(rewards, ended, truncated, success, active):
            log.append(
                (np.array(rewards, np.float64), *(np.array(a, bool) for a in (ended, truncated, success, active)))
            )
            record(rewards, ended, truncated, success, active)

        stats.record = logged
        return log

    def _load(self, name: str, weights: Arrays, where: Mapping | None) -> None:
        """Brain ``name`` acts with the driver's ``weights`` (a replay learner: from step ``where`` of its run)."""
        from ..training.fragments import load_policy

        load_policy(self.session.brain(name).learner, weights)
        if name in self.collectors:
            self.collectors[name].loaded(where)

    def _exchange(self, name: str, i: int) -> bool:
        """Brain ``name``'s update: its fragment to the driver, the new weights back (on the pipes)."""
        if self.outbox is None:  # method calls: collect() took the fragment and loaded the weights
            return True
        arrays = self._fragment(name)
        send(self.outbox, {"type": "fragment", "brain": name}, arrays)
        header, weights = recv(self.inbox)
        if header["type"] == "stop":
            self.stopping = True
        else:
            self._load(name, _under(str(i), weights), header.get("schedule"))
        return True

    def _fragment(self, name: str) -> Arrays:
        """Brain ``name``'s full rollout and the outcomes the driver's statistics need (the learner starts
        a new rollout)."""
        from ..training.fragments import take_fragment

        if name in self.collectors:
            arrays = self.collectors[name].take()
        else:
            arrays = take_fragment(self.session.brain(name).learner)
        # this Brain's outcomes over the rollout, and every Brain's that does not learn since the last message
        for j, other in enumerate(self.brains):
            log = self.logs[other]
            if log and (other == name or other not in self.trained):
                prefix = "stats" if other == name else f"others/{j}"
                for k, key in enumerate(OUTCOMES):
                    arrays[f"{prefix}/{key}"] = np.stack([row[k] for row in log])
                log.clear()
        self.sent += 1
        if self.fail_at is not None and self.sent >= self.fail_at:
            if self.how == "hang":
                time.sleep(3600)
            if self.how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError(f"failing on purpose ({FAIL_ENV})")
        return arrays

    def start(self) -> dict:
        """Reset every agent and make the first decision; the ``ready`` message."""
        self.session.start()
        agents = {name: self.session.brain(name).n for name in self.session.trained}
        return {"type": "ready", "agents": agents, "pid": os.getpid()}

    def run(self) -> None:
        """The pipes' loop: frames until the driver says ``stop`` (the exchange is inside the update)."""
        send(self.outbox, self.start())
        while not self.stopping:
            self.session.advance_frames(1)
        self.session.finish(store=False)

    def collect(self, header: Mapping | None, weights: Arrays) -> tuple[dict, Arrays]:
        """One exchange by method call: ``weights`` for the Brain whose fragment went last (``header``
        ``{"brain": name}``; None on the first call), then frames until a rollout is full: its fragment.

        The order is the pipes': the Brain waiting for its update loads the weights and decides, then
        the scene goes on. Another Brain whose rollout filled at the same frame is next, before any frame.
        """
        academy = self.session.academy
        if header is not None:
            name = header["brain"]
            if name != self._waiting():
                raise AcademyError(f"got weights for Brain '{name}', waiting for '{self._waiting()}'")
            self._load(name, _under(str(self.trained.index(name)), weights), header.get("schedule"))
            academy.update_slice(1)  # its update is done (_exchange): it decides with the new weights
        while not academy.update_pending:
            self.session.advance_frames(1)  # one frame: an update pending after it stops the loop
        name = self._waiting()
        return {"type": "fragment", "brain": name}, self._fragment(name)

    def _waiting(self) -> str | None:
        """The Brain whose update the Academy runs next (its rollout is full), as ``update_slice`` picks it."""
        return next((name for name, s in self.session.academy.brains.items() if s.awaiting_update), None)

    def finish(self) -> None:
        """End the session (the scene as it was; nothing stored: the driver keeps what was learned)."""
        if not self.session.stopped:
            self.session.finish(store=False)


def worker_main(argv: list[str]) -> int:
    """A worker process's entry: ``argv`` is the pipe to read from and the pipe to write to."""
    import torch

    torch.set_num_threads(1)
    return serve_pipes(argv, lambda init, arrays, inbox, outbox: _Worker(init, arrays, inbox, outbox).run())


def serve_pipes(argv: list[str], serve: Callable[[dict, Arrays, Any, Any], None]) -> int:
    """A worker process's loop over its two pipes (``argv``: the fds to read from and write to): the first
    message is ``serve``'s init; an error is sent back as one line, exit status 1."""
    inbox, outbox = open(int(argv[0]), "rb"), open(int(argv[1]), "wb")  # noqa: SIM115 - the process's lifetime
    try:
        init, arrays = recv(inbox)
        serve(init, arrays, inbox, outbox)
        return 0
    except (EOFError, BrokenPipeError):
        return 1  # the driver is gone: nobody to tell
    except BaseException as exc:
        try:
            # the Academy's own errors name what failed already; anything else says its type
            message = " ".join(str(exc).split()) if isinstance(exc, AcademyError) else one_line(exc)
            send(outbox, {"type": "error", "message": message})
        except OSError:
            return 1  # the driver went away meanwhile: the exit status is all that is left to say it
        return 1


def worker_command(module: str = "drivers.worker") -> list[str]:
    """The command line of one worker (the pipes' numbers are appended), running ``worker_main`` of the
    add-on's ``module`` (the training worker by default): inside Blender, Blender in the background
    with this add-on enabled; with the pip ``bpy`` module, this checkout booted headless."""
    if blender_binary() is None and not (ROOT / "devtools" / "boot.py").is_file():
        raise AcademyError("Training with worker processes needs a checkout of the extension (./academy) for now")
    # (the arguments: after "--" on a Blender command line, after "-c" on a Python one)
    args = "sys.argv[sys.argv.index('--') + 1 :] if '--' in sys.argv else sys.argv[1:]"
    if blender_binary() is not None:  # inside Blender: the add-on is there already, just not enabled
        package = __package__.rsplit(".", 1)[0]
        script = (
            "import signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            f"import addon_utils, importlib\naddon_utils.enable({package!r}, default_set=False)\n"
            f"worker = importlib.import_module({package!r} + '.' + {module!r})\n"
            f"sys.stdout.flush()\nimport os; os._exit(worker.worker_main({args}))\n"
        )
    else:
        script = (
            "import signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN)\n"  # the driver stops its workers
            f"sys.path.insert(0, {str(ROOT)!r})\n"
            "from devtools import boot\nimport importlib\nboot.boot()\n"
            f"worker = importlib.import_module(boot.MODULE + '.' + {module!r})\n"
            f"boot.exit_process(worker.worker_main({args}))\n"
        )
    return python_command(script)


def blender_binary(binary: str | None = None) -> str | None:
    """The Blender executable this process runs in, or None (the pip ``bpy`` module in a Python).

    ``binary``: ``bpy.app.binary_path`` by default. Inside Blender ``sys.executable`` is Blender's
    bundled Python, which has no bpy: a worker must be Blender itself, run in the background."""
    if binary is None:
        import bpy

        binary = bpy.app.binary_path
    if not binary or not os.path.isfile(binary) or not os.access(binary, os.X_OK):
        return None
    if os.path.realpath(binary) == os.path.realpath(sys.executable):
        return None
    return binary


def python_command(script: str, binary: str | None = None) -> list[str]:
    """The command line running ``script`` (arguments may follow) with bpy: Blender in the background
    (``--factory-startup``: no user add-ons or startup file) when this process is Blender
    (:func:`blender_binary`), else this Python (the pip ``bpy`` module)."""
    blender = blender_binary(binary)
    if blender is not None:
        return [blender, "--background", "--factory-startup", "--python-exit-code", "1", "--python-expr", script, "--"]
    return [sys.executable, "-c", script]
