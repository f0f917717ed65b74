"""Recording demonstrations while a Brain plays, storing them in the .blend, and learning from them."""

import importlib

import bpy
import numpy as np
import pytest

from devtools import boot

M = boot.MODULE
Session = importlib.import_module(M + ".env.session").Session
demos_env = importlib.import_module(M + ".env.demos")
brain_store = importlib.import_module(M + ".env.brain_store")
td = importlib.import_module(M + ".training.demos")
bb = importlib.import_module(M + ".examples.balance_ball")
BrainError = brain_store.BrainError


def balance_ball(agents=2, max_steps=7):
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bb.build(bpy.context.scene, agents=agents, use_nodes=False)
    scene.academy.max_steps = max_steps  # short episodes: several end while recording
    for obj in scene.objects:
        obj.academy_agent.max_steps = 0  # the Academy's
    scene.academy.decision_period = 1
    brain = scene.academy.brains[0]
    brain.brain_type = "HEURISTIC"
    return scene, brain


def play(scene, frames: int):
    """Play ``frames`` frames; returns what the Session's Brain showed at each decision."""
    session = Session(scene, training=False, steps=0).start()
    name = session.brains[0]
    seen = []

    def look():
        v = session.brain(name)
        seen.append(
            (np.array(v.last_obs), np.array(v.last_actions), v.rewards.copy(), v.terminated.copy(), v.truncated.copy())
        )

    look()
    for _ in range(frames):
        decisions = session.decisions
        scene.frame_set(scene.frame_current + 1)
        if session.decisions != decisions:
            look()
    assert session.error is None, session.error
    session.finish()
    return seen


def expected_rows(seen):
    """Per agent, the transitions the Session's decisions imply (the test's own bookkeeping)."""
    n = len(seen[0][2])
    episodes, running = [], [[] for _ in range(n)]
    for (obs, act, *_), (_o, _a, rew, term, trunc) in zip(seen[:-1], seen[1:], strict=True):
        for i in range(n):
            running[i].append((obs[i], act[i], rew[i], term[i], trunc[i]))
            if term[i] or trunc[i]:
                episodes.append(running[i])
                running[i] = []
    return episodes + [ep for ep in running if ep]


def test_recording_a_heuristic_brain_keeps_exactly_what_the_session_saw():
    scene, brain = balance_ball()
    brain.demos.record = True
    seen = play(scene, 30)
    assert len(brain.demos.items) == 1
    entry = brain.demos.items[0]
    demos = demos_env.entry_demos(brain, entry)
    rows = expected_rows(seen)
    flat = [r for ep in rows for r in ep]
    assert demos.steps == len(flat) == 2 * (len(seen) - 1)
    np.testing.assert_array_equal(demos.obs["obs"], np.array([r[0] for r in flat], np.float32))
    np.testing.assert_array_equal(demos.actions, np.array([r[1] for r in flat], np.float32))
    np.testing.assert_allclose(demos.rewards, np.array([r[2] for r in flat], np.float32))
    np.testing.assert_array_equal(demos.terminated, [r[3] for r in flat])
    np.testing.assert_array_equal(demos.truncated, [r[4] for r in flat])
    ended = [ep for ep in rows if ep[-1][3] or ep[-1][4]]
    assert demos.episodes == len(ended) >= 4  # max_steps 7 over 30 decisions, two agents
    assert (entry.steps, entry.episodes) == (demos.steps, demos.episodes)
    assert entry.mean_return == pytest.approx(np.mean([sum(r[2] for r in ep) for ep in ended]), rel=1e-5)
    assert demos.obs_space == demos_env.brain_spaces(scene, brain.name)[0]


def test_a_waiting_agents_rows_are_not_recorded():
    """Reset on Done off: an agent whose episode ended waits for the other's end; those rows are not real."""
    scene, brain = balance_ball(max_steps=0)
    agents = sorted((o for o in scene.objects if o.academy_agent.enabled), key=lambda o: o.name)
    for obj, steps in zip(agents, (3, 7), strict=True):
        obj.academy_agent.max_steps, obj.academy_agent.reset_on_done = steps, False
    brain.demos.record = True
    play(scene, 29)
    demos = demos_env.entry_demos(brain, brain.demos.items[0])
    ends = np.flatnonzero(demos.terminated | demos.truncated)
    lengths = np.diff(np.append(-1, ends))
    assert sorted(set(lengths.tolist())) == [3, 7] and demos.episodes == 8  # 4 rounds of 7 decisions
    assert demos.steps == 4 * (3 + 7) + 1 * 2  # then one more decision of both


def test_nothing_is_recorded_without_the_toggle():
    scene, brain = balance_ball()
    play(scene, 10)
    assert len(brain.demos.items) == 0


def test_stored_demonstrations_survive_save_and_reopen_and_are_verified(tmp_path):
    scene, brain = balance_ball()
    brain.demos.record = True
    play(scene, 12)
    play(scene, 8)  # a second recording: a second entry
    names = [e.name for e in brain.demos.items]
    before = [bytes(e[demos_env.DEMO_KEY]) for e in brain.demos.items]
    assert len(names) == 2 and names[0] != names[1]
    path = str(tmp_path / "demos.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path)
    bpy.ops.wm.open_mainfile(filepath=path)
    brain = bpy.context.scene.academy.brains[0]
    assert [e.name for e in brain.demos.items] == names
    assert [bytes(e[demos_env.DEMO_KEY]) for e in brain.demos.items] == before
    both = demos_env.brain_demonstrations(brain)
    assert both.steps == sum(e.steps for e in brain.demos.items)
    # a damaged entry is refused naming the Brain and the entry
    entry = brain.demos.items[1]
    brain_store.write_bytes(entry, demos_env.DEMO_KEY, before[1][:-100])
    with pytest.raises(BrainError, match=f"Brain '{brain.name}': demonstration '{entry.name}'"):
        demos_env.brain_demonstrations(brain)


def test_export_and_import_through_a_file(tmp_path):
    scene, brain = balance_ball()
    brain.demos.record = True
    play(scene, 10)
    out = tmp_path / "take.npz"
    demos_env.export_entry(brain, brain.demos.items[0], out)
    original = td.load_demos(out)
    entry = demos_env.import_file(brain, out)
    assert entry.name == "take" and len(brain.demos.items) == 2
    back = demos_env.entry_demos(brain, entry)
    np.testing.assert_array_equal(back.obs["obs"], original.obs["obs"])
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"\x80\x04 not demonstrations")
    with pytest.raises(BrainError, match="bad.npz: refusing to load"):
        demos_env.import_file(brain, bad)
    assert len(brain.demos.items) == 2


def test_write_failure_leaves_no_entry(monkeypatch):
    scene, brain = balance_ball()
    brain.demos.record = True

    def refuse(owner, key, data, label=None):
        raise brain_store.StoreError(f"{label}: Blender stored 0 of {len(data)} bytes")

    monkeypatch.setattr(brain_store, "write_bytes", refuse)
    with pytest.raises(brain_store.StoreError, match="demonstration .Demo.: Blender stored 0"):
        play(scene, 5)
    assert len(brain.demos.items) == 0


def recorded_training_brain(agents=3, frames=120):
    pytest.importorskip("torch")
    scene, brain = balance_ball(agents=agents, max_steps=40)
    brain.demos.record = True
    play(scene, frames)
    brain.demos.record = False
    brain.brain_type = "TRAINING"
    brain.ppo.num_steps, brain.ppo.minibatch_size, brain.ppo.num_epochs = 16, 48, 1
    return scene, brain


def test_pretrain_epochs_and_batch_size_from_the_brain():
    scene, brain = recorded_training_brain()
    steps = brain.demos.items[0].steps
    counts = []
    for epochs, batch in ((2, 512), (3, 512), (2, 50)):
        brain.demos.pretrain_epochs, brain.demos.bc_batch_size = epochs, batch
        stats = demos_env.pretrain_brain(scene, brain)
        counts.append(stats["bc_minibatches"])
        assert brain_store.has_model(brain) and np.isfinite(stats["bc_loss"])
        brain_store.forget_model(brain)
    assert counts == [2 * -(-steps // 512), 3 * -(-steps // 512), 2 * -(-steps // 50)]


def trained_stats(scene, brain, steps=3 * 16 * 2):
    session = Session(scene, training=True, steps=steps)
    session.run()
    stats = session.learner_stats()[brain.name]
    session.finish()
    brain_store.forget_model(brain)
    return stats


def test_bc_during_training_needs_a_strength_and_decays_over_its_steps():
    scene, brain = recorded_training_brain()
    brain.demos.bc_strength = 0.0
    assert "bc_loss" not in trained_stats(scene, brain)
    brain.demos.bc_strength = 0.5
    stats = trained_stats(scene, brain)
    assert np.isfinite(stats["bc_loss"]) and stats["bc_strength"] == 0.5
    brain.demos.bc_steps = 10  # decayed away before the first update (48 agent steps)
    assert trained_stats(scene, brain)["bc_strength"] == 0.0


def test_demonstration_operators_remove_export_import_pretrain(tmp_path):
    scene, brain = recorded_training_brain(frames=40)
    scene.academy.active_brain_index = 0
    path = str(tmp_path / "one.npz")
    assert bpy.ops.academy.demo_export(filepath=path) == {"FINISHED"}
    assert bpy.ops.academy.demo_import(filepath=path) == {"FINISHED"}
    assert [e.name for e in brain.demos.items] == ["Demo", "one"]
    brain.demos.active_index = 0
    assert bpy.ops.academy.demo_remove() == {"FINISHED"}
    assert [e.name for e in brain.demos.items] == ["one"]
    brain.demos.pretrain_epochs = 1
    assert bpy.ops.academy.pretrain() == {"FINISHED"} and brain_store.has_model(brain)
    bpy.ops.academy.demo_remove()
    assert not bpy.ops.academy.pretrain.poll() and not bpy.ops.academy.demo_export.poll()


def test_bc_without_demonstrations_is_refused_naming_the_brain():
    pytest.importorskip("torch")
    scene, brain = balance_ball()
    brain.brain_type = "TRAINING"
    brain.demos.bc_strength = 1.0
    with pytest.raises(BrainError, match=f"Brain '{brain.name}' has no demonstrations"):
        Session(scene, training=True, steps=10)


def test_command_line_lists_exports_imports_and_pretrains(academy, tmp_path, capsys):
    scene, brain = recorded_training_brain(frames=40)
    brain.demos.pretrain_epochs = 1
    name = brain.name  # opening the file (each command does) leaves ``brain`` dangling
    path = str(tmp_path / "scene.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path)
    main = academy.cli.main
    assert main(["demos", path, "--brain", name]) == 0
    assert "\nDemo\t3 episodes\t120 steps" in capsys.readouterr().out
    npz = str(tmp_path / "out.npz")
    assert main(["demos", path, "--brain", name, "--export", "Demo", npz]) == 0
    assert main(["demos", path, "--brain", name, "--import", npz]) == 0
    assert main(["demos", path, "--brain", name, "--export", "Nope", npz]) == 2
    assert "no demonstration 'Nope' (it has: Demo, out)" in capsys.readouterr().err
    assert main(["demos", path, "--brain", name, "--pretrain"]) == 0
    assert "pretrained: bc_loss" in capsys.readouterr().out
    bpy.ops.wm.open_mainfile(filepath=path)
    brain = bpy.context.scene.academy.brains[0]
    assert [e.name for e in brain.demos.items] == ["Demo", "out"] and brain_store.has_model(brain)
    out = str(tmp_path / "run")
    assert main(["train", path, "--steps", "48", "--out", out, "--pretrain", "--no-tensorboard"]) == 0
    assert f"pretrained {name} from" in capsys.readouterr().out
    for b in bpy.context.scene.academy.brains:
        b.demos.items.clear()
    bpy.ops.wm.save_as_mainfile(filepath=path)
    assert main(["train", path, "--steps", "48", "--out", out, "--force", "--pretrain"]) == 2
    assert "no Training Brain has demonstrations" in capsys.readouterr().err
