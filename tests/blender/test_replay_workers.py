"""DQN and SAC trained by worker processes (drivers/replay_fragments.py): workers collect transitions,
the driver fills its replay memory and takes the gradient steps, collection overlaps learning."""

from __future__ import annotations

import importlib
import statistics

import bpy
import numpy as np
import pytest
import seek_scene

from devtools import boot

M = boot.MODULE
workers = importlib.import_module(M + ".drivers.workers")
replay = importlib.import_module(M + ".drivers.replay_fragments")
evaluate = importlib.import_module(M + ".drivers.headless").evaluate
state_check = importlib.import_module(M + ".training.state_check")
config = importlib.import_module(M + ".training.config")
spaces = importlib.import_module(M + ".training.spaces")
DQNLearner = importlib.import_module(M + ".training.dqn").DQNLearner
sessions = importlib.import_module(M + ".env.sessions")
bb = importlib.import_module(M + ".examples.balance_ball")
AcademyError = importlib.import_module(M + ".env.academy").AcademyError

AGENTS = 8  # per scene: 2 workers run 16, as test_defaults_learn's one process


def _seek(seed: int, agents: int = AGENTS):
    scene = seek_scene.build(agents=agents, algorithm="DQN", seed=seed)
    return scene, scene.academy.brains["Seek"]


def _train(tmp_path, name, seed=0, steps=3000, **kw):
    scene, brain = _seek(seed)
    result = workers.train_workers(scene, tmp_path / name, workers=2, steps=steps, seed=seed, progress=False, **kw)
    return result, scene, brain


# -- the driver's learning is one process's: unit checks without processes -------------------------
def _dqn(agents: int, seed: int = 0, **cfg):
    c = config.DQNConfig(learning_starts=40, batch_size=8, train_freq=4, gradient_steps=1, **cfg)
    return DQNLearner(c, spaces.Box((3,)), spaces.Discrete(3), agents, seed, auto_update=False)


@pytest.mark.parametrize("n_step", [1, 3])
def test_fragments_learn_as_one_learner_of_every_agent(n_step):
    """Two collectors of 2 agents each, ingested in order, give the weights, replay memory and step count
    of one learner of 4 agents observing the same transitions."""
    rng = np.random.default_rng(1)
    copies, n, length = 2, 2, 5
    collectors = [replay.ReplayCollector(_dqn(n, seed=10 + w, n_step=n_step), length, copies) for w in range(copies)]
    driver, alone = _dqn(n * copies, n_step=n_step), _dqn(n * copies, n_step=n_step)
    obs = rng.normal(size=(copies, n, 3)).astype(np.float32)
    for c in collectors:
        c.loaded(replay.schedule(driver))
    for _ in range(4):  # rounds
        for _ in range(length):
            nxt = rng.normal(size=obs.shape).astype(np.float32)
            rewards, ends = rng.normal(size=(copies, n)), rng.random((copies, n)) < 0.2
            active = rng.random((copies, n)) < 0.9
            acts = [c.learner.act(obs[w]) for w, c in enumerate(collectors)]
            for w, c in enumerate(collectors):
                c.learner.observe(rewards[w], ends[w], np.zeros(n, bool), nxt[w], nxt[w], active=active[w])
            alone._last_obs, alone._last_actions = alone.obs_proc.as_dict(obs.reshape(-1, 3)), np.concatenate(acts)
            flat = (rewards.ravel(), ends.ravel(), np.zeros(n * copies, bool), nxt.reshape(-1, 3), None)
            alone.observe(*flat, active=active.ravel())
            alone.update()
            obs = nxt
        assert all(c.learner.update_ready for c in collectors)
        replay.ingest_transitions(driver, [c.take() for c in collectors])
        for c in collectors:
            c.loaded(replay.schedule(driver))
    assert driver.total_steps == alone.total_steps == 4 * length * n * copies
    assert driver.gradient_steps_done == alone.gradient_steps_done > 0
    assert len(driver.replay) == len(alone.replay) > 0
    for k in ("actions", "rewards", "dones", "discounts"):
        assert np.array_equal(getattr(driver.replay, k), getattr(alone.replay, k)), k
    for a, b in zip(driver.model.parameters(), alone.model.parameters(), strict=True):
        assert torch_equal(a, b)


def torch_equal(a, b) -> bool:
    return bool((a.detach() == b.detach()).all())


def test_a_workers_epsilon_follows_every_workers_agent_steps():
    """A worker's copy explores with the ε of the driver's run at the same agent step, not its own count."""
    driver = _dqn(4, exploration_fraction=0.5)
    driver.begin_run(1000)
    mine = replay.ReplayCollector(_dqn(2, exploration_fraction=0.5), 10, copies=2)
    mine.loaded(replay.schedule(driver, ahead=200))
    assert mine.learner.epsilon == pytest.approx(_eps_at(driver, 200))
    for _ in range(3):
        mine.learner.act(np.zeros((2, 3), np.float32))
        mine.learner.observe(np.zeros(2), np.zeros(2, bool), np.zeros(2, bool), np.zeros((2, 3), np.float32))
    assert mine.learner.total_steps == 200 + 3 * 4  # each decision counts both workers' agents
    assert mine.learner.epsilon == pytest.approx(_eps_at(driver, 212)) and mine.learner.epsilon < 1.0
    assert mine.learner.gradient_steps_done == 0 and not mine.learner.update_ready  # the driver learns


def _eps_at(learner, steps: int) -> float:
    before = learner.total_steps
    learner.total_steps = steps
    try:
        return learner.epsilon
    finally:
        learner.total_steps = before


# -- runs with 2 worker processes -------------------------------------------------------------------
@pytest.fixture(scope="module")
def short(tmp_path_factory):
    """A short run's result, and what its Brain stored (no Blender data: each test starts a new file)."""
    result, _, brain = _train(tmp_path_factory.mktemp("dqn"), "short", seed=4, steps=1500)
    dqn = brain.dqn
    return result, brain.trained_steps, (dqn.learning_starts, dqn.train_freq, dqn.gradient_steps)


def test_a_dqn_brain_trains_with_two_workers_and_the_summary_adds_them_up(short):
    result, trained_steps, (starts, freq, grad_steps) = short
    s = result.summary
    mine = s["brains"]["Seek"]
    per_round = 2 * replay.fragment_length(AGENTS) * AGENTS  # each worker ~256 agent steps a round
    assert s["workers"] == 2 and s["updates"] == -(-1500 // per_round)
    assert s["agent_steps"] == mine["agent_steps"] == s["updates"] * per_round == trained_steps
    learner = mine["learner"]
    assert learner["total_steps"] == s["agent_steps"] == learner["replay_size"]
    # the gradient steps one process of 16 agents takes: from the decision that reaches learning_starts
    # on, gradient_steps per train_freq transitions
    every = 2 * AGENTS
    counted = s["agent_steps"] - (-(-starts // every) - 1) * every
    assert learner["gradient_steps"] == counted // freq * grad_steps > 0
    assert learner["epsilon"] < 1.0 and mine["episodes"] > 0 and len(mine["curve"]) >= 2
    checked = state_check.load_state(result.checkpoints[-1].read_bytes())
    assert checked.header["num_agents"] == AGENTS and checked.header["total_steps"] == s["agent_steps"]
    assert sessions.active_sessions() == ()


def test_the_same_seed_and_workers_give_the_same_dqn_curve(short, tmp_path):
    again, _, _ = _train(tmp_path, "again", seed=4, steps=1500)
    a, b = short[0].summary["brains"]["Seek"], again.summary["brains"]["Seek"]
    assert a["curve"] == b["curve"] and a["learner"] == b["learner"]
    assert short[0].checkpoints[-1].read_bytes() == again.checkpoints[-1].read_bytes()
    other, _, _ = _train(tmp_path, "other", seed=5, steps=1500)
    assert other.summary["brains"]["Seek"]["curve"] != a["curve"]


def test_a_dqn_brain_trained_by_workers_resumes(tmp_path):
    first, scene, brain = _train(tmp_path, "first", seed=3, steps=600)
    more = workers.train_workers(scene, tmp_path / "more", workers=2, steps=600, seed=3, progress=False)
    assert brain.trained_steps == first.summary["agent_steps"] + more.summary["agent_steps"]
    learned = more.summary["brains"]["Seek"]["learner"]
    assert learned["total_steps"] == brain.trained_steps


def _greedy(scene, seed):
    return evaluate(scene, episodes=50, seed=1000 + seed, deterministic=True)["mean_reward"]


@pytest.mark.slow
@pytest.mark.parametrize("steps,seeds", [pytest.param(12_000, (0, 1, 2), id="short")])
def test_dqn_with_two_workers_learns_better_than_untrained(tmp_path, steps, seeds):
    """Against the same Brains untrained (greedy, their first weights): a margin on the median of three seeds."""
    _learns(tmp_path, steps, seeds, margin=0.4)


@pytest.mark.slow
def test_dqn_with_two_workers_learns_as_one_process(tmp_path):
    """test_defaults_learn's bar for one process at 20,000 agent steps (median >= 0.6)."""
    _learns(tmp_path, 20_000, (0, 1, 2), margin=0.0, floor=0.6)


def _learns(tmp_path, steps, seeds, margin, floor=None):
    trained, untrained = [], []
    for seed in seeds:
        scene, _ = _seek(seed)
        untrained.append(_greedy(scene, seed))
        workers.train_workers(scene, tmp_path / str(seed), workers=2, steps=steps, seed=seed, progress=False)
        trained.append(_greedy(scene, seed))
    assert statistics.median(trained) > statistics.median(untrained) + margin, (trained, untrained)
    if floor is not None:
        assert statistics.median(trained) >= floor, trained


def test_a_sac_brain_trains_with_two_workers(tmp_path):
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bb.build(bpy.context.scene, agents=4, use_nodes=False)
    brain = scene.academy.brains[0]
    brain.algorithm = "SAC"
    brain.sac.learning_starts, brain.sac.batch_size, brain.sac.hidden_units = 200, 16, 16
    result = workers.train_workers(scene, tmp_path / "sac", workers=2, steps=1200, seed=2, progress=False)
    mine = result.summary["brains"][brain.name]
    assert mine["learner"]["total_steps"] == result.summary["agent_steps"] == brain.trained_steps >= 1200
    assert mine["learner"]["gradient_steps"] > 0 and mine["learner"]["replay_size"] > 0
