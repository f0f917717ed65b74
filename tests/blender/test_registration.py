"""The add-on registers everything it declares, its handlers drive sessions, its UI draws."""

import bpy
import pytest
from recording_layout import draw_panel

pytestmark = pytest.mark.lts


def test_every_class_handler_and_property_is_registered(academy):
    classes = academy.all_classes()
    assert classes and all(cls.is_registered for cls in classes)
    for name, fn in academy.all_handlers():
        assert fn in getattr(bpy.app.handlers, name)
    assert isinstance(bpy.context.scene.academy, academy.properties.AcademySettings)
    assert isinstance(bpy.context.object.academy_agent, academy.properties.AgentSettings)
    assert academy._cli_handle is not None
    assert academy.__name__ == "bl_ext.academy_dev.agent_academy"


def test_property_groups_register_before_their_users(academy):
    order = academy.all_classes()
    groups = [i for i, c in enumerate(order) if issubclass(c, bpy.types.PropertyGroup)]
    others = [i for i, c in enumerate(order) if not issubclass(c, bpy.types.PropertyGroup)]
    assert max(groups) < min(others)


def test_every_property_has_a_name_and_description(academy):
    for cls in academy.properties.CLASSES:
        for prop in cls.bl_rna.properties:
            if prop.identifier in {"rna_type", "name"} or prop.identifier.startswith("bl_"):
                continue
            assert prop.name, f"{cls.__name__}.{prop.identifier} has no name"
            assert prop.description, f"{cls.__name__}.{prop.identifier} has no description"


def test_a_failed_registration_is_rolled_back(academy, monkeypatch):
    academy.unregister()
    try:
        assert not any(cls.is_registered for cls in academy.all_classes())
        assert not hasattr(bpy.types.Scene, "academy")
        # Make registration fail late: after every class and property is in, on a bad handler list.
        monkeypatch.setattr(academy.env, "HANDLERS", academy.env.HANDLERS + (("no_such_handler", print),))
        with pytest.raises(AttributeError, match="no_such_handler"):
            academy.register()
        assert not any(cls.is_registered for cls in academy.all_classes())
        assert not hasattr(bpy.types.Scene, "academy") and not hasattr(bpy.types.Object, "academy_agent")
        for name, fn in academy.env.HANDLERS[:-1]:
            assert fn not in getattr(bpy.app.handlers, name)
        assert academy._cli_handle is None
    finally:
        monkeypatch.undo()
        academy.register()
    assert all(cls.is_registered for cls in academy.all_classes())


class _RecordingSession:
    def __init__(self, scene_name):
        self.scene_name = scene_name
        self.frames: list[int] = []
        self.stopped = 0

    def on_frame_change_pre(self, scene):
        pass

    def on_frame_change(self, scene, depsgraph):
        self.frames.append(scene.frame_current)

    def stop(self):
        self.stopped += 1

    def suspend_for_save(self):
        return None

    def resume_after_save(self, token):
        pass


def test_frame_changes_drive_only_the_sessions_of_that_scene(academy):
    scene = bpy.context.scene
    other = bpy.data.scenes.new("Other")
    mine, theirs = _RecordingSession(scene.name), _RecordingSession(other.name)
    academy.env.start_session(mine)
    academy.env.start_session(theirs)
    for frame in (2, 3, 4):
        scene.frame_set(frame)
    assert mine.frames == [2, 3, 4]
    assert theirs.frames == []
    with pytest.raises(RuntimeError, match="already has a running"):
        academy.env.start_session(_RecordingSession(scene.name))
    academy.env.stop_all_sessions()
    assert (mine.stopped, theirs.stopped) == (1, 1)
    assert academy.env.active_sessions() == ()


def test_loading_a_file_stops_running_sessions(academy):
    session = _RecordingSession(bpy.context.scene.name)
    academy.env.start_session(session)
    bpy.ops.wm.read_homefile(app_template="")
    assert session.stopped == 1
    assert academy.env.active_sessions() == ()


def test_brain_operators_add_remove_and_duplicate(academy):
    ac = bpy.context.scene.academy
    assert bpy.ops.academy.brain_remove.poll() is False
    assert bpy.ops.academy.brain_add() == {"FINISHED"}
    assert bpy.ops.academy.brain_add() == {"FINISHED"}
    assert [b.name for b in ac.brains] == ["Brain", "Brain.001"]
    ac.brains[1].brain_type = "HEURISTIC"
    ac.brains[1].algorithm = "DQN"
    ac.brains[1].dqn.gamma = 0.5
    ac.brains[1].trained_steps = 99
    assert bpy.ops.academy.brain_duplicate() == {"FINISHED"}
    assert [b.name for b in ac.brains] == ["Brain", "Brain.001", "Brain.002"]
    assert (ac.brains[2].brain_type, ac.brains[2].algorithm) == ("HEURISTIC", "DQN")
    assert ac.brains[2].dqn.gamma == 0.5 and ac.brains[2].trained_steps == 0  # settings, not the model
    assert ac.active_brain_index == 2
    ac.active_brain_index = 0
    assert bpy.ops.academy.brain_remove() == {"FINISHED"}
    assert [b.name for b in ac.brains] == ["Brain.001", "Brain.002"]


def test_panels_draw_for_empty_configured_and_broken_scenes(academy):
    context = bpy.context
    panels = [c for c in academy.panels.CLASSES if issubclass(c, bpy.types.Panel)]
    logs = {p.__name__: draw_panel(p, context) for p in panels}
    assert logs["ACADEMY_PT_brain"] == [("poll-false",)]  # no Brain yet

    bpy.ops.academy.brain_add()
    agent = context.object.academy_agent
    agent.enabled, agent.brain = True, "Brain"
    logs = {p.__name__: draw_panel(p, context) for p in panels}
    assert ("prop", "BrainSettings", "brain_type") in logs["ACADEMY_PT_brain"]
    assert ("prop_search", "AgentSettings", "brain") in logs["ACADEMY_PT_agent"]
    assert not any(entry[0] == "label" and "No Brain" in entry[1] for entry in logs["ACADEMY_PT_agent"])

    agent.brain = "Missing"  # a broken configuration is explained, not a traceback
    log = draw_panel(academy.panels.ACADEMY_PT_agent, context)
    assert ("label", "No Brain named 'Missing' in this scene") in log
