"""Self-play bookkeeping (ML-Agents' ghost trainer), without Blender or torch.

One Brain's agents are split by their Team: the learning team acts with the learner, every other
team with a frozen *snapshot* of it drawn from a window of past snapshots. :class:`Ghost` counts the
learning team's agent steps and, as they pass each period:

- every ``snapshot_every`` steps a snapshot of the learner is taken into the window (the oldest
  leaves once it holds ``window``); the first is taken at the start;
- every ``team_change`` steps the learning team passes to the next team (in Team order);
- every ``swap_steps`` steps the opponent is drawn again: the latest snapshot with probability
  ``latest_ratio``, else one of the window uniformly (the latest included, as ML-Agents does).

It also keeps each agent's episode return and scores a *match* at each decision where an episode of
the learning team ends: the learning team's mean return against the opponent teams' (their episodes
ending then, else their running ones), with :func:`.elo.match_score`, and updates the ELO.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from . import elo as E


@dataclass(frozen=True)
class GhostConfig:
    """The self-play settings of one Brain (the Brain's Self-Play panel)."""

    snapshot_every: int = 20_000
    window: int = 10
    latest_ratio: float = 0.5
    swap_steps: int = 2_000
    team_change: int = 100_000
    initial_elo: float = E.INITIAL_ELO

    def __post_init__(self) -> None:
        for key in ("snapshot_every", "window", "swap_steps", "team_change"):
            if int(getattr(self, key)) < 1:
                raise ValueError(f"self-play {key} must be at least 1, not {getattr(self, key)}")
        if not 0.0 <= self.latest_ratio <= 1.0:
            raise ValueError(f"self-play latest_ratio must be between 0 and 1, not {self.latest_ratio}")


class Snapshot(NamedTuple):
    """A frozen copy of the learner: its policy, the ELO it had when taken, the learning steps then."""

    policy: Any
    elo: float
    steps: int


def draw_opponent(rng: np.random.Generator, window: int, latest_ratio: float) -> int:
    """Index into a window of ``window`` snapshots (the last is the latest): the latest with probability
    ``latest_ratio``, else uniform over the window."""
    if window < 1:
        raise ValueError("the snapshot window is empty")
    if rng.random() < latest_ratio:
        return window - 1
    return int(rng.integers(window))


def crossed(before: int, after: int, every: int) -> bool:
    """Whether a count going from ``before`` to ``after`` passed a multiple of ``every``."""
    return after // every > before // every


class Ghost:
    """The self-play state of one Brain: its window, opponent, learning team, returns and ELO.

    ``teams``: each agent's Team (at least two different ones). ``snapshot()``: a frozen policy of
    the learner now (called at the start and every ``snapshot_every`` steps). ``elo``: the rating
    to start from (the Brain's stored one when its model is resumed; default ``initial_elo``).
    """

    def __init__(
        self,
        config: GhostConfig,
        teams: Sequence[int],
        snapshot: Callable[[], Any],
        rng: np.random.Generator,
        elo: float | None = None,
    ):
        self.config = config
        self.teams = np.asarray(teams, dtype=np.int64)
        self.order = sorted({int(t) for t in self.teams})
        if len(self.order) < 2:
            raise ValueError(f"self-play needs agents on two Teams or more; all are on Team {self.order[0]}")
        self._snapshot, self.rng = snapshot, rng
        self.elo = float(config.initial_elo if elo is None else elo)
        self.window: deque[Snapshot] = deque(maxlen=config.window)
        self.steps = 0  # agent steps of the learning team(s), what the periods count
        self.matches = 0
        self.wins = self.draws = self.losses = 0
        self.swaps = 0
        self.learning_team = self.order[0]
        self.returns = np.zeros(len(self.teams))
        self.take_snapshot()
        self.opponent = self.window[-1]

    @property
    def learning_rows(self) -> np.ndarray:
        """Which agents act with (and teach) the learner now."""
        return self.teams == self.learning_team

    def take_snapshot(self) -> None:
        self.window.append(Snapshot(self._snapshot(), self.elo, self.steps))

    def swap(self) -> None:
        """Draw the opponent again from the window."""
        self.opponent = self.window[draw_opponent(self.rng, len(self.window), self.config.latest_ratio)]
        self.swaps += 1

    def change_team(self) -> None:
        i = self.order.index(self.learning_team)
        self.learning_team = self.order[(i + 1) % len(self.order)]

    def after_step(self, rewards, done, real) -> float | None:
        """One decision's outcome: ``rewards`` and ``done`` (episode ended) per agent, ``real`` the agents
        that acted. Scores a match if a learning-team episode ended (returns its score, else None), then
        counts the learning team's steps and takes snapshots, changes team and swaps as they fall due."""
        real = np.asarray(real, dtype=bool)
        done = np.asarray(done, dtype=bool) & real
        self.returns += np.where(real, np.asarray(rewards, dtype=np.float64), 0.0)
        learning = self.learning_rows
        score = None
        ended = done & learning
        if ended.any():
            others = ~learning
            theirs = done & others if (done & others).any() else others
            score = E.match_score(self.returns[ended].mean(), self.returns[theirs].mean())
            self.elo = E.updated_rating(self.elo, self.opponent.elo, score)
            self.matches += 1
            self.wins += score == E.WIN
            self.draws += score == E.DRAW
            self.losses += score == E.LOSS
        self.returns[done] = 0.0
        before = self.steps
        self.steps += int(np.count_nonzero(real & learning))
        c = self.config
        if crossed(before, self.steps, c.snapshot_every):
            self.take_snapshot()
        if crossed(before, self.steps, c.team_change):
            self.change_team()
        if crossed(before, self.steps, c.swap_steps):
            self.swap()
        return score

    def stats(self) -> dict[str, float]:
        """Numbers for the Brain's statistics: ``elo`` is written to TensorBoard as ``Self-play/ELO``."""
        return {
            "elo": self.elo,
            "selfplay_matches": float(self.matches),
            "selfplay_win_rate": self.wins / self.matches if self.matches else float("nan"),
            "selfplay_snapshots": float(len(self.window)),
            "selfplay_learning_team": float(self.learning_team),
            "selfplay_opponent_elo": self.opponent.elo,
        }
