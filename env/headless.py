"""Headless training: open a .blend, train its Training Brains, save checkpoints, a trained copy and a summary."""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import bpy

from .academy import AcademyError
from .brains import TrainingRunner
from .session import Session


@dataclass
class TrainResult:
    summary: dict
    blend_path: Path | None
    checkpoints: list[Path] = field(default_factory=list)
    interrupted: bool = False


class ProgressBar:
    """One self-rewriting line on a terminal (plain lines when not a terminal)."""

    def __init__(self, total: int, stream=None, width: int = 24):
        self.total, self.stream, self.width = total, stream or sys.stderr, width
        self.start = time.perf_counter()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_plain = -math.inf  # the first update prints at once

    def update(self, steps: int, mean_reward: float, episodes: int, final: bool = False) -> None:
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        frac = min(1.0, steps / self.total) if self.total else 0.0
        filled = int(frac * self.width)
        reward = "–" if math.isnan(mean_reward) else f"{mean_reward:.2f}"
        line = (
            f"[{'#' * filled}{'-' * (self.width - filled)}] {steps}/{self.total} agent steps  "
            f"{steps / elapsed:,.0f} steps/s  mean reward {reward}  episodes {episodes}  {elapsed:.0f} s"
        )
        if self.tty:
            self.stream.write("\r" + line + ("\n" if final else ""))
            self.stream.flush()
        elif final or elapsed - self._last_plain >= 5.0:
            self._last_plain = elapsed
            self.stream.write(line + "\n")
            self.stream.flush()


def train(
    scene,
    out_dir: str | os.PathLike,
    steps: int | None = None,
    brain: str | None = None,
    seed: int | None = None,
    checkpoint_every: int | None = None,
    target_reward: float | None = None,
    progress: bool = True,
    save_blend: str | os.PathLike | None = None,
    tensorboard: bool = True,
) -> TrainResult:
    """Train ``scene``'s Training Brains (or only ``brain``) for ``steps`` agent steps.

    Writes ``out_dir/checkpoints/<brain>-<steps>.academy`` every ``checkpoint_every`` steps and at
    the end (also when interrupted with Ctrl-C), ``out_dir/summary.json``, and, if ``save_blend``,
    a copy of the .blend with the trained Brains stored in it, and (``tensorboard``) the learning curve
    as TensorBoard event files in ``out_dir/tensorboard``. The scene is restored afterwards;
    only the Brains' stored models and statistics change.
    """
    out = Path(out_dir)
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    session = Session(scene, training=True, steps=steps, brains=None if brain is None else [brain], seed=seed)
    trainers = {n: s.runner for n, s in session.academy.brains.items() if isinstance(s.runner, TrainingRunner)}
    if not trainers:
        raise AcademyError("Nothing to train: no Brain of type Training has agents in this scene")
    total = session.total_steps
    every = checkpoint_every or max(1, total // 10)
    bar = ProgressBar(total) if progress else None
    checkpoints: list[Path] = []
    next_checkpoint = every
    reached_at: tuple[int, float] | None = None
    start = time.perf_counter()

    def save_checkpoints(tag: str) -> None:
        for name, runner in trainers.items():
            path = out / "checkpoints" / f"{_safe(name)}-{tag}.academy"
            runner.learner.save(path, include_buffers=False)
            checkpoints.append(path)

    if tensorboard:
        from .tensorboard import EventWriter

        session.academy.event_writer = EventWriter(out / "tensorboard")
    interrupted = False
    # Ctrl-C sets a flag the loop checks between ticks: KeyboardInterrupt raised inside Blender's
    # frame handlers is not reliably delivered (Blender 4.5 swallows it), and a flag never leaves a
    # frame half-stepped.
    stop = {"requested": False}
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, lambda *_: stop.update(requested=True))
    session.start()
    try:
        while session.tick(0.25, until_steps=next_checkpoint):
            if stop["requested"]:
                interrupted = True
                break
            a = session.academy
            if bar is not None:
                bar.update(a.agent_steps, a.mean_return, a.episodes)
            if a.agent_steps >= next_checkpoint and not a.update_pending:
                save_checkpoints(str(a.agent_steps))
                next_checkpoint += every
            if (
                reached_at is None
                and target_reward is not None
                and len(a.recent_returns) == a.recent_returns.maxlen
                and a.mean_return >= target_reward - 1e-6
            ):
                reached_at = (a.agent_steps, time.perf_counter() - start)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        a = session.academy
        wall = time.perf_counter() - start
        if bar is not None:
            bar.update(a.agent_steps, a.mean_return, a.episodes, final=True)
        if session.academy.error is None or isinstance(session.academy.error, KeyboardInterrupt):
            interrupted = interrupted or session.academy.error is not None
            save_checkpoints("interrupted" if interrupted else "final")
        session.finish(store=True)
    summary = {
        "scene": scene.name,
        "brains": sorted(trainers),
        "agent_steps": a.agent_steps,
        "wall_seconds": round(wall, 3),
        "steps_per_second": round(a.agent_steps / max(wall, 1e-9), 1),
        "episodes": a.episodes,
        "mean_episode_reward": None if math.isnan(a.mean_return) else round(a.mean_return, 4),
        "mean_episode_length": None if math.isnan(a.mean_length) else round(a.mean_length, 2),
        "success_rate": None if math.isnan(a.success_rate) else round(a.success_rate, 4),
        "target_reward": target_reward,
        "steps_to_target": None if reached_at is None else reached_at[0],
        "seconds_to_target": None if reached_at is None else round(reached_at[1], 2),
        "interrupted": interrupted,
        "curve": [[s, round(r, 4), round(n, 2)] for s, r, n in a.curve],
        "checkpoints": [str(p) for p in checkpoints],
    }
    blend_path = None
    if save_blend is not None:
        blend_path = Path(save_blend)
        bpy.ops.wm.save_as_mainfile(filepath=str(blend_path), copy=True, compress=True)
        summary["blend"] = str(blend_path)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return TrainResult(summary, blend_path, checkpoints, interrupted)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def evaluate(scene, brain: str | None = None, episodes: int = 100, seed: int = 12345, max_decisions: int = 10**7):
    """Run the scene's trained Brains without learning (greedy) until ``episodes`` episodes end.

    A different ``seed`` from training gives rooms, starts and randomisation the agents never saw.
    Returns ``{"episodes", "success_rate", "mean_reward", "mean_length"}`` over the first
    ``episodes`` finished episodes. The scene is restored afterwards.
    """
    session = Session(scene, training=False, steps=0, brains=None if brain is None else [brain], seed=seed)
    a = session.academy
    window = max(episodes, a.recent_returns.maxlen)
    a.recent_returns = type(a.recent_returns)(maxlen=window)
    a.recent_lengths = type(a.recent_lengths)(maxlen=window)
    a.recent_success = type(a.recent_success)(maxlen=window)
    session.start()
    try:
        while a.episodes < episodes and a.decisions < max_decisions:
            session.tick(1.0)
    finally:
        session.finish(store=False)
    returns = list(a.recent_returns)[:episodes]
    success = list(a.recent_success)[:episodes]
    lengths = list(a.recent_lengths)[:episodes]
    return {
        "episodes": len(returns),
        "success_rate": round(sum(success) / max(len(success), 1), 4),
        "mean_reward": round(sum(returns) / max(len(returns), 1), 4),
        "mean_length": round(sum(lengths) / max(len(lengths), 1), 2),
    }
