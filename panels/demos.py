"""Scene properties → Academy → Brain → Demonstrations: recording, the list, behaviour cloning."""

import bpy

from .academy import _AcademyPanel


class ACADEMY_UL_demos(bpy.types.UIList):
    """Recorded play stored in the Brain"""

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index):
        row = layout.row(align=True)
        row.prop(item, "name", text="", emboss=False, icon="REC")
        row.label(text=f"{item.episodes:,} ep")
        row.label(text=f"{item.steps:,} steps")
        row.label(text=f"mean {item.mean_return:.2f}")


class ACADEMY_PT_brain_demos(_AcademyPanel, bpy.types.Panel):
    """Record play as demonstrations and learn from them (behaviour cloning)"""

    bl_label = "Demonstrations"
    bl_idname = "ACADEMY_PT_brain_demos"
    bl_parent_id = "ACADEMY_PT_brain"
    bl_options = {"DEFAULT_CLOSED"}

    @classmethod
    def poll(cls, context):
        return context.scene.academy.active_brain is not None

    def draw(self, context):
        layout = self.layout
        brain = context.scene.academy.active_brain
        settings = brain.demos
        layout.prop(settings, "record")
        row = layout.row()
        row.template_list("ACADEMY_UL_demos", "", settings, "items", settings, "active_index", rows=3)
        col = row.column(align=True)
        col.operator("academy.demo_remove", icon="REMOVE", text="")
        row = layout.row(align=True)
        row.operator("academy.demo_export", icon="EXPORT", text="Export")
        row.operator("academy.demo_import", icon="IMPORT", text="Import")
        layout.operator("academy.demos_from_keyframes", icon="KEYFRAME")
        if brain.brain_type != "TRAINING":
            return
        col = layout.column()
        col.use_property_split = True
        col.prop(settings, "pretrain_epochs")
        col.prop(settings, "bc_batch_size")
        col.operator("academy.pretrain", icon="MOD_DATA_TRANSFER")
        sub = col.column()
        sub.active = brain.algorithm == "PPO"
        sub.prop(settings, "bc_strength")
        sub.prop(settings, "bc_steps")
