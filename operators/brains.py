"""Add, remove and duplicate the Brains of the scene's Academy."""

import bpy

from .lists import list_operators, unique_name


def copy_settings(source, target, skip: set[str] = frozenset()) -> None:
    """Copy every RNA property of a PropertyGroup onto another, nested groups included."""
    for prop in source.bl_rna.properties:
        name = prop.identifier
        if name == "rna_type" or name in skip:
            continue
        if prop.type == "POINTER" and isinstance(getattr(source, name), bpy.types.PropertyGroup):
            copy_settings(getattr(source, name), getattr(target, name))
        elif prop.type == "COLLECTION":
            dst = getattr(target, name)
            dst.clear()
            for item in getattr(source, name):
                copy_settings(item, dst.add())
        elif not prop.is_readonly:
            setattr(target, name, getattr(source, name))


ACADEMY_OT_brain_add, ACADEMY_OT_brain_remove = list_operators(
    "brain", lambda context: context.scene.academy, "brains", "active_brain_index", "Brain",
    "No scene", "No Brain is selected",
    "Add a new Brain to the scene's Academy", "Remove the selected Brain from the scene's Academy",
    "Brain",
)  # fmt: skip


class ACADEMY_OT_brain_duplicate(bpy.types.Operator):
    """Copy the selected Brain's settings into a new Brain"""

    bl_idname = "academy.brain_duplicate"
    bl_label = "Duplicate Brain"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return ACADEMY_OT_brain_remove.poll(context)

    def execute(self, context):
        academy = context.scene.academy
        source = academy.active_brain
        copy = academy.brains.add()
        copy_settings(source, copy, skip={"name", "uid", "trained_steps", "mean_reward"})
        copy.name = unique_name(academy.brains, source.name)
        academy.active_brain_index = len(academy.brains) - 1
        return {"FINISHED"}
