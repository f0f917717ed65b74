"""Per-Brain statistics: what one Brain's agents did, kept in one place for every reader.

A :class:`BrainStats` is fed one decision at a time (:meth:`BrainStats.record`) by the Academy and
read by the Session's clients: summary.json, the status line and panel, the curve stored on the
Brain, TensorBoard and ``--target``. Each Brain sees only its own episodes, so a Heuristic Brain
beside a Training one no longer mixes its rewards into the Training Brain's numbers.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import NamedTuple, Protocol

import numpy as np

#: TensorBoard tags of a Brain's own episodes (:meth:`BrainStats.scalars`), in ML-Agents' names
ENVIRONMENT_TAGS = {
    "mean_return": "Environment/Cumulative Reward",
    "mean_length": "Environment/Episode Length",
    "success_rate": "Environment/Success Rate",
}

#: TensorBoard tags of the learner statistics with an ML-Agents equivalent; every other numeric
#: statistic a learner reports is written as ``Learner/<key>`` (so a new one appears on its own)
LEARNER_TAGS = {
    "policy_loss": "Losses/Policy Loss",
    "value_loss": "Losses/Value Loss",
    "loss": "Losses/Q Loss",  # DQN's TD loss (ML-Agents' SAC: Losses/Q1 Loss)
    "entropy": "Policy/Entropy",
    "learning_rate": "Policy/Learning Rate",
    "clip_range": "Policy/Epsilon",  # ML-Agents' epsilon is PPO's clip range
    "epsilon": "Policy/Exploration Rate",  # DQN's epsilon (SB3: rollout/exploration_rate)
    "value_estimate": "Policy/Extrinsic Value Estimate",
    "q_mean": "Policy/Extrinsic Value Estimate",  # DQN: mean Q of the actions taken in the replayed batches
    "elo": "Self-play/ELO",  # a self-play Brain's rating (core.ghost)
    "selfplay_matches": "Self-play/Matches",
    "selfplay_win_rate": "Self-play/Win Rate",
    "selfplay_snapshots": "Self-play/Snapshots",
    "selfplay_learning_team": "Self-play/Learning Team",
    "selfplay_opponent_elo": "Self-play/Opponent ELO",
    "curiosity_reward": "Policy/Curiosity Reward",  # reward signals (training.reward_signals): mean per step
    "rnd_reward": "Policy/RND Reward",
    "gail_reward": "Policy/GAIL Reward",
    "curiosity_forward_loss": "Losses/Curiosity Forward Loss",
    "curiosity_inverse_loss": "Losses/Curiosity Inverse Loss",
    "rnd_loss": "Losses/RND Loss",
    "gail_loss": "Losses/GAIL Loss",
    "intrinsic_value_estimate": "Policy/Intrinsic Value Estimate",  # curiosity's and RND's one critic
    "intrinsic_value_loss": "Losses/Intrinsic Value Loss",
}

#: learner statistics not written: the learner's own episode means, which the Brain's
#: Environment/* tags already give (over the Brain's window, as the curve)
LEARNER_EPISODE_KEYS = ("episode_return", "episode_length", "episodes")

#: agent steps a Brain's learner statistics are written apart at least (DQN updates every few
#: steps); an update closer to the last one written waits for the next write or the end of the run
LEARNER_MIN_GAP = 100


def learner_scalars(learner: Mapping[str, object]) -> dict[str, float]:
    """TensorBoard tags of every numeric statistic in ``learner`` (a learner's ``stats``).

    Keys in :data:`LEARNER_TAGS` get ML-Agents' names, any other ``Learner/<key>``; values that are
    not numbers (and booleans) are left out, as are :data:`LEARNER_EPISODE_KEYS`.
    """
    out = {}
    for key, value in learner.items():
        if key in LEARNER_EPISODE_KEYS or isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            continue
        out[LEARNER_TAGS.get(key, f"Learner/{key}")] = float(value)
    return out


class CurvePoint(NamedTuple):
    """One point of a Brain's learning curve: the Brain's agent steps, mean return and mean length."""

    steps: int
    mean_return: float
    mean_length: float


class Reached(NamedTuple):
    """When a Brain's mean return first reached its target: its agent steps, the clock, the mean then."""

    steps: int
    time: float
    mean_return: float


def _mean(values) -> float:
    return float(np.mean(values)) if values else math.nan


def _rounded(value: float, digits: int) -> float | None:
    return None if not math.isfinite(value) else round(value, digits)


class BrainStats:
    """What one Brain's agents did.

    ``n``: the Brain's agents. ``window``: episodes the means are over (default one per agent, at
    least 10, as ML-Agents summarises a behaviour). ``curve_every``: the Brain's agent steps between
    curve points. ``target``: the mean return to reach; :attr:`reached_at` is the :class:`Reached`
    of the episode end at which the full window's mean first reached it.
    ``on_point(stats, point)`` runs when a curve point is added (TensorBoard); ``on_episodes(stats,
    returns)`` when episodes end, with their returns (curricula). ``lesson``: the curriculum's current
    lesson (None: no curriculum), written as ``Environment/Lesson``; :attr:`lessons` lists
    ``(agent steps, lesson)`` at the start and at each change.
    """

    def __init__(
        self,
        name: str,
        n: int,
        window: int | None = None,
        curve_every: int = 1000,
        target: float | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ):
        self.name, self.n = name, n
        self.window = window or max(10, n)
        self.curve_every = curve_every
        self.target = target
        self.clock = clock
        self.agent_steps = 0
        self.episodes = 0
        self.recent_returns: deque[float] = deque(maxlen=self.window)
        self.recent_lengths: deque[int] = deque(maxlen=self.window)
        self.recent_success: deque[bool] = deque(maxlen=self.window)
        self.episode_return = np.zeros(n)  # the running episode of each agent
        self.episode_length = np.zeros(n, dtype=np.int64)
        self.curve: list[CurvePoint] = []
        self.learner: dict[str, float] = {}  # the learner's last statistics (refreshed by the Session)
        self.reached_at: Reached | None = None
        self.on_point: Callable[[BrainStats, CurvePoint], None] | None = None
        self.on_episodes: Callable[[BrainStats, list[float]], None] | None = None
        self.lesson: int | None = None
        self.lessons: list[tuple[int, int]] = []

    def set_lesson(self, lesson: int) -> None:
        """The curriculum is now in ``lesson`` (from this Brain's current agent steps on)."""
        if lesson != self.lesson:
            self.lesson = lesson
            self.lessons.append((self.agent_steps, lesson))

    def record(self, rewards, ended, truncated, success, active) -> None:
        """One decision of the Brain: ``rewards`` per agent, the episode ends, and which agents acted."""
        self.episode_return += rewards
        self.episode_length += active
        self.agent_steps += int(np.count_nonzero(active))
        done = ended | truncated
        if not done.any():
            return
        for i in np.nonzero(done)[0]:
            self.episodes += 1
            self.recent_returns.append(float(self.episode_return[i]))
            self.recent_lengths.append(int(self.episode_length[i]))
            self.recent_success.append(bool(success[i]))
        if self.on_episodes is not None:
            self.on_episodes(self, [float(r) for r in self.episode_return[done]])
        self.episode_return[done] = 0.0
        self.episode_length[done] = 0
        if self.target is not None and self.reached_at is None and self.full:
            if self.mean_return >= self.target - 1e-6:
                self.reached_at = Reached(self.agent_steps, self.clock(), self.mean_return)
        if not self.curve or self.agent_steps - self.curve[-1].steps >= self.curve_every:
            point = CurvePoint(self.agent_steps, self.mean_return, self.mean_length)
            self.curve.append(point)
            if self.on_point is not None:
                self.on_point(self, point)

    @property
    def mean_return(self) -> float:
        """Mean return of the episodes in the window (NaN before the first episode ends)."""
        return _mean(self.recent_returns)

    @property
    def mean_length(self) -> float:
        return _mean(self.recent_lengths)

    @property
    def success_rate(self) -> float:
        return _mean(self.recent_success)

    @property
    def full(self) -> bool:
        """The window holds as many episodes as it can (a mean worth comparing with a target)."""
        return len(self.recent_returns) == self.window

    def scalars(self) -> dict[str, float]:
        """TensorBoard tags of the Brain's own episodes: its means over the window (:data:`ENVIRONMENT_TAGS`)."""
        out = {tag: float(getattr(self, key)) for key, tag in ENVIRONMENT_TAGS.items()}
        if self.lesson is not None:
            out["Environment/Lesson"] = float(self.lesson)
        return out

    def summary(self, since: float | None = None) -> dict:
        """JSON-ready numbers (rounded, NaN as None); ``since``: clock time the run started (for seconds to target)."""
        reached = self.reached_at
        return {
            "agent_steps": self.agent_steps,
            "episodes": self.episodes,
            "mean_episode_reward": _rounded(self.mean_return, 4),
            "mean_episode_length": _rounded(self.mean_length, 2),
            "success_rate": _rounded(self.success_rate, 4),
            "target_reward": self.target,
            "steps_to_target": None if reached is None else reached.steps,
            "seconds_to_target": None if reached is None or since is None else round(reached.time - since, 2),
            "curve": [[s, round(r, 4), round(n, 2)] for s, r, n in self.curve],
            **({"lesson": self.lesson, "lessons": [list(x) for x in self.lessons]} if self.lessons else {}),
        }


class ScalarWriter(Protocol):
    """What :class:`TensorBoardRun` writes to (``core.tensorboard.EventWriter``)."""

    def scalars(self, step: int, values: dict[str, float]) -> None: ...

    def close(self) -> None: ...


class TensorBoardRun:
    """One Brain's TensorBoard run: its curve at each curve point, its learner at each update.

    ``before``: the Brain's trained agent steps before this run, added to every step so that a
    continued run goes on, never back. Curve points are written at their own steps; learner
    statistics at the Brain's agent steps when the update that computed them finished, at least
    ``min_gap`` agent steps apart (:data:`LEARNER_MIN_GAP`): an update closer to the last written
    one is held back, and the last held back is written by :meth:`close`, so the run ends on the
    learner's final statistics.
    """

    def __init__(self, writer: ScalarWriter, before: int = 0, min_gap: int = LEARNER_MIN_GAP):
        self.writer, self.before, self.min_gap = writer, int(before), int(min_gap)
        self._written_at: int | None = None  # the Brain's agent steps at the last learner write
        self._held: tuple[int, Mapping[str, object]] | None = None

    def curve(self, stats: BrainStats, point: CurvePoint) -> None:
        """Write the Brain's means at a new curve point (:attr:`BrainStats.on_point`)."""
        self.writer.scalars(self.before + point.steps, stats.scalars())

    def updated(self, steps: int, learner: Mapping[str, object]) -> None:
        """An update finished at the Brain's agent ``steps``; ``learner``: the learner's statistics now."""
        if self._written_at is not None and steps - self._written_at < self.min_gap:
            self._held = (steps, learner)
            return
        self._write(steps, learner)

    def _write(self, steps: int, learner: Mapping[str, object]) -> None:
        self.writer.scalars(self.before + steps, learner_scalars(learner))
        self._written_at, self._held = steps, None

    def close(self) -> None:
        """Write the statistics of an update held back, then close the event file."""
        try:
            if self._held is not None:
                self._write(*self._held)
        finally:
            self.writer.close()
