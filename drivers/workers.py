"""Local worker processes: one scene trained by N headless Blenders at once (issue 14; PPO, DQN, SAC).

Design. :func:`train_workers`, in the driver (this process), saves the scene as it is now to a
temporary .blend and starts N workers. Each is a Python process that boots bpy the add-on's way
(``devtools/boot``, as ``./academy`` does), opens that file and runs a :class:`Session` of the same
Brains with its own seed (:func:`worker_seed`, from the Academy's). Its Training Brains act with an
inference copy of the driver's policy and fill a rollout of ``ceil(num_steps / N)`` steps per agent
but never update: when the rollout is full the worker sends it as one fragment (hundreds of agent
steps: per agent step obs, action, log-prob, value, reward, done, and the outcome the statistics
need) and waits for the new weights. The driver takes that Brain's fragment from every worker, in
worker order, lays them side by side in its learner (whose batch is every worker's agents, so one
update learns from ``num_steps × agents`` samples, as with one process), updates, and sends the
weights and normalisers back. Rounds are in lockstep, so the same seed and N give the same curve.
DQN and SAC Brains ship transitions instead and their rounds overlap learning (:mod:`.replay_fragments`).
Statistics, progress line, checkpoints, ``--target``, TensorBoard, ``summary.json`` and the trained
.blend are the single-process ones, fed from the fragments (``drivers/headless.py``'s callbacks).
A worker that dies without a word (killed, crashed) is replaced by a new one with the current
weights and a seed of its own (the run goes on, no longer repeatable); one that reports an error
ends the run with that error, naming the worker. Every worker is ended whatever happens.

Why plain subprocesses and pipes, not Ray or multiprocessing: Blender's own Python has no Ray, and
the UI must train without installing it; multiprocessing's spawn re-imports the parent's
``__main__`` with a ``sys.executable`` that, inside Blender, is not a Python that can import bpy
(gymnasium's AsyncVectorEnv fails that way) and it speaks pickle. Here a worker is one command line
that boots the add-on; messages are a length-prefixed JSON header and numpy arrays written with
``np.save`` (``allow_pickle=False``), on two pipes of their own (Blender prints on stdout).

A cluster is Ray's job: with ``ray_address`` the workers are Ray actors (:mod:`.ray_pool`'s
``RayPool`` in place of :class:`WorkerPool`, with the same methods), hosting the same worker loop;
everything here is shared. Locally the subprocesses stay: no Ray to install, no cluster daemons to
start (or leave behind) on one machine, and nothing Ray would schedule or move there.
"""

from __future__ import annotations

import json
import math
import os
import select
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import numpy as np

from ..core.files import write_atomic
from ..core.stats import BrainStats, TensorBoardRun
from ..env.academy import AcademyError
from ..env.blendfile import save_blend_copy
from ..env.callbacks import INTERRUPTED, STOPPED, TARGET, Callback, CallbackList, TargetReached
from ..env.session import Session, learner_stats, safe_name
from . import worker as _worker
from .headless import CheckpointWriter, ProgressBar, ProgressLine, TrainResult, _brain_type, json_floats
from .worker import FAIL_ENV, OUTCOMES, Arrays, WorkerDied, _under, recv, send, worker_command, worker_seed

__all__ = ["FAIL_ENV", "WorkerDied", "WorkerPool", "WorkerRun", "recv", "send", "train_workers", "worker_seed"]

REPLACEMENTS_PER_WORKER = 3  # workers that die (killed, crashed) are replaced up to this many times each


# -- the driver's side -----------------------------------------------------------------------------
class WorkerPool:
    """N worker processes and their pipes. A context manager: leaving it ends every worker.

    ``command``: each worker's command line (default: the training worker's, :func:`worker_command`);
    ``label`` names a worker in errors ("Worker 1 (process 123) ended unexpectedly ...")."""

    def __init__(self, count: int, logdir: Path, command: list[str] | None = None, label: str = "Worker"):
        self.command = list(command) if command is not None else None
        self.label = label
        self.procs: list[subprocess.Popen] = []
        self.inboxes: list = []  # what each worker says
        self.outboxes: list = []  # what we tell each worker
        self.logs: list[Path] = []
        self.logdir = logdir
        self.started = 0  # processes started, replacements included
        try:
            for _ in range(count):
                self.procs.append(None)
                self.inboxes.append(None)
                self.outboxes.append(None)
                self.logs.append(None)
                self.spawn(len(self.procs) - 1)
        except BaseException:
            self.close()
            raise

    def spawn(self, i: int) -> None:
        """Start worker ``i`` (again: a dead one's pipes are closed first)."""
        for box in (self.outboxes[i], self.inboxes[i]):
            if box is not None:
                box.close()
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        log = self.logdir / f"worker-{i}-{self.started}.log"
        self.started += 1
        try:
            with open(log, "wb") as err:
                proc = subprocess.Popen(
                    [*(self.command or worker_command()), str(to_r), str(from_w)],
                    pass_fds=(to_r, from_w),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                    env={**os.environ, "OMP_NUM_THREADS": "1"},
                )
        except BaseException:
            for fd in (to_r, to_w, from_r, from_w):
                os.close(fd)
            raise
        os.close(to_r)
        os.close(from_w)
        self.procs[i], self.logs[i] = proc, log
        self.outboxes[i] = open(to_w, "wb")  # noqa: SIM115 - closed in close()
        self.inboxes[i] = open(from_r, "rb", buffering=0)  # noqa: SIM115 - unbuffered: select() sees all there is

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self.procs)

    def send(self, i: int, header: Mapping, arrays: Mapping[str, np.ndarray] | None = None) -> None:
        try:
            send(self.outboxes[i], header, arrays)
        except OSError:
            raise self._failure(i, None) from None

    def recv(self, i: int, expect: str, wait_s: float | None = None) -> tuple[dict, Arrays]:
        """Worker ``i``'s next message, which must be of type ``expect``; its failure as an AcademyError.

        A worker silent for ``wait_s`` seconds (default :data:`_worker.ANSWER_WAIT_S`) is killed: stuck."""
        wait_s = _worker.ANSWER_WAIT_S if wait_s is None else wait_s
        try:
            if not select.select([self.inboxes[i]], [], [], wait_s)[0]:
                self.procs[i].kill()  # stuck: a dead worker can be replaced
                raise self._failure(i, None, f"did not answer in {wait_s:g} s (killed)")
            header, arrays = recv(self.inboxes[i])
        except (EOFError, OSError):
            raise self._failure(i, None) from None
        if header.get("type") != expect:
            raise self._failure(i, header.get("message") or f"sent '{header.get('type')}' instead of '{expect}'")
        return header, arrays

    def _failure(self, i: int, message: str | None, why: str = "") -> AcademyError:
        """Worker ``i``'s error (``message``), or its end (None): a :class:`WorkerDied`."""
        proc = self.procs[i]
        if message is not None:
            return AcademyError(f"{self.label} {i} (process {proc.pid}) {message}")
        try:
            status = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            status = None
        tail = ""
        try:
            lines = [ln for ln in self.logs[i].read_text(errors="replace").splitlines() if ln.strip()]
            tail = f"; it last said: {lines[-1].strip()[:200]}" if lines else ""
        except OSError:
            pass
        message = why or f"ended unexpectedly (exit status {status}){tail}"
        return WorkerDied(f"{self.label} {i} (process {proc.pid}) {message}")

    def close(self) -> None:
        """End every worker: close the pipes (a worker waiting reads their end, one writing gets a
        broken pipe, and either exits), wait, and kill one still there after :data:`_worker.STOP_WAIT_S`."""
        for box in (*self.outboxes, *self.inboxes):
            try:
                if box is not None:
                    box.close()
            except OSError:
                pass
        self.outboxes, self.inboxes = [], []
        deadline = time.monotonic() + _worker.STOP_WAIT_S
        for proc in self.procs:
            if proc is None:
                continue
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop(self) -> None:
        """Tell every worker waiting for weights to finish instead."""
        for i in range(len(self.procs)):
            try:
                send(self.outboxes[i], {"type": "stop"})
            except OSError:
                pass


class WorkerRun:
    """What the callbacks read of a run trained by workers (the part of a :class:`Session` they use)."""

    def __init__(self, total_steps: int, stats: Mapping[str, BrainStats], learners: Mapping[str, object]):
        self.total_steps = total_steps
        self._stats = dict(stats)
        self.learners = dict(learners)
        self.agent_steps = 0
        self.stop_requested = False
        self.update_pending = False
        self.error: BaseException | None = None
        self.clock = time.perf_counter
        self.started_at = 0.0
        self.ended_at = 0.0
        self.updates = 0
        self.replaced = 0  # workers started again after dying
        # the driver's seconds: waiting for fragments, learning from them, callbacks and sending weights
        self.timings = {"waiting": 0.0, "learning": 0.0, "sending": 0.0}

    @property
    def stats(self) -> Mapping[str, BrainStats]:
        return MappingProxyType(self._stats)

    @property
    def done(self) -> bool:
        return self.total_steps > 0 and self.agent_steps >= self.total_steps

    @property
    def episodes(self) -> int:
        return sum(st.episodes for st in self._stats.values())

    def learner_stats(self) -> dict[str, dict[str, float]]:
        return {name: learner_stats(learner) for name, learner in self.learners.items()}

    def cut(self, worker: int, workers: int) -> None:
        """Worker ``worker`` was replaced: its agents' running episodes ended with it (not counted)."""
        for name, stats in self._stats.items():
            n = stats.n // workers
            rows = slice(worker * n, (worker + 1) * n)
            stats.episode_return[rows] = 0.0
            stats.episode_length[rows] = 0
            if name in self.learners:
                episodes = self.learners[name].episodes
                episodes.returns[rows] = 0.0
                episodes.lengths[rows] = 0

    def feed(self, name: str, parts: list[Arrays], brains: list[str]) -> None:
        """One round's outcomes (one message per worker, in worker order) into the statistics: those of
        Brain ``name``'s rollout, and those of the Brains that do not learn (``brains``: every Brain)."""
        self._record(name, [_under("stats", p) for p in parts], self.learners[name])
        for j, other in enumerate(brains):
            if f"others/{j}/rewards" in parts[0]:
                self._record(other, [_under(f"others/{j}", p) for p in parts], None)

    def _record(self, name: str, parts: list[Arrays], learner) -> None:
        stats = self._stats[name]
        cols = {k: np.concatenate([p[k] for p in parts], axis=1) for k in OUTCOMES}
        before = stats.agent_steps
        for t in range(len(cols["rewards"])):
            r, e, tr, s, a = (cols[k][t] for k in OUTCOMES)
            stats.record(r, e, tr, s, a)
            if learner is not None:
                learner.episodes.update(r.astype(np.float32), e | tr, a)
        self.agent_steps += stats.agent_steps - before


class _Portable:
    """A driver learner as checkpoints and the Brain store want it: the scene's ``n`` agents (not the
    N copies') and the Brain's own rollout length, so a checkpoint is what one process writes."""

    def __init__(self, learner, config, n: int):
        self.learner, self.config, self.n = learner, config, n

    def _own_bytes(self) -> bytes:
        mine, self.learner.config = self.learner.config, self.config
        try:
            return self.learner.save_bytes(include_buffers=False)
        finally:
            self.learner.config = mine

    def for_agents(self):
        """A learner of the scene's agents with these weights (what is stored in the Brain)."""
        from ..training.factory import learner_from_state
        from ..training.state_check import load_state

        return learner_from_state(load_state(self._own_bytes()), num_agents=self.n, auto_update=False)

    def save_bytes(self, include_buffers: bool = False) -> bytes:
        return self.for_agents().save_bytes(include_buffers=False)


def train_workers(
    scene,
    out_dir: str | os.PathLike,
    workers: int,
    steps: int | None = None,
    brain: str | None = None,
    seed: int | None = None,
    checkpoint_every: int | None = None,
    target_reward: float | Mapping[str | None, float] | None = None,
    progress: bool = True,
    save_blend: str | os.PathLike | None = None,
    tensorboard: bool = True,
    stop_at_target: bool = False,
    callbacks: Iterable[Callback] = (),
    ray_address: str | None = None,
) -> TrainResult:
    """:func:`~.headless.train` with ``workers`` worker processes collecting the samples (PPO, DQN, SAC).

    Same arguments, files and summary (plus ``"workers"``, ``"updates"``, ``"startup_seconds"``: the
    time to start the workers, inside ``wall_seconds``, and ``"driver_seconds"``). ``workers=1`` runs
    one worker process (what the command line runs in-process; the benchmark measures the messages
    with it). ``ray_address`` (``"auto"`` or ``"HOST:PORT"``): the workers are actors on that Ray
    cluster (:mod:`.ray_pool`) instead of local processes, and the summary's ``"ray"`` says where each
    ran. No worker is left running when it returns or raises.
    """
    from ..training.factory import learner_from_state
    from ..training.fragments import ingest_fragments, policy_arrays
    from ..training.ppo import PPOLearner
    from ..training.state_check import load_state
    from .replay_fragments import fragment_length, ingest_transitions, is_replay, schedule

    if workers < 1:
        raise ValueError("train_workers needs at least 1 worker")
    if ray_address is not None:
        from .ray_pool import RayPool, import_ray

        import_ray()  # no ray: the error before anything starts
        pool_of = lambda n, tmp: RayPool(n, ray_address, tmp)  # noqa: E731
    else:
        pool_of = WorkerPool
    hosts: list[dict] = []
    out = Path(out_dir)
    targets = {None: target_reward} if isinstance(target_reward, int | float) else dict(target_reward or {})
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="academy-workers-") as tmp:
        blend = save_blend_copy(Path(tmp) / "scene.blend")  # the scene as it is now (before the session touches it)
        session = Session(
            scene, training=True, steps=steps, brains=None if brain is None else [brain], seed=seed, targets=targets
        )
        names = list(session.trained)
        try:
            if not names:
                raise AcademyError("Nothing to train: no Brain of type Training has agents in this scene")
            if len(scene.academy.lessons):  # each worker would follow its own lessons from its own statistics
                raise AcademyError("Academy Lessons: training with worker processes does not follow a curriculum yet")
            for name in names:
                if scene.academy.brains[name].self_play.enabled:
                    raise AcademyError(
                        f"Brain '{name}' uses Self-Play, which trains in-process only so far (no workers)"
                    )
                learner = session.brain(name).learner
                if getattr(learner, "net_space", None) is not None:
                    raise AcademyError(
                        f"Brain '{name}' has memory (Use Memory or Stacked Observations): training with worker "
                        "processes does not carry memory yet (train in-process)"
                    )
                if getattr(learner.config, "gail_strength", 0.0) > 0:
                    raise AcademyError(
                        f"Brain '{name}' uses GAIL: its demonstrations do not reach worker processes yet "
                        "(train in-process)"
                    )
                if not isinstance(learner, PPOLearner) and not is_replay(learner):
                    raise AcademyError(
                        f"Brain '{name}' uses {learner.algorithm.upper()}: worker processes train PPO, DQN and SAC"
                    )
            initial = {name: session.brain(name).learner.save_bytes(include_buffers=False) for name in names}
            session.start()  # checks the first decision here; the driver's own agents never step after it
            learners, portable, stats, lengths = {}, {}, {}, []
            for name in names:
                small, view = session.brain(name).learner, session.brain(name)
                big = learner_from_state(load_state(initial[name]), num_agents=view.n * workers, auto_update=False)
                if is_replay(small):  # (the whole replay memory is the driver's: workers ship transitions)
                    lengths.append(fragment_length(view.n))
                else:
                    lengths.append(math.ceil(small.config.num_steps / workers))
                    big.config = replace(small.config, num_steps=lengths[-1])
                    big._alloc()
                big.run_start, big.run_steps = small.run_start, small.run_steps
                learners[name], portable[name] = big, _Portable(big, small.config, view.n)
            for name, own in session.stats.items():  # every running Brain's, learning or not
                stats[name] = BrainStats(name, own.n * workers, window=own.window, target=own.target)
        except BaseException:
            session.finish(store=False)
            raise
        run = WorkerRun(session.total_steps, stats, learners)
        boards = _tensorboard(out, run) if tensorboard else {}
        bar = ProgressBar(session.total_steps) if progress else None
        writer = CheckpointWriter(out, portable)
        hooks = CallbackList(
            [
                *([ProgressLine(bar)] if bar is not None else []),
                writer,
                TargetReached(
                    stop_at_target, bar.message if bar else None, "; stopping (--stop-at-target)", since=start
                ),
                *callbacks,
            ],
            interval_s=0.25,
            checkpoint_every=checkpoint_every or max(1, session.total_steps // 10),
        )
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, lambda *_: setattr(run, "stop_requested", True))
        reason, ready_at = None, start
        try:
            with pool_of(workers, Path(tmp)) as pool:
                hosts = getattr(pool, "hosts", hosts)  # where each Ray actor ran (filled as they start)

                def weights() -> Arrays:
                    return {f"{j}/{k}": v for j, nm in enumerate(names) for k, v in policy_arrays(learners[nm]).items()}

                def begin(i: int, seed_index: int) -> None:
                    init = {
                        "type": "init",
                        "index": i,
                        "replaces": run.replaced if seed_index >= workers else 0,
                        "blend": str(blend),
                        "scene": scene.name,
                        "brains": list(session.brains),
                        "trained": names,
                        "num_steps": lengths,
                        "copies": workers,
                        "schedule": [schedule(learners[nm]) for nm in names],
                        "seed": worker_seed(session.academy.seed, seed_index),
                    }
                    pool.send(i, init, weights())

                def ready(i: int) -> None:
                    header, _ = pool.recv(i, "ready", _worker.STARTUP_WAIT_S)
                    want = {name: session.brain(name).n for name in names}
                    if header["agents"] != want:
                        raise AcademyError(f"Worker {i} runs {header['agents']} agents, the scene {want}")

                def replace_worker(i: int, exc: WorkerDied) -> None:
                    """A new worker ``i`` with the current weights (and a seed of its own) for one that died."""
                    if run.replaced >= REPLACEMENTS_PER_WORKER * workers:
                        raise exc
                    run.replaced += 1
                    if bar is not None:
                        bar.message(f"{exc}; starting a new worker {i}")
                    pool.spawn(i)
                    begin(i, i + workers * run.replaced)
                    ready(i)
                    run.cut(i, workers)

                def send_weights(name: str, ahead: int = 0) -> None:
                    """Brain ``name``'s weights to every worker (``ahead``: see :func:`.replay_fragments.schedule`)."""
                    i, learner = names.index(name), learners[name]
                    update = {f"{i}/{k}": v for k, v in policy_arrays(learner).items()}
                    where = {"type": "weights", "brain": name, "schedule": schedule(learner, ahead)}
                    for w in range(workers):
                        try:
                            pool.send(w, where, update)
                        except WorkerDied as exc:
                            replace_worker(w, exc)  # starts with these weights

                for i in range(workers):
                    begin(i, i)
                for i in range(workers):
                    ready(i)
                ready_at = time.perf_counter()
                run.started_at = ready_at
                hooks.start(run)
                try:
                    while reason is None:
                        parts, name = [], None
                        clock = time.perf_counter()
                        for i in range(workers):
                            try:
                                header, arrays = pool.recv(i, "fragment")
                            except WorkerDied as exc:
                                replace_worker(i, exc)
                                header, arrays = pool.recv(i, "fragment")
                            if name is not None and header["brain"] != name:
                                raise AcademyError(f"Worker {i} sent Brain '{header['brain']}' out of step ('{name}')")
                            name = header["brain"]
                            parts.append(arrays)
                        learner, waited = learners[name], time.perf_counter()
                        run.feed(name, parts, list(session.brains))

                        early = is_replay(learner) and not (run.done or run.stop_requested)
                        if early:  # the workers collect the next round while this one is learned from
                            send_weights(name, ahead=learner.num_agents * lengths[names.index(name)])
                        sent = time.perf_counter()
                        if is_replay(learner):
                            ingest_transitions(learner, parts)
                        else:
                            ingest_fragments(learner, parts)
                            learner.update()
                        run.updates += 1
                        st = run.stats[name]
                        st.learner = learner_stats(learner)
                        if name in boards:
                            boards[name].updated(st.agent_steps, st.learner)
                        learned = time.perf_counter()
                        reason = hooks.after_tick(run, not run.done)
                        if reason is None and not early:
                            send_weights(name)
                        run.timings["waiting"] += waited - clock
                        run.timings["learning"] += learned - sent
                        run.timings["sending"] += time.perf_counter() - learned + sent - waited
                    pool.stop()
                except KeyboardInterrupt:
                    reason = INTERRUPTED
                run.ended_at = time.perf_counter()
                hooks.end(run, reason)
        except BaseException as exc:
            run.ended_at = run.ended_at or time.perf_counter()
            run.error = exc
            hooks.end_after_error(run, exc)
            _store(session, names, portable, stats, run.updates)
            raise
        finally:
            for board in boards.values():
                board.close()
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        _store(session, names, portable, stats, run.updates)
    wall = run.ended_at - start
    interrupted = reason in (STOPPED, INTERRUPTED)
    summary = {
        "scene": scene.name,
        "trained": sorted(names),
        "workers": workers,
        "agent_steps": run.agent_steps,
        "wall_seconds": round(wall, 3),
        "startup_seconds": round(ready_at - start, 3),
        "steps_per_second": round(run.agent_steps / max(wall, 1e-9), 1),
        "updates": run.updates,
        "workers_replaced": run.replaced,
        "driver_seconds": {k: round(v, 3) for k, v in run.timings.items()},
        "episodes": run.episodes,
        "interrupted": interrupted,
        "stopped_at_target": reason == TARGET,
        "brains": {
            name: {
                "type": "TRAINING" if name in names else _brain_type(scene, name),
                **st.summary(since=start),
                "learner": json_floats(run.learner_stats().get(name, {})),
            }
            for name, st in {**session.stats, **run.stats}.items()
        },
        "checkpoints": [str(p) for p in writer.written],
    }
    if ray_address is not None:
        summary["ray"] = {"address": ray_address, "workers": hosts}
    blend_path = None
    if save_blend is not None:
        blend_path = Path(save_blend)
        save_blend_copy(blend_path)
        summary["blend"] = str(blend_path)
    write_atomic(out / "summary.json", json.dumps(summary, indent=2).encode())
    return TrainResult(summary, blend_path, writer.written, interrupted)


def _tensorboard(out: Path, run: WorkerRun) -> dict[str, TensorBoardRun]:
    """Each Brain's curve and learner statistics as its own TensorBoard run, as :class:`Session` writes them."""
    from ..core.tensorboard import EventWriter

    runs = {}
    for name, stats in run.stats.items():
        before = int(run.learners[name].total_steps) if name in run.learners else 0  # before this run
        runs[name] = board = TensorBoardRun(EventWriter(out / "tensorboard" / safe_name(name)), before)
        stats.on_point = board.curve
    return runs


def _store(
    session: Session, names: list[str], portable: Mapping[str, _Portable], stats: Mapping[str, BrainStats], updates: int
) -> None:
    """What the workers learned into the driver's Brains (saved with the .blend); the scene restored."""
    if session.stopped:
        return
    if not updates:
        session.finish(store=False)
        return
    for name in names:
        state = session.academy.brains[name]
        state.runner.learner = portable[name].for_agents()
        state.stats = stats[name]
    session.finish(store=True)
