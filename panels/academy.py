"""Scene properties → Academy."""

import bpy


class ACADEMY_UL_brains(bpy.types.UIList):
    """The Brains of the scene's Academy"""

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index):
        icons = {"TRAINING": "PLAY", "INFERENCE": "FORWARD", "HEURISTIC": "NODETREE", "PLAYER": "EVENT_SPACEKEY"}
        row = layout.row(align=True)
        row.prop(item, "name", text="", emboss=False, icon=icons.get(item.brain_type, "DOT"))
        row.label(text=item.bl_rna.properties["brain_type"].enum_items[item.brain_type].name)


class ACADEMY_PT_academy(bpy.types.Panel):
    """Agent Academy settings of this scene"""

    bl_label = "Academy"
    bl_idname = "ACADEMY_PT_academy"
    bl_space_type = "PROPERTIES"
    bl_region_type = "WINDOW"
    bl_context = "scene"

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        academy = context.scene.academy
        col = layout.column()
        col.prop(academy, "decision_period")
        col.prop(academy, "max_steps")
        col.prop(academy, "seed")
        col.prop(academy, "training_steps")

        layout.use_property_split = False
        layout.label(text="Brains")
        row = layout.row()
        row.template_list("ACADEMY_UL_brains", "", academy, "brains", academy, "active_brain_index", rows=3)
        col = row.column(align=True)
        col.operator("academy.brain_add", icon="ADD", text="")
        col.operator("academy.brain_remove", icon="REMOVE", text="")
        col.separator()
        col.operator("academy.brain_duplicate", icon="DUPLICATE", text="")


class ACADEMY_PT_brain(bpy.types.Panel):
    """Settings of the Brain selected in the list"""

    bl_label = "Brain"
    bl_idname = "ACADEMY_PT_brain"
    bl_parent_id = "ACADEMY_PT_academy"
    bl_space_type = "PROPERTIES"
    bl_region_type = "WINDOW"
    bl_context = "scene"

    @classmethod
    def poll(cls, context):
        academy = context.scene.academy
        return 0 <= academy.active_brain_index < len(academy.brains)

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        academy = context.scene.academy
        brain = academy.brains[academy.active_brain_index]
        layout.prop(brain, "brain_type")
        row = layout.row()
        row.enabled = brain.brain_type == "TRAINING"
        row.prop(brain, "algorithm")
