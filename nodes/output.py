"""Output nodes: what the agent changes in the scene.

Each output node is an actuator. **Every Frame** (the default) writes before every frame with the
current action, like ML-Agents' actions repeated between decisions. **On Reset** writes once at
every episode reset instead (randomising a start position, a colour): such writes cannot use the
action. Several output nodes apply in the order of their names. **Action Mask** writes nothing: it tells
the Brain which discrete choices it may take at each decision.
"""

from __future__ import annotations

import math

import bpy

from ..core import specs as S
from .base import AcademyNode, NodeError, exact, touch

WHEN_ITEMS = [
    ("FRAME", "Every Frame", "Write before every frame (actuator: uses the current action)"),
    ("RESET", "On Reset", "Write once when the agent's episode resets (randomisation)"),
]
MODE_ITEMS = [
    ("SET", "Set", "Replace the property's value"),
    ("ADD", "Add", "Add to the property's value"),
]


class _Write(AcademyNode):
    """Shared setting of output nodes: when they write"""

    is_sink = True

    when: bpy.props.EnumProperty(name="When", items=WHEN_ITEMS, default="FRAME", update=touch)

    def add_write(self, parts, obj: str, path: str, value: S.Expr, index: int = -1, mode: str = "SET",
                  low: float = -math.inf, high: float = math.inf):  # fmt: skip
        if low > high:
            raise NodeError(self.name, "Min is above Max")
        if S.is_dynamic_ref(obj):
            raise NodeError(self.name, "cannot write to an Other Agent (it can change at every decision)")
        write = S.Write(obj, path, value, index, mode, low, high)
        if self.when == "RESET":
            if any(isinstance(e, S.Action) for e in S.walk(value)):
                raise NodeError(self.name, "an On Reset write cannot use the action")
            parts.on_reset.append((self.name, write))
        else:
            parts.writes.append((self.name, write))


class _SetOrAdd(_Write):
    """Output nodes that set or add a number, optionally clamped (Look At and Set Colour always set)"""

    mode: bpy.props.EnumProperty(name="Mode", items=MODE_ITEMS, default="SET", update=touch)
    use_clamp: bpy.props.BoolProperty(
        name="Clamp", description="Keep the written result between Min and Max", update=touch
    )
    low: bpy.props.FloatProperty(name="Min", description="Lowest written value (with Clamp)", default=-1.0,
                                 update=touch)  # fmt: skip
    high: bpy.props.FloatProperty(name="Max", description="Highest written value (with Clamp)", default=1.0,
                                  update=touch)  # fmt: skip

    def draw_write_options(self, layout) -> None:
        row = layout.row(align=True)
        row.prop(self, "when", text="")
        row.prop(self, "mode", text="")
        layout.prop(self, "use_clamp")
        if self.use_clamp:
            row = layout.row(align=True)
            row.prop(self, "low")
            row.prop(self, "high")

    def add_clamped_write(self, parts, obj: str, path: str, value: S.Expr, index: int = -1) -> None:
        low, high = (exact(self, "low"), exact(self, "high")) if self.use_clamp else (-math.inf, math.inf)
        self.add_write(parts, obj, path, value, index, self.mode, low, high)


class AcademySetPropertyNode(_SetOrAdd, bpy.types.Node):
    """Set or add to any property of an object by data path (a custom property, a modifier setting, a
    shape key, a bone's rotation)"""

    bl_idname = "AcademySetPropertyNode"
    bl_label = "Set Property"
    bl_icon = "RNA"

    path: bpy.props.StringProperty(name="Data Path", description="Data path on the object", update=touch)
    index: bpy.props.IntProperty(
        name="Index", description="Component of an array property (-1: all of it)", default=-1, min=-1, update=touch
    )

    def init(self, context):
        self.add_input("OBJECT", "Object")
        self.add_input("FLOAT", "Value", 0.0)

    def draw_label(self):
        return "Add Property" if self.mode == "ADD" else "Set Property"

    def draw_options(self, context, layout):
        layout.prop(self, "path", text="", icon="RNA")
        layout.prop(self, "index")
        self.draw_write_options(layout)

    def emit(self, ins, parts):
        if not self.path.strip():
            raise NodeError(self.name, "the data path is empty")
        self.add_clamped_write(parts, ins["Object"], self.path.strip(), ins["Value"], self.index)


CHANNELS = [
    ("LOCATION", "Location", "The object's location"),
    ("ROTATION", "Rotation", "The object's Euler rotation (radians)"),
    ("SCALE", "Scale", "The object's scale"),
]
_PATHS = {"LOCATION": "location", "ROTATION": "rotation_euler", "SCALE": "scale"}


class AcademySetTransformNode(_SetOrAdd, bpy.types.Node):
    """Set or add to an object's location, rotation or scale (all three axes or one)"""

    bl_idname = "AcademySetTransformNode"
    bl_label = "Set Transform"
    bl_icon = "ORIENTATION_LOCAL"

    channel: bpy.props.EnumProperty(name="Channel", items=CHANNELS, default="LOCATION", update=touch)
    axis: bpy.props.EnumProperty(
        name="Axis",
        items=[("ALL", "XYZ", "All three axes"), ("X", "X", "X only"), ("Y", "Y", "Y only"), ("Z", "Z", "Z only")],
        default="ALL",
        update=touch,
    )

    def init(self, context):
        self.add_input("OBJECT", "Object")
        self.add_input("FLOAT", "Value", 0.0)

    def draw_label(self):
        return "Add Transform" if self.mode == "ADD" else "Set Transform"

    def draw_options(self, context, layout):
        row = layout.row(align=True)
        row.prop(self, "channel", text="")
        row.prop(self, "axis", text="")
        self.draw_write_options(layout)

    def emit(self, ins, parts):
        index = -1 if self.axis == "ALL" else "XYZ".index(self.axis)
        self.add_clamped_write(parts, ins["Object"], _PATHS[self.channel], ins["Value"], index)


class AcademyLookAtNode(_Write, bpy.types.Node):
    """Turn an object to face a target: writes its Euler rotation from the direction to the target
    (world space: for objects without a parent)"""

    bl_idname = "AcademyLookAtNode"
    bl_label = "Look At"
    bl_icon = "CON_TRACKTO"

    track: bpy.props.EnumProperty(
        name="Track",
        description="The object's axis that points at the target",
        items=[
            ("Y", "Y (up Z)", "Local +Y faces the target, +Z stays up (characters, vehicles)"),
            ("-Z", "-Z (up Y)", "Local -Z faces the target, +Y stays up (cameras, lights)"),
        ],
        default="Y",
        update=touch,
    )

    def init(self, context):
        self.add_input("OBJECT", "Object")
        self.add_input("OBJECT", "Target")

    def draw_options(self, context, layout):
        layout.prop(self, "track", text="")
        layout.prop(self, "when", text="")

    def emit(self, ins, parts):
        obj, target = ins["Object"], ins["Target"]
        if obj == target:
            raise NodeError(self.name, "the object cannot look at itself: link a Target")
        d = S.Direction(obj, target)
        dx, dy, dz = d[0], d[1], d[2]
        flat = S.Unary("SQRT", dx * dx + dy * dy)
        yaw = S.Binary("ARCTAN2", -dx, dy)
        if self.track == "Y":
            pitch = S.Binary("ARCTAN2", dz, flat)
        else:
            pitch = S.Binary("ARCTAN2", flat, -dz)
        value = S.Concat((pitch, S.Const((0.0,)), yaw))
        self.add_write(parts, obj, "rotation_euler", value, -1, "SET")


class AcademySetColourNode(_Write, bpy.types.Node):
    """Show something on the agent (like DRLA's Set Material): writes a colour to the object's colour
    (Solid view, Object colour) or its active material's viewport colour"""

    bl_idname = "AcademySetColourNode"
    bl_label = "Set Colour"
    bl_icon = "COLOR"

    target: bpy.props.EnumProperty(
        name="Target",
        items=[
            ("OBJECT", "Object Colour", "The object's colour (each agent its own)"),
            ("MATERIAL", "Material", "The viewport colour of the object's active material (shared by its users)"),
        ],
        default="OBJECT",
        update=touch,
    )

    def init(self, context):
        self.add_input("OBJECT", "Object")
        socket = self.add_input("VECTOR", "Colour", (1.0, 0.2, 0.2))
        socket.hide_value = False

    def draw_options(self, context, layout):
        layout.prop(self, "target", text="")
        layout.prop(self, "when", text="")

    def emit(self, ins, parts):
        colour = ins["Colour"]
        if colour.size == 1:
            colour = S.Concat((colour, colour, colour))
        if colour.size not in (3, 4):
            raise NodeError(self.name, f"a colour has 3 or 4 values, this one has {colour.size}")
        if colour.size == 3:
            colour = S.Concat((colour, S.Const((1.0,))))
        path = "color" if self.target == "OBJECT" else "active_material.diffuse_color"
        self.add_write(parts, ins["Object"], path, colour, -1, "SET")


class AcademyActionMaskNode(AcademyNode, bpy.types.Node):
    """Allow one discrete choice only while Enabled is true (like ML-Agents' WriteDiscreteActionMask):
    checked at every decision, a disabled choice is never taken, by learning, trained, Heuristic and
    Player Brains alike. Use one node per choice to mask; a branch keeps at least one choice enabled"""

    bl_idname = "AcademyActionMaskNode"
    bl_label = "Action Mask"
    bl_icon = "HIDE_ON"
    is_sink = True

    branch: bpy.props.StringProperty(
        name="Branch", description="The Discrete Action branch's name (empty: the only branch)", update=touch
    )
    choice: bpy.props.StringProperty(
        name="Choice", description="The choice's name in its branch (or its index, from 0)", update=touch
    )

    def init(self, context):
        self.add_input("BOOL", "Enabled", True)

    def draw_label(self):
        return f"Mask {self.branch + ': ' if self.branch else ''}{self.choice}" if self.choice else "Action Mask"

    def draw_options(self, context, layout):
        layout.prop(self, "branch", text="Branch")
        layout.prop(self, "choice", text="Choice")

    def emit(self, ins, parts):
        if not self.choice.strip():
            raise NodeError(self.name, "name the choice to mask (as the Discrete Action node lists it)")
        enabled = ins["Enabled"]
        if any(isinstance(e, S.Action) for e in S.walk(enabled)):
            raise NodeError(self.name, "a mask cannot read the chosen action (it is computed before the decision)")
        parts.masks.append((self.name, self.branch.strip(), self.choice.strip(), enabled))


CLASSES = (
    AcademySetPropertyNode,
    AcademySetTransformNode,
    AcademyLookAtNode,
    AcademySetColourNode,
    AcademyActionMaskNode,
)
