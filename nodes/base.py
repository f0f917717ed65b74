"""What every behaviour node shares: the tree it polls for, tooltips, error display, exact numbers.

A node declares its sockets in ``init`` and does its work in ``build(ins) -> outs``: a pure function
from the values on its inputs (spec expressions, object references, camera specs) to the values
on its outputs, keyed by socket identifier. Nodes that add a part to the behaviour (observations,
actions, rewards, ends, writes) also have ``emit(ins, parts)``. Nothing here runs per step.
"""

from __future__ import annotations

import math

import bpy
import numpy as np

from ..core.names import TREE_IDNAME
from .sockets import new_socket

TREE = TREE_IDNAME

# (tree name, node name) -> message: drawn on the node and in the sidebar; filled by validation
ERRORS: dict[tuple[str, str], str] = {}
# (tree name, node name) -> a short note the node draws (sizes); filled by validation
NOTES: dict[tuple[str, str], str] = {}
# (tree name, node name) -> a warning: the tree compiles, but this part probably does not do what was meant
WARNINGS: dict[tuple[str, str], str] = {}


class NodeError(Exception):
    """A node cannot compile. ``node`` is its path (``Group > Node`` inside groups)."""

    def __init__(self, node: str, message: str, tree: str = "", node_names: tuple[str, ...] = ()):
        super().__init__(f"node '{node}': {message}")
        self.node = node
        self.message = message
        self.tree = tree
        self.node_names = node_names  # the node's name in each tree on the way down (outer first)


def touch(self, context=None) -> None:
    """Property update callback: a setting that changes the compiled behaviour bumps the tree."""
    tree = getattr(self, "id_data", None)
    if tree is not None and getattr(tree, "bl_idname", "") == TREE:
        tree.bump()


class AcademyNode:
    """Mix-in for every behaviour node (Node classes list it before ``bpy.types.Node``)."""

    #: whether the node adds a part to the behaviour (its ``emit`` is called)
    is_sink = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__doc__ and "bl_description" not in cls.__dict__:
            cls.bl_description = " ".join(cls.__doc__.strip().split("\n\n")[0].split())

    @classmethod
    def poll(cls, ntree):
        return ntree.bl_idname == TREE

    # -- sockets ------------------------------------------------------------------------------
    def add_input(self, kind: str, name: str, default=None, identifier: str = "", **options):
        socket = new_socket(self.inputs, kind, name, identifier, **options)
        if default is not None:
            socket.default_value = default
            set_exact(socket, "default_value", default)
        return socket

    def add_output(self, kind: str, name: str, identifier: str = ""):
        return new_socket(self.outputs, kind, name, identifier)

    # -- work ---------------------------------------------------------------------------------
    def build(self, ins: dict) -> dict:
        """Values of the outputs (by identifier) from the values of the inputs (by identifier)."""
        return {}

    def emit(self, ins: dict, parts) -> None:
        """Add this node's part to the behaviour being built (sinks only)."""

    # -- drawing ------------------------------------------------------------------------------
    def draw_buttons(self, context, layout):
        self.draw_options(context, layout)
        self.draw_status(layout)

    def draw_options(self, context, layout):
        pass

    def draw_status(self, layout):
        key = (self.id_data.name, self.name)
        note = NOTES.get(key)
        if note:
            layout.label(text=note)
        warning = WARNINGS.get(key)
        if warning:
            col = layout.column(align=True)
            for i, line in enumerate(_wrap(warning, 40)):
                col.label(text=line, icon="INFO" if i == 0 else "BLANK1")
        error = ERRORS.get(key)
        if error:
            col = layout.column(align=True)
            col.alert = True
            for i, line in enumerate(_wrap(error, 40)):
                col.label(text=line, icon="ERROR" if i == 0 else "BLANK1")


def _wrap(text: str, width: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return lines[:6]


# -- exact numbers ------------------------------------------------------------------------------
#
# Blender stores float properties in single precision: 0.1 comes back as 0.10000000149. The
# compiler reads a number as the shortest decimal that the float field shows (0.1 stays 0.1); a
# script that needs a number no decimal of 7 digits represents (2° in radians) stores it exactly
# with set_exact, which holds as long as nobody edits the field.


def _holder(owner, prop: str):
    """Where the exact value lives: the node itself, or a socket's node (sockets hold no ID properties)."""
    if isinstance(owner, bpy.types.NodeSocket):
        return owner.node, f"_exact_{'out' if owner.is_output else 'in'}_{owner.identifier}_{prop}"
    return owner, f"_exact_{prop}"


def set_exact(owner, prop: str, value) -> None:
    """Remember ``value`` in double precision for ``owner.prop`` (a float or float vector)."""
    holder, key = _holder(owner, prop)
    try:
        holder[key] = [float(v) for v in value] if hasattr(value, "__len__") else float(value)
    except TypeError:  # structs that cannot hold ID properties
        pass


def exact(owner, prop: str):
    """``owner.prop`` as Python float(s), exact if a script set it with :func:`set_exact`.

    Raises :class:`NodeError` naming the node and the setting when a value is NaN or infinite (the UI
    cannot make one, a .blend can carry one).
    """
    value = _exact(owner, prop)
    values = value if isinstance(value, tuple) else (value,)
    bad = next((v for v in values if not math.isfinite(v)), None)
    if bad is not None:
        if isinstance(owner, bpy.types.NodeSocket):
            raise NodeError(owner.node.name, f"input '{owner.name}' is {bad}; it must be a finite number")
        raise NodeError(owner.name, f"{owner.bl_rna.properties[prop].name} is {bad}; it must be a finite number")
    return value


def _exact(owner, prop: str):
    value = getattr(owner, prop)
    if isinstance(value, bool | int):
        return float(value)
    holder, key = _holder(owner, prop)
    try:
        stored = holder.get(key)
    except TypeError:
        stored = None
    if hasattr(value, "__len__"):
        current = [float(v) for v in value]
        if stored is not None and hasattr(stored, "__len__") and len(stored) == len(current):
            stored = [float(v) for v in stored]
            if all(np.float32(s) == np.float32(c) for s, c in zip(stored, current, strict=True)):
                return tuple(stored)
        return tuple(_shortest(c) for c in current)
    current = float(value)
    if stored is not None and not hasattr(stored, "__len__") and np.float32(float(stored)) == np.float32(current):
        return float(stored)
    return _shortest(current)


def _shortest(x: float) -> float:
    """The shortest decimal that rounds to the same single-precision float."""
    if not math.isfinite(x):
        return x
    return float(repr(np.float32(x)).removeprefix("np.float32(").removesuffix(")"))


def set_value(node_or_socket, prop: str, value) -> None:
    """Set a float property and remember it exactly (for scripts building trees)."""
    setattr(node_or_socket, prop, value)
    set_exact(node_or_socket, prop, value)


__all__ = ["AcademyNode", "NodeError", "ERRORS", "NOTES", "WARNINGS", "TREE"]
__all__ += ["exact", "set_exact", "set_value", "touch"]
