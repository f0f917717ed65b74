"""Headless training: open a .blend, train its Training Brains, save checkpoints, a trained copy and a summary."""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from ..core.files import write_atomic
from ..env.academy import AcademyError
from ..env.blendfile import save_blend_copy
from ..env.callbacks import INTERRUPTED, STOPPED, TARGET, Callback, CallbackList, TargetReached
from ..env.groups import agents_by_brain
from ..env.session import Session, safe_name


@dataclass
class TrainResult:
    summary: dict
    blend_path: Path | None
    checkpoints: list[Path] = field(default_factory=list)
    interrupted: bool = False


LINE_LIMIT = 160


def _num(x: float) -> str:
    """Three significant digits, compact (``0.0003``, ``1.2e-05``, ``123``, ``–`` for NaN)."""
    return "–" if not math.isfinite(x) else f"{x:.3g}"


def brain_stats_text(stats: dict[str, float], fields: int = 3) -> str:
    """The few learner statistics worth a glance: exploration, a loss, the learning rate.

    Reads whatever keys ``learner.stats`` has (``epsilon``, ``loss`` or ``policy_loss`` /
    ``value_loss``, ``entropy``, ``learning_rate``); missing keys are skipped. ``fields`` keeps only
    the first ones (the line has to stay short with many Brains).
    """

    def get(key: str) -> float | None:
        value = stats.get(key)
        try:
            return None if value is None else float(value)
        except (TypeError, ValueError):
            return None

    parts = []
    if (eps := get("epsilon")) is not None:
        parts.append(f"eps {eps:.2f}")
    elif (ent := get("entropy")) is not None:
        parts.append(f"ent {_num(ent)}")
    if (loss := get("loss")) is not None:
        parts.append(f"loss {_num(loss)}")
    elif (ql := get("critic_loss")) is not None:  # SAC
        al = get("actor_loss")
        parts.append(f"loss q/pi {_num(ql)}/{_num(al if al is not None else math.nan)}")
    elif (pl := get("policy_loss")) is not None or get("value_loss") is not None:
        vl = get("value_loss")
        parts.append(f"loss p/v {_num(pl if pl is not None else math.nan)}/{_num(vl if vl is not None else math.nan)}")
    if (lr := get("learning_rate")) is not None:
        parts.append(f"lr {lr:.1e}")
    return " ".join(parts[:fields])


class BrainLine(NamedTuple):
    """What the progress line shows of one Brain."""

    mean_reward: float
    episodes: int
    learner: dict[str, float]


def brain_lines(session: Session) -> dict[str, BrainLine]:
    """Each running Brain's mean reward, episodes and learner statistics, for :class:`ProgressBar`."""
    learners = session.learner_stats()
    return {name: BrainLine(st.mean_return, st.episodes, learners.get(name, {})) for name, st in session.stats.items()}


class ProgressBar:
    """One self-rewriting line on a terminal (plain lines when not a terminal)."""

    def __init__(self, total: int, stream=None, width: int = 24):
        self.total, self.stream, self.width = total, stream or sys.stderr, width
        self.start = time.perf_counter()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_plain = -math.inf  # the first update prints at once
        self._open = False  # a self-rewriting line is on screen without its newline

    def line(self, steps: int, brains: Mapping[str, BrainLine]) -> str:
        """The progress line: bar, steps, speed, episodes, time, then each Brain's mean reward and statistics."""
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        frac = min(1.0, steps / self.total) if self.total else 0.0
        filled = int(frac * self.width)
        episodes = sum(b.episodes for b in brains.values())
        head = (
            f"[{'#' * filled}{'-' * (self.width - filled)}] {steps}/{self.total} agent steps  "
            f"{steps / elapsed:,.0f} steps/s  episodes {episodes}  {elapsed:.0f} s"
        )
        several = len(brains) > 1
        label = "reward" if several else "mean reward"  # each Brain's own mean, short when there are several
        for fields in (3, 2, 1, 0):  # fewer statistics per Brain until the line fits
            texts = [
                (f"{name[:12]}: " if several else "")
                + " ".join(t for t in (f"{label} {_num(b.mean_reward)}", brain_stats_text(b.learner, fields)) if t)
                for name, b in brains.items()
            ]
            line = head + "".join(f"  {t}" for t in texts)
            if len(line) <= LINE_LIMIT:
                return line
        return line[: LINE_LIMIT - 1] + "…"

    def update(self, steps: int, brains: Mapping[str, BrainLine], final: bool = False) -> None:
        elapsed = time.perf_counter() - self.start
        if self.tty:
            line = self.line(steps, brains)
            self.stream.write("\r\x1b[K" + line + ("\n" if final else ""))
            self._open = not final
            self.stream.flush()
        elif final or elapsed - self._last_plain >= 5.0:
            self._last_plain = elapsed
            self.stream.write(self.line(steps, brains) + "\n")
            self.stream.flush()

    def message(self, text: str) -> None:
        """Print a line of its own (ending a self-rewriting progress line first)."""
        if self._open:
            self.stream.write("\n")
            self._open = False
        self.stream.write(text + "\n")
        self.stream.flush()


class ProgressLine(Callback):
    """The command line's progress: a :class:`ProgressBar` updated as the run goes, its last line at the end."""

    def __init__(self, bar: ProgressBar):
        self.bar = bar

    def on_progress(self, session: Session) -> None:
        self.bar.update(session.agent_steps, brain_lines(session))

    def on_stop(self, session: Session, reason: str) -> None:
        self.bar.update(session.agent_steps, brain_lines(session), final=True)


def trained_steps(learner) -> int:
    """The agent steps a learner has been trained for in all, over every run it continued."""
    return int(getattr(learner, "learner", learner).total_steps)  # a worker run's portable learner wraps one


class CheckpointWriter(Callback):
    """Writes ``<out>/checkpoints/<brain>-<tag>.academy`` for each Brain that learns, atomically.

    A periodic checkpoint's tag is the Brain's total trained steps (a resumed run goes on counting
    from where the run it continues stopped, never over its files); the last is ``final`` or
    ``interrupted`` (the run's newest model).
    """

    def __init__(self, out: Path, trainers: Mapping[str, object]):
        self.out, self.trainers = out, trainers
        self.written: list[Path] = []

    def on_checkpoint(self, session: Session, tag: str) -> None:
        for name, learner in self.trainers.items():
            label = str(trained_steps(learner)) if tag.isdigit() else tag
            path = self.out / "checkpoints" / f"{safe_name(name)}-{label}.academy"
            write_atomic(path, learner.save_bytes(include_buffers=False))
            self.written.append(path)


def train(
    scene,
    out_dir: str | os.PathLike,
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
) -> TrainResult:
    """Train ``scene``'s Training Brains (or only ``brain``) for ``steps`` agent steps.

    Writes ``out_dir/checkpoints/<brain>-<steps>.academy`` every ``checkpoint_every`` steps and at
    the end (also when interrupted with Ctrl-C), ``out_dir/summary.json`` (each Brain's numbers
    under ``"brains"``), and, if ``save_blend``, a copy of the .blend with the trained Brains stored
    in it, and (``tensorboard``) each Brain's learning curve as its own TensorBoard run in
    ``out_dir/tensorboard/<brain>``. Every file is written atomically (:mod:`..core.files`);
    ``checkpoints/`` appears with the first checkpoint. The scene is restored afterwards; only the
    Brains' stored models and statistics change.

    ``target_reward``: a mean episode reward for every Training Brain, or ``{brain: reward}``
    (``None`` as a key: every other Training Brain). A line is printed when a Brain's mean first
    reaches its target; ``stop_at_target`` ends the run as a normal end once every Brain with a
    target reached it. ``callbacks``: more :class:`~..env.callbacks.Callback` objects, called after
    the command line's own (progress, checkpoints, targets).
    """
    out = Path(out_dir)
    targets = {None: target_reward} if isinstance(target_reward, int | float) else dict(target_reward or {})
    session = Session(
        scene,
        training=True,
        steps=steps,
        brains=None if brain is None else [brain],
        seed=seed,
        tensorboard=out / "tensorboard" if tensorboard else None,
        targets=targets,
    )
    trainers = {name: session.brain(name).learner for name in session.trained}
    if not trainers:
        session.finish(store=False)
        raise AcademyError("Nothing to train: no Brain of type Training has agents in this scene")
    every = checkpoint_every or max(1, session.total_steps // 10)
    bar = ProgressBar(session.total_steps) if progress else None
    start = time.perf_counter()
    writer = CheckpointWriter(out, trainers)
    hooks = CallbackList(
        [
            *([ProgressLine(bar)] if bar is not None else []),
            writer,
            TargetReached(stop_at_target, bar.message if bar else None, "; stopping (--stop-at-target)", since=start),
            *callbacks,
        ],
        interval_s=0.25,
        checkpoint_every=every,
    )
    reason = None
    # Ctrl-C asks the session to stop (checked between ticks): KeyboardInterrupt raised inside
    # Blender's frame handlers is not reliably delivered (Blender 4.5 swallows it), and a flag never
    # leaves a frame half-stepped, a checkpoint half-written or the scene unrestored.
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, lambda *_: setattr(session, "stop_requested", True))
    try:
        session.start()  # a failed start has ended the session and raises (Ctrl-C too: no summary then)
        try:
            reason = session.run(hooks)
        except KeyboardInterrupt:
            reason = INTERRUPTED
        finally:
            session.finish(store=True)
        wall = session.ended_at - start
        interrupted = reason in (STOPPED, INTERRUPTED)
        learners = session.learner_stats()
        summary = {
            "scene": scene.name,
            "trained": sorted(trainers),
            "agent_steps": session.agent_steps,
            "wall_seconds": round(wall, 3),
            "steps_per_second": round(session.agent_steps / max(wall, 1e-9), 1),
            "episodes": session.episodes,
            "interrupted": interrupted,
            "stopped_at_target": reason == TARGET,
            "brains": {
                name: {
                    "type": "TRAINING" if name in trainers else _brain_type(scene, name),
                    **st.summary(since=start),
                    "learner": json_floats(learners.get(name, {})),
                }
                for name, st in session.stats.items()
            },
            "checkpoints": [str(p) for p in writer.written],
        }
        blend_path = None
        if save_blend is not None:
            blend_path = Path(save_blend)
            save_blend_copy(blend_path)
            summary["blend"] = str(blend_path)
        write_atomic(out / "summary.json", json.dumps(summary, indent=2).encode())
    finally:
        # Ctrl-C stays a flag until the files are written and the scene restored
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    return TrainResult(summary, blend_path, writer.written, interrupted)


def _brain_type(scene, name: str) -> str:
    brain = scene.academy.brains.get(name)
    return brain.brain_type if brain is not None else ""


def json_floats(stats: dict[str, float]) -> dict[str, float | None]:
    """Rounded, with NaN/inf as null (``json`` would write NaN, which is not JSON)."""
    out: dict[str, float | None] = {}
    for key, value in sorted(stats.items()):
        try:
            value = float(value)
        except (TypeError, ValueError):
            continue
        out[key] = float(f"{value:.6g}") if math.isfinite(value) else None
    return out


def evaluate(
    scene,
    brain: str | None = None,
    episodes: int = 100,
    seed: int = 12345,
    max_decisions: int = 10**7,
    deterministic: bool | None = None,
):
    """Run the scene's trained Brains without learning until each has ended ``episodes`` episodes.

    The Brains act as in Play and Bake: discrete PPO actions sampled unless the Brain is
    Deterministic; ``deterministic`` True or False overrides that for every Brain (True: greedy).
    A different ``seed`` from training gives rooms, starts and randomisation the agents never saw.
    Returns, per Brain, ``{"episodes", "success_rate", "mean_reward", "mean_length"}`` over its
    first ``episodes`` finished episodes: ``{brain: {...}}``, or that one dict when ``brain`` is
    given or the scene runs one Brain. The scene is restored afterwards.
    """
    # One decision at a time, never a time budget: the episodes counted are exactly the first
    # ``episodes`` to end, whatever the machine's speed (a timed tick overshot by a whole second of
    # episodes and kept the last ones, so one Brain evaluated twice with one seed scored 0.36 and 0.43).
    # At the decision a Brain reaches ``episodes``, fewer than its agent count ended beyond them.
    most_agents = max((len(a) for a in agents_by_brain(scene).values()), default=0)
    session = Session(
        scene,
        training=False,
        steps=0,
        brains=None if brain is None else [brain],
        seed=seed,
        stats_window=episodes + most_agents,
        deterministic=deterministic,
    )
    session.start()
    first: dict[str, tuple[list, list, list]] = {}
    try:
        while len(first) < len(session.stats) and session.decisions < max_decisions:
            session.rollout(1)
            for name, st in session.stats.items():
                if name not in first and st.episodes >= episodes:
                    first[name] = (list(st.recent_returns), list(st.recent_success), list(st.recent_lengths))
    finally:
        session.finish(store=False)
    out = {}
    for name, st in session.stats.items():
        seen = first.get(name) or (list(st.recent_returns), list(st.recent_success), list(st.recent_lengths))
        returns, success, lengths = (values[:episodes] for values in seen)
        out[name] = {
            "episodes": len(returns),
            "success_rate": round(sum(success) / max(len(success), 1), 4),
            "mean_reward": round(sum(returns) / max(len(returns), 1), 4),
            "mean_length": round(sum(lengths) / max(len(lengths), 1), 2),
        }
    return next(iter(out.values())) if len(out) == 1 else out
