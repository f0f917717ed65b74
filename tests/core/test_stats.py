"""BrainStats: one Brain's episodes, window, curve and target, without Blender."""

import math

import numpy as np
import pytest

from academy_pure.core.stats import BrainStats, CurvePoint, TensorBoardRun, learner_scalars


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


def test_scalars_are_the_brain_means_under_ml_agents_environment_tags():
    s = BrainStats("B", n=1)
    step(s, [2.0], ended=[0], success=[0])
    s.learner = {"loss": 0.5}  # the learner's statistics go to the run at its updates, not with the curve
    assert s.scalars() == {
        "Environment/Cumulative Reward": 2.0,
        "Environment/Episode Length": 1.0,
        "Environment/Success Rate": 1.0,
    }


def test_learner_scalars_name_known_statistics_as_ml_agents_and_every_other_number_learner():
    tags = learner_scalars(
        {
            "policy_loss": 0.25,
            "clip_range": np.float64(0.2),
            "epsilon": 0.1,
            "a_statistic_added_later": 7,  # appears without editing the tag table
            "episode_return": 3.0,  # the Brain's Environment/* tags already give its episodes
            "episodes": 4.0,
            "early": True,
            "name": "not a number",
        }
    )
    assert tags == {
        "Losses/Policy Loss": 0.25,
        "Policy/Epsilon": pytest.approx(0.2),
        "Policy/Exploration Rate": 0.1,
        "Learner/a_statistic_added_later": 7.0,
    }
    assert all(type(v) is float for v in tags.values())


class FakeWriter:
    def __init__(self):
        self.events, self.closed = [], False

    def scalars(self, step, values):
        self.events.append((step, dict(values)))

    def close(self):
        self.closed = True


def test_a_tensorboard_run_writes_each_update_at_its_step_after_the_steps_before():
    writer = FakeWriter()
    run = TensorBoardRun(writer, before=1000, min_gap=100)
    run.updated(128, {"value_loss": 1.0})
    run.updated(256, {"value_loss": 0.5})
    run.curve(BrainStats("B", n=1), CurvePoint(200, 1.0, 2.0))
    assert [step for step, _ in writer.events] == [1128, 1256, 1200]
    assert writer.events[1][1] == {"Losses/Value Loss": 0.5}
    run.close()
    assert writer.closed and len(writer.events) == 3  # nothing held back


@pytest.mark.parametrize("gap", [1, 100])
def test_updates_closer_than_the_gap_wait_and_the_last_is_written_at_the_end(gap):
    writer = FakeWriter()
    run = TensorBoardRun(writer, min_gap=gap)
    for steps in range(8, 400, 8):  # a DQN Brain: an update every decision of 8 agents
        run.updated(steps, {"loss": steps / 1000})
    run.close()
    steps = [step for step, _ in writer.events]
    assert steps[0] == 8 and steps[-1] == 392 and writer.events[-1][1] == {"Losses/Q Loss": 0.392}
    assert all(b - a >= gap for a, b in zip(steps[:-2], steps[1:-1], strict=True))
    assert len(steps) == (49 if gap == 1 else 5)  # 8, 112, 216, 320 and the held-back last
