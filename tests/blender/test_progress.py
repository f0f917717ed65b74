"""The progress line and summary.json show each Training Brain's exploration, a loss and the learning rate."""

import importlib
import io
import json
import math

import pytest

from devtools import boot

headless = importlib.import_module(boot.MODULE + ".drivers.headless")
Line = headless.BrainLine
pytestmark = pytest.mark.lts

DQN = {"loss": 0.01234, "q_mean": 1.5, "epsilon": 0.8123, "learning_rate": 0.0001, "gradient_steps": 7.0}
PPO = {"policy_loss": -0.00456, "value_loss": 0.321, "entropy": 1.42, "learning_rate": 0.0003, "approx_kl": 0.01}
SAC = {"critic_loss": 0.0512, "actor_loss": -12.3, "entropy": -0.8, "ent_coef": 0.05, "learning_rate": 0.0003}


def test_the_compact_statistics_per_algorithm():
    assert headless.brain_stats_text(DQN) == "eps 0.81 loss 0.0123 lr 1.0e-04"
    assert headless.brain_stats_text(PPO) == "ent 1.42 loss p/v -0.00456/0.321 lr 3.0e-04"
    assert headless.brain_stats_text(DQN, fields=1) == "eps 0.81"
    assert headless.brain_stats_text(SAC) == "ent -0.8 loss q/pi 0.0512/-12.3 lr 3.0e-04"


@pytest.mark.parametrize(
    "stats, text",
    [
        ({}, ""),  # before the first update: nothing to show, no crash
        ({"episodes": 3.0}, ""),
        ({"learning_rate": 0.001}, "lr 1.0e-03"),
        ({"value_loss": 0.5}, "loss p/v –/0.5"),
        ({"loss": float("nan"), "epsilon": "bogus"}, "loss –"),
    ],
)
def test_missing_or_odd_keys_never_crash(stats, text):
    assert headless.brain_stats_text(stats) == text


def test_the_line_carries_each_brains_own_numbers_and_stays_short():
    bar = headless.ProgressBar(1_000_000, stream=io.StringIO())
    line = bar.line(123_456, {"Runner": Line(0.53, 789, DQN)})
    assert "episodes 789" in line and "Runner" not in line  # one Brain: no name
    assert line.endswith("  mean reward 0.53 eps 0.81 loss 0.0123 lr 1.0e-04")
    two = bar.line(123_456, {"Runner": Line(0.53, 789, DQN), "Chaser": Line(-1.25, 11, PPO)})
    assert len(two) <= headless.LINE_LIMIT and "episodes 800" in two
    # names, each Brain's own mean, and the first statistic survives
    assert "Runner: reward 0.53 eps 0.81" in two and "Chaser: reward -1.25 ent 1.42" in two
    many = bar.line(123_456, {f"Brain {i}": Line(0.5, 1, DQN) for i in range(8)})
    assert len(many) == headless.LINE_LIMIT and many.endswith("…")


def test_a_tty_line_is_ended_before_a_message():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    bar = headless.ProgressBar(100, stream=stream)
    bar.update(10, {"A": Line(0.1, 1, PPO)})
    bar.message("reached mean reward 1")
    assert stream.getvalue().endswith("lr 3.0e-04\nreached mean reward 1\n")


def test_dqn_training_shows_the_exploration_rate_in_the_line_and_the_summary(tmp_path, capsys):
    import bpy

    examples = importlib.import_module(boot.MODULE + ".examples.grid_world")
    scene = examples.build(bpy.context.scene, algorithm="DQN")
    dqn = scene.academy.brains[examples.BRAIN].dqn
    dqn.learning_starts, dqn.batch_size, dqn.train_freq = 100, 16, 8  # a few cheap updates
    result = headless.train(scene, tmp_path, steps=400, tensorboard=False)
    err = capsys.readouterr().err
    ((name, summary),) = result.summary["brains"].items()
    brain = summary["learner"]
    assert 0.0 < brain["epsilon"] < 1.0 and brain["learning_rate"] > 0 and math.isfinite(brain["loss"])
    last = err.strip().splitlines()[-1]
    assert f"eps {brain['epsilon']:.2f}" in last and "loss " in last and "lr " in last
    assert json.loads((tmp_path / "summary.json").read_text())["brains"][name]["learner"] == brain
