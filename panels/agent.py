"""Object properties → Agent."""

import bpy


class ACADEMY_PT_agent(bpy.types.Panel):
    """Make this object a learning agent"""

    bl_label = "Agent"
    bl_idname = "ACADEMY_PT_agent"
    bl_space_type = "PROPERTIES"
    bl_region_type = "WINDOW"
    bl_context = "object"

    @classmethod
    def poll(cls, context):
        return context.object is not None

    def draw_header(self, context):
        self.layout.prop(context.object.academy_agent, "enabled", text="")

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        agent = context.object.academy_agent
        layout.active = agent.enabled
        layout.prop_search(agent, "brain", context.scene.academy, "brains", icon="OUTLINER_DATA_GP_LAYER")
        if agent.brain and agent.brain not in context.scene.academy.brains:
            layout.label(text=f"No Brain named '{agent.brain}' in this scene", icon="ERROR")
        layout.prop(agent, "max_steps")
        layout.prop(agent, "reset_on_done")
