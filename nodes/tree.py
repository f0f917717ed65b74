"""The Agent Academy behaviour node tree type."""

from __future__ import annotations

import itertools
import time

import bpy

from ..core.names import TREE_IDNAME

# Revisions come from one counter per Blender session, started from the clock, so an undo that
# brings an old revision number back never meets a cached compilation of a different tree state.
_counter = itertools.count(int(time.time()) % 1_000_000 * 1000)
_validate_scheduled = False


class AcademyNodeTree(bpy.types.NodeTree):
    """Describe what an agent observes, how it acts, what it is rewarded for and when it stops"""

    bl_idname = TREE_IDNAME
    bl_label = "Agent Behaviour"
    bl_icon = "OUTLINER_OB_ARMATURE"

    revision: bpy.props.IntProperty(
        name="Revision",
        description="Changes whenever the tree changes: a running Academy compares it to see whether the "
        "behaviour was edited",
        options={"HIDDEN", "SKIP_SAVE"},
    )

    def update(self):
        """Blender calls this after links, nodes, sockets or the interface changed."""
        self.bump()
        from .group import sync_sockets

        for tree in bpy.data.node_groups:  # group nodes that use this tree mirror its interface
            if tree.bl_idname == self.bl_idname and tree != self:
                for node in tree.nodes:
                    if node.bl_idname == "AcademyGroupNode" and node.node_tree == self:
                        sync_sockets(node)

    def bump(self) -> None:
        """Mark the tree changed: new revision, cached compilation stale, validation scheduled."""
        from . import checks

        if checks.MARKING:
            return  # our own error colours are not an edit
        self.revision = max(self.revision + 1, next(_counter))
        _schedule_validation()


def _schedule_validation() -> None:
    """Validate edited trees shortly after the edit (in the UI; background mode has no timers)."""
    global _validate_scheduled
    if _validate_scheduled or bpy.app.background:
        return
    from . import checks

    def run():
        global _validate_scheduled
        _validate_scheduled = False
        try:
            checks.validate_changed()
        except Exception as exc:  # a timer must never raise into Blender's event loop
            print(f"Agent Academy: validating behaviour trees failed: {exc}")
        return None

    _validate_scheduled = True
    bpy.app.timers.register(run, first_interval=0.2)
