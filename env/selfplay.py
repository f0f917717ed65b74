"""Self-play: a Training Brain whose agents of one Team learn while the others play a frozen past self.

:func:`training_runner` is where the Academy makes a Training Brain's runner: a :class:`SelfPlayRunner`
when the Brain's Self-Play is on, else a plain :class:`.brains.TrainingRunner`. The bookkeeping
(snapshot window, swaps, team changes, matches and ELO) is :class:`..core.ghost.Ghost`; here the
learner acts for every agent and the opponent rows' actions are replaced by the snapshot's, and only
the learning team's transitions reach the learner (the ``active`` mask of ``observe``).
"""

from __future__ import annotations

import numpy as np

from ..core.ghost import Ghost, GhostConfig
from .brain_store import BrainError
from .brains import TrainingRunner

#: keeps the opponents' sampling apart from the learner's and the scene's random numbers
_OPPONENT_SEED = 7919


def ghost_config(settings) -> GhostConfig:
    """The Brain's Self-Play settings (``BrainSettings.self_play``) as a :class:`GhostConfig`."""
    return GhostConfig(
        snapshot_every=settings.snapshot_every,
        window=settings.window,
        latest_ratio=settings.play_against_latest_ratio,
        swap_steps=settings.swap_steps,
        team_change=settings.team_change,
        initial_elo=settings.initial_elo,
    )


def training_runner(brain, groups, obs_space, act_space, n: int, seed: int, stored: bytes | None) -> TrainingRunner:
    """The runner of Training Brain ``brain`` (its agents in ``groups``), learning from ``stored`` if any."""
    if not brain.self_play.enabled:
        return TrainingRunner(brain.name, obs_space, act_space, n, brain.config(), seed, stored)
    from ..training.memory import has_memory

    if has_memory(brain.config()):  # the opponents' frozen policy would need its own memory per agent
        raise BrainError(
            f"Brain '{brain.name}' has Self-Play on and memory (Use Memory or Stacked Observations): self-play "
            "with memory is not built; turn one of them off"
        )
    teams = np.zeros(n, dtype=np.int64)
    for g in groups:
        teams[g.rows] = g.compiled.teams
    if len(set(teams.tolist())) < 2:
        raise BrainError(
            f"Brain '{brain.name}' has Self-Play on, but all its agents are on Team {int(teams[0])}: put their "
            "opponents on another Team (Object Properties → Agent → Team)"
        )
    # the rating goes on with the model it rates; a Brain trained from scratch starts again
    elo = brain.self_play.elo if stored else None
    return SelfPlayRunner(brain.name, obs_space, act_space, n, brain.config(), seed, stored,
                          teams=teams, settings=ghost_config(brain.self_play), elo=elo)  # fmt: skip


def _rows(obs, mask: np.ndarray):
    if isinstance(obs, dict):
        return {k: v[mask] for k, v in obs.items()}
    return obs[mask]


class SelfPlayRunner(TrainingRunner):
    """A Training runner whose opponent teams act with a frozen snapshot of the learner (see :mod:`..core.ghost`).

    Opponents sample their actions from the snapshot's policy as the learner does (continuous ones
    from its Gaussian too); DQN snapshots take their best-valued action.
    """

    def __init__(self, name, obs_space, act_space, n, config, seed, state=None, *, teams, settings, elo=None):
        super().__init__(name, obs_space, act_space, n, config, seed, state)
        self._seed = seed + _OPPONENT_SEED
        self._snapshots = 0
        try:
            self.ghost = Ghost(settings, teams, self._snapshot, np.random.default_rng(self._seed), elo)
        except ValueError as exc:
            raise BrainError(f"Brain '{name}': {exc}") from None

    def _snapshot(self):
        from ..training import NumpyPolicy

        self._snapshots += 1  # each snapshot samples with its own stream
        return NumpyPolicy.from_bytes(self.learner.save_bytes(include_buffers=False), seed=self._seed + self._snapshots)

    @property
    def learning_rows(self) -> np.ndarray:
        """The agents that act with the learner now (the learning team)."""
        return self.ghost.learning_rows

    @property
    def elo(self) -> float:
        return self.ghost.elo

    def decide(self, obs, heuristic=None, mask=None):
        actions = super().decide(obs, heuristic, mask)
        opponents = ~self.ghost.learning_rows
        theirs = self.ghost.opponent.policy.act(
            _rows(obs, opponents), action_mask=None if mask is None else mask[opponents], deterministic=False
        )
        out = np.array(actions, copy=True)
        out[opponents] = theirs
        return out

    def observe(self, rewards, terminated, truncated, next_obs, final_obs, active=None):
        real = np.ones(self.n, dtype=bool) if active is None else np.asarray(active, dtype=bool)
        # the learning team of the decision these rewards answer (a team change takes effect after it)
        mask = real & self.ghost.learning_rows
        self.learner.observe(rewards, terminated, truncated, next_obs, final_obs, active=mask)
        done = np.asarray(terminated, dtype=bool) | np.asarray(truncated, dtype=bool)
        self.ghost.after_step(rewards, done, real)

    @property
    def extra_stats(self) -> dict[str, float]:
        return self.ghost.stats()
