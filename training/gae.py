"""Generalised Advantage Estimation as a small, tested function (numpy only)."""

from __future__ import annotations

import numpy as np

__all__ = ["compute_gae"]


def compute_gae(
    rewards: np.ndarray,
    values: np.ndarray,
    dones: np.ndarray,
    last_values: np.ndarray,
    gamma: float,
    gae_lambda: float,
    active: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Advantages and returns for a rollout of shape (T, N).

    Convention: at step t the agent acted from an observation valued ``values[t]``, received
    ``rewards[t]`` and ``dones[t]`` says whether its episode ended with that step (a truncated
    episode's bootstrap is expected to be folded into its reward already). ``last_values`` (N,)
    values the observations that follow the last step.

    ``active`` (T, N) bool marks the real steps (None: all). An inactive step gets advantage 0 and
    cuts the lambda chain: the step before it bootstraps from ``values`` of the inactive step (the
    observation the agent next acted from) unless it ended its episode, and never sees the
    advantages after the gap. So an agent that ended, waited (inactive) and was reset starts a
    fresh episode at its next active step.

    Returns ``(advantages, returns)`` with ``returns = advantages + values``.
    """
    T = rewards.shape[0]
    advantages = np.zeros_like(rewards, dtype=np.float32)
    last_gae = np.zeros(rewards.shape[1:], np.float32)
    not_done = 1.0 - dones.astype(np.float32)
    for t in reversed(range(T)):
        next_values = last_values if t == T - 1 else values[t + 1]
        delta = rewards[t] + gamma * next_values * not_done[t] - values[t]
        last_gae = delta + gamma * gae_lambda * not_done[t] * last_gae
        if active is not None:
            last_gae = np.where(active[t], last_gae, np.float32(0.0))
        advantages[t] = last_gae
    return advantages, (advantages + values).astype(np.float32)
