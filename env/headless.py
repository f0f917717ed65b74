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

from ..core.files import write_atomic
from .academy import AcademyError
from .blendfile import save_blend_copy
from .brains import TrainingRunner
from .session import Session


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
    elif (pl := get("policy_loss")) is not None or get("value_loss") is not None:
        vl = get("value_loss")
        parts.append(f"loss p/v {_num(pl if pl is not None else math.nan)}/{_num(vl if vl is not None else math.nan)}")
    if (lr := get("learning_rate")) is not None:
        parts.append(f"lr {lr:.1e}")
    return " ".join(parts[:fields])


class ProgressBar:
    """One self-rewriting line on a terminal (plain lines when not a terminal)."""

    def __init__(self, total: int, stream=None, width: int = 24):
        self.total, self.stream, self.width = total, stream or sys.stderr, width
        self.start = time.perf_counter()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_plain = -math.inf  # the first update prints at once
        self._open = False  # a self-rewriting line is on screen without its newline

    def line(
        self, steps: int, mean_reward: float, episodes: int, brains: dict[str, dict[str, float]] | None = None
    ) -> str:
        """The progress line: bar, steps, speed, reward, episodes, time, then each Brain's statistics."""
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        frac = min(1.0, steps / self.total) if self.total else 0.0
        filled = int(frac * self.width)
        reward = "–" if math.isnan(mean_reward) else f"{mean_reward:.2f}"
        head = (
            f"[{'#' * filled}{'-' * (self.width - filled)}] {steps}/{self.total} agent steps  "
            f"{steps / elapsed:,.0f} steps/s  mean reward {reward}  episodes {episodes}  {elapsed:.0f} s"
        )
        brains = brains or {}
        for fields in (3, 2, 1):  # fewer statistics per Brain until the line fits
            texts = [
                (f"{name[:12]}: " if len(brains) > 1 else "") + text
                for name, stats in brains.items()
                if (text := brain_stats_text(stats, fields))
            ]
            line = head + "".join(f"  {t}" for t in texts)
            if len(line) <= LINE_LIMIT:
                return line
        return line[: LINE_LIMIT - 1] + "…"

    def update(
        self,
        steps: int,
        mean_reward: float,
        episodes: int,
        final: bool = False,
        brains: dict[str, dict[str, float]] | None = None,
    ) -> None:
        elapsed = time.perf_counter() - self.start
        if self.tty:
            line = self.line(steps, mean_reward, episodes, brains)
            self.stream.write("\r\x1b[K" + line + ("\n" if final else ""))
            self._open = not final
            self.stream.flush()
        elif final or elapsed - self._last_plain >= 5.0:
            self._last_plain = elapsed
            self.stream.write(self.line(steps, mean_reward, episodes, brains) + "\n")
            self.stream.flush()

    def message(self, text: str) -> None:
        """Print a line of its own (ending a self-rewriting progress line first)."""
        if self._open:
            self.stream.write("\n")
            self._open = False
        self.stream.write(text + "\n")
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
    stop_at_target: bool = False,
) -> TrainResult:
    """Train ``scene``'s Training Brains (or only ``brain``) for ``steps`` agent steps.

    Writes ``out_dir/checkpoints/<brain>-<steps>.academy`` every ``checkpoint_every`` steps and at
    the end (also when interrupted with Ctrl-C), ``out_dir/summary.json``, and, if ``save_blend``,
    a copy of the .blend with the trained Brains stored in it, and (``tensorboard``) the learning curve
    as TensorBoard event files in ``out_dir/tensorboard``. Every file is written atomically
    (:mod:`.files`); ``checkpoints/`` appears with the first checkpoint. The scene is restored
    afterwards; only the Brains' stored models and statistics change.

    With ``target_reward``, a line is printed (with the progress line) when the mean episode
    reward first reaches it; ``stop_at_target`` then ends the run there as a normal end.
    """
    out = Path(out_dir)
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
            write_atomic(path, runner.learner.save_bytes(include_buffers=False))
            checkpoints.append(path)

    def brain_stats() -> dict[str, dict[str, float]]:
        return {name: learner_stats(runner.learner) for name, runner in trainers.items()}

    if tensorboard:
        from ..core.tensorboard import EventWriter

        session.academy.event_writer = EventWriter(out / "tensorboard")
    interrupted = False
    stopped_at_target = False
    failed = False
    # Ctrl-C sets a flag the loop checks between ticks: KeyboardInterrupt raised inside Blender's
    # frame handlers is not reliably delivered (Blender 4.5 swallows it), and a flag never leaves a
    # frame half-stepped, a checkpoint half-written or the scene unrestored.
    stop = {"requested": False}
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, lambda *_: stop.update(requested=True))
    try:
        session.start()
        try:
            while session.tick(0.25, until_steps=next_checkpoint):
                if stop["requested"]:
                    interrupted = True
                    break
                a = session.academy
                if bar is not None:
                    bar.update(a.agent_steps, a.mean_return, a.episodes, brains=brain_stats())
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
                    if bar is not None:
                        bar.message(
                            f"reached mean reward {a.mean_return:.2f} (target {target_reward:g}) after "
                            f"{a.agent_steps:,} agent steps, {reached_at[1]:.1f} s"
                            + ("; stopping (--stop-at-target)" if stop_at_target else "")
                        )
                    if stop_at_target:
                        stopped_at_target = True
                        break
        except KeyboardInterrupt:
            interrupted = True
        except BaseException:
            failed = True  # no checkpoint of a run that failed: the last good one stays the last
            raise
        finally:
            a = session.academy
            wall = time.perf_counter() - start
            try:
                if bar is not None:
                    bar.update(a.agent_steps, a.mean_return, a.episodes, final=True, brains=brain_stats())
                if not failed and (
                    session.academy.error is None or isinstance(session.academy.error, KeyboardInterrupt)
                ):
                    interrupted = interrupted or session.academy.error is not None
                    save_checkpoints("interrupted" if interrupted else "final")
            finally:
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
            "stopped_at_target": stopped_at_target,
            "brain_stats": {name: _json_floats(stats) for name, stats in brain_stats().items()},
            "curve": [[s, round(r, 4), round(n, 2)] for s, r, n in a.curve],
            "checkpoints": [str(p) for p in checkpoints],
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
    return TrainResult(summary, blend_path, checkpoints, interrupted)


def learner_stats(learner) -> dict[str, float]:
    """The learner's statistics for display (never raises; DQN's epsilon also before its first update)."""
    try:
        stats = dict(learner.stats)
    except Exception:  # statistics are for display: never let them end a run
        return {}
    if "epsilon" not in stats and isinstance(getattr(learner, "epsilon", None), float):
        stats["epsilon"] = learner.epsilon  # DQN before its first update
    return stats


def _json_floats(stats: dict[str, float]) -> dict[str, float | None]:
    """Rounded, with NaN/inf as null (``json`` would write NaN, which is not JSON)."""
    out: dict[str, float | None] = {}
    for key, value in sorted(stats.items()):
        try:
            value = float(value)
        except (TypeError, ValueError):
            continue
        out[key] = float(f"{value:.6g}") if math.isfinite(value) else None
    return out


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
