"""Add, remove and duplicate the Brains of the scene's Academy."""

import bpy


def unique_brain_name(academy, base: str) -> str:
    """``base``, or ``base.001``, ``base.002``... whichever no Brain of ``academy`` has yet."""
    taken = {brain.name for brain in academy.brains}
    if base not in taken:
        return base
    stem = base.rsplit(".", 1)[0] if base[-4:-3] == "." and base[-3:].isdigit() else base
    n = 1
    while f"{stem}.{n:03d}" in taken:
        n += 1
    return f"{stem}.{n:03d}"


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


class ACADEMY_OT_brain_add(bpy.types.Operator):
    """Add a new Brain to the scene's Academy"""

    bl_idname = "academy.brain_add"
    bl_label = "Add Brain"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        academy = context.scene.academy
        brain = academy.brains.add()
        brain.name = unique_brain_name(academy, "Brain")
        academy.active_brain_index = len(academy.brains) - 1
        return {"FINISHED"}


class ACADEMY_OT_brain_remove(bpy.types.Operator):
    """Remove the selected Brain from the scene's Academy"""

    bl_idname = "academy.brain_remove"
    bl_label = "Remove Brain"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        academy = context.scene.academy
        if not 0 <= academy.active_brain_index < len(academy.brains):
            cls.poll_message_set("No Brain is selected")
            return False
        return True

    def execute(self, context):
        academy = context.scene.academy
        index = academy.active_brain_index
        academy.brains.remove(index)
        academy.active_brain_index = max(0, min(index, len(academy.brains) - 1))
        return {"FINISHED"}


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
        source = academy.brains[academy.active_brain_index]
        copy = academy.brains.add()
        copy_settings(source, copy, skip={"name", "uid", "trained_steps", "mean_reward"})
        copy.name = unique_brain_name(academy, source.name)
        academy.active_brain_index = len(academy.brains) - 1
        return {"FINISHED"}
