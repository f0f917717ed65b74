"""A session's curriculum and training progress (see ``core.curriculum`` for the lessons' rules).

:class:`CurriculumRun` follows the Academy's lessons as episodes end: each Brain's statistics tell
it their returns (``BrainStats.on_episodes``), and once the current lesson's criterion holds the
next lesson's values replace the reset parameters it names, from each agent's next episode reset
on. It also gives every behaviour its Training Progress (the run's fraction of agent steps) and
takes the reset parameter values a gymnasium ``reset(options={"reset_parameters": ...})`` sets,
which apply over any lesson's until they are set again.

A training run starts at the first lesson; any other session (Play, a gym environment, a bake)
starts at the lesson the last training run reached (``scene.academy.current_lesson``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import bpy

from ..core.curriculum import Curriculum, CurriculumError, Value
from ..core.stats import BrainStats
from .errors import AcademyError


class CurriculumRun:
    """The lessons and the training progress of one session (``session``: an ``env.session.Session``)."""

    def __init__(self, scene, session):
        self.session = session
        self.scene_name = scene.name
        academy = session.academy
        lessons = [lesson.lesson() for lesson in scene.academy.lessons]
        try:
            self.curriculum = Curriculum(
                lessons, [p.name for p in scene.academy.reset_parameters], list(academy.brains)
            )
        except CurriculumError as exc:
            raise AcademyError(f"Academy: {exc}") from None
        self.parameters = {p.name for p in scene.academy.reset_parameters}
        self.options: dict[str, Value] = {}  # set by gymnasium's reset options
        for state in academy.brains.values():
            for g in state.groups:
                g.ctx.training_progress = self.progress
        if lessons:
            start = 0 if session.training else min(scene.academy.current_lesson, len(lessons) - 1)
            self.curriculum.go_to(start)
            for state in academy.brains.values():
                state.stats.on_episodes = self._ended
            self._apply(scene)

    def progress(self) -> float:
        """The fraction (0..1) of the training run's agent steps taken; 0 when not training or unlimited."""
        session = self.session
        if not session.training or session.total_steps <= 0:
            return 0.0
        return min(1.0, session.academy.agent_steps / session.total_steps)

    @property
    def lesson(self) -> int | None:
        """The current lesson's index (None without lessons)."""
        return self.curriculum.lesson if self.curriculum.lessons else None

    def set_parameters(self, values: Mapping[str, float]) -> None:
        """Fix reset parameters (by name) from now on, over any lesson's values; applied at each agent's next reset."""
        for name, value in values.items():
            if name not in self.parameters:
                known = ", ".join(sorted(self.parameters)) or "none"
                raise AcademyError(f"Reset parameter '{name}' is not defined by the Academy (it defines: {known})")
            value = float(value)
            if not math.isfinite(value):
                raise AcademyError(f"Reset parameter '{name}': {value} is not a finite number")
            self.options[name] = Value("FIXED", value)
        self._apply(None)

    def _ended(self, stats: BrainStats, returns: list[float]) -> None:
        self.curriculum.record(stats.name, returns)
        if self.curriculum.advance(self.progress()):
            self._apply(None)

    def _apply(self, scene) -> None:
        """Make the current lesson's values (and the gym options over them) the ones resets draw."""
        academy = self.session.academy
        academy.resets.overrides = {**self.curriculum.values(), **self.options}
        lesson = self.lesson
        if lesson is None:
            return
        for state in academy.brains.values():
            state.stats.set_lesson(lesson)
        if self.session.training:  # the read-out the panel shows, and where Play starts
            scene = scene if scene is not None else bpy.data.scenes.get(self.scene_name)
            if scene is not None and scene.academy.current_lesson != lesson:
                scene.academy.current_lesson = lesson
