"""Curricula in the scene: lessons advance on their criterion (not before their minimum length) and set
the reset parameters the agents start from; Training Progress reads the run's fraction; gymnasium's
reset options set reset parameters."""

import importlib

import bpy
import numpy as np
import pytest

from devtools import boot

M = boot.MODULE
Session = importlib.import_module(M + ".env.session").Session
AcademyError = importlib.import_module(M + ".env.errors").AcademyError
gym_driver = importlib.import_module(M + ".drivers.gym")

pytestmark = pytest.mark.lts

EPISODE = 3  # decisions per episode; the reward is 1 per decision, so every return is 3


def start_tree(progress: bool = False):
    """Observe X (and, with ``progress``, Training Progress); each episode starts at x = reset parameter
    "start"; one discrete action that moves nothing; reward 1."""
    tree = bpy.data.node_groups.new("Start", "AcademyNodeTree")
    tf = tree.nodes.new("AcademyTransformNode")
    sep = tree.nodes.new("AcademySeparateNode")
    tree.links.new(tf.outputs["Location"], sep.inputs[0])
    obs = tree.nodes.new("AcademyObserveNode")
    obs.name = "Observe 1"
    tree.links.new(sep.outputs["X"], obs.inputs[0])
    if progress:
        tp = tree.nodes.new("AcademyTrainingProgressNode")
        obs2 = tree.nodes.new("AcademyObserveNode")
        obs2.name = "Observe 2"
        tree.links.new(tp.outputs["Progress"], obs2.inputs[0])
    act = tree.nodes.new("AcademyDiscreteActionNode")
    act.branches = "Wait: A, B"
    tree.nodes.new("AcademyRewardNode")
    param = tree.nodes.new("AcademyResetParameterNode")
    param.parameter = "start"
    place = tree.nodes.new("AcademySetTransformNode")
    place.axis, place.when = "X", "RESET"
    tree.links.new(param.outputs["Value"], place.inputs["Value"])
    heuristic = tree.nodes.new("AcademyHeuristicActionNode")
    heuristic.size = 1
    return tree


def scene_with_lessons(agents=2, brain_type="HEURISTIC", progress=False, min_length=4, measure="REWARD",
                       threshold=2.5):  # fmt: skip
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    academy = scene.academy
    academy.decision_period, academy.max_steps = 1, EPISODE
    param = academy.reset_parameters.add()
    param.name, param.value = "start", 1.0
    for name, start in (("Near", 2.0), ("Far", 5.0)):
        lesson = academy.lessons.add()
        lesson.name, lesson.measure, lesson.threshold, lesson.min_length = name, measure, threshold, min_length
        value = lesson.values.add()
        value.name, value.value = "start", start
    brain = academy.brains.add()
    brain.name, brain.brain_type = "B", brain_type
    tree = start_tree(progress)
    for i in range(agents):
        obj = bpy.data.objects.new(f"Agent{i}", None)
        scene.collection.objects.link(obj)
        obj.academy_agent.enabled, obj.academy_agent.brain = True, "B"
        obj.academy_agent.behaviour_tree = tree
    return scene


def _decisions(session, scene, n):
    """(lesson, episodes, observed x of every agent) at each of ``n`` decisions."""
    out = []
    state = session.academy.brains["B"]
    for _ in range(n):
        scene.frame_set(scene.frame_current + 1)
        assert session.error is None, session.error
        out.append((session.curriculum.lesson, state.stats.episodes, np.asarray(state.last_obs)[:, 0].copy()))
    return out


def test_a_lesson_advances_at_its_threshold_after_min_length():
    scene = scene_with_lessons()
    session = Session(scene, training=False, steps=0).start()
    seen = _decisions(session, scene, 4 * EPISODE)
    session.finish(store=False)
    for lesson, episodes, _xs in seen:
        # 2 agents end an episode together every EPISODE decisions: 4 episodes after 2 rounds
        assert lesson == (1 if episodes >= 4 else 0), (lesson, episodes)
    # each episode starts where its lesson puts it: x = 2 in Near, 5 in Far (the Academy's own 1 never)
    first = [xs for _, episodes, xs in seen if episodes == 0][0]
    np.testing.assert_array_equal(first, [2.0, 2.0])
    after = [xs for lesson, episodes, xs in seen if lesson == 1 and episodes >= 6]
    assert after and all((x == 5.0).all() for x in after)
    assert session.stats["B"].lessons == [(0, 0), (4 * EPISODE, 1)]
    assert session.stats["B"].scalars()["Environment/Lesson"] == 1.0


def test_a_lesson_stays_below_its_threshold_or_min_length():
    for kwargs in ({"threshold": 3.5}, {"min_length": 50}):
        scene = scene_with_lessons(**kwargs)
        session = Session(scene, training=False, steps=0).start()
        seen = _decisions(session, scene, 6 * EPISODE)
        session.finish(store=False)
        assert seen[-1][1] >= 10 and {lesson for lesson, _, _ in seen} == {0}, kwargs


def test_training_progress_reads_the_runs_fraction_and_a_progress_lesson_follows_it():
    import torch

    torch.set_num_threads(1)
    scene = scene_with_lessons(brain_type="TRAINING", progress=True, min_length=1, measure="PROGRESS", threshold=0.5)
    scene.academy.brains["B"].ppo.num_steps = 16
    total = 120
    session = Session(scene, training=True, steps=total).start()
    state = session.academy.brains["B"]
    seen = []
    while session.tick(0.0):  # one frame (or update slice) at a time
        obs = np.asarray(state.last_obs)
        seen.append((session.agent_steps, obs[0, 1], session.curriculum.lesson))
    assert session.error is None, session.error
    lessons = session.stats["B"].lessons
    session.finish(store=True)
    # observed at a decision: the steps taken before it (2 agents: a decision adds 2)
    for steps, progress, _ in seen:
        assert progress == pytest.approx(max(0, steps - 2) / total), (steps, progress)
    assert seen[-1][0] == total and seen[-1][1] == pytest.approx((total - 2) / total)
    # the lesson moved once half the steps were taken, at the first episode end after that
    (start, _), (moved_at, lesson) = lessons
    assert start == 0 and lesson == 1 and total / 2 <= moved_at <= total / 2 + 2 * EPISODE
    assert scene.academy.current_lesson == 1
    # Play starts where the training run ended (Far: x = 5) and reads Training Progress 0
    scene.academy.brains["B"].brain_type = "HEURISTIC"
    play = Session(scene, training=False, steps=0).start()
    obs = np.asarray(play.academy.brains["B"].last_obs)
    play.finish(store=False)
    np.testing.assert_array_equal(obs, [[5.0, 0.0], [5.0, 0.0]])


def test_gym_reset_options_set_reset_parameters_over_the_lessons():
    scene = scene_with_lessons(agents=1)
    env = gym_driver.make_env(scene, "B")
    try:
        obs, _ = env.reset()
        assert obs[0] == 2.0  # the first lesson's
        obs, _ = env.reset(options={"reset_parameters": {"start": 7.5}})
        assert obs[0] == 7.5
        obs, _ = env.reset()
        assert obs[0] == 7.5  # it holds until set again
        with pytest.raises(AcademyError, match="Reset parameter 'speed' is not defined by the Academy"):
            env.reset(options={"reset_parameters": {"speed": 1.0}})
    finally:
        env.close()


def test_lessons_that_name_what_the_academy_lacks_are_refused_by_name():
    scene = scene_with_lessons()
    scene.academy.lessons["Near"].values[0].name = "gap"
    with pytest.raises(AcademyError, match="Lesson 'Near': sets reset parameter 'gap'"):
        Session(scene, training=False, steps=0)


def test_sb3_set_options_set_reset_parameters():
    pytest.importorskip("stable_baselines3")
    scene = scene_with_lessons(agents=2)
    venv = gym_driver.make_sb3_vec_env(scene, "B")
    try:
        np.testing.assert_array_equal(venv.reset()[:, 0], [2.0, 2.0])
        venv.set_options({"reset_parameters": {"start": -3.0}})
        np.testing.assert_array_equal(venv.reset()[:, 0], [-3.0, -3.0])
    finally:
        venv.close()


def test_lesson_operators_and_the_curriculum_panel(academy):
    from recording_layout import draw_panel

    scene = scene_with_lessons()
    assert bpy.ops.academy.lesson_add() == {"FINISHED"}
    assert [lesson.name for lesson in scene.academy.lessons] == ["Near", "Far", "Lesson"]
    assert scene.academy.active_lesson == 2
    assert bpy.ops.academy.lesson_value_add() == {"FINISHED"}  # to the selected lesson
    assert bpy.ops.academy.lesson_value_add() == {"FINISHED"}
    lesson = scene.academy.lessons["Lesson"]
    assert len(lesson.values) == 2 and lesson.active_lesson_value == 1
    lesson.active_lesson_value = 0
    assert bpy.ops.academy.lesson_value_remove() == {"FINISHED"}
    assert len(lesson.values) == 1
    scene.academy.current_lesson = 1
    log = draw_panel(academy.panels.academy.ACADEMY_PT_curriculum, bpy.context)
    assert ("label", "Current lesson: Far (2 of 3)") in [entry[:2] for entry in log]
    assert ("prop", "Lesson", "min_length") in log
    scene.academy.active_lesson = 0
    assert bpy.ops.academy.lesson_remove() == {"FINISHED"}
    assert [lesson.name for lesson in scene.academy.lessons] == ["Far", "Lesson"]


def test_a_lesson_measures_the_brain_it_names():
    scene = scene_with_lessons()
    scene.academy.lessons["Near"].brain = "B"
    session = Session(scene, training=False, steps=0).start()
    seen = _decisions(session, scene, 3 * EPISODE)
    session.finish(store=False)
    assert seen[-1][0] == 1
    scene.academy.lessons["Near"].brain = "Nobody"
    with pytest.raises(AcademyError, match="Lesson 'Near': Brain 'Nobody' is not running"):
        Session(scene, training=False, steps=0)


def test_a_run_file_replaces_the_lessons_and_writes_them_back(tmp_path):
    run_config = importlib.import_module(M + ".drivers.run_config")
    scene = scene_with_lessons()
    path = tmp_path / "run.toml"
    path.write_text(
        "[academy]\nseed = 3\n\n"
        '[[academy.lessons]]\nname = "One"\nmeasure = "progress"\nthreshold = 0.25\nmin_length = 7\nbrain = "B"\n'
        "values = { start = { min = 1.0, max = 2.0 } }\n\n"
        '[[academy.lessons]]\nname = "Two"\nvalues = { start = 4.0 }\n'
    )
    changed = run_config.apply_config(scene, path)
    assert "academy.lessons" in changed and scene.academy.seed == 3
    one, two = scene.academy.lessons
    assert (one.name, one.measure, one.threshold, one.min_length, one.brain) == ("One", "PROGRESS", 0.25, 7, "B")
    assert (one.values[0].name, one.values[0].mode, one.values[0].minimum, one.values[0].maximum) == (
        "start", "UNIFORM", 1.0, 2.0)  # fmt: skip
    assert (two.name, two.values[0].mode, two.values[0].value) == ("Two", "FIXED", 4.0)
    # written back, the file sets the same lessons
    again = tmp_path / "again.toml"
    run_config.write_config(scene, again)
    scene.academy.lessons.clear()
    run_config.apply_config(scene, again)
    assert [(lesson.name, lesson.measure, lesson.min_length) for lesson in scene.academy.lessons] == [
        ("One", "PROGRESS", 7), ("Two", "REWARD", 100)]  # fmt: skip
    assert scene.academy.lessons[0].values[0].maximum == 2.0
    # a wrong key names the lesson and the key, and sets nothing
    path.write_text('[academy]\nseed = 9\n\n[[academy.lessons]]\nname = "One"\nmin_lenght = 3\n')
    with pytest.raises(run_config.RunConfigError, match=r"\[academy.lessons 1\] min_lenght: unknown key; did you mean"):
        run_config.apply_config(scene, path)
    assert scene.academy.seed == 3 and len(scene.academy.lessons) == 2


def test_worker_processes_refuse_a_curriculum(tmp_path):
    """Each worker would follow its own lessons from its own statistics: refused until the driver decides them."""
    workers = importlib.import_module(M + ".drivers.workers")
    scene = scene_with_lessons(brain_type="TRAINING")
    with pytest.raises(AcademyError, match="Academy Lessons: training with worker processes does not follow"):
        workers.train_workers(scene, tmp_path, workers=1, steps=100, progress=False)
