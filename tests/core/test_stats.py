"""BrainStats: one Brain's episodes, window, curve and target, without Blender."""

import math

import numpy as np
import pytest

from academy_pure.core.stats import BrainStats, CurvePoint


def step(stats, rewards, ended=(), truncated=(), success=(), active=None):
    n = stats.n
    mask = lambda idx: np.isin(np.arange(n), list(idx))  # noqa: E731
    act = np.ones(n, dtype=bool) if active is None else np.asarray(active, dtype=bool)
    stats.record(np.asarray(rewards, dtype=float), mask(ended), mask(truncated), mask(success), act)


def test_episodes_returns_and_lengths_are_per_agent_and_reset_at_the_end():
    s = BrainStats("B", n=2)
    step(s, [1.0, 0.5])
    step(s, [1.0, 0.5], ended=[0], success=[0])
    assert s.episodes == 1 and list(s.recent_returns) == [2.0] and list(s.recent_lengths) == [2]
    step(s, [3.0, 0.5], truncated=[0, 1])
    assert list(s.recent_returns) == [2.0, 3.0, 1.5] and list(s.recent_lengths) == [2, 1, 3]
    assert list(s.recent_success) == [True, False, False]
    assert s.mean_return == pytest.approx(6.5 / 3) and s.success_rate == pytest.approx(1 / 3)
    assert s.agent_steps == 6


def test_waiting_agents_take_no_steps():
    s = BrainStats("B", n=3)
    step(s, [1.0, 1.0, 0.0], active=[True, True, False])
    assert s.agent_steps == 2
    step(s, [0.0, 0.0, 0.0], ended=[0, 1, 2], active=[True, True, False])
    assert sorted(s.recent_lengths) == [0, 2, 2]


def test_means_are_nan_before_any_episode_and_the_summary_writes_null():
    s = BrainStats("B", n=1)
    step(s, [1.0])
    assert math.isnan(s.mean_return) and math.isnan(s.success_rate)
    summary = s.summary()
    assert summary["mean_episode_reward"] is None and summary["episodes"] == 0 and summary["curve"] == []


def test_window_is_one_episode_per_agent_and_at_least_ten():
    assert BrainStats("B", n=3).window == 10
    assert BrainStats("B", n=25).window == 25
    assert BrainStats("B", n=3, window=100).window == 100
    s = BrainStats("B", n=1)
    for r in range(12):
        step(s, [float(r)], ended=[0])
    assert list(s.recent_returns) == [float(r) for r in range(2, 12)]


def test_a_curve_point_every_curve_every_agent_steps_of_this_brain_at_an_episode_end():
    s = BrainStats("B", n=1, curve_every=3)
    seen = []
    s.on_point = lambda stats, point: seen.append(point)
    for t in range(10):
        step(s, [1.0], ended=[0] if t % 2 else [])
    # episode ends at steps 2, 4, 6, 8, 10: points at 2 (first), 6 (2+3 reached at 6), 10
    assert [p.steps for p in s.curve] == [2, 6, 10]
    assert seen == s.curve and all(isinstance(p, CurvePoint) for p in seen)
    assert s.curve[0] == CurvePoint(2, 2.0, 2.0)


def test_target_is_reached_at_the_episode_end_where_the_full_window_first_meets_it():
    ticks = iter(range(100))
    s = BrainStats("B", n=1, window=10, target=5.0, clock=lambda: float(next(ticks)))
    for r in range(20):
        step(s, [float(r)], ended=[0])
        if s.reached_at is None:
            assert not (s.full and s.mean_return >= 5.0)
    # window of 10 returns r-9..r has mean r-4.5 >= 5 first at r = 10 (the 11th episode, 11 agent steps)
    assert s.reached_at is not None and s.reached_at.steps == 11 and s.reached_at.mean_return == 5.5
    summary = s.summary(since=0.0)
    assert summary["steps_to_target"] == 11 and summary["seconds_to_target"] == s.reached_at.time


def test_no_target_no_reached():
    s = BrainStats("B", n=1)
    for _ in range(20):
        step(s, [100.0], ended=[0])
    assert s.reached_at is None


def test_scalars_carry_the_brain_means_and_its_learner_statistics():
    s = BrainStats("B", n=1)
    step(s, [2.0], ended=[0], success=[0])
    s.learner = {"loss": 0.5, "epsilon": 0.1, "not_a_scalar": 3.0}
    tags = s.scalars()
    assert tags["Academy/mean_reward"] == 2.0 and tags["Academy/success_rate"] == 1.0
    assert tags["Learner/loss"] == 0.5 and tags["Learner/epsilon"] == 0.1
    assert "Learner/not_a_scalar" not in tags
