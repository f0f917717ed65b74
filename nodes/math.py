"""Math nodes: arithmetic, vectors, comparisons and logic on the values the agent reads.

Every number socket takes a single number or a vector: operations work element by element and a
single number broadcasts (``Location - 1`` subtracts 1 from each component).
"""

from __future__ import annotations

import bpy

from ..core import specs as S
from .base import AcademyNode, NodeError, exact, touch

_UNARY = {
    "NEGATE": "Negate",
    "ABSOLUTE": "Absolute",
    "SQRT": "Square Root",
    "SINE": "Sine",
    "COSINE": "Cosine",
    "TANGENT": "Tangent",
    "EXPONENT": "Exponent",
    "LOGARITHM": "Logarithm",
    "FLOOR": "Floor",
    "CEIL": "Ceil",
    "ROUND": "Round",
    "SIGN": "Sign",
}
_BINARY = {
    "ADD": "Add",
    "SUBTRACT": "Subtract",
    "MULTIPLY": "Multiply",
    "DIVIDE": "Divide",
    "POWER": "Power",
    "MINIMUM": "Minimum",
    "MAXIMUM": "Maximum",
    "MODULO": "Modulo",
    "ARCTAN2": "Arctan2",
}
MATH_ITEMS = [(k, v, f"{v} of A and B") for k, v in _BINARY.items()] + [(k, v, f"{v} of A") for k, v in _UNARY.items()]


def _set_b_visible(self, context=None):
    unary = self.operation in _UNARY
    if "B" in self.inputs:
        self.inputs["B"].hide = unary
    touch(self, context)


class AcademyMathNode(AcademyNode, bpy.types.Node):
    """Arithmetic on numbers or element by element on vectors"""

    bl_idname = "AcademyMathNode"
    bl_label = "Math"
    bl_icon = "NONE"

    operation: bpy.props.EnumProperty(
        name="Operation", description="What to compute", items=MATH_ITEMS, default="ADD", update=_set_b_visible
    )

    def init(self, context):
        self.add_input("FLOAT", "A", 0.0)
        self.add_input("FLOAT", "B", 0.0)
        self.add_output("FLOAT", "Value")

    def draw_label(self):
        return dict((k, v) for k, v, _ in MATH_ITEMS).get(self.operation, "Math")

    def draw_options(self, context, layout):
        layout.prop(self, "operation", text="")

    def build(self, ins):
        if self.operation in _UNARY:
            return {"Value": S.Unary(self.operation, ins["A"])}
        return {"Value": S.Binary(self.operation, ins["A"], ins["B"])}


VECTOR_ITEMS = [
    ("ADD", "Add", "A + B"),
    ("SUBTRACT", "Subtract", "A − B"),
    ("MULTIPLY", "Multiply", "A × B element by element"),
    ("DIVIDE", "Divide", "A ÷ B element by element"),
    ("SCALE", "Scale", "A × Scale"),
    ("DOT", "Dot Product", "A · B (3 values)"),
    ("CROSS", "Cross Product", "A × B (3 values)"),
    ("DISTANCE", "Distance", "|A − B| (3 values)"),
    ("LENGTH", "Length", "|A| (any size)"),
    ("NORMALIZE", "Normalize", "A / |A|"),
    ("SUM", "Sum", "The sum of A's components (any size)"),
    ("ABSOLUTE", "Absolute", "|A| element by element"),
    ("MINIMUM", "Minimum", "Smaller of A and B element by element"),
    ("MAXIMUM", "Maximum", "Larger of A and B element by element"),
]
_VECTOR_ONE_INPUT = {"LENGTH", "NORMALIZE", "SUM", "ABSOLUTE", "SCALE"}


def _vector_sockets(self, context=None):
    if "B" in self.inputs:
        self.inputs["B"].hide = self.operation in _VECTOR_ONE_INPUT
    if "Scale" in self.inputs:
        self.inputs["Scale"].hide = self.operation != "SCALE"
    touch(self, context)


class AcademyVectorMathNode(AcademyNode, bpy.types.Node):
    """Vector operations: add, subtract, scale, dot and cross products, length, normalize, distance"""

    bl_idname = "AcademyVectorMathNode"
    bl_label = "Vector Math"
    bl_icon = "NONE"

    operation: bpy.props.EnumProperty(
        name="Operation", description="What to compute", items=VECTOR_ITEMS, default="ADD", update=_vector_sockets
    )

    def init(self, context):
        self.add_input("VECTOR", "A", (0.0, 0.0, 0.0))
        self.add_input("VECTOR", "B", (0.0, 0.0, 0.0))
        self.add_input("FLOAT", "Scale", 1.0).hide = True
        self.add_output("VECTOR", "Result")

    def draw_label(self):
        return dict((k, v) for k, v, _ in VECTOR_ITEMS).get(self.operation, "Vector Math")

    def draw_options(self, context, layout):
        layout.prop(self, "operation", text="")

    def build(self, ins):
        op, a, b = self.operation, ins["A"], ins["B"]
        if op in ("ADD", "SUBTRACT", "MULTIPLY", "DIVIDE", "MINIMUM", "MAXIMUM"):
            return {"Result": S.Binary(op, a, b)}
        if op == "SCALE":
            return {"Result": S.Binary("MULTIPLY", a, ins["Scale"])}
        if op == "ABSOLUTE":
            return {"Result": S.Unary("ABSOLUTE", a)}
        if op in ("LENGTH", "NORMALIZE", "SUM"):
            return {"Result": S.VectorMath(op, a)}
        for name, value in (("A", a), ("B", b)):
            if value.size != 3:
                raise NodeError(self.name, f"{self.draw_label()} needs 3 values on {name}, it has {value.size}")
        return {"Result": S.VectorMath(op, a, b)}


COMPARE_ITEMS = [
    ("LESS_THAN", "Less Than", "A < B"),
    ("LESS_EQUAL", "Less Than or Equal", "A ≤ B"),
    ("GREATER_THAN", "Greater Than", "A > B"),
    ("GREATER_EQUAL", "Greater Than or Equal", "A ≥ B"),
    ("EQUAL", "Equal", "|A − B| ≤ Epsilon"),
    ("NOT_EQUAL", "Not Equal", "|A − B| > Epsilon"),
]


class AcademyCompareNode(AcademyNode, bpy.types.Node):
    """Compare two numbers (element by element): 1 where true, 0 where false"""

    bl_idname = "AcademyCompareNode"
    bl_label = "Compare"
    bl_icon = "NONE"

    operation: bpy.props.EnumProperty(
        name="Operation", description="The comparison", items=COMPARE_ITEMS, default="LESS_THAN", update=touch
    )
    epsilon: bpy.props.FloatProperty(
        name="Epsilon", description="Tolerance of Equal / Not Equal", default=1e-6, min=0.0, precision=6, update=touch
    )

    def init(self, context):
        self.add_input("FLOAT", "A", 0.0)
        self.add_input("FLOAT", "B", 0.0)
        self.add_output("BOOL", "Result")

    def draw_label(self):
        return dict((k, v) for k, v, _ in COMPARE_ITEMS).get(self.operation, "Compare")

    def draw_options(self, context, layout):
        layout.prop(self, "operation", text="")
        if self.operation in ("EQUAL", "NOT_EQUAL"):
            layout.prop(self, "epsilon")

    def build(self, ins):
        return {"Result": S.Compare(self.operation, ins["A"], ins["B"], exact(self, "epsilon"))}


BOOLEAN_ITEMS = [
    ("AND", "And", "True when both are"),
    ("OR", "Or", "True when either is"),
    ("XOR", "Exclusive Or", "True when exactly one is"),
    ("NOT", "Not", "True when A is false"),
]


def _boolean_sockets(self, context=None):
    if "B" in self.inputs:
        self.inputs["B"].hide = self.operation == "NOT"
    touch(self, context)


class AcademyBooleanNode(AcademyNode, bpy.types.Node):
    """Logic on true/false values: And, Or, Exclusive Or, Not"""

    bl_idname = "AcademyBooleanNode"
    bl_label = "Boolean"
    bl_icon = "NONE"

    operation: bpy.props.EnumProperty(
        name="Operation", description="The logic operation", items=BOOLEAN_ITEMS, default="AND",
        update=_boolean_sockets,
    )  # fmt: skip

    def init(self, context):
        self.add_input("BOOL", "A", False)
        self.add_input("BOOL", "B", False)
        self.add_output("BOOL", "Result")

    def draw_label(self):
        return dict((k, v) for k, v, _ in BOOLEAN_ITEMS).get(self.operation, "Boolean")

    def draw_options(self, context, layout):
        layout.prop(self, "operation", text="")

    def build(self, ins):
        if self.operation == "NOT":
            return {"Result": S.Unary("NOT", ins["A"])}
        return {"Result": S.Binary(self.operation, ins["A"], ins["B"])}


class AcademyClampNode(AcademyNode, bpy.types.Node):
    """Keep a value between Min and Max"""

    bl_idname = "AcademyClampNode"
    bl_label = "Clamp"
    bl_icon = "NONE"

    low: bpy.props.FloatProperty(name="Min", default=0.0, update=touch)
    high: bpy.props.FloatProperty(name="Max", default=1.0, update=touch)

    def init(self, context):
        self.add_input("FLOAT", "Value", 0.0)
        self.add_output("FLOAT", "Result")

    def draw_options(self, context, layout):
        col = layout.column(align=True)
        col.prop(self, "low")
        col.prop(self, "high")

    def build(self, ins):
        return {"Result": S.Clamp(ins["Value"], exact(self, "low"), exact(self, "high"))}


class AcademyMapRangeNode(AcademyNode, bpy.types.Node):
    """Map a value linearly from one range to another (optionally clamped to the target range)"""

    bl_idname = "AcademyMapRangeNode"
    bl_label = "Map Range"
    bl_icon = "NONE"

    from_low: bpy.props.FloatProperty(name="From Min", default=0.0, update=touch)
    from_high: bpy.props.FloatProperty(name="From Max", default=1.0, update=touch)
    to_low: bpy.props.FloatProperty(name="To Min", default=0.0, update=touch)
    to_high: bpy.props.FloatProperty(name="To Max", default=1.0, update=touch)
    clamp: bpy.props.BoolProperty(name="Clamp", default=True, update=touch)

    def init(self, context):
        self.add_input("FLOAT", "Value", 0.0)
        self.add_output("FLOAT", "Result")

    def draw_options(self, context, layout):
        col = layout.column(align=True)
        for prop in ("from_low", "from_high", "to_low", "to_high"):
            col.prop(self, prop)
        layout.prop(self, "clamp")

    def build(self, ins):
        e = exact
        return {
            "Result": S.MapRange(
                ins["Value"],
                e(self, "from_low"),
                e(self, "from_high"),
                e(self, "to_low"),
                e(self, "to_high"),
                self.clamp,
            )  # fmt: skip
        }


class AcademySwitchNode(AcademyNode, bpy.types.Node):
    """True where Switch is true, else False (element by element)"""

    bl_idname = "AcademySwitchNode"
    bl_label = "Switch"
    bl_icon = "NONE"

    def init(self, context):
        self.add_input("BOOL", "Switch", False)
        self.add_input("FLOAT", "False", 0.0)
        self.add_input("FLOAT", "True", 0.0)
        self.add_output("FLOAT", "Output")

    def build(self, ins):
        return {"Output": S.Switch(ins["Switch"], ins["True"], ins["False"])}


_AXES = ("X", "Y", "Z", "W")


class AcademySeparateNode(AcademyNode, bpy.types.Node):
    """Split a vector into its components (X, Y, Z and W for quaternions and colours)"""

    bl_idname = "AcademySeparateNode"
    bl_label = "Separate"
    bl_icon = "NONE"

    def init(self, context):
        self.add_input("VECTOR", "Vector", (0.0, 0.0, 0.0))
        for axis in _AXES:
            self.add_output("FLOAT", axis)

    def build(self, ins):
        vec = ins["Vector"]
        return {axis: S.Component(vec, i) for i, axis in enumerate(_AXES) if i < vec.size}


def _sync_count(self, context=None):
    """Show as many inputs as ``count``."""
    for i, socket in enumerate(self.inputs):
        socket.hide = i >= self.count
    touch(self, context)


class AcademyCombineNode(AcademyNode, bpy.types.Node):
    """Join numbers (or vectors) into one vector, in order"""

    bl_idname = "AcademyCombineNode"
    bl_label = "Combine"
    bl_icon = "NONE"
    MAX = 8

    count: bpy.props.IntProperty(name="Inputs", default=3, min=1, max=8, update=_sync_count)

    def init(self, context):
        for i in range(self.MAX):
            self.add_input("FLOAT", _AXES[i] if i < 4 else str(i + 1), 0.0).hide = i >= self.count
        self.add_output("VECTOR", "Vector")

    def draw_options(self, context, layout):
        layout.prop(self, "count")

    def build(self, ins):
        items = tuple(ins[s.identifier] for s in list(self.inputs)[: self.count])
        return {"Vector": items[0] if len(items) == 1 else S.Concat(items)}


def _sync_count_select(self, context=None):
    for i, socket in enumerate(list(self.inputs)[1:]):
        socket.hide = i >= self.count
    touch(self, context)


class AcademySelectNode(AcademyNode, bpy.types.Node):
    """Pick one of several values by an index, e.g. a discrete action's choice (0 picks the first)"""

    bl_idname = "AcademySelectNode"
    bl_label = "Select by Index"
    bl_icon = "NONE"
    MAX = 8

    count: bpy.props.IntProperty(name="Options", default=3, min=1, max=8, update=_sync_count_select)

    def init(self, context):
        self.add_input("FLOAT", "Index", 0.0)
        for i in range(self.MAX):
            self.add_input("FLOAT", f"Option {i}", 0.0).hide = i >= self.count
        self.add_output("FLOAT", "Value")

    def draw_options(self, context, layout):
        layout.prop(self, "count")

    def build(self, ins):
        options = tuple(ins[s.identifier] for s in list(self.inputs)[1 : 1 + self.count])
        return {"Value": S.Select(ins["Index"], options)}


class AcademyChangedNode(AcademyNode, bpy.types.Node):
    """How much Value changed since the agent's previous decision (0 at the first decision of each episode),
    element by element: a score that rose gives a positive change (Compare > 0 → Reward)"""

    bl_idname = "AcademyChangedNode"
    bl_label = "Changed"
    bl_icon = "GRAPH"

    def init(self, context):
        self.add_input("FLOAT", "Value", 0.0)
        self.add_output("FLOAT", "Change")

    def build(self, ins):
        return {"Change": S.Changed(ins["Value"])}


CLASSES = (
    AcademyMathNode,
    AcademyVectorMathNode,
    AcademyCompareNode,
    AcademyBooleanNode,
    AcademyClampNode,
    AcademyMapRangeNode,
    AcademySwitchNode,
    AcademySeparateNode,
    AcademyCombineNode,
    AcademySelectNode,
    AcademyChangedNode,
)
