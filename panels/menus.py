"""Menus: File → New → Agent Academy examples."""

import bpy

from ..examples import EXAMPLES


class ACADEMY_MT_examples(bpy.types.Menu):
    """Agent Academy example scenes"""

    bl_idname = "ACADEMY_MT_examples"
    bl_label = "Agent Academy"

    def draw(self, context):
        for key in EXAMPLES:
            self.layout.operator("academy.add_example", text=key.replace("_", " ").title()).example = key


def draw_file_new(self, context):
    self.layout.separator()
    self.layout.menu("ACADEMY_MT_examples", icon="OUTLINER_OB_ARMATURE")
