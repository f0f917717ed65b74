"""Self-play (issue 15 point 1): a Training Brain whose learning Team plays frozen snapshots of itself,
with snapshots, a window, swaps, team changes and an ELO rating (see env/selfplay.py, core/ghost.py)."""

from __future__ import annotations

import importlib
import json

import bpy
import numpy as np
import pytest

from devtools import boot

M = boot.MODULE
Session = importlib.import_module(M + ".env.session").Session
AcademyError = importlib.import_module(M + ".env.errors").AcademyError
headless = importlib.import_module(M + ".drivers.headless")
tensorboard = importlib.import_module(M + ".core.tensorboard")
run_config = importlib.import_module(M + ".drivers.run_config")

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def duel(teams=(0, 1), team_bonus=0.0, episode=5, **self_play):
    """Agents of one Training Brain "B" on ``teams``, each picking 0 or 1 every decision; its reward is its
    pick (a bandit the learner solves fast), plus ``team_bonus`` x its Team. Episodes last ``episode``
    decisions. ``self_play``: the Brain's Self-Play settings (on unless ``enabled=False``)."""
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.academy.seed = 0
    brain = scene.academy.brains.add()
    brain.name, brain.brain_type = "B", "TRAINING"
    brain.ppo.num_steps, brain.ppo.minibatch_size, brain.ppo.num_epochs = 16, 16, 4
    brain.ppo.learning_rate = 0.01
    settings = brain.self_play
    settings.enabled = True
    for key, value in self_play.items():
        setattr(settings, key, value)
    tree = bpy.data.node_groups.new("Duel", "AcademyNodeTree")
    team = tree.nodes.new("AcademyTeamNode")
    observe = tree.nodes.new("AcademyObserveNode")
    tree.links.new(team.outputs["Team"], observe.inputs[0])
    pick = tree.nodes.new("AcademyDiscreteActionNode")
    pick.branches = "Pick: Zero, One"
    reward = tree.nodes.new("AcademyRewardNode")
    tree.links.new(pick.outputs[0], reward.inputs["Value"])
    bonus = tree.nodes.new("AcademyRewardNode")
    bonus.weight = team_bonus
    tree.links.new(team.outputs["Team"], bonus.inputs["Value"])
    for i, t in enumerate(teams):
        obj = bpy.data.objects.new(f"A{i + 1}", None)
        scene.collection.objects.link(obj)
        agent = obj.academy_agent
        agent.enabled, agent.brain, agent.team, agent.behaviour_tree, agent.max_steps = True, "B", t, tree, episode
    return scene


def run(scene, decisions: int, each=None) -> Session:
    """Train ``decisions`` decisions; ``each(runner, state)`` after every one. The session is left running."""
    session = Session(scene, training=True, steps=10**9).start()
    state = session.academy.brains["B"]
    target = session.decisions + decisions
    while session.decisions < target:
        seen = session.decisions
        session.tick(0.05, until_steps=session.agent_steps + 1)
        if each is not None and session.decisions != seen:
            each(state.runner, state)
    assert session.error is None, session.error
    return session


def test_the_opponent_plays_a_frozen_snapshot_while_the_learner_learns_to_beat_it():
    # no swap and no team change in this run: Team 1 plays the first snapshot throughout
    scene = duel(teams=(0, 1, 0, 1), swap_steps=10**6, team_change=10**6, snapshot_every=10**6)
    picks = {0: [], 1: []}
    probe = np.array([[0.0], [1.0]], np.float32)
    seen = []

    def each(runner, state):
        for t in (0, 1):
            picks[t].append(state.last_actions[state.team == t].copy())
        seen.append((runner.learner.num_updates, runner.ghost.opponent.policy.policy_output(probe).copy()))

    session = run(scene, 600, each)
    runner = session.academy.brains["B"].runner
    session.finish(store=False)
    assert runner.learner.num_updates > 10
    # so it wins most matches against it, and its rating rises
    assert runner.ghost.wins > 3 * runner.ghost.losses
    assert runner.elo > 1300
    # the learner learned to pick One; the snapshot, taken before it learned, still picks at random
    late = slice(-200, None)
    learner_ones = np.concatenate(picks[0][late]).mean()
    opponent_ones = np.concatenate(picks[1][late]).mean()
    assert learner_ones > 0.9
    assert 0.3 < opponent_ones < 0.7
    # the snapshot's policy never changed although the learner updated many times
    first = seen[0][1]
    assert all(np.array_equal(out, first) for _, out in seen)
    assert (runner.learner.predict(probe[:1], deterministic=True) == 1).all()  # Team 0's observation


def test_only_the_learning_teams_transitions_reach_the_learner():
    # Team 1 earns 1000 a step: none of it may reach the learner, which learns for Team 0 only
    scene = duel(teams=(0, 1, 1), team_bonus=1000.0, swap_steps=10**6, team_change=10**6)
    session = run(scene, 60)
    runner = session.academy.brains["B"].runner
    stats = dict(runner.learner.stats)
    session.finish(store=False)
    assert runner.ghost.steps == 60  # one learning agent, 60 decisions (not 3 x 60)
    assert stats["episodes"] == 12 and stats["episode_return"] <= 5.0  # Team 0's picks only (at most 1 a step)


def test_team_change_rotates_the_learning_team_and_elo_follows_winner():
    # Team 1 wins every match (bonus 10 a step): its ELO rises while it learns, falls while Team 0 learns
    scene = duel(team_bonus=10.0, episode=5, team_change=50, swap_steps=10**6, snapshot_every=10**6)
    trace = []
    session = run(scene, 200, lambda r, s: trace.append((r.ghost.steps, r.ghost.learning_team, r.elo)))
    session.finish(store=False)
    steps, teams, elos = (np.array(v) for v in zip(*trace, strict=True))
    # one learning agent a decision: the team changes every 50 decisions, Team 0 first
    np.testing.assert_array_equal(teams, (steps // 50) % 2)
    rising = np.diff(elos)[teams[1:] == teams[:-1]]
    assert (np.diff(elos)[(teams[1:] == 1) & (teams[:-1] == 1)] >= 0).all()
    assert (np.diff(elos)[(teams[1:] == 0) & (teams[:-1] == 0)] <= 0).all()
    assert (rising != 0).sum() >= 30  # a match every 5 decisions
    assert elos[teams == 0].min() < 1200 < elos[teams == 1].max()


def test_window_keeps_the_latest_snapshots_and_swaps_draw_from_it():
    scene = duel(snapshot_every=10, window=3, swap_steps=7, play_against_latest_ratio=0.0, team_change=10**6)
    opponents = []
    session = run(scene, 300, lambda r, s: opponents.append(r.ghost.opponent.steps))
    ghost = session.academy.brains["B"].runner.ghost
    session.finish(store=False)
    assert [s.steps for s in ghost.window] == [280, 290, 300]  # 31 snapshots taken, the latest 3 kept
    assert ghost.swaps == 300 // 7
    assert len(set(opponents)) > 10  # the opponent moved on with the window
    # an opponent is always one of the 3 latest snapshots when it was drawn (at most 3 x 10 steps old)
    drawn = np.array(opponents)
    at = np.arange(1, len(drawn) + 1)
    assert (at - drawn < 3 * 10 + 7).all()


@pytest.mark.parametrize("ratio", [0.0, 1.0])
def test_play_against_latest_ratio_picks_the_latest(ratio):
    scene = duel(snapshot_every=5, window=4, swap_steps=1, play_against_latest_ratio=ratio, team_change=10**6)
    latest = []
    session = run(scene, 200, lambda r, s: latest.append(r.ghost.opponent is r.ghost.window[-1]))
    session.finish(store=False)
    share = np.mean(latest[20:])
    # ratio 1: always the latest; ratio 0: uniform over 4, the latest a quarter of the time
    assert share == 1.0 if ratio == 1.0 else 0.1 < share < 0.45


def test_the_elo_is_stored_with_the_brain_and_resumed_with_its_model(tmp_path):
    scene = duel(team_bonus=-10.0, swap_steps=10**6, team_change=10**6)  # Team 0 learns and wins every match
    session = run(scene, 50)
    elo = session.academy.brains["B"].runner.elo
    assert elo > 1250
    session.finish(store=True)
    brain = scene.academy.brains["B"]
    assert brain.self_play.elo == pytest.approx(elo, abs=1e-3)
    path = str(tmp_path / "duel.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path)
    bpy.ops.wm.open_mainfile(filepath=path)
    scene = bpy.context.scene
    assert scene.academy.brains["B"].self_play.elo == pytest.approx(elo, abs=1e-3)
    # training on resumes from the stored rating; forgetting the model starts it again
    session = Session(scene, training=True, steps=10).start()
    assert session.academy.brains["B"].runner.elo == pytest.approx(elo, abs=1e-3)
    session.finish(store=False)
    importlib.import_module(M + ".env.brain_store").forget_model(scene.academy.brains["B"])
    assert scene.academy.brains["B"].self_play.elo == 1200.0
    session = Session(scene, training=True, steps=10).start()
    assert session.academy.brains["B"].runner.elo == 1200.0
    session.finish(store=False)


def test_initial_elo_is_where_a_new_brain_starts():
    scene = duel(initial_elo=1500.0, team_bonus=-10.0, swap_steps=10**6, team_change=10**6)
    session = run(scene, 5)  # one match, won against the first snapshot (rated 1500 too)
    runner = session.academy.brains["B"].runner
    session.finish(store=False)
    assert runner.ghost.window[0].elo == 1500.0 and runner.elo == pytest.approx(1508.0)


def test_elo_reaches_summary_json_and_tensorboard(tmp_path):
    scene = duel(team_bonus=10.0, episode=5, swap_steps=10**6, team_change=10**6)
    result = headless.train(scene, tmp_path, steps=400, progress=False)
    learner = json.loads((tmp_path / "summary.json").read_text())["brains"]["B"]["learner"]
    # 400 agent steps: 200 decisions, 40 matches; Team 0 learns and loses them all to Team 1's bonus
    assert learner["elo"] < 1200 and learner["selfplay_matches"] >= 39 and learner["selfplay_win_rate"] == 0
    assert learner["elo"] == pytest.approx(result.summary["brains"]["B"]["learner"]["elo"])
    events = next((tmp_path / "tensorboard" / "B").glob("events.*"))
    elo = [v for _s, tag, v in tensorboard.read_scalars(events) if tag == "Self-play/ELO"]
    assert len(elo) >= 2 and elo[-1] < elo[0] <= 1200


def test_the_panels_show_the_self_play_settings_and_the_elo(academy):
    from recording_layout import draw_panel

    scene = duel()
    scene.academy.brains["B"].self_play.elo = 1234.5
    log = draw_panel(academy.panels.ACADEMY_PT_brain_self_play, bpy.context)
    assert log[0] == ("prop", "SelfPlaySettings", "enabled")  # the sub-panel's header checkbox
    assert ("label", "ELO 1234.5") in log
    drawn = {e[2] for e in log if e[0] == "prop"}
    assert drawn == {"enabled", *run_config.SELF_PLAY_KEYS}
    assert ("label", "Self-play ELO 1234.5") in draw_panel(academy.panels.ACADEMY_PT_brain, bpy.context)
    scene.academy.brains["B"].self_play.enabled = False
    assert not any("ELO" in str(e) for e in draw_panel(academy.panels.ACADEMY_PT_brain, bpy.context))
    scene.academy.brains["B"].brain_type = "HEURISTIC"
    assert draw_panel(academy.panels.ACADEMY_PT_brain_self_play, bpy.context) == [("poll-false",)]


def test_self_play_needs_two_teams_and_names_the_brain():
    scene = duel(teams=(0, 0))
    with pytest.raises(AcademyError, match="Brain 'B' has Self-Play on, but all its agents are on Team 0"):
        Session(scene, training=True, steps=10).start()


def test_worker_processes_refuse_a_self_play_brain(tmp_path):
    workers = importlib.import_module(M + ".drivers.workers")
    scene = duel()
    with pytest.raises(AcademyError, match="Brain 'B' uses Self-Play, which trains in-process only"):
        workers.train_workers(scene, tmp_path, workers=1, steps=100, progress=False)


def test_without_self_play_every_agent_learns():
    scene = duel(teams=(0, 1, 1), enabled=False)
    session = run(scene, 20)
    runner = session.academy.brains["B"].runner
    session.finish(store=False)
    assert not hasattr(runner, "ghost") and runner.learner.total_steps == 60


def test_the_run_file_sets_self_play_and_refuses_the_elo(tmp_path):
    scene = duel()
    path = tmp_path / "run.toml"
    path.write_text("[brains.B.self_play]\nenabled = false\nwindow = 7\nplay_against_latest_ratio = 0.25\n")
    run_config.apply_config(scene, path)
    settings = scene.academy.brains["B"].self_play
    assert (settings.enabled, settings.window, settings.play_against_latest_ratio) == (False, 7, 0.25)
    assert "[brains.B.self_play]\nenabled = false\n" in run_config.config_text(scene)
    assert "self_play" not in run_config.run_record(scene, ["B"], 0)["hyperparameters"]["B"]
    settings.enabled = True  # summary.json records the settings of a Brain that trained by self-play
    assert run_config.run_record(scene, ["B"], 0)["hyperparameters"]["B"]["self_play"]["window"] == 7
    path.write_text("[brains.B.self_play]\nelo = 3000.0\n")
    with pytest.raises(run_config.RunConfigError, match=r"\[brains.B.self_play\] elo: unknown key"):
        run_config.apply_config(scene, path)
    path.write_text("[brains.B.self_play]\nwindow = 0\n")
    with pytest.raises(run_config.RunConfigError, match="window"):
        run_config.apply_config(scene, path)
