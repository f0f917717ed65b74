"""The UI's Train with worker processes (issue 14): a driver process runs :func:`.workers.train_workers`.

Blender's UI must keep redrawing while N workers collect and the learner updates, and the driver's
loop of :func:`.workers.train_workers` blocks on the workers' pipes and owns a :class:`Session` of
the scene (bpy is not for threads). So the UI does not run it: :class:`WorkerTrain` starts one more
headless Blender, the *driver* (a worker process of this module, :func:`worker_main`), which opens
the .blend (the saved file, or a copy of the scene as it is now), runs ``train_workers`` with its N
workers and tells the UI on its pipe how far it is (``progress``, ``note``) and, at the end, what
each Training Brain now holds (``result``: the model bytes, trained steps, mean reward and curve
that its own copy of the Brain stored, the single-process way). :meth:`WorkerTrain.poll` reads what
is there without waiting (the Train operator calls it on a timer); :meth:`WorkerTrain.store` writes
the models into the UI's Brains through ``env.brain_store.store_trained`` (checked, read back).

Stop (and Esc) sends the driver SIGINT, which ``train_workers`` turns into a stop at the end of the
round: the last checkpoint (``interrupted``) is written and what was learned comes back. Closing
ends the driver and, through it, every worker (a driver that does not end in time is killed, and
workers whose driver is gone exit on their broken pipes).

While the driver runs, the UI's scene is not touched: :class:`WorkerTrain` is registered as the
scene's session only so that Train and Stop know something runs (frame changes do nothing).
"""

from __future__ import annotations

import math
import os
import select
import shutil
import signal
import tempfile
import time
from pathlib import Path

import numpy as np

from ..core.names import CURVE_KEY
from ..env import sessions
from ..env.academy import AcademyError
from ..env.callbacks import Callback, TargetReached
from .worker import Arrays, recv, send, serve_pipes, worker_command

LABEL = "Training driver"
RESULT_WAIT_S = 600.0  # after Stop: how long the driver may take to finish its round and answer


# -- the driver process ------------------------------------------------------------------------------
class PipeProgress(Callback):
    """The driver's progress, sent to the UI as ``progress`` messages (and target lines as ``note``)."""

    def __init__(self, outbox):
        self.outbox = outbox
        self.stop_early = False  # a Stop before train_workers listens for it (set by the driver's SIGINT)
        self.curve_sent: dict[str, int] = {}  # per Brain: curve points already sent (each goes once)

    def on_start(self, run) -> None:
        if self.stop_early:
            run.stop_requested = True

    def on_progress(self, run) -> None:
        from .headless import brain_stats_text

        elapsed = max(run.clock() - run.started_at, 1e-9)
        learners = run.learner_stats()
        brains = {}
        for name, st in run.stats.items():
            sent = self.curve_sent.get(name, 0)
            self.curve_sent[name] = len(st.curve)
            brains[name] = {
                "mean": None if not st.recent_returns else float(st.mean_return),
                "text": brain_stats_text(learners.get(name, {})),
                "trained_steps": int(learners.get(name, {}).get("total_steps", 0)),
                "episodes": int(st.episodes),
                "curve": [[float(v) for v in point] for point in st.curve[sent:]],  # the new points
            }
        header = {
            "type": "progress",
            "agent_steps": int(run.agent_steps),
            "total_steps": int(run.total_steps),
            "steps_per_second": run.agent_steps / elapsed,
            "episodes": int(run.episodes),
            "replaced": int(run.replaced),
            "brains": brains,
        }
        send(self.outbox, header)

    def on_stop(self, run, reason: str) -> None:
        self.on_progress(run)

    def note(self, text: str) -> None:
        send(self.outbox, {"type": "note", "text": text})


def _drive(init: dict, outbox) -> None:
    """Open the file, train it with the workers, send what each Training Brain stored (and any error)."""
    import bpy

    from ..core.checks import one_line
    from ..env import brain_store
    from .workers import train_workers

    try:
        bpy.ops.wm.open_mainfile(filepath=init["blend"], load_ui=False)
    except RuntimeError as exc:
        why = " ".join(str(exc).split()).removeprefix("Error: ")  # Blender's message spans lines
        send(outbox, {"type": "error", "message": f"cannot open {init['blend']}: {why}"})
        return
    scene = bpy.data.scenes.get(init["scene"])
    if scene is None:
        send(outbox, {"type": "error", "message": f"found no scene '{init['scene']}' in {init['blend']}"})
        return
    before = {b.name: brain_store.stored_state(b) for b in scene.academy.brains}
    progress = PipeProgress(outbox)
    signal.signal(signal.SIGINT, lambda *_: setattr(progress, "stop_early", True))  # train_workers' own follows
    error, interrupted = None, False
    try:
        result = train_workers(
            scene,
            init["out"],
            workers=int(init["workers"]),
            steps=init["steps"],
            target_reward={None: init["target"]} if init["target"] is not None else None,
            stop_at_target=bool(init["stop_at_target"]),
            tensorboard=bool(init["tensorboard"]),
            progress=False,
            callbacks=[progress, TargetReached(False, progress.note)],
            ray_address=init["ray_address"],
        )
        interrupted = result.interrupted
    except AcademyError as exc:  # what was learned before it is stored in this copy's Brains all the same
        error = " ".join(str(exc).split())
    except Exception as exc:
        error = one_line(exc)
    scene = bpy.data.scenes.get(init["scene"])
    brains, arrays = [], {}
    for brain in scene.academy.brains if scene is not None else ():
        data = brain_store.stored_state(brain)
        if brain.brain_type != "TRAINING" or data is None or data == before.get(brain.name):
            continue
        arrays[f"{len(brains)}/state"] = np.frombuffer(data, dtype=np.uint8)
        arrays[f"{len(brains)}/curve"] = np.asarray(list(brain.get(CURVE_KEY, ())), dtype=np.float64)
        brains.append({"name": brain.name, "trained_steps": int(brain.trained_steps), "mean": brain.mean_reward})
    header = {"type": "result", "brains": brains, "error": error, "interrupted": interrupted}
    send(outbox, header, arrays)


def worker_main(argv: list[str]) -> int:
    """The driver process's entry: ``argv`` is the pipe to read from and the pipe to write to."""
    import torch

    torch.set_num_threads(1)
    return serve_pipes(argv, lambda init, _arrays, _inbox, outbox: _drive(init, outbox))


# -- the UI's side -----------------------------------------------------------------------------------
_live: list[WorkerTrain] = []  # started and not closed (a stopped one still finishing keeps Train off)


def saved_file() -> str | None:
    """The open .blend when it is saved and unchanged since (the driver opens it as it is), else None
    (the scene is saved to a temporary copy first)."""
    import bpy

    return bpy.data.filepath if bpy.data.filepath and not bpy.data.is_dirty else None


def busy(scene_name: str) -> bool:
    """Whether a Train with workers of the scene named ``scene_name`` has not ended yet."""
    return any(run.scene_name == scene_name for run in _live)


class LiveBrain:
    """What the panels show of one Brain while the driver trains it (the in-process session's
    ``BrainStats`` for the same purpose): episodes, mean reward and the learning curve so far."""

    def __init__(self) -> None:
        self.episodes = 0
        self.mean: float | None = None
        self.curve: list[tuple[float, float, float]] = []

    @property
    def recent_returns(self) -> list[float]:
        return [] if self.mean is None else [self.mean]

    @property
    def mean_return(self) -> float:
        return math.nan if self.mean is None else self.mean

    def update(self, brain: dict) -> None:
        """Take one ``progress`` message's numbers of this Brain."""
        self.episodes, self.mean = int(brain.get("episodes", self.episodes)), brain["mean"]
        self.curve += [tuple(point) for point in brain.get("curve", ())]


class WorkerTrain:
    """One UI Train with ``workers`` worker processes, run by a driver process; also the scene's
    registered session (see the module's docstring). ``poll`` while it runs, then ``store``.
    While it runs it shows in the panels as a training session does (:attr:`stats`, :attr:`agent_steps`).

    ``blend``: the file the driver opens (None: the scene as it is now, saved to a temporary copy);
    ``out``: where checkpoints, TensorBoard runs and ``summary.json`` go (None: a temporary folder,
    removed by :meth:`close`).
    """

    def __init__(
        self,
        scene,
        workers: int,
        steps: int | None = None,
        ray_address: str | None = None,
        out: str | os.PathLike | None = None,
        blend: str | os.PathLike | None = None,
        target: float | None = None,
        stop_at_target: bool = False,
    ):
        from ..env.blendfile import save_blend_copy
        from .workers import WorkerPool

        self.scene_name = scene.name
        self.workers = workers
        self.training = True
        # every Training Brain from the start: the panel shows one before the first progress arrives
        self.stats = {b.name: LiveBrain() for b in scene.academy.brains if b.brain_type == "TRAINING"}
        self.progress: dict = {}
        self.notes: list[str] = []
        self.result: tuple[dict, Arrays] | None = None
        self.error: str | None = None
        self.stop_requested = False
        self.stop_sent_at: float | None = None
        self._signalled_at = -math.inf
        self.started_at = time.perf_counter()
        self.tmp = Path(tempfile.mkdtemp(prefix="academy-ui-workers-"))
        self.out = Path(out) if out is not None else self.tmp / "out"
        self.pool = None
        try:
            path = Path(blend) if blend is not None else save_blend_copy(self.tmp / "scene.blend")
            self.pool = WorkerPool(1, self.tmp, command=worker_command("drivers.ui_train"), label=LABEL)
            init = {
                "type": "init",
                "blend": str(path),
                "scene": scene.name,
                "workers": int(workers),
                "steps": steps,
                "out": str(self.out),
                "target": target,
                "stop_at_target": stop_at_target,
                "tensorboard": out is not None,
                "ray_address": ray_address or None,
            }
            self.pool.send(0, init)
            sessions.start_session(self)
            _live.append(self)
        except BaseException:
            self.close()
            raise

    @property
    def pid(self) -> int | None:
        """The driver's process id (None once closed)."""
        return self.pool.procs[0].pid if self.pool is not None else None

    @property
    def agent_steps(self) -> int:
        return int(self.progress.get("agent_steps", 0))

    @property
    def notice(self) -> str:
        return f"{self.workers} worker processes" + (
            " (stopping at the end of their round)" if self.stop_requested else ""
        )

    @property
    def running(self) -> bool:
        return self.result is None and self.error is None and self.pool is not None

    def poll(self) -> bool:
        """Read every message the driver has sent, without waiting; whether it still runs.

        A driver that ends without a result (killed, crashed) is an error naming it; after Stop, one
        silent for :data:`RESULT_WAIT_S` is killed."""
        while self.running:
            inbox = self.pool.inboxes[0]
            if not select.select([inbox], [], [], 0)[0]:
                if self.stop_sent_at is not None:
                    self._signal_stop()
                break
            try:
                header, arrays = recv(inbox)
            except (EOFError, OSError):
                self.error = str(self.pool._failure(0, None)).replace(f"{LABEL} 0 ", f"{LABEL} ", 1)
                break
            kind = header.get("type")
            if kind == "progress":
                self.progress = header
                for name, brain in header["brains"].items():
                    self.stats.setdefault(name, LiveBrain()).update(brain)
            elif kind == "note":
                self.notes.append(header["text"])
            elif kind == "result":
                self.result = header, arrays
                self.error = header["error"]
            else:
                self.error = f"{LABEL} (process {self.pid}) {header.get('message') or f'sent {kind!r}'}"
        if not self.running:
            self.close()
        return self.running

    def stop(self) -> None:
        """Ask the driver to stop after its round (SIGINT: the ``interrupted`` checkpoint, what was learned kept)."""
        self.stop_requested = True
        if self.running and self.stop_sent_at is None:
            self.stop_sent_at = time.monotonic()
            self._signal_stop()

    def _signal_stop(self) -> None:
        """SIGINT to the driver, again each second (one sent while it boots, ignoring it, is lost);
        a driver that has not answered :data:`RESULT_WAIT_S` after Stop is killed."""
        now = time.monotonic()
        if now - self.stop_sent_at > RESULT_WAIT_S:
            self.pool.procs[0].kill()
            self.error = f"{LABEL} (process {self.pid}) did not stop in {RESULT_WAIT_S:g} s (killed)"
            return
        if now - self._signalled_at >= 1.0:
            self._signalled_at = now
            try:
                os.kill(self.pid, signal.SIGINT)
            except OSError:
                pass

    def store(self, scene) -> list[str]:
        """Write what the driver's Brains stored into ``scene``'s Brains (the model through
        ``brain_store.store_trained``, the curve); the names of the Brains stored."""
        from ..env import brain_store

        if self.result is None:
            return []
        header, arrays = self.result
        stored = []
        for j, info in enumerate(header["brains"]):
            brain = scene.academy.brains.get(info["name"])
            if brain is None:
                continue
            data = arrays[f"{j}/state"].tobytes()
            mean = math.nan if info["mean"] is None else float(info["mean"])
            brain_store.store_trained(scene, brain, data, info["trained_steps"], mean)
            brain[CURVE_KEY] = [float(v) for v in arrays[f"{j}/curve"]]
            stored.append(info["name"])
        return stored

    def status_line(self) -> str:
        """The status bar's line (as the in-process Train's, with the number of workers)."""
        p = self.progress
        if not p:
            return f"Academy: starting {self.workers} workers …   (Esc to stop)"
        total = f"/{p['total_steps']:,}" if p["total_steps"] else ""
        several = len(p["brains"]) > 1
        parts = []
        for name, b in p["brains"].items():
            reward = "–" if b["mean"] is None else f"{b['mean']:.2f}"
            text = " ".join(t for t in (f"mean reward {reward}", b["text"]) if t)
            parts.append(f"{name} {text}" if several else text)
        return (
            f"Academy ({self.workers} workers): {p['agent_steps']:,}{total} agent steps · "
            f"{p['steps_per_second']:,.0f} steps/s · {p['episodes']:,} episodes"
            + "".join(f" · {part}" for part in parts)
            + "   (Esc to stop)"
        )

    def close(self) -> None:
        """End the driver (and so its workers) and forget the session; the temporary files go (the
        temporary ``out`` too: the model is in the Brain by then, or was never learned)."""
        if self in sessions.active_sessions():
            sessions._active.remove(self)
        if self in _live:
            _live.remove(self)
        if self.pool is not None:
            pool, self.pool = self.pool, None
            pool.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- the session protocol of env.sessions: the UI's scene is not touched while the driver runs --
    def on_frame_change_pre(self, scene) -> None:
        pass

    def on_frame_change(self, scene, depsgraph) -> None:
        pass

    def suspend_for_save(self):
        return None

    def resume_after_save(self, token) -> None:
        pass
