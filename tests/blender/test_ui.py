"""The designer's workflow: panels draw in every state, operators match the core API, tick keeps its budget."""

import importlib
import json
import subprocess
import sys

import bpy
import numpy as np
import pytest
from recording_layout import draw_panel

from devtools import boot

M = boot.MODULE
bb = importlib.import_module(M + ".examples.balance_ball")
Session = importlib.import_module(M + ".env.session").Session
sessions = importlib.import_module(M + ".env.sessions")
brains_mod = importlib.import_module(M + ".env.brains")
torch_setup = importlib.import_module(M + ".env.torch_setup")
player = importlib.import_module(M + ".env.player")
run_ops = importlib.import_module(M + ".operators.run")

pytestmark = pytest.mark.lts
STATE = importlib.import_module(M + ".core.names").STATE_KEY


def balance_ball(agents=2, brain_type="TRAINING"):
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bb.build(bpy.context.scene, agents=agents)
    scene.academy.brains[0].brain_type = brain_type
    return scene


@pytest.fixture(scope="module")
def trained_state():
    """A briefly trained Balance Ball Brain (2 agents), as stored bytes."""
    import torch

    torch.set_num_threads(1)
    scene = balance_ball()
    session = Session(scene, training=True, steps=600).start()
    session.run()
    session.finish()
    return bytes(scene.academy.brains[0][STATE])


def panels(academy):
    return [c for c in academy.panels.CLASSES if issubclass(c, bpy.types.Panel)]


# -- panels -------------------------------------------------------------------------------


def test_panels_draw_in_an_empty_scene(academy):
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.context.view_layer.objects.active = None
    for panel in panels(academy):
        draw_panel(panel, bpy.context)


def test_panels_draw_a_configured_scene_every_brain_type_and_a_running_session(academy, trained_state):
    scene = balance_ball()
    scene.academy.brains[0][STATE] = trained_state
    scene.academy.brains[0]["academy_curve"] = [0.0, 1.0, 10.0, 1000.0, 5.0, 50.0, 2000.0, 9.0, 90.0]
    bpy.ops.academy.reset_parameter_add()
    bpy.context.view_layer.objects.active = scene.objects["Platform.000"]
    for brain_type in ("TRAINING", "INFERENCE", "HEURISTIC", "PLAYER"):
        scene.academy.brains[0].brain_type = brain_type
        if brain_type == "PLAYER":
            bpy.ops.academy.player_key_add()
        logs = {p.__name__: draw_panel(p, bpy.context) for p in panels(academy)}
        assert ("prop", "BrainSettings", "brain_type") in logs["ACADEMY_PT_brain"]
        drawn = {p for p, log in logs.items() if log != [("poll-false",)]}
        assert ("ACADEMY_PT_brain_learning" in drawn) == (brain_type == "TRAINING")
        assert ("ACADEMY_PT_brain_player" in drawn) == (brain_type == "PLAYER")
        assert ("label", "Learning curve: 3 points") in logs["ACADEMY_PT_viewport"]  # background: no icons
        assert academy.panels.curves._previews[f"{scene.name}/3DBall"].image_size[0] > 0  # the picture
        agent_labels = [e[1] for e in logs["ACADEMY_PT_agent"] if e[0] == "label"]
        assert "2 agent(s) · observations Box(8,) · actions Box(2,)" in agent_labels, agent_labels
    scene.academy.brains[0].brain_type = "INFERENCE"
    assert bpy.ops.academy.play() == {"FINISHED"}
    for _ in range(12):
        scene.frame_set(scene.frame_current + 1)
    log = draw_panel(academy.panels.ACADEMY_PT_viewport, bpy.context)
    assert ("label", "Playing") in log
    bpy.ops.academy.stop()


def test_panels_explain_a_broken_configuration(academy):
    scene = balance_ball()
    agent = scene.objects["Platform.001"].academy_agent
    agent.objects.clear()  # its behaviour needs the "Ball" Agent Object
    bpy.context.view_layer.objects.active = scene.objects["Platform.001"]
    log = draw_panel(academy.panels.ACADEMY_PT_agent, bpy.context)
    errors = [e[1] for e in log if e[0] == "label" and "Agent Object 'Ball'" in e[1]]
    assert errors, log
    agent.brain = "Gone"
    log = draw_panel(academy.panels.ACADEMY_PT_agent, bpy.context)
    assert ("label", "No Brain named 'Gone' in this scene") in log
    scene.academy.brains[0].brain_type = "INFERENCE"  # and no trained model
    log = draw_panel(academy.panels.ACADEMY_PT_brain, bpy.context)
    assert ("label", "No trained model: train it or import one") in log


# -- operators ----------------------------------------------------------------------------


def test_train_operator_gives_the_same_result_as_the_core_api(academy):
    import torch

    torch.set_num_threads(1)
    scene = balance_ball()
    core = Session(scene, training=True, steps=400).start()
    core.run()
    core.finish()
    core_brain = scene.academy.brains[0]
    core_result = (core_brain.trained_steps, list(core_brain["academy_curve"]), bytes(core_brain[STATE]))

    scene = balance_ball()
    assert bpy.ops.academy.train(steps=400) == {"FINISHED"}
    brain = scene.academy.brains[0]
    assert (brain.trained_steps, list(brain["academy_curve"])) == core_result[:2]
    policy_a = brains_mod.InferenceRunner("a", *brain_spaces(scene), 2, core_result[2])
    policy_b = brains_mod.InferenceRunner("b", *brain_spaces(scene), 2, bytes(brain[STATE]))
    obs = np.linspace(-1, 1, 16, dtype=np.float32).reshape(2, 8)
    np.testing.assert_array_equal(policy_a.decide(obs), policy_b.decide(obs))
    assert sessions.active_sessions() == ()


def brain_spaces(scene):
    obs, act, _n = importlib.import_module(M + ".env.groups").brain_spaces(scene, "3DBall")
    return obs, act


def test_train_is_disabled_with_the_reason(academy, monkeypatch):
    scene = balance_ball(brain_type="HEURISTIC")
    assert not bpy.ops.academy.train.poll()
    assert "No Brain of type Training" in run_ops._why_not_train(bpy.context)
    scene.academy.brains[0].brain_type = "TRAINING"
    monkeypatch.setattr(run_ops, "torch_available", lambda: False)
    assert "needs PyTorch" in run_ops._why_not_train(bpy.context)
    monkeypatch.undo()
    assert bpy.ops.academy.train.poll()
    with pytest.raises(RuntimeError, match="Brain '3DBall' has not been trained yet: press Train first"):
        bpy.ops.academy.play()  # Play runs an untrained Training Brain as Inference: refused, with the reason
    heuristic = scene.academy.brains.add()  # a second Brain...
    heuristic.name, heuristic.brain_type = "Hand", "HEURISTIC"
    scene.objects["Platform.001"].academy_agent.brain = "Hand"
    scene.objects["Platform.000"].academy_agent.enabled = False
    assert bpy.ops.academy.play() == {"FINISHED"}  # ...that can play
    assert "already running" in run_ops._why_not_train(bpy.context)
    bpy.ops.academy.stop()


def test_play_drives_agents_through_frame_changes_and_stop_restores(academy, trained_state):
    scene = balance_ball(brain_type="INFERENCE")
    scene.academy.brains[0][STATE] = trained_state
    bpy.context.view_layer.update()
    before = [tuple(o.matrix_world.translation) + tuple(o.rotation_euler) for o in scene.objects]
    assert bpy.ops.academy.play() == {"FINISHED"}
    session = sessions.session_for(scene.name)
    for _ in range(30):
        scene.frame_set(scene.frame_current + 1)
    assert session.decisions >= 6 and session.error is None
    assert scene.objects["Platform.000"].rotation_euler[:2] != (0.0, 0.0)  # the policy tilts
    assert bpy.ops.academy.stop() == {"FINISHED"}
    bpy.context.view_layer.update()
    after = [tuple(o.matrix_world.translation) + tuple(o.rotation_euler) for o in scene.objects]
    np.testing.assert_allclose(after, before, atol=1e-6)


def test_player_brain_follows_held_keys(academy):
    scene = balance_ball(brain_type="PLAYER")
    brain = scene.academy.brains[0]
    for key, action, value in (("W", 0, 1.0), ("S", 0, -1.0), ("D", 1, 1.0)):
        bpy.ops.academy.player_key_add()
        k = brain.player_keys[-1]
        k.key, k.action, k.value = key, action, value
    bpy.ops.academy.play()
    session = sessions.session_for(scene.name)
    player.clear()
    player.press("W")
    player.press("D")
    for _ in range(5):
        scene.frame_set(scene.frame_current + 1)
    np.testing.assert_allclose(session.brain("3DBall").last_actions, [[1.0, 1.0], [1.0, 1.0]])
    player.release("W")
    player.press("S")
    for _ in range(5):
        scene.frame_set(scene.frame_current + 1)
    np.testing.assert_allclose(session.brain("3DBall").last_actions, [[-1.0, 1.0], [-1.0, 1.0]])
    player.clear()
    bpy.ops.academy.stop()
    brain.active_player_key = 1
    assert bpy.ops.academy.player_key_remove() == {"FINISHED"}
    assert [k.key for k in brain.player_keys] == ["W", "D"]


def test_export_import_and_forget_a_model(academy, trained_state, tmp_path):
    scene = balance_ball(brain_type="INFERENCE")
    brain = scene.academy.brains[0]
    assert not bpy.ops.academy.brain_export.poll()  # nothing to export yet
    brain[STATE] = trained_state
    path = tmp_path / "model.academy"
    assert bpy.ops.academy.brain_export(filepath=str(path), format="CHECKPOINT") == {"FINISHED"}
    assert path.read_bytes() == trained_state
    onnx_path = tmp_path / "model.onnx"
    assert bpy.ops.academy.brain_export(filepath=str(onnx_path), format="ONNX") == {"FINISHED"}
    assert onnx_path.stat().st_size > 1000
    good = onnx_path.read_bytes()
    onnx_io = importlib.import_module(M + ".env.brain_io")
    real = onnx_io.write_atomic_with

    def corrupting(path, produce, verify=None):  # the disk loses the end of what the exporter wrote
        def produce_then_cut(tmp):
            produce(tmp)
            data = open(tmp, "rb").read()
            open(tmp, "wb").write(data[: len(data) // 3])

        return real(path, produce_then_cut, verify)

    onnx_io.write_atomic_with = corrupting
    try:
        with pytest.raises(RuntimeError, match="Brain '3DBall': could not export .*ONNX file does not read back"):
            bpy.ops.academy.brain_export(filepath=str(onnx_path), format="ONNX")
    finally:
        onnx_io.write_atomic_with = real
    assert onnx_path.read_bytes() == good  # the earlier export is kept
    with pytest.raises(RuntimeError, match="Brain '3DBall': could not export to .*Permission denied|Is a directory"):
        bpy.ops.academy.brain_export(filepath=str(tmp_path), format="CHECKPOINT")  # a folder, not a file
    assert bpy.ops.academy.brain_forget() == {"FINISHED"}
    assert STATE not in brain and brain.trained_steps == 0
    assert bpy.ops.academy.brain_import(filepath=str(path)) == {"FINISHED"}
    assert bytes(brain[STATE]) == trained_state and brain.trained_steps >= 600


def test_export_onnx_in_each_convention(academy, trained_state, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    scene = balance_ball(brain_type="INFERENCE")
    brain = scene.academy.brains[0]
    brain[STATE] = trained_state
    names = {}
    for convention in ("ACADEMY", "MLAGENTS", "GODOT"):
        path = tmp_path / f"{convention}.onnx"
        assert bpy.ops.academy.brain_export(filepath=str(path), format="ONNX", convention=convention) == {"FINISHED"}
        sess = ort.InferenceSession(str(path))
        names[convention] = ([i.name for i in sess.get_inputs()], [o.name for o in sess.get_outputs()])
        meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
        assert meta["convention"] == convention.lower()
    assert names["ACADEMY"] == (["obs"], ["action", "policy_output"])
    kinds = ["continuous_actions", "continuous_action_output_shape", "deterministic_continuous_actions"]
    assert names["MLAGENTS"] == (["obs_0"], ["version_number", "memory_size", *kinds])
    assert names["GODOT"] == (["obs", "state_ins"], ["output", "state_outs"])
    brain_io = importlib.import_module(M + ".env.brain_io")
    with pytest.raises(brain_io.BrainIOError, match="unknown ONNX convention 'sentis'"):
        brain_io.export_brain(brain, tmp_path / "x.onnx", "ONNX", "sentis")
    assert not (tmp_path / "x.onnx").exists()


def test_import_refuses_a_model_of_another_shape(academy, trained_state, tmp_path):
    path = tmp_path / "model.academy"
    path.write_bytes(trained_state)
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    agent = bpy.data.objects.new("A", None)
    scene.collection.objects.link(agent)
    bpy.ops.academy.brain_add()
    agent.academy_agent.enabled, agent.academy_agent.brain = True, "Brain"
    specs = importlib.import_module(M + ".core.specs")
    importlib.import_module(M + ".env.behaviours").set_behaviour(
        agent, specs.Behaviour(observations=(specs.Location(),), actions=specs.ContinuousActions(2))
    )
    with pytest.raises(
        RuntimeError, match=r"'Brain': .* was trained for observations Box\(8,\).*its agents have Box\(3,\)"
    ):
        bpy.ops.academy.brain_import(filepath=str(path))
    assert STATE not in scene.academy.brains[0]
    (tmp_path / "bad.academy").write_bytes(b"\x80\x04not a state")
    with pytest.raises(RuntimeError, match="pickle"):
        bpy.ops.academy.brain_import(filepath=str(tmp_path / "bad.academy"))


def test_list_operators(academy):
    scene = balance_ball()
    bpy.context.view_layer.objects.active = scene.objects["Platform.000"]
    agent = scene.objects["Platform.000"].academy_agent
    assert bpy.ops.academy.agent_object_add() == {"FINISHED"}
    assert [s.name for s in agent.objects] == ["Ball", "Target"]
    agent.active_object_index = 1
    assert bpy.ops.academy.agent_object_remove() == {"FINISHED"}
    assert [s.name for s in agent.objects] == ["Ball"]
    bpy.ops.academy.reset_parameter_add()
    bpy.ops.academy.reset_parameter_add()
    assert [p.name for p in scene.academy.reset_parameters] == ["parameter", "parameter.001"]
    assert scene.academy.active_reset_parameter == 1 and scene.academy.active_brain_index == 0  # own selection
    scene.academy.active_reset_parameter = 0
    bpy.ops.academy.reset_parameter_remove()  # removes the selected one
    assert [p.name for p in scene.academy.reset_parameters] == ["parameter.001"]
    assert [b.name for b in scene.academy.brains] == ["3DBall"]


# -- tick keeps its budget ----------------------------------------------------------------


def test_tick_overruns_its_budget_by_at_most_one_step(academy):
    """With a virtual clock: every frame costs 7 ms and every update slice 30 ms (no wall-clock time)."""
    import torch

    torch.set_num_threads(1)
    scene = balance_ball()
    session = Session(scene, training=True, steps=5_000).start()
    now = [0.0]
    session.clock = lambda: now[0]

    def frame_cost(scene, depsgraph=None):
        now[0] += 0.007

    bpy.app.handlers.frame_change_post.append(frame_cost)
    real_slice = session.academy.update_slice

    def slice_cost(k=1):
        now[0] += 0.030
        return real_slice(k)

    session.academy.update_slice = slice_cost
    worst = 0.0
    try:
        for _ in range(80):
            start = now[0]
            session.tick(0.05)
            worst = max(worst, now[0] - start)
    finally:
        bpy.app.handlers.frame_change_post.remove(frame_cost)
    assert session.agent_steps > 0 and session.update_slices > 0
    assert worst <= 0.05 + 0.030 + 1e-9
    session.finish()


# -- PyTorch in Blender -------------------------------------------------------------------


def test_install_torch_is_refused_without_online_access(academy):
    assert bpy.app.online_access is False  # background Blender: no network unless allowed
    assert not bpy.ops.academy.install_torch.poll()
    with pytest.raises(PermissionError, match="Allow Online Access"):
        torch_setup.install()


def test_pip_failures_are_explained(tmp_path):
    script = "import sys; print('Collecting torch'); print('ERROR: No space left on device'); sys.exit(1)"
    inst = torch_setup.Installer([sys.executable, "-c", script], str(tmp_path)).start()
    inst.wait(60)
    assert inst.done and not inst.ok and inst.message == "The disk is full: free some space and try again"
    msg = torch_setup.explain_failure("ERROR: No matching distribution found for torch", "/x")
    assert msg.startswith("No PyTorch build exists for this platform")
    assert "network" in torch_setup.explain_failure("NewConnectionError: [Errno 101] Network is unreachable", "/x")
    cmd = torch_setup.pip_command("/target", "CPU", "https://example.invalid/cpu")
    assert cmd[-1] == "torch" and "--target" in cmd and "--index-url" in cmd
    with pytest.raises(ValueError, match="needs the package index"):
        torch_setup.pip_command("/target", "CPU", "")


def test_without_torch_the_extension_registers_plays_and_explains_train(trained_state, tmp_path):
    state_file = tmp_path / "state.academy"
    state_file.write_bytes(trained_state)
    script = tmp_path / "no_torch.py"
    script.write_text(
        "import sys, json\n"
        "sys.modules['torch'] = None  # as in a Blender without PyTorch\n"
        f"sys.path.insert(0, {str(boot.ROOT)!r})\n"
        "from devtools import boot\n"
        "mod = boot.boot()\n"
        "import bpy, importlib\n"
        "bb = importlib.import_module(mod.__name__ + '.examples.balance_ball')\n"
        "run = importlib.import_module(mod.__name__ + '.operators.run')\n"
        "bpy.ops.wm.read_homefile(use_empty=True)\n"
        "scene = bb.build(bpy.context.scene, agents=2)\n"
        "brain = scene.academy.brains[0]\n"
        f"brain['academy_state'] = open({str(state_file)!r}, 'rb').read()\n"
        "reason = run._why_not_train(bpy.context)\n"
        "brain.brain_type = 'INFERENCE'\n"
        "assert bpy.ops.academy.play() == {'FINISHED'}\n"
        "for _ in range(20): scene.frame_set(scene.frame_current + 1)\n"
        "s = importlib.import_module(mod.__name__ + '.env.sessions').session_for(scene.name)\n"
        "out = {'reason': reason, 'decisions': s.decisions, 'error': repr(s.error),\n"
        "       'torch_loaded': 'torch' in sys.modules and sys.modules['torch'] is not None}\n"
        "bpy.ops.academy.stop()\n"
        "assert bpy.ops.academy.bake(brain='3DBall', frame_start=1, frame_end=30) == {'FINISHED'}\n"
        "bake = importlib.import_module(mod.__name__ + '.bake')\n"
        "out['takes'] = [t.name for t in bake.takes(scene)]\n"
        "out['torch_loaded'] = out['torch_loaded'] or ('torch' in sys.modules and sys.modules['torch'] is not None)\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "needs PyTorch" in out["reason"] and "Install PyTorch" in out["reason"]
    assert out["decisions"] >= 4 and out["error"] == "None" and not out["torch_loaded"]
    assert out["takes"] == ["3DBall seed 0 1-30"]  # and bakes, through the numpy forward pass


def test_bake_operator_gives_the_same_take_as_the_core_api(academy, trained_state):
    bake_mod = importlib.import_module(M + ".bake")
    scene = balance_ball(brain_type="INFERENCE")
    scene.academy.brains[0][STATE] = trained_state
    core = bake_mod.bake(scene, "3DBall", 1, 40, seed=3)
    core_keys = core.keys
    bake_mod.remove_take(scene, core.take)
    assert bpy.ops.academy.bake(brain="3DBall", frame_start=1, frame_end=40, seed=3, takes=2) == {"FINISHED"}
    found = {t.name: t for t in bake_mod.takes(scene)}
    assert core.take in found and len(found) == 2
    assert {t.seed for t in found.values()} == {3, 4}
    again = bake_mod.bake(scene, "3DBall", 1, 40, seed=3)  # re-baking a take replaces it
    assert again.keys == core_keys and len(bake_mod.takes(scene)) == 2


def test_bake_is_disabled_without_a_brain_that_can_act(academy):
    balance_ball(brain_type="INFERENCE")  # no trained model
    assert not bpy.ops.academy.bake.poll()


def test_saving_during_training_saves_the_designers_scene_and_the_weights(academy, tmp_path):
    import torch

    torch.set_num_threads(1)
    scene = balance_ball()
    bpy.context.view_layer.update()
    designed = {o.name: tuple(o.rotation_euler) for o in scene.objects}
    session = Session(scene, training=True, steps=100_000).start()
    for _ in range(10):
        session.tick(0.05)
    assert any(tuple(o.rotation_euler) != designed[o.name] for o in scene.objects)  # training tilts platforms
    running = {o.name: tuple(o.rotation_euler) for o in scene.objects}
    path = tmp_path / "mid.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
    assert {o.name: tuple(o.rotation_euler) for o in scene.objects} == running  # training state is back
    steps_at_save = session.agent_steps
    session.tick(0.05)  # and training goes on
    assert session.agent_steps > steps_at_save and session.error is None
    session.finish()
    bpy.ops.wm.open_mainfile(filepath=str(path))
    saved = bpy.context.scene
    assert {o.name: tuple(o.rotation_euler) for o in saved.objects} == designed
    assert saved.academy.brains[0].trained_steps > 0 and saved.academy.brains[0].get(STATE)


def test_undo_does_not_lose_what_was_trained(academy):
    import torch

    torch.set_num_threads(1)
    scene = balance_ball()
    bpy.ops.ed.undo_push(message="before training")
    session = Session(scene, training=True, steps=300).start()
    session.run()
    session.finish()
    trained = scene.academy.brains[0].trained_steps
    assert trained >= 300
    scene.academy.brains[0].name = "Renamed"  # an edit after training...
    bpy.ops.ed.undo_push(message="rename")
    bpy.ops.ed.undo()  # ...undone: memfile undo reloads older data, possibly without the model
    brain = bpy.context.scene.academy.brains[0]
    assert brain.trained_steps == trained and brain.get(STATE)


def test_training_after_a_bake_runs_on_the_designers_scene_not_the_take(academy, trained_state):
    bake_mod = importlib.import_module(M + ".bake")
    scene = balance_ball(brain_type="INFERENCE")
    scene.academy.brains[0][STATE] = trained_state
    bake_mod.bake(scene, "3DBall", 1, 60, seed=0)
    scene.academy.brains[0].brain_type = "HEURISTIC"
    session = Session(scene, training=False, steps=0).start()
    tracks = [t for o in scene.objects if o.animation_data for t in o.animation_data.nla_tracks]
    assert tracks and all(t.mute for t in tracks)  # the take does not fight the agents
    ball = scene.objects["Ball.000"]
    assert not ball.rigid_body.kinematic or session.academy.resets.holds  # physics, not the take's Animated keys
    for _ in range(20):
        scene.frame_set(scene.frame_current + 1)
    assert session.error is None
    session.finish()
    assert not any(t.mute for t in tracks)  # the take plays again afterwards


EXAMPLES = list(importlib.import_module(M + ".examples").EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES)
def test_add_example_builds_a_ready_scene(academy, example):
    before = set(bpy.data.scenes.keys())
    assert bpy.ops.academy.add_example(example=example) == {"FINISHED"}
    (name,) = set(bpy.data.scenes.keys()) - before
    scene = bpy.data.scenes[name]
    obs, act, n = brain_spaces_of(scene)
    assert n >= 8 and obs is not None and act is not None
    menu = academy.panels.ACADEMY_MT_examples
    from recording_layout import RecordingLayout

    class Proxy:
        layout = RecordingLayout()

    menu.draw(Proxy, bpy.context)
    assert [e for e in Proxy.layout.log if e[0] == "operator"] == [("operator", "academy.add_example")] * len(EXAMPLES)


def brain_spaces_of(scene):
    groups = importlib.import_module(M + ".env.groups")
    (brain,) = scene.academy.brains
    return groups.brain_spaces(scene, brain.name)


def test_the_status_line_shows_how_each_brain_learns():
    """The exploration rate, a loss and the learning rate are on screen while training (issue 11.3)."""
    import seek_scene
    import torch

    torch.set_num_threads(1)
    scene = seek_scene.build(agents=4, algorithm="DQN")
    session = Session(scene, training=True, steps=10_000).start()
    line = run_ops.status_line(session)
    assert "eps 1.00" in line, line
    session.tick(600.0, until_steps=2_000)
    while session.update_pending:
        session.tick(0.0)
    later = run_ops.status_line(session)
    assert "loss" in later and "lr" in later and "eps 1.00" not in later, later
    session.finish(store=False)
    scene.academy.brains[0].brain_type = "HEURISTIC"
    play = Session(scene, training=False, steps=0)
    # nothing learns: the Brain's own mean reward and no learning figures
    assert run_ops.status_line(play).endswith(" episodes · mean reward –   (Esc to stop)")
    play.finish(store=False)


def test_a_broken_pytorch_reads_as_not_loading_is_imported_once_and_the_preferences_still_draw(tmp_path):
    """find_spec finds a broken install; only importing it tells (issue 12.4)."""
    fake = tmp_path / "site" / "torch"
    fake.mkdir(parents=True)
    marker = tmp_path / "imports.txt"
    (fake / "__init__.py").write_text(
        f"open({str(marker)!r}, 'a').write('x')\nraise OSError('libtorch_cpu.so: cannot open shared object file')\n"
    )
    script = tmp_path / "broken_torch.py"
    script.write_text(
        "import sys, json\n"
        f"sys.path.insert(0, {str(tmp_path / 'site')!r})\n"
        f"sys.path.insert(0, {str(boot.ROOT)!r}); sys.path.insert(0, {str(boot.ROOT / 'tests' / 'blender')!r})\n"
        "from devtools import boot\n"
        "mod = boot.boot()\n"
        "import bpy, importlib\n"
        "from recording_layout import RecordingLayout\n"
        "ts = importlib.import_module(mod.__name__ + '.env.torch_setup')\n"
        "run = importlib.import_module(mod.__name__ + '.operators.run')\n"
        "prefs = importlib.import_module(mod.__name__ + '.properties.preferences')\n"
        "bb = importlib.import_module(mod.__name__ + '.examples.balance_ball')\n"
        "bpy.ops.wm.read_homefile(use_empty=True)\n"
        "bb.build(bpy.context.scene, agents=2)\n"
        "status = [ts.torch_status(), ts.torch_status(), ts.torch_available()]\n"
        "real = bpy.context.preferences.addons[mod.__name__].preferences\n"
        "class Proxy:\n"
        "    layout = RecordingLayout()\n"
        "    def __getattr__(self, name): return getattr(real, name)\n"
        "proxy = Proxy()\n"
        "prefs.AcademyPreferences.draw(proxy, bpy.context)\n"
        "labels = [e[1] for e in proxy.layout.log if e[0] == 'label']\n"
        "print(json.dumps({'status': status, 'reason': run._why_not_train(bpy.context), 'labels': labels}))\n"
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    first, second, available = out["status"]
    assert first == second == [False, "OSError: libtorch_cpu.so: cannot open shared object file"]
    assert available is False and marker.read_text() == "x"  # imported once, then remembered
    assert "Training needs PyTorch" in out["reason"]
    assert any("installed but does not load (OSError" in label for label in out["labels"]), out["labels"]


def test_train_with_a_broken_tree_reports_the_node_not_a_traceback():
    """A failure while the session starts (here: an undefined Reset Parameter) is reported by the operator."""
    scene = balance_ball()
    tree = bpy.data.node_groups["Balance Ball"]
    node = tree.nodes.new("AcademyResetParameterNode")
    node.name, node.parameter = "Wind", "wind"
    observe = next(n for n in tree.nodes if n.bl_idname == "AcademyObserveNode")
    tree.links.new(node.outputs[0], observe.inputs[0])
    before = scene.objects["Platform.000"].matrix_world.copy()
    with pytest.raises(RuntimeError) as info:
        bpy.ops.academy.train(steps=50)
    message = str(info.value)
    assert "Traceback" not in message and "node 'Wind': reads reset parameter 'wind'" in message, message
    assert scene.objects["Platform.000"].matrix_world == before


def test_train_writes_tensorboard_runs_next_to_the_saved_blend_without_the_package(academy, tmp_path, monkeypatch):
    import sys

    import torch

    torch.set_num_threads(1)
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # a stock Blender: the package does not import
    scene = balance_ball()
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "designed.blend"))
    assert bpy.ops.academy.train(steps=400) == {"FINISHED"}
    runs = tmp_path / "academy_runs" / scene.name
    events = sorted(p.parent.name for p in runs.glob("*/events.out.tfevents.*"))
    assert events == ["3DBall"]
    tensorboard = importlib.import_module(M + ".core.tensorboard")
    (event_file,) = (runs / "3DBall").glob("events.out.tfevents.*")
    assert tensorboard.read_scalars(event_file)
