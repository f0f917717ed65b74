"""Teams, in plain numpy: the agent an Other Agent reference picks, the state of Changed, team rewards.

``env.compiler`` binds these to the agents of a behaviour; nothing here knows about Blender.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: how messages name the agents an ``agent:`` reference may pick
WHICH = {"OTHER_TEAM": " on another team", "SAME_TEAM": " on its team", "ANY": ""}
COMBINE = {"SUM": np.sum, "MEAN": np.mean, "MAX": np.max}


def allowed(me: np.ndarray, columns: np.ndarray, teams: np.ndarray, their_teams: np.ndarray, mode: str) -> np.ndarray:
    """(N, C): which of the candidates (``columns``, on ``their_teams``) each agent (column ``me``, on
    ``teams``) may pick for ``agent:MODE``: never itself; another team, the same team, or any."""
    ok = columns[None, :] != me[:, None]
    if mode == "OTHER_TEAM":
        ok &= their_teams[None, :] != teams[:, None]
    elif mode == "SAME_TEAM":
        ok &= their_teams[None, :] == teams[:, None]
    return ok


@dataclass
class Nearest:
    """An ``agent:`` reference bound to N agents: the candidates each may pick and where the pick is copied."""

    me: np.ndarray  # (N,) the agents' own columns
    columns: np.ndarray  # (C,) the candidate agents' columns
    allowed: np.ndarray  # (N, C) which candidates each agent may pick
    proxy: np.ndarray  # (N,) the columns the picked agents' transforms are copied to

    def pick(self, mats: np.ndarray, prev_loc: np.ndarray, prev_rot: np.ndarray) -> np.ndarray:
        """The nearest allowed candidate of each agent (ties: the first); copies its world matrix and its
        transforms at the previous decision into the proxy columns. Returns the picked columns (N,)."""
        here = mats[self.me, :3, 3]
        there = mats[self.columns, :3, 3]
        d2 = ((here[:, None, :] - there[None, :, :]) ** 2).sum(axis=2)
        d2[~self.allowed] = np.inf
        chosen = self.columns[np.argmin(d2, axis=1)]
        mats[self.proxy] = mats[chosen]
        prev_loc[self.proxy] = prev_loc[chosen]
        prev_rot[self.proxy] = prev_rot[chosen]
        return chosen

    def first(self) -> np.ndarray:
        """Each agent's first allowed candidate (before any pass picked)."""
        return self.columns[np.argmax(self.allowed, axis=1)]


@dataclass
class Change:
    """A Changed expression's state: its input ``x`` at the last decision and at the one before."""

    x: Callable
    now: np.ndarray  # (N, size)
    before: np.ndarray  # (N, size)

    @classmethod
    def new(cls, x: Callable, n: int, size: int) -> Change:
        return cls(x, np.zeros((n, size)), np.zeros((n, size)))

    @property
    def value(self) -> np.ndarray:
        return self.now - self.before

    def decide(self, now: np.ndarray, restart: np.ndarray | None = None) -> None:
        """A decision measured ``now``; the agents in ``restart`` (bool mask) start an episode (change 0)."""
        now = np.array(now, dtype=np.float64)
        self.before = self.now if restart is None else np.where(restart[:, None], now, self.now)
        self.now = now

    def restart(self, agents: np.ndarray, now: np.ndarray) -> None:
        """``agents`` (indices) were just reset and measure ``now``: their change is 0 again."""
        self.now = self.now.copy()
        self.before = self.before.copy()
        self.now[agents] = now[agents]
        self.before[agents] = now[agents]


def add_team_totals(totals: dict[int, float], values: np.ndarray, teams: np.ndarray, live: np.ndarray,
                    combine: str, weight: float) -> None:  # fmt: skip
    """Add to ``totals`` (team -> reward) each team's ``values`` of its ``live`` agents, combined × ``weight``."""
    for team in np.unique(teams[live]).tolist():
        part = values[live & (teams == team)]
        totals[team] = totals.get(team, 0.0) + weight * float(COMBINE[combine](part))


def team_sizes(teams_of_brain: list[int], teams: list[int]) -> list[int]:
    """How many of the Brain's agents (``teams_of_brain``) share each of ``teams``."""
    return [teams_of_brain.count(t) for t in teams]
