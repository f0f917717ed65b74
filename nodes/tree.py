"""The Agent Academy behaviour node tree type."""

import bpy


class AcademyNodeTree(bpy.types.NodeTree):
    """Describe what an agent observes, how it acts, what it is rewarded for and when it stops"""

    bl_idname = "AcademyNodeTree"
    bl_label = "Agent Behaviour"
    bl_icon = "OUTLINER_OB_ARMATURE"
