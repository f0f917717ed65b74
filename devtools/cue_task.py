"""The cue task, without Blender: a task only a policy with memory solves (issue 17.2).

Each of ``n`` agents sees a cue (-1 or +1) in the first decision of its episode only; then
``delay`` decisions of nothing; then it must pick the goal that matches the cue (action 0 for -1,
1 for +1). Observation: ``[cue, choose, time]`` with ``choose`` 1 at the decision that counts and
``time`` the fraction of the episode gone. Reward 1 for the matching goal, else 0, at the last
decision. Without memory the best policy is a guess: success 0.5.

Shared by tests/training/test_memory.py and bench/bench_memory.py; the Blender scene of the same
task is ``examples/cue_memory.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class CueTask:
    """``n`` agents in the cue task; the learner protocol's batch layout (obs (n, 3), actions (n,))."""

    obs_dim = 3

    def __init__(self, n: int, delay: int = 3, seed: int = 0) -> None:
        self.n, self.delay = n, delay
        self.length = delay + 2  # the cue, the delay, the choice
        self.rng = np.random.default_rng(seed)
        self.cue = self.rng.choice([-1.0, 1.0], n)
        self.t = np.zeros(n, np.int64)

    def obs(self) -> np.ndarray:
        o = np.zeros((self.n, 3), np.float32)
        o[:, 0] = np.where(self.t == 0, self.cue, 0.0)
        o[:, 1] = self.t == self.length - 1
        o[:, 2] = self.t / self.length
        return o

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Apply actions; return (next obs, rewards, terminated, success) with ended agents reset."""
        a = np.asarray(actions).reshape(self.n)
        last = self.t == self.length - 1
        success = last & (a == (self.cue > 0))
        rewards = success.astype(np.float32)
        self.t += 1
        self.t[last] = 0
        self.cue[last] = self.rng.choice([-1.0, 1.0], int(last.sum()))
        return self.obs(), rewards, last, success


def train(config: Any, steps: int, n: int = 16, delay: int = 3, seed: int = 0) -> Any:
    """Train a fresh learner for ``config`` on the cue task for ``steps`` agent steps."""
    from academy_pure.training import Box, Discrete, make_learner

    learner = make_learner(config, Box((CueTask.obs_dim,)), Discrete(2), num_agents=n, seed=seed)
    env = CueTask(n, delay, seed)
    learner.begin_run(steps)
    obs = env.obs()
    while learner.total_steps < steps:
        actions = learner.act(obs)
        obs, rewards, done, _ = env.step(actions)
        learner.observe(rewards, done, np.zeros(n, bool), next_obs=obs)
    return learner


def success_rate(policy: Any, episodes: int = 200, n: int = 20, delay: int = 3, seed: int = 10_000) -> float:
    """Fraction of ``episodes`` in which ``policy`` (``predict`` or a NumpyPolicy ``act``) picks the
    matching goal, greedy, each agent's memory cleared at its episode end."""
    env = CueTask(n, delay, seed)
    act = policy.predict if hasattr(policy, "predict") else policy.act
    if hasattr(policy, "reset_memory"):
        policy.reset_memory()
    obs, done_eps, wins = env.obs(), 0, 0
    while done_eps < episodes:
        obs, _, done, success = env.step(act(obs, deterministic=True))
        done_eps += int(done.sum())
        wins += int(success.sum())
        if done.any() and hasattr(policy, "reset_memory"):
            policy.reset_memory(done)
    return wins / done_eps
