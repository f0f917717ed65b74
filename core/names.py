"""Names the add-on stores in or looks up from the .blend: spelled once, here (no bpy).

They are part of the file format: changing one makes older .blend files unreadable.
"""

from __future__ import annotations

__all__ = ["CURVE_KEY", "STATE_KEY", "TAKE_PROP", "TREE_IDNAME"]

TREE_IDNAME = "AcademyNodeTree"  # the behaviour node tree type (bl_idname)
STATE_KEY = "academy_state"  # a Brain's trained model (a bytes ID property on the Brain)
CURVE_KEY = "academy_curve"  # a Brain's stored learning curve (ID property on the Brain)
TAKE_PROP = "academy_take"  # JSON on a take's Action: what it is and the rest values it overrides
