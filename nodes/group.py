"""Node groups in behaviour trees.

Blender's own group node only exists for its built-in editors, and ``NodeCustomGroup`` adds nothing
for Python trees (no sockets from the interface; Blender's group operators ignore it; it could not
be registered again after a disable / enable in one session). So behaviour trees have their own
group node, a plain node with a ``node_tree`` pointer to another Agent Behaviour tree that holds
Blender's Group Input / Group Output nodes. The group node mirrors that tree's interface (edited
with ``tree.interface.new_socket`` or the sidebar's Group tab). The compiler compiles a group's
inner tree in place for each group node, so sinks inside a group (a Reward, an output) add their
parts too. Tab (Edit Group) enters the active group node, Ctrl+Tab leaves it; Make Group (Ctrl+G)
is not available: see docs/nodes/index.md.
"""

from __future__ import annotations

import bpy

from .base import TREE, AcademyNode, touch
from .sockets import KIND_OF, new_socket


def _interface_sockets(tree, in_out: str):
    items = getattr(tree, "interface", None)
    if items is None:
        return []
    return [
        item
        for item in items.items_tree
        if getattr(item, "item_type", "") == "SOCKET" and item.in_out == in_out and item.socket_type in KIND_OF
    ]


def sync_sockets(node) -> None:
    """Make the group node's sockets mirror its tree's interface (names, kinds, order)."""
    tree = node.node_tree
    for in_out, sockets in (("INPUT", node.inputs), ("OUTPUT", node.outputs)):
        wanted = [] if tree is None else _interface_sockets(tree, in_out)
        ids = {item.identifier for item in wanted}
        for socket in [s for s in sockets if s.identifier not in ids or s.bl_idname not in KIND_OF]:
            sockets.remove(socket)
        for i, item in enumerate(wanted):
            existing = next((s for s in sockets if s.identifier == item.identifier), None)
            if existing is not None and existing.bl_idname != item.socket_type:
                sockets.remove(existing)
                existing = None
            if existing is None:
                existing = new_socket(sockets, KIND_OF[item.socket_type], item.name, item.identifier)
            existing.name = item.name
            index = list(sockets).index(existing)
            if index != i:
                sockets.move(index, i)


def _contains(tree, target, depth: int = 0) -> bool:
    """Whether ``tree`` is ``target`` or uses it through group nodes."""
    if tree == target:
        return True
    if depth > 32:
        return True
    return any(
        getattr(n, "node_tree", None) is not None and _contains(n.node_tree, target, depth + 1) for n in tree.nodes
    )


def _poll_tree(self, tree) -> bool:
    return tree.bl_idname == TREE and not _contains(tree, self.id_data)


def _tree_changed(self, context=None) -> None:
    sync_sockets(self)
    touch(self, context)


class AcademyGroupNode(AcademyNode, bpy.types.Node):
    """A group of behaviour nodes (another Agent Behaviour tree) used as one node; Tab edits it"""

    bl_idname = "AcademyGroupNode"
    bl_label = "Group"
    bl_icon = "NODETREE"

    node_tree: bpy.props.PointerProperty(
        type=bpy.types.NodeTree,
        name="Node Tree",
        description="The Agent Behaviour tree this group node runs (it cannot contain the tree it is in)",
        poll=_poll_tree,
        update=_tree_changed,
    )

    def init(self, context):
        sync_sockets(self)

    def update(self):
        sync_sockets(self)

    def draw_options(self, context, layout):
        layout.template_ID(self, "node_tree", new="academy.node_group_new")

    def draw_label(self):
        return self.node_tree.name if self.node_tree else "Group"


def new_group_tree(name: str = "Behaviour Group"):
    """A new Agent Behaviour tree with Group Input and Group Output nodes."""
    tree = bpy.data.node_groups.new(name, TREE)
    tree.nodes.new("NodeGroupInput").location = (-300, 0)
    tree.nodes.new("NodeGroupOutput").location = (300, 0)
    return tree


def _space(context):
    space = getattr(context, "space_data", None)
    if space is None or getattr(space, "type", "") != "NODE_EDITOR" or space.tree_type != TREE:
        return None
    return space


class ACADEMY_OT_node_group_new(bpy.types.Operator):
    """Make a new behaviour node group with Group Input and Group Output nodes"""

    bl_idname = "academy.node_group_new"
    bl_label = "New Behaviour Group"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return _space(context) is not None and _space(context).edit_tree is not None

    def execute(self, context):
        tree = _space(context).edit_tree
        node = getattr(context, "node", None) or tree.nodes.active
        group_tree = new_group_tree()
        if node is None or node.bl_idname != "AcademyGroupNode":
            node = tree.nodes.new("AcademyGroupNode")
        node.node_tree = group_tree
        sync_sockets(node)
        return {"FINISHED"}


class ACADEMY_OT_node_group_edit(bpy.types.Operator):
    """Edit the selected group's nodes, or leave the group being edited"""

    bl_idname = "academy.node_group_edit"
    bl_label = "Edit Group"

    exit: bpy.props.BoolProperty(name="Exit", description="Leave the group being edited")

    @classmethod
    def poll(cls, context):
        return _space(context) is not None and _space(context).edit_tree is not None

    def execute(self, context):
        space = _space(context)
        node = space.edit_tree.nodes.active
        if not self.exit and node is not None and node.bl_idname == "AcademyGroupNode" and node.node_tree:
            space.path.append(node.node_tree, node=node)
            return {"FINISHED"}
        if len(space.path) > 1:
            space.path.pop()
            return {"FINISHED"}
        return {"CANCELLED"}


CLASSES = (AcademyGroupNode, ACADEMY_OT_node_group_new, ACADEMY_OT_node_group_edit)

_keymaps: list = []


def register_keymaps() -> None:
    wm = bpy.context.window_manager
    kc = wm.keyconfigs.addon if wm is not None else None
    if kc is None:  # background mode
        return
    km = kc.keymaps.new(name="Node Editor", space_type="NODE_EDITOR")
    kmi = km.keymap_items.new(ACADEMY_OT_node_group_edit.bl_idname, "TAB", "PRESS")
    _keymaps.append((km, kmi))
    kmi = km.keymap_items.new(ACADEMY_OT_node_group_edit.bl_idname, "TAB", "PRESS", ctrl=True)
    kmi.properties.exit = True
    _keymaps.append((km, kmi))


def unregister_keymaps() -> None:
    for km, kmi in _keymaps:
        try:
            km.keymap_items.remove(kmi)
        except (ReferenceError, RuntimeError):
            pass
    _keymaps.clear()
