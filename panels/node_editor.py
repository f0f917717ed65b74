"""The behaviour editor's sidebar (N panel → Agent): the tree's problems and its compiled size."""

import bpy

from ..core.names import TREE_IDNAME as TREE


class ACADEMY_PT_behaviour_tree(bpy.types.Panel):
    """Problems of the behaviour tree being edited, and what it compiles to"""

    bl_label = "Behaviour"
    bl_idname = "ACADEMY_PT_behaviour_tree"
    bl_space_type = "NODE_EDITOR"
    bl_region_type = "UI"
    bl_category = "Agent"

    @classmethod
    def poll(cls, context):
        space = context.space_data
        return getattr(space, "tree_type", "") == TREE and space.edit_tree is not None

    def draw(self, context):
        from ..nodes import base, checks

        layout = self.layout
        space = context.space_data
        tree = space.node_tree or space.edit_tree
        edit = space.edit_tree
        errors = checks.tree_errors(tree) + ([] if edit == tree else checks.tree_errors(edit))
        users = checks.agents_using(tree, context.scene)
        layout.label(text=f"{len(users)} agent{'s' if len(users) != 1 else ''} use this tree", icon="OBJECT_DATA")
        warnings = checks.tree_warnings(tree) + ([] if edit == tree else checks.tree_warnings(edit))
        for node_name, message in warnings:
            col = layout.column(align=True)
            col.label(text=f"{node_name}:", icon="INFO")
            for line in base._wrap(message, 36):
                col.label(text=line, icon="BLANK1")
        if not errors:
            entry = checks._cache.get(tree.name)
            result = entry[2] if entry else None
            if result is not None and not isinstance(result, base.NodeError):
                b = result.behaviour
                col = layout.column(align=True)
                col.label(
                    text=f"Observations: {b.observation_size}" + (f" + {len(b.cameras)} image(s)" if b.cameras else "")
                )
                col.label(text=f"Actions: {type(b.actions).__name__.replace('Actions', '')} {_action_size(b)}")
                col.label(
                    text=f"Rewards: {len(b.rewards)}  Ends: {len(b.ends)}  Writes: {len(b.writes) + len(b.on_reset)}"
                )
                layout.label(text="No problems", icon="CHECKMARK")
            else:
                layout.label(text="Not checked yet", icon="QUESTION")
            return
        col = layout.column(align=True)
        col.alert = True
        for node_name, message in errors:
            col.label(text=f"{node_name or tree.name}:", icon="ERROR")
            for line in base._wrap(message, 36):
                col.label(text=line, icon="BLANK1")


def _action_size(b) -> str:
    acts = b.actions
    if hasattr(acts, "continuous") and hasattr(acts, "discrete"):  # hybrid: "2 + 3 / 2"
        return f"{acts.continuous.size} + " + " / ".join(str(len(br)) for br in acts.discrete.branches)
    if hasattr(acts, "branches"):
        return " / ".join(str(len(br)) for br in acts.branches)
    return str(getattr(acts, "size", 0))


CLASSES = (ACADEMY_PT_behaviour_tree,)
