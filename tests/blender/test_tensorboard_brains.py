"""Each Brain's TensorBoard run holds every statistic its learner reports, written at each update
(issue 18.3), read back with the real ``tensorboard`` package (a development dependency)."""

from __future__ import annotations

import importlib
import math

import bpy
import numpy as np
import pytest

from devtools import boot

M = boot.MODULE
Session = importlib.import_module(M + ".env.session").Session
core_stats = importlib.import_module(M + ".core.stats")
workers = importlib.import_module(M + ".drivers.workers")
balance_ball = importlib.import_module(M + ".examples.balance_ball")
event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator", reason="tensorboard is not installed"
)

PPO_STEPS = 32  # a PPO update every 32 decisions of 4 agents: 128 agent steps, above LEARNER_MIN_GAP

# what the two learners report, under ML-Agents' names where there is one (docs/training.md)
PPO_TAGS = {
    "Losses/Policy Loss",
    "Losses/Value Loss",
    "Policy/Entropy",
    "Policy/Learning Rate",
    "Policy/Epsilon",
    "Policy/Extrinsic Value Estimate",
    "Learner/approx_kl",
    "Learner/clip_fraction",
    "Learner/explained_variance",
    "Learner/total_loss",
    "Learner/grad_norm",
    "Learner/epochs",
    "Learner/early_stopped",
    "Learner/minibatches",
    "Learner/num_updates",
    "Learner/total_steps",
    "Learner/run_progress",
}
DQN_TAGS = {
    "Losses/Q Loss",
    "Policy/Entropy",
    "Policy/Learning Rate",
    "Policy/Exploration Rate",
    "Policy/Extrinsic Value Estimate",
    "Learner/td_error",
    "Learner/grad_norm",
    "Learner/gradient_steps",
    "Learner/replay_size",
    "Learner/num_updates",
    "Learner/total_steps",
    "Learner/run_progress",
}
ENVIRONMENT_TAGS = {"Environment/Cumulative Reward", "Environment/Episode Length", "Environment/Success Rate"}


def _scalars(folder) -> dict[str, list[tuple[int, float]]]:
    """Every tag of the run in ``folder``: its (step, value) events, as TensorBoard reads them."""
    acc = event_accumulator.EventAccumulator(str(folder), size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def _learner_tags(stats: dict[str, float]) -> dict[str, float]:
    """The tag of every numeric statistic the learner reports (but its own episode means) and its value."""
    out = {}
    for key, value in stats.items():
        if key not in ("episode_return", "episode_length", "episodes") and math.isfinite(value):
            out[core_stats.LEARNER_TAGS.get(key, f"Learner/{key}")] = value
    return out


def _ends_on(scalars, stats: dict[str, float]) -> None:
    """Each of the learner's statistics is a tag whose last value is the learner's last one."""
    expected = _learner_tags(stats)
    assert set(expected) <= set(scalars), set(expected) - set(scalars)
    for tag, value in expected.items():
        assert scalars[tag][-1][1] == pytest.approx(np.float32(value), rel=1e-5, abs=1e-12), tag


def seek_two_brains():
    """The Seek scene of 8 walkers: 4 learn with DQN (Brain 'Seek'), 4 with PPO (Brain 'Walk')."""
    import seek_scene

    scene = seek_scene.build(agents=8, algorithm="DQN", seed=0)
    seek = scene.academy.brains["Seek"]
    seek.dqn.learning_starts = 64
    walk = scene.academy.brains.add()
    walk.name, walk.algorithm = "Walk", "PPO"
    walk.ppo.num_steps, walk.ppo.minibatch_size = PPO_STEPS, 64
    for i in range(4, 8):
        scene.objects[f"Walker.{i:03d}"].academy_agent.brain = "Walk"
    return scene


def test_each_brains_run_has_every_learner_statistic_at_each_update(tmp_path):
    import torch

    torch.set_num_threads(1)
    scene = seek_two_brains()
    session = Session(scene, training=True, steps=1600, seed=0, tensorboard=tmp_path)
    reported, write = {}, session.academy.on_update

    def spy(state):  # what each learner reported when its last update finished
        write(state)
        reported[state.name] = dict(state.runner.learner.stats)

    session.academy.on_update = spy
    session.start().run()
    learners = {name: session.brain(name).learner for name in ("Seek", "Walk")}
    losses = {name: dict(learner._losses) for name, learner in learners.items()}
    curves = {name: list(stats.curve) for name, stats in session.stats.items()}
    session.finish(store=False)
    assert learners["Walk"].num_updates >= 4 and learners["Seek"].num_updates >= 50

    walk, seek = _scalars(tmp_path / "Walk"), _scalars(tmp_path / "Seek")
    # each run has its own learner's statistics, and only those
    assert PPO_TAGS | ENVIRONMENT_TAGS <= set(walk) and not (DQN_TAGS - PPO_TAGS) & set(walk)
    assert DQN_TAGS | ENVIRONMENT_TAGS <= set(seek) and not (PPO_TAGS - DQN_TAGS) & set(seek)
    for name, scalars in (("Walk", walk), ("Seek", seek)):
        _ends_on(scalars, reported[name])
        assert losses[name].items() <= reported[name].items()  # the last update's, to the end of the run
    # PPO: every update at the Brain's agent steps when it finished (not only at curve points)
    n = learners["Walk"].num_updates
    assert walk["Learner/num_updates"] == [(k * PPO_STEPS * 4, float(k)) for k in range(1, n + 1)]
    assert [s for s, _v in walk["Losses/Policy Loss"]] == [k * PPO_STEPS * 4 for k in range(1, n + 1)]
    # DQN updates at every decision: written at least LEARNER_MIN_GAP agent steps apart, the last at the end
    steps = [s for s, _v in seek["Learner/num_updates"]]
    gaps = np.diff(steps[:-1])
    assert len(steps) < learners["Seek"].num_updates and (gaps >= core_stats.LEARNER_MIN_GAP).all(), steps
    assert seek["Learner/num_updates"][-1] == (session.stats["Seek"].agent_steps, learners["Seek"].num_updates)
    # the curve is each Brain's own, at its points
    for name, scalars in (("Walk", walk), ("Seek", seek)):
        points = [(p.steps, p.mean_return) for p in curves[name] if p.mean_return == p.mean_return]
        assert scalars["Environment/Cumulative Reward"] == [(s, pytest.approx(r, rel=1e-6)) for s, r in points]


def test_the_workers_write_each_brains_learner_statistics_at_each_update(tmp_path):
    """Two PPO Brains of Balance Ball trained by one worker process: each run as Session writes it."""
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = balance_ball.build(bpy.context.scene, agents=8)
    other = scene.academy.brains.add()
    other.name, other.algorithm = "Other", "PPO"
    for i in range(4, 8):
        scene.objects[f"Platform.{i:03d}"].academy_agent.brain = "Other"
    for brain in scene.academy.brains:
        brain.ppo.num_steps, brain.ppo.minibatch_size = PPO_STEPS, 64
    result = workers.train_workers(scene, tmp_path / "out", workers=1, steps=1500, seed=1, progress=False)
    for name in ("3DBall", "Other"):
        scalars = _scalars(tmp_path / "out" / "tensorboard" / name)
        summary = result.summary["brains"][name]
        assert PPO_TAGS <= set(scalars), PPO_TAGS - set(scalars)
        _ends_on(scalars, {k: v for k, v in summary["learner"].items() if v is not None})
        n = int(summary["learner"]["num_updates"])
        assert n >= 2 and [v for _s, v in scalars["Learner/num_updates"]] == list(range(1, n + 1))
        assert [s for s, _v in scalars["Learner/num_updates"]] == [k * PPO_STEPS * 4 for k in range(1, n + 1)]
