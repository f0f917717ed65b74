"""Curricula: lessons that set the Academy's reset parameters, in the spirit of ML-Agents'
``environment_parameters``.

A curriculum is an ordered list of :class:`Lesson`. The current lesson's values replace those of
the reset parameters it names (the others keep the Academy's own setting); they apply at each
agent's next episode reset. A lesson completes when its criterion holds: at least ``min_length``
episodes of the measured Brain have ended in it, and its measure reaches ``threshold`` —
``REWARD``: the mean return of the Brain's last ``min_length`` episodes in the lesson;
``PROGRESS``: the fraction of the training run's agent steps taken (0..1). The last lesson never
completes. Plain Python, no bpy: ``env.curricula`` feeds it the episodes as they end.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

MEASURES = ("REWARD", "PROGRESS")


class CurriculumError(ValueError):
    """A lesson that cannot run; the message names the lesson."""


@dataclass(frozen=True)
class Value:
    """A reset parameter's value in a lesson: ``FIXED`` (``value``) or ``UNIFORM`` in [low, high]."""

    mode: str = "FIXED"
    value: float = 0.0
    low: float = 0.0
    high: float = 1.0

    def astuple(self) -> tuple[str, float, float, float]:
        return self.mode, self.value, self.low, self.high


@dataclass(frozen=True)
class Lesson:
    """One lesson: the reset parameters it sets and when it is complete (see the module docstring)."""

    name: str
    values: Mapping[str, Value] = field(default_factory=dict)
    measure: str = "REWARD"
    threshold: float = 0.0
    min_length: int = 100
    brain: str = ""  # whose episodes count ('' : the only Brain, see Curriculum)

    def __post_init__(self) -> None:
        if self.measure not in MEASURES:
            raise CurriculumError(f"Lesson '{self.name}': measure must be one of {', '.join(MEASURES)}")
        if self.min_length < 1:
            raise CurriculumError(f"Lesson '{self.name}': Min Length is {self.min_length}, it must be at least 1")
        for name, v in self.values.items():
            if v.mode not in ("FIXED", "UNIFORM"):
                raise CurriculumError(f"Lesson '{self.name}': parameter '{name}' has an unknown mode {v.mode!r}")
            if v.mode == "UNIFORM" and v.low > v.high:
                raise CurriculumError(
                    f"Lesson '{self.name}': parameter '{name}' has Minimum {v.low:g} above its Maximum {v.high:g}"
                )


class Curriculum:
    """The lessons of one run and where it is in them.

    ``parameters``: the Academy's reset parameter names (every lesson value must name one);
    ``brains``: the running Brains (a lesson measures one of them; '' names the only one).
    """

    def __init__(self, lessons: Iterable[Lesson], parameters: Iterable[str], brains: Iterable[str]):
        self.lessons = tuple(lessons)
        known, running = set(parameters), list(brains)
        resolved = []
        for lesson in self.lessons:
            for name in lesson.values:
                if name not in known:
                    raise CurriculumError(
                        f"Lesson '{lesson.name}': sets reset parameter '{name}', which the Academy does not define"
                    )
            brain = lesson.brain
            if not brain:
                if len(running) != 1 and lesson is not self.lessons[-1]:
                    raise CurriculumError(
                        f"Lesson '{lesson.name}': name the Brain whose episodes it measures "
                        f"(running: {', '.join(running)})"
                    )
                brain = running[0] if running else ""
            elif brain not in running and lesson is not self.lessons[-1]:
                raise CurriculumError(f"Lesson '{lesson.name}': Brain '{brain}' is not running in this scene")
            resolved.append(brain)
        self._brains = resolved
        self.lesson = 0
        self.episodes = 0  # episodes of the measured Brain ended in the current lesson
        self._returns: deque[float] = deque(maxlen=self.lessons[0].min_length if self.lessons else 1)

    @property
    def current(self) -> Lesson | None:
        return self.lessons[self.lesson] if self.lessons else None

    @property
    def measured_brain(self) -> str:
        """The Brain whose episodes the current lesson counts."""
        return self._brains[self.lesson] if self.lessons else ""

    def values(self) -> dict[str, Value]:
        """The reset parameter values the current lesson sets (empty without lessons)."""
        return dict(self.current.values) if self.lessons else {}

    def record(self, brain: str, returns: Iterable[float]) -> None:
        """Episodes of ``brain`` that just ended, with their returns."""
        if not self.lessons or brain != self.measured_brain:
            return
        for r in returns:
            self.episodes += 1
            self._returns.append(float(r))

    @property
    def mean_return(self) -> float:
        """Mean return of the measured Brain's last ``min_length`` episodes in this lesson (NaN before any)."""
        return sum(self._returns) / len(self._returns) if self._returns else float("nan")

    def complete(self, progress: float) -> bool:
        """Whether the current lesson's criterion holds (``progress``: the run's fraction of steps, 0..1)."""
        lesson = self.current
        if lesson is None or self.lesson == len(self.lessons) - 1 or self.episodes < lesson.min_length:
            return False
        if lesson.measure == "PROGRESS":
            return progress >= lesson.threshold
        return self.mean_return >= lesson.threshold

    def advance(self, progress: float) -> bool:
        """Move to the next lesson if the current one is complete; True if it moved."""
        if not self.complete(progress):
            return False
        self.go_to(self.lesson + 1)
        return True

    def go_to(self, lesson: int) -> None:
        """Start lesson ``lesson`` (its count of episodes from zero)."""
        if not 0 <= lesson < max(1, len(self.lessons)):
            raise CurriculumError(f"there is no lesson {lesson} (the curriculum has {len(self.lessons)})")
        self.lesson = lesson
        self.episodes = 0
        self._returns = deque(maxlen=self.lessons[lesson].min_length if self.lessons else 1)
