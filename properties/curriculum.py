"""Curriculum lessons on the Academy: each sets reset parameters until its completion criterion holds
(see ``core.curriculum``)."""

import bpy

from ..core.curriculum import Lesson as CoreLesson
from ..core.curriculum import Value
from ..core.limits import SettingsError
from .reset_parameter import ResetParameter, check_numbers

MEASURES = (
    ("REWARD", "Mean Reward", "Complete when the Brain's mean episode reward over the lesson's last Min Length "
     "episodes reaches the threshold"),
    ("PROGRESS", "Training Progress", "Complete when this fraction (0..1) of the training run's steps is done"),
)  # fmt: skip


class Lesson(bpy.types.PropertyGroup):
    """One lesson of the Academy's curriculum: the reset parameters it sets and when it is complete."""

    # ``name`` comes from PropertyGroup: the lesson's name, shown in the panel and the statistics.
    values: bpy.props.CollectionProperty(
        type=ResetParameter,
        name="Values",
        description="Reset parameters this lesson sets (each by the name of an Academy reset parameter); the "
        "others keep the Academy's own setting",
    )
    active_lesson_value: bpy.props.IntProperty(name="Active Value", description="The selected value", min=0)
    measure: bpy.props.EnumProperty(
        name="Measure", description="What completes the lesson", items=MEASURES, default="REWARD"
    )
    threshold: bpy.props.FloatProperty(
        name="Threshold",
        description="The lesson completes when the measure reaches this (mean reward, or fraction of the run)",
        default=0.0,
    )
    min_length: bpy.props.IntProperty(
        name="Min Length",
        description="Episodes of the Brain that must end in this lesson before it can complete",
        default=100,
        min=1,
    )
    brain: bpy.props.StringProperty(
        name="Measured Brain", description="The Brain whose episodes the lesson measures (empty: the only Brain)"
    )

    def check(self) -> None:
        """Raise :class:`SettingsError` naming this lesson if one of its numbers is out of range."""
        check_numbers(self, f"Academy: lesson '{self.name}': ")
        for value in self.values:
            check_numbers(value, f"Academy: lesson '{self.name}': parameter '{value.name}': ")
            if value.mode == "UNIFORM" and value.minimum > value.maximum:
                raise SettingsError(
                    f"Academy: lesson '{self.name}': parameter '{value.name}' has Minimum {value.minimum:g} above its "
                    f"Maximum {value.maximum:g}"
                )

    def lesson(self) -> CoreLesson:
        """This lesson as ``core.curriculum.Lesson``."""
        values = {v.name: Value(v.mode, v.value, v.minimum, v.maximum) for v in self.values}
        return CoreLesson(self.name, values, self.measure, self.threshold, self.min_length, self.brain.strip())
