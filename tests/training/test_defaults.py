"""The defaults learn: ``PPOConfig()`` and ``DQNConfig()`` on a vectorised discrete task like a
Blender scene (16 agents on a grid, the goal's position observed), with the scene's budgets.

Each assertion is on the median of 3 seeds of the greedy return, measured from a random policy
(0, evaluated on the same episodes) to the optimal one (1).
"""

from __future__ import annotations

import numpy as np
import pytest

from academy_pure.training import DQNConfig, PPOConfig

from .helpers import goal_grid_scores, pixel_grid_success

SEEDS = (0, 1, 2)
CONFIGS = {"ppo": PPOConfig, "dqn": DQNConfig}
SHORT_STEPS = {"ppo": 15_000, "dqn": 10_000}  # PPO: 7 updates of 128 steps x 16 agents


@pytest.mark.parametrize("algo", list(CONFIGS))
def test_defaults_learn_short(algo):
    """CI variant: a 5x5 grid in 10k agent steps (15k for PPO, whose updates are 2,048 steps)."""
    scores = goal_grid_scores(CONFIGS[algo](), SEEDS, steps=SHORT_STEPS[algo], size=5)
    assert np.median(scores) > 0.6, scores


@pytest.mark.slow
@pytest.mark.parametrize("steps", [20_000, 100_000])
@pytest.mark.parametrize("algo", list(CONFIGS))
def test_defaults_learn_full(algo, steps):
    """A 9x9 grid (optimal return 0.95, random -0.29) with the budgets of a Blender training run."""
    scores = goal_grid_scores(CONFIGS[algo](), SEEDS, steps=steps, size=9)
    print(f"{algo} defaults, 9x9 grid, {steps} steps: {np.round(scores, 3).tolist()}")
    assert np.median(scores) > 0.9, scores


@pytest.mark.slow
@pytest.mark.parametrize("algo", list(CONFIGS))
def test_defaults_learn_grid_world_from_pixels(algo):
    """Grid World from its 32 px camera (the example's budget, 100k agent steps of 8 agents): the
    default encoder ('auto': small under 64 px) must see where the agent, goal and pit are."""
    scores = [pixel_grid_success(CONFIGS[algo](), seed, steps=100_000) for seed in SEEDS]
    print(f"{algo} defaults, Grid World from pixels, 100k steps: success {scores}")
    assert np.median(scores) >= 0.9, scores
