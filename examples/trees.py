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

    def node(self, idname: str, name: str, x: float, y: float, parent=None, label: str | None = None, **props):
        """A node named ``name`` at absolute (x, y); float options keep their exact value (``set_value``)."""
        n = self.tree.nodes.new(idname)
        n.name, n.label = name, name if label is None else label
        if parent is not None:
            n.parent = parent
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
