"""Curriculum: lessons advance on their criterion, not before their minimum length, without Blender."""

import math

import pytest

from academy_pure.core.curriculum import Curriculum, CurriculumError, Lesson, Value


def three_lessons(min_length=3):
    return [
        Lesson("Easy", {"gap": Value("FIXED", 1.0)}, "REWARD", threshold=0.5, min_length=min_length),
        Lesson("Middle", {"gap": Value("UNIFORM", low=1.0, high=2.0)}, "PROGRESS", threshold=0.6, min_length=1),
        Lesson("Hard", {"gap": Value("FIXED", 3.0)}),
    ]


def test_a_reward_lesson_completes_on_the_mean_of_its_last_min_length_episodes_and_not_before():
    c = Curriculum(three_lessons(), ["gap"], ["B"])
    assert c.current.name == "Easy" and c.values() == {"gap": Value("FIXED", 1.0)}
    c.record("B", [1.0, 1.0])  # mean 1 but only 2 of the 3 episodes
    assert not c.advance(0.0)
    c.record("B", [-2.0])  # 3 episodes, mean 0 < 0.5
    assert not c.advance(0.0) and math.isclose(c.mean_return, 0.0)
    c.record("B", [1.0])  # the last 3: 1, -2, 1 -> 0
    assert not c.advance(0.0)
    c.record("B", [1.0, 0.5])  # last 3: 1, 1, 0.5
    assert c.advance(0.0)
    assert c.current.name == "Middle" and c.episodes == 0 and math.isnan(c.mean_return)


def test_a_progress_lesson_completes_at_its_fraction_of_the_run_and_the_last_never_completes():
    c = Curriculum(three_lessons(), ["gap"], ["B"])
    c.go_to(1)
    assert not c.advance(0.9)  # no episode in the lesson yet (min length 1)
    c.record("B", [0.0])
    assert not c.advance(0.59)
    assert c.advance(0.6)
    assert c.current.name == "Hard"
    c.record("B", [100.0] * 200)
    assert not c.advance(1.0) and c.current.name == "Hard"


def test_only_the_measured_brains_episodes_count():
    lessons = [Lesson("A", {}, threshold=0.0, min_length=2, brain="Runner"), Lesson("B")]
    c = Curriculum(lessons, [], ["Runner", "Chaser"])
    c.record("Chaser", [5.0, 5.0, 5.0])
    assert c.episodes == 0 and not c.advance(0.0)
    c.record("Runner", [0.0, 0.0])
    assert c.advance(0.0)


def test_lessons_that_cannot_run_name_the_lesson():
    with pytest.raises(CurriculumError, match="Lesson 'Easy'.*'speed', which the Academy does not define"):
        Curriculum([Lesson("Easy", {"speed": Value()}), Lesson("Hard")], ["gap"], ["B"])
    with pytest.raises(CurriculumError, match="Lesson 'Easy': name the Brain"):
        Curriculum([Lesson("Easy"), Lesson("Hard")], [], ["A", "B"])
    with pytest.raises(CurriculumError, match="Lesson 'Easy': Brain 'C' is not running"):
        Curriculum([Lesson("Easy", brain="C"), Lesson("Hard")], [], ["A", "B"])
    with pytest.raises(CurriculumError, match="Lesson 'Easy': Min Length is 0"):
        Lesson("Easy", min_length=0)
    with pytest.raises(CurriculumError, match="Lesson 'Easy': parameter 'gap' has Minimum 2 above"):
        Lesson("Easy", {"gap": Value("UNIFORM", low=2.0, high=1.0)})
    with pytest.raises(CurriculumError, match="measure must be one of"):
        Lesson("Easy", measure="ELO")


def test_no_lessons_set_nothing():
    c = Curriculum([], ["gap"], ["B"])
    assert c.current is None and c.values() == {} and not c.advance(1.0)


def test_brain_stats_carry_the_lesson_to_tensorboard_and_the_summary():
    import numpy as np

    from academy_pure.core.stats import BrainStats

    s = BrainStats("B", n=1)
    ended = []
    s.on_episodes = lambda stats, returns: ended.append(returns)
    assert "Environment/Lesson" not in s.scalars() and "lessons" not in s.summary()
    s.set_lesson(0)
    s.record(np.array([2.0]), np.array([True]), np.array([False]), np.array([False]), np.array([True]))
    s.set_lesson(1)
    s.set_lesson(1)  # no change, no entry
    assert ended == [[2.0]]
    assert s.scalars()["Environment/Lesson"] == 1.0
    assert s.summary()["lesson"] == 1 and s.summary()["lessons"] == [[0, 0], [1, 1]]
