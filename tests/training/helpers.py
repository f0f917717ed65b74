"""Small environments and utilities shared by the training tests (no gymnasium needed for these)."""

from __future__ import annotations

import numpy as np

from training import Box, Dict, Discrete, Image, Space


def sample_obs(space: Space, n: int, rng: np.random.Generator):
    """A random observation batch for ``space``."""
    if isinstance(space, Dict):
        return {k: sample_obs(s, n, rng) for k, s in space.spaces.items()}
    if isinstance(space, Image):
        if space.dtype == "uint8":
            return rng.integers(0, 256, (n, *space.shape)).astype(np.uint8)
        return rng.random((n, *space.shape)).astype(np.float32)
    assert isinstance(space, Box)
    return (rng.normal(size=(n, *space.shape)) * 3).astype(np.float32)


class DotSide:
    """N agents each see a 32x32 RGB image with a 3x3 dot; action 0/1 = dot is left/right.

    Reward 1 for the right answer, 0 otherwise; a new image every step; episodes of 10 steps
    (ending at different times per agent), so chance is a return of 5 and perfect is 10.
    """

    obs_space = Image(32, 32, 3)
    action_space = Discrete(2)

    def __init__(self, n: int, seed: int = 0) -> None:
        self.n = n
        self.rng = np.random.default_rng(seed)
        self.t = self.rng.integers(0, 10, n)  # staggered episode ends
        self.side = np.zeros(n, np.int64)
        self.obs = np.zeros((n, 32, 32, 3), np.uint8)

    def _draw(self, idx: np.ndarray) -> None:
        for i in idx:
            self.obs[i] = self.rng.integers(0, 30, (32, 32, 3))  # noise background
            side = self.rng.integers(0, 2)
            x = self.rng.integers(2, 13) + 16 * side
            y = self.rng.integers(2, 30)
            self.obs[i, y - 1 : y + 2, x - 1 : x + 2] = 255
            self.side[i] = side

    def reset(self) -> np.ndarray:
        self._draw(np.arange(self.n))
        return self.obs.copy()

    def step(self, actions: np.ndarray):
        rewards = (actions == self.side).astype(np.float32)
        self.t += 1
        done = self.t >= 10
        self.t[done] = 0
        self._draw(np.arange(self.n))
        return self.obs.copy(), rewards, done, np.zeros(self.n, bool)


def run_dot_side(learner, env: DotSide, steps: int) -> float:
    """Drive ``learner`` on ``env`` for ``steps`` decision steps; returns greedy accuracy after."""
    obs = env.reset()
    for _ in range(steps):
        a = learner.act(obs)
        obs, r, term, trunc = env.step(a)
        learner.observe(r, term, trunc, obs)
    correct = 0
    for _ in range(20):
        a = learner.predict(obs)
        correct += int((a == env.side).sum())
        obs, *_ = env.step(a)
    return correct / (20 * env.n)
