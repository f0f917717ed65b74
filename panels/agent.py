"""Object properties → Agent."""

import bpy

from ..env.academy import AcademyError
from ..env.behaviours import behaviour_revision
from ..env.groups import brain_spaces

# Compiling a Brain's behaviours on every redraw would resolve every data path many times a
# second; the summary is recomputed only when an agent of the Brain or its behaviour changes.
_summaries: dict[tuple, tuple[str, str]] = {}


def spaces_summary(scene, brain_name: str) -> tuple[str, str]:
    """(text, icon) describing the Brain's observation and action sizes, or why they are unknown."""
    agents = tuple(
        (
            o.name,
            behaviour_revision(o),
            tuple((s.name, s.object.name if s.object else "") for s in o.academy_agent.objects),
        )
        for o in scene.objects
        if o.academy_agent.enabled and o.academy_agent.brain == brain_name
    )
    key = (scene.name, brain_name, agents)
    if key not in _summaries:
        if len(_summaries) > 64:
            _summaries.clear()
        try:
            obs, act, n = brain_spaces(scene, brain_name)
            _summaries[key] = (f"{n} agent(s) · observations {obs.describe()} · actions {act.describe()}", "INFO")
        except AcademyError as exc:
            _summaries[key] = (str(exc), "ERROR")
    return _summaries[key]


class ACADEMY_UL_agent_objects(bpy.types.UIList):
    """Objects this agent's behaviour refers to by name"""

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index):
        row = layout.row(align=True)
        row.prop(item, "name", text="", emboss=False, icon="LINKED")
        row.prop(item, "object", text="")


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
        if "behaviour_tree" in agent.bl_rna.properties:
            layout.prop(agent, "behaviour_tree")
        elif agent.behaviour_json:
            layout.label(text="Behaviour: built by a script", icon="SCRIPT")
        layout.prop(agent, "max_steps")
        layout.prop(agent, "reset_on_done")
        layout.prop(agent, "team")

        layout.use_property_split = False
        layout.label(text="Agent Objects")
        row = layout.row()
        row.template_list("ACADEMY_UL_agent_objects", "", agent, "objects", agent, "active_object_index", rows=2)
        col = row.column(align=True)
        col.operator("academy.agent_object_add", icon="ADD", text="")
        col.operator("academy.agent_object_remove", icon="REMOVE", text="")
        if agent.enabled and agent.brain in context.scene.academy.brains:
            text, icon = spaces_summary(context.scene, agent.brain)
            layout.label(text=text, icon=icon)
