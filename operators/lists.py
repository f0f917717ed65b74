"""Add and remove items of the Academy's lists: reset parameters, Agent Objects, Player keys."""

import bpy


def _add(collection, base: str):
    item = collection.add()
    taken = {i.name for i in collection if i != item}
    name, n = base, 1
    while name in taken:
        name, n = f"{base}.{n:03d}", n + 1
    item.name = name
    return item


class ACADEMY_OT_reset_parameter_add(bpy.types.Operator):
    """Add a reset parameter: a value drawn again at every episode reset"""

    bl_idname = "academy.reset_parameter_add"
    bl_label = "Add Reset Parameter"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        _add(context.scene.academy.reset_parameters, "parameter")
        return {"FINISHED"}


class ACADEMY_OT_reset_parameter_remove(bpy.types.Operator):
    """Remove a reset parameter"""

    bl_idname = "academy.reset_parameter_remove"
    bl_label = "Remove Reset Parameter"
    bl_options = {"REGISTER", "UNDO"}

    index: bpy.props.IntProperty(name="Index", description="Which parameter", default=-1)

    @classmethod
    def poll(cls, context):
        if not len(context.scene.academy.reset_parameters):
            cls.poll_message_set("There are no reset parameters")
            return False
        return True

    def execute(self, context):
        params = context.scene.academy.reset_parameters
        index = self.index if 0 <= self.index < len(params) else len(params) - 1
        params.remove(index)
        return {"FINISHED"}


class ACADEMY_OT_agent_object_add(bpy.types.Operator):
    """Link an object to this agent under a name its behaviour uses (e.g. its ball)"""

    bl_idname = "academy.agent_object_add"
    bl_label = "Add Agent Object"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        if context.object is None:
            cls.poll_message_set("No active object")
            return False
        return True

    def execute(self, context):
        agent = context.object.academy_agent
        _add(agent.objects, "Target")
        agent.active_object_index = len(agent.objects) - 1
        return {"FINISHED"}


class ACADEMY_OT_agent_object_remove(bpy.types.Operator):
    """Remove the selected Agent Object"""

    bl_idname = "academy.agent_object_remove"
    bl_label = "Remove Agent Object"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        obj = context.object
        if obj is None or not len(obj.academy_agent.objects):
            cls.poll_message_set("This agent has no Agent Objects")
            return False
        return True

    def execute(self, context):
        agent = context.object.academy_agent
        index = min(agent.active_object_index, len(agent.objects) - 1)
        agent.objects.remove(index)
        agent.active_object_index = max(0, index - 1)
        return {"FINISHED"}


class ACADEMY_OT_player_key_add(bpy.types.Operator):
    """Bind a key to an action of the selected Player Brain"""

    bl_idname = "academy.player_key_add"
    bl_label = "Add Key"
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
        brain = academy.brains[academy.active_brain_index]
        brain.player_keys.add()
        brain.active_player_key = len(brain.player_keys) - 1
        return {"FINISHED"}


class ACADEMY_OT_player_key_remove(bpy.types.Operator):
    """Remove the selected key binding"""

    bl_idname = "academy.player_key_remove"
    bl_label = "Remove Key"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        academy = context.scene.academy
        if not 0 <= academy.active_brain_index < len(academy.brains):
            cls.poll_message_set("No Brain is selected")
            return False
        if not len(academy.brains[academy.active_brain_index].player_keys):
            cls.poll_message_set("The Brain has no key bindings")
            return False
        return True

    def execute(self, context):
        academy = context.scene.academy
        brain = academy.brains[academy.active_brain_index]
        index = min(brain.active_player_key, len(brain.player_keys) - 1)
        brain.player_keys.remove(index)
        brain.active_player_key = max(0, index - 1)
        return {"FINISHED"}
