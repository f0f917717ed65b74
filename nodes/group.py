"""Node groups in behaviour trees.

Blender's own group node only exists for its built-in editors, and ``NodeCustomGroup`` adds nothing
for Python trees (no sockets from the interface; Blender's group operators ignore it; it could not
be registered again after a disable / enable in one session). So behaviour trees have their own
group node, a plain node with a ``node_tree`` pointer to another Agent Behaviour tree that holds
Blender's Group Input / Group Output nodes. The group node mirrors that tree's interface (edited
with ``tree.interface.new_socket`` or the sidebar's Group tab). The compiler compiles a group's
inner tree in place for each group node, so sinks inside a group (a Reward, an output) add their
parts too. Tab (Edit Group) enters the active group node, Ctrl+Tab leaves it; Ctrl+G makes a group of the
selected nodes, Ctrl+Alt+G ungroups.
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


# -- Make Group ------------------------------------------------------------------------------------

_SKIP_PROPS = {"rna_type", "name", "label", "location", "width", "height", "parent", "select", "inputs", "outputs",
               "internal_links", "dimensions", "type", "bl_idname", "bl_label", "bl_description", "bl_icon",
               "bl_static_type", "bl_width_default", "bl_width_min", "bl_width_max", "bl_height_default",
               "bl_height_min", "bl_height_max", "is_active_output", "warning_propagation", "location_absolute",
               "color_tag", "debug_zone_body_lazy_function_graph", "debug_zone_lazy_function_graph"}  # fmt: skip


def _copy_node(node, tree):
    """A copy of ``node`` in ``tree``: settings, socket values, exact numbers, look."""
    new = tree.nodes.new(node.bl_idname)
    new.name, new.label = node.name, node.label
    new.location, new.width, new.mute, new.hide = node.location, node.width, node.mute, node.hide
    if node.get("_academy_marked") is None:
        new.use_custom_color, new.color = node.use_custom_color, node.color
    for prop in node.bl_rna.properties:
        ident = prop.identifier
        if ident in _SKIP_PROPS or prop.is_readonly or not prop.is_runtime:
            continue
        try:
            setattr(new, ident, getattr(node, ident))
        except (AttributeError, TypeError, ValueError):
            pass
    for key in node.keys():
        if key.startswith("_exact_"):
            new[key] = node[key]
    if new.bl_idname == "AcademyGroupNode":
        sync_sockets(new)
    for old_sockets, new_sockets in ((node.inputs, new.inputs), (node.outputs, new.outputs)):
        by_id = {s.identifier: s for s in new_sockets}
        for socket in old_sockets:
            target = by_id.get(socket.identifier)
            if target is None:
                continue
            target.hide = socket.hide
            if hasattr(socket, "default_value") and hasattr(target, "default_value"):
                target.default_value = socket.default_value
    return new


def _socket(node, identifier: str, output: bool):
    return next(s for s in (node.outputs if output else node.inputs) if s.identifier == identifier)


def _ordered_links(tree):
    """Every live link, in the order each input receives them (multi-inputs by their sort order)."""
    return sorted(tree.links, key=lambda li: (li.to_node.name, li.to_socket.identifier, li.multi_input_sort_id))


def _relink_in_order(tree, wanted) -> None:
    """Create ``wanted`` links ``(from_socket, to_socket)`` in order. Callers first remove every link
    into a multi-input they re-link, so its links (the observation order) come back in that order."""
    for from_socket, to_socket in wanted:
        tree.links.new(from_socket, to_socket)


def _routed_type(src, dst) -> str:
    """The socket type a group output needs for ``src``: a reroute's socket is Blender's own, so look
    through reroutes to the socket feeding them, else take the kind of the input ``dst`` it feeds."""
    seen = 0
    while src.bl_idname not in KIND_OF and src.node.bl_idname == "NodeReroute" and seen < 64:
        feeding = [li for li in src.node.inputs[0].links if not li.is_muted]
        if not feeding:
            break
        src, seen = feeding[0].from_socket, seen + 1
    if src.bl_idname in KIND_OF:
        return src.bl_idname
    if dst.bl_idname in KIND_OF and KIND_OF[dst.bl_idname] != "OBSERVATION":
        return dst.bl_idname
    return "AcademySocketVector"


def make_group(tree, selected, name: str = "Behaviour Group"):
    """Move ``selected`` nodes of ``tree`` into a new group tree; return the group node that replaces them.

    Links inside the selection are kept; links that cross it become the group's inputs and outputs
    (one per outside socket). The order of links into multi-inputs (Observe) is kept on both sides.
    """
    chosen = {n.name for n in selected if n.bl_idname not in ("NodeGroupInput", "NodeGroupOutput")}
    if not chosen:
        raise ValueError("select the nodes to group")
    group_tree = new_group_tree(name)
    gin, gout = group_tree.nodes["Group Input"], group_tree.nodes["Group Output"]
    copies = {n.name: _copy_node(n, group_tree) for n in tree.nodes if n.name in chosen}
    for n in tree.nodes:
        if n.name in chosen and n.parent is not None and n.parent.name in chosen:
            copies[n.name].parent = copies[n.parent.name]
    xs = [n.location.x for n in tree.nodes if n.name in chosen]
    ys = [n.location.y for n in tree.nodes if n.name in chosen]
    gin.location = (min(xs) - 250, sum(ys) / len(ys))
    gout.location = (max(xs) + 250, sum(ys) / len(ys))
    links = [li for li in _ordered_links(tree) if not li.is_muted]
    inputs: dict[tuple, str] = {}  # (outside node, socket) -> interface input identifier
    outputs: dict[tuple, str] = {}  # (inside node, socket) -> interface output identifier
    outer_sources: dict[str, object] = {}
    for link in links:
        src_in, dst_in = link.from_node.name in chosen, link.to_node.name in chosen
        key = (link.from_node.name, link.from_socket.identifier)
        if dst_in and not src_in and key not in inputs:
            src = link.from_socket
            socket_type = src.bl_idname if src.bl_idname in KIND_OF else link.to_socket.bl_idname
            item = group_tree.interface.new_socket(src.name, in_out="INPUT", socket_type=socket_type)
            inputs[key] = item.identifier
            outer_sources[item.identifier] = src
        elif src_in and not dst_in and key not in outputs:
            src = link.from_socket
            socket_type = _routed_type(src, link.to_socket)
            item = group_tree.interface.new_socket(src.name, in_out="OUTPUT", socket_type=socket_type)
            outputs[key] = item.identifier
            group_tree.links.new(_socket(copies[key[0]], key[1], True), _socket(gout, item.identifier, False))
    # inside: every link into a chosen node, in its original order
    for link in links:
        if link.to_node.name not in chosen:
            continue
        key = (link.from_node.name, link.from_socket.identifier)
        src = _socket(copies[key[0]], key[1], True) if key[0] in chosen else _socket(gin, inputs[key], True)
        group_tree.links.new(src, _socket(copies[link.to_node.name], link.to_socket.identifier, False))
    # outside: every input that had a link from a chosen node gets all its links again, in order
    touched = {(li.to_node.name, li.to_socket.identifier) for li in links
               if li.from_node.name in chosen and li.to_node.name not in chosen}  # fmt: skip
    plan = [
        (li.to_node.name, li.to_socket.identifier, li.from_node.name, li.from_socket.identifier)
        for li in links
        if (li.to_node.name, li.to_socket.identifier) in touched
    ]
    for li in [li for li in tree.links if (li.to_node.name, li.to_socket.identifier) in touched]:
        tree.links.remove(li)
    centre = (sum(xs) / len(xs), sum(ys) / len(ys))
    for n in [n for n in tree.nodes if n.name in chosen]:
        tree.nodes.remove(n)
    node = tree.nodes.new("AcademyGroupNode")
    node.node_tree = group_tree
    node.location = centre
    sync_sockets(node)
    for identifier, src in outer_sources.items():
        tree.links.new(src, _socket(node, identifier, False))
    wanted = []
    for to_name, to_id, from_name, from_id in plan:
        if from_name in chosen:
            src = _socket(node, outputs[(from_name, from_id)], True)
        else:
            src = _socket(tree.nodes[from_name], from_id, True)
        wanted.append((src, _socket(tree.nodes[to_name], to_id, False)))
    _relink_in_order(tree, wanted)
    return node


class ACADEMY_OT_node_group_make(bpy.types.Operator):
    """Move the selected nodes into a new behaviour group"""

    bl_idname = "academy.node_group_make"
    bl_label = "Make Behaviour Group"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        space = _space(context)
        return space is not None and space.edit_tree is not None and any(n.select for n in space.edit_tree.nodes)

    def execute(self, context):
        tree = _space(context).edit_tree
        try:
            node = make_group(tree, [n for n in tree.nodes if n.select])
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        for n in tree.nodes:
            n.select = n == node
        tree.nodes.active = node
        return {"FINISHED"}


def ungroup(tree, node) -> list:
    """Replace group node ``node`` of ``tree`` by copies of its inner nodes; return the copies.

    The order of links into multi-inputs (Observe) is kept inside and outside.
    """
    group_tree = node.node_tree
    if group_tree is None:
        raise ValueError("the group node has no node tree")
    inner_nodes = [n for n in group_tree.nodes if n.bl_idname not in ("NodeGroupInput", "NodeGroupOutput")]
    cx = sum(n.location.x for n in inner_nodes) / max(1, len(inner_nodes))
    cy = sum(n.location.y for n in inner_nodes) / max(1, len(inner_nodes))
    copies = {}
    for n in inner_nodes:
        new = _copy_node(n, tree)
        new.location = (n.location.x - cx + node.location.x, n.location.y - cy + node.location.y)
        copies[n.name] = new
    for n in inner_nodes:
        if n.parent is not None and n.parent.name in copies:
            copies[n.name].parent = copies[n.parent.name]
    # what feeds the group node's inputs (an outside socket, or the group node's own value)
    sources = {}
    for socket in node.inputs:
        live = [li for li in socket.links if not li.is_muted]
        sources[socket.identifier] = live[0].from_socket if live else socket
    # what each group output carries inside: a copied node's output socket
    carried = {}
    for link in group_tree.links:
        if link.to_node.bl_idname == "NodeGroupOutput" and not link.is_muted and link.from_node.name in copies:
            carried[link.to_socket.identifier] = _socket(copies[link.from_node.name], link.from_socket.identifier, True)
    inner = []
    for link in _ordered_links(group_tree):
        if link.is_muted or link.to_node.name not in copies:
            continue
        dst = _socket(copies[link.to_node.name], link.to_socket.identifier, False)
        if link.from_node.name in copies:
            inner.append((_socket(copies[link.from_node.name], link.from_socket.identifier, True), dst))
        elif link.from_node.bl_idname == "NodeGroupInput":
            src = sources.get(link.from_socket.identifier)
            if src is not None and src.is_output:
                inner.append((src, dst))
            elif src is not None and hasattr(src, "default_value") and hasattr(dst, "default_value"):
                try:
                    dst.default_value = src.default_value
                except (TypeError, ValueError):
                    pass
    # outside: inputs fed by the group node get all their links again, in order
    outer_links = [li for li in _ordered_links(tree) if not li.is_muted]
    touched = {(li.to_node.name, li.to_socket.identifier) for li in outer_links if li.from_node == node}
    plan = [
        (li.to_node.name, li.to_socket.identifier, li.from_node.name, li.from_socket.identifier)
        for li in outer_links
        if (li.to_node.name, li.to_socket.identifier) in touched
    ]
    group_name = node.name
    for li in [li for li in tree.links if (li.to_node.name, li.to_socket.identifier) in touched]:
        tree.links.remove(li)
    tree.nodes.remove(node)
    _relink_in_order(tree, inner)
    wanted = []
    for to_name, to_id, from_name, from_id in plan:
        if from_name == group_name:
            src = carried.get(from_id)
            if src is None:
                continue  # that group output was fed by nothing inside
        else:
            src = _socket(tree.nodes[from_name], from_id, True)
        wanted.append((src, _socket(tree.nodes[to_name], to_id, False)))
    _relink_in_order(tree, wanted)
    return list(copies.values())


class ACADEMY_OT_node_group_ungroup(bpy.types.Operator):
    """Replace the active group node by the nodes inside it"""

    bl_idname = "academy.node_group_ungroup"
    bl_label = "Ungroup"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        space = _space(context)
        node = space.edit_tree.nodes.active if space is not None and space.edit_tree is not None else None
        return node is not None and node.bl_idname == "AcademyGroupNode"

    def execute(self, context):
        tree = _space(context).edit_tree
        try:
            ungroup(tree, tree.nodes.active)
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        return {"FINISHED"}


CLASSES = (
    AcademyGroupNode,
    ACADEMY_OT_node_group_new,
    ACADEMY_OT_node_group_edit,
    ACADEMY_OT_node_group_make,
    ACADEMY_OT_node_group_ungroup,
)

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
    kmi = km.keymap_items.new(ACADEMY_OT_node_group_make.bl_idname, "G", "PRESS", ctrl=True)
    _keymaps.append((km, kmi))
    kmi = km.keymap_items.new(ACADEMY_OT_node_group_ungroup.bl_idname, "G", "PRESS", ctrl=True, alt=True)
    _keymaps.append((km, kmi))


def unregister_keymaps() -> None:
    for km, kmi in _keymaps:
        try:
            km.keymap_items.remove(kmi)
        except (ReferenceError, RuntimeError):
            pass
    _keymaps.clear()
