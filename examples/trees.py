"""Building behaviour node trees from a script, as the examples do."""

from __future__ import annotations

import bpy


class TreeBuilder:
    """Adds nodes, frames and links to an Agent Behaviour tree with exact values and readable layout."""

    def __init__(self, tree: bpy.types.NodeTree):
        from ..nodes import set_value

        self.tree = tree
        self._set_value = set_value

    def frame(self, label: str, x: float, y: float):
        """A labelled frame (for grouping nodes visually; the compiler ignores frames)."""
        f = self.tree.nodes.new("NodeFrame")
        f.name = f.label = label
        f.location = (x, y)
        f.label_size = 20
        return f

    def node(self, idname: str, name: str | None = None, x: float | None = None, y: float | None = None, parent=None,
             label: str | None = None, **props):  # fmt: skip
        """A node (type name ``idname``, see docs/nodes/reference.md) named ``name`` at absolute (x, y).

        Without a name it keeps Blender's; without a place it goes right of the last node. Options
        are set as attributes (floats keep their exact value, ``set_value``); a wrong one raises.
        """
        n = self.tree.nodes.new(idname)
        if name is not None:
            n.name, n.label = name, name if label is None else label
        if parent is not None:
            n.parent = parent
        if x is None or y is None:
            count = len(self.tree.nodes) - 1
            x, y = (count % 8) * 220.0 if x is None else x, -(count // 8) * 300.0 if y is None else y
        n.location_absolute = (x, y)
        for key, value in props.items():
            if isinstance(value, float):
                self._set_value(n, key, value)
            else:
                setattr(n, key, value)
        return n

    def link(self, a, out: str, b, inp: str) -> None:
        self.tree.links.new(a.outputs[out], b.inputs[inp])

    def const(self, n, inp: str, value: float) -> None:
        """Type ``value`` into the unlinked input ``inp`` of node ``n`` (exactly)."""
        self._set_value(n.inputs[inp], "default_value", value)
