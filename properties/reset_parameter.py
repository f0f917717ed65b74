"""A reset parameter: a named value the Academy chooses at each episode reset (fixed or drawn).

Also the number checks every settings group uses (:func:`check_numbers`), here so the Academy's
and the curriculum's property groups can share them.
"""

import bpy

from ..core.limits import Range, SettingsError, check_range

# Numeric properties that are not settings: list selections and read-outs of the last training run.
NOT_SETTINGS = frozenset({"active_brain_index", "active_reset_parameter", "active_player_key", "active_object_index",
                          "mean_reward", "trained_steps", "active_lesson", "active_lesson_value",
                          "current_lesson", "elo"})  # fmt: skip


def check_numbers(group, label: str, props=None) -> None:
    """Check every number of ``group`` (or only ``props``) against its property's own min/max, and that
    it is finite.

    The property definitions are the ranges: the UI cannot leave them, but a .blend can carry any value
    (ID properties written from Python, old files). Raises :class:`SettingsError` "``label`` Name is ...".
    """
    for prop in group.bl_rna.properties if props is None else props:
        if (
            prop.type in {"INT", "FLOAT"}
            and not getattr(prop, "array_length", 0)
            and prop.identifier not in NOT_SETTINGS
        ):
            allowed = Range(prop.hard_min, prop.hard_max)
            check_range(f"{label}{prop.name}", getattr(group, prop.identifier), allowed)


def _keep_minimum_below(self, context) -> None:
    if self.maximum < self.minimum:
        self.maximum = self.minimum


def _keep_maximum_above(self, context) -> None:
    if self.minimum > self.maximum:
        self.minimum = self.maximum


class ResetParameter(bpy.types.PropertyGroup):
    """A named value that is fixed or drawn at random at each episode reset."""

    # ``name`` comes from PropertyGroup and is the key behaviour trees refer to.
    mode: bpy.props.EnumProperty(
        name="Mode",
        description="How the value is chosen at each episode reset",
        items=(
            ("FIXED", "Fixed", "Always the same value"),
            ("UNIFORM", "Uniform", "Drawn uniformly between Minimum and Maximum at every reset"),
        ),
        default="FIXED",
    )
    value: bpy.props.FloatProperty(name="Fixed Value", description="The value in Fixed mode", default=0.0)
    # Raising Minimum above Maximum raises Maximum with it (and the other way round), as Blender's frame range does.
    minimum: bpy.props.FloatProperty(
        name="Minimum", description="Lower bound in Uniform mode", default=0.0, update=_keep_minimum_below
    )
    maximum: bpy.props.FloatProperty(
        name="Maximum", description="Upper bound in Uniform mode", default=1.0, update=_keep_maximum_above
    )

    def check(self) -> None:
        """Raise :class:`SettingsError` naming this parameter if a value is not finite or Minimum > Maximum."""
        check_numbers(self, f"Academy: reset parameter '{self.name}': ")
        if self.mode == "UNIFORM" and self.minimum > self.maximum:
            raise SettingsError(
                f"Academy: reset parameter '{self.name}' has Minimum {self.minimum:g} above its Maximum "
                f"{self.maximum:g}; Uniform draws between them"
            )
