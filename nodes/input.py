"""Input nodes: what the agent can read from the scene (objects, properties, transforms, sensors)."""

from __future__ import annotations

import bpy

from ..core import specs as S
from ..core.limits import LIMITS
from .base import AcademyNode, NodeError, exact, touch

ROTATION_MODES = [
    ("EULER", "Euler", "XYZ Euler angles in radians (3 values)"),
    ("QUATERNION", "Quaternion", "A unit quaternion W, X, Y, Z (4 values)"),
]


class AcademySelfNode(AcademyNode, bpy.types.Node):
    """The agent this tree is evaluated for (each agent sharing the tree is its own Self)"""

    bl_idname = "AcademySelfNode"
    bl_label = "Self"
    bl_icon = "OBJECT_DATA"

    def init(self, context):
        self.add_output("OBJECT", "Self")

    def build(self, ins):
        return {"Self": S.SELF}


class AcademyObjectNode(AcademyNode, bpy.types.Node):
    """An object: one scene object shared by every agent, or an Agent Object slot each agent fills
    with its own object (e.g. each platform's Ball)"""

    bl_idname = "AcademyObjectNode"
    bl_label = "Object"
    bl_icon = "OBJECT_DATA"

    source: bpy.props.EnumProperty(
        name="Source",
        description="Where the object comes from",
        items=[
            ("SLOT", "Agent Object", "The object each agent links under this name (Object Properties → Agent)"),
            ("OBJECT", "Scene Object", "One object of the scene, the same for every agent"),
        ],
        default="SLOT",
        update=touch,
    )
    slot: bpy.props.StringProperty(
        name="Slot", description="Name of the Agent Object slot (e.g. Ball)", default="", update=touch
    )
    object: bpy.props.PointerProperty(
        type=bpy.types.Object, name="Object", description="The scene object", update=touch
    )

    def init(self, context):
        self.add_output("OBJECT", "Object")

    def draw_options(self, context, layout):
        layout.prop(self, "source", text="")
        if self.source == "SLOT":
            layout.prop(self, "slot", text="", icon="LINKED")
        else:
            layout.prop(self, "object", text="")

    def build(self, ins):
        if self.source == "SLOT":
            if not self.slot.strip():
                raise NodeError(self.name, "give the Agent Object slot a name")
            return {"Object": f"slot:{self.slot.strip()}"}
        if self.object is None:
            raise NodeError(self.name, "pick an object")
        return {"Object": f"object:{self.object.name}"}


class AcademyPropertyNode(AcademyNode, bpy.types.Node):
    """Read any property of an object by data path: location, ["hp"], modifiers["Wave"].height,
    data.shape_keys.key_blocks["Smile"].value, pose.bones["Arm"].rotation_euler"""

    bl_idname = "AcademyPropertyNode"
    bl_label = "Property"
    bl_icon = "RNA"

    path: bpy.props.StringProperty(name="Data Path", description="Data path on the object", update=touch)
    index: bpy.props.IntProperty(
        name="Index", description="Component of an array property (-1: all of it)", default=-1, min=-1, update=touch
    )
    size: bpy.props.IntProperty(
        name="Size", description="Number of values the property has (checked against the agents)", default=1,
        min=1, max=64, update=touch,
    )  # fmt: skip

    def init(self, context):
        self.add_input("OBJECT", "Object")
        self.add_output("VECTOR", "Value")

    def draw_options(self, context, layout):
        layout.prop(self, "path", text="", icon="RNA")
        row = layout.row(align=True)
        row.prop(self, "index")
        row.prop(self, "size")

    def build(self, ins):
        if not self.path.strip():
            raise NodeError(self.name, "the data path is empty")
        size = 1 if self.index >= 0 else self.size
        return {"Value": S.Property(ins["Object"], self.path.strip(), self.index, size)}


class AcademyTransformNode(AcademyNode, bpy.types.Node):
    """An object's world location and rotation, or relative to another object when Relative To is linked"""

    bl_idname = "AcademyTransformNode"
    bl_label = "Transform"
    bl_icon = "ORIENTATION_GLOBAL"
    optional = ("Relative To",)

    rotation_mode: bpy.props.EnumProperty(
        name="Rotation", description="How rotation is given", items=ROTATION_MODES, default="EULER", update=touch
    )

    def init(self, context):
        self.add_input("OBJECT", "Object")
        self.add_input("OBJECT", "Relative To")
        self.add_output("VECTOR", "Location")
        self.add_output("VECTOR", "Rotation")

    def draw_options(self, context, layout):
        layout.prop(self, "rotation_mode", text="")

    def build(self, ins):
        obj, rel = ins["Object"], ins["Relative To"]
        return {
            "Location": S.Location(obj, rel),
            "Rotation": S.Rotation(obj, rel, self.rotation_mode),
        }


class AcademyVelocityNode(AcademyNode, bpy.types.Node):
    """Linear (units/s) and angular (rad/s) velocity, measured between decisions (works for rigid bodies)"""

    bl_idname = "AcademyVelocityNode"
    bl_label = "Velocity"
    bl_icon = "FORCE_FORCE"
    optional = ("Relative To",)

    def init(self, context):
        self.add_input("OBJECT", "Object")
        self.add_input("OBJECT", "Relative To")
        self.add_output("VECTOR", "Linear")
        self.add_output("VECTOR", "Angular")

    def build(self, ins):
        obj, rel = ins["Object"], ins["Relative To"]
        return {"Linear": S.Velocity(obj, rel), "Angular": S.Velocity(obj, rel, angular=True)}


class AcademyDistanceNode(AcademyNode, bpy.types.Node):
    """Distance between two objects' origins and the unit direction from the first to the second"""

    bl_idname = "AcademyDistanceNode"
    bl_label = "Distance / Direction"
    bl_icon = "DRIVER_DISTANCE"

    local: bpy.props.BoolProperty(
        name="Local", description="Give the direction in From's own frame (else world space)", update=touch
    )

    def init(self, context):
        self.add_input("OBJECT", "From")
        self.add_input("OBJECT", "To")
        self.add_output("FLOAT", "Distance")
        self.add_output("VECTOR", "Direction")

    def draw_options(self, context, layout):
        layout.prop(self, "local")

    def build(self, ins):
        a, b = ins["From"], ins["To"]
        return {"Distance": S.Distance(a, b), "Direction": S.Direction(a, b, self.local)}


class AcademyRayPerceptionNode(AcademyNode, bpy.types.Node):
    """A fan of rays, like ML-Agents' RayPerceptionSensor: per ray one flag per tag, a 'nothing hit'
    flag and the hit distance / length. Tag objects with the custom property academy_tag"""

    bl_idname = "AcademyRayPerceptionNode"
    bl_label = "Ray Perception"
    bl_icon = "LIGHT_SUN"

    rays: bpy.props.IntProperty(
        name="Rays", description="Number of rays", default=5, min=1, max=LIMITS["rays"], update=touch
    )
    angle: bpy.props.FloatProperty(
        name="Angle", description="Spread of the fan in degrees", default=90.0, min=0.0, max=360.0, update=touch
    )
    length: bpy.props.FloatProperty(
        name="Length", description="How far the rays reach", default=10.0, min=0.001, update=touch
    )
    tags: bpy.props.StringProperty(
        name="Tags", description="Comma-separated academy_tag values the rays detect", default="", update=touch
    )
    forward: bpy.props.EnumProperty(
        name="Forward",
        description="The object's local axis the fan is centred on",
        items=[(a, a, f"Local {a} axis") for a in ("Y", "X", "-Y", "-X")],
        default="Y",
        update=touch,
    )
    offset: bpy.props.FloatProperty(
        name="Height Offset", description="Start the rays this far along the local Z axis", update=touch
    )

    def init(self, context):
        self.add_input("OBJECT", "Object")
        self.add_output("RAYS", "Rays")

    def draw_options(self, context, layout):
        col = layout.column(align=True)
        for prop in ("rays", "angle", "length", "offset"):
            col.prop(self, prop)
        layout.prop(self, "forward")
        layout.prop(self, "tags", text="", icon="BOOKMARKS")

    def tag_list(self) -> tuple[str, ...]:
        return tuple(t.strip() for t in self.tags.split(",") if t.strip())

    def build(self, ins):
        refuse_other_agent(self, ins["Object"], "the rays' Object")
        return {
            "Rays": S.RayPerception(
                ins["Object"],
                self.rays,
                exact(self, "angle"),
                exact(self, "length"),
                self.tag_list(),
                self.forward,
                exact(self, "offset"),
            )  # fmt: skip
        }


class AcademyCameraNode(AcademyNode, bpy.types.Node):
    """An image from a camera: Render (the scene's engine) or Fast (the gpu module; colour, depth or
    object index). Plug it into an Observe node"""

    bl_idname = "AcademyCameraNode"
    bl_label = "Camera"
    bl_icon = "CAMERA_DATA"

    mode: bpy.props.EnumProperty(
        name="Mode",
        description="How the image is made",
        items=[
            ("FAST", "Fast", "Draw the meshes with Blender's gpu module (about 0.2 ms for 84×84)"),
            ("RENDER", "Render", "Render with the scene's engine (Workbench about 10 ms for 84×84)"),
        ],
        default="FAST",
        update=touch,
    )
    kind: bpy.props.EnumProperty(
        name="Image",
        description="What the pixels hold (Fast mode)",
        items=[
            ("COLOR", "Colour", "Object colours"),
            ("DEPTH", "Depth", "Distance from the camera"),
            ("INDEX", "Index", "Object index"),
        ],
        default="COLOR",
        update=touch,
    )
    width: bpy.props.IntProperty(name="Width", default=84, min=1, max=LIMITS["image_size"], update=touch)
    height: bpy.props.IntProperty(name="Height", default=84, min=1, max=LIMITS["image_size"], update=touch)
    grayscale: bpy.props.BoolProperty(name="Grey", description="One channel instead of RGB", update=touch)

    def init(self, context):
        self.add_input("OBJECT", "Camera")
        self.add_output("IMAGE", "Image")

    def draw_options(self, context, layout):
        layout.prop(self, "mode", text="")
        layout.prop(self, "kind", text="")
        row = layout.row(align=True)
        row.prop(self, "width", text="W")
        row.prop(self, "height", text="H")
        layout.prop(self, "grayscale")

    def build(self, ins):
        refuse_other_agent(self, ins["Camera"], "the Camera")
        return {"Image": S.Camera(ins["Camera"], self.width, self.height, self.grayscale, self.mode, self.kind)}


class AcademyStepInfoNode(AcademyNode, bpy.types.Node):
    """Episode progress. Step: decisions so far this episode. Episode: episodes this agent has ended since
    Train or Play started (by End Episode, Max Episode Steps or a timeline jump). Progress: Step / Max
    Episode Steps (0 without a limit)"""

    bl_idname = "AcademyStepInfoNode"
    bl_label = "Step Info"
    bl_icon = "TIME"

    def init(self, context):
        self.add_output("FLOAT", "Step")
        self.add_output("FLOAT", "Episode")
        self.add_output("FLOAT", "Progress")

    def build(self, ins):
        return {"Step": S.StepInfo("STEP"), "Episode": S.StepInfo("EPISODE"), "Progress": S.StepInfo("PROGRESS")}


class AcademyTrainingProgressNode(AcademyNode, bpy.types.Node):
    """How far the training run is: the fraction (0..1) of its agent steps taken so far (0 when not
    training), for schedules and curricula in the tree"""

    bl_idname = "AcademyTrainingProgressNode"
    bl_label = "Training Progress"
    bl_icon = "SORTTIME"

    def init(self, context):
        self.add_output("FLOAT", "Progress")

    def build(self, ins):
        return {"Progress": S.StepInfo("TRAINING")}


class AcademyResetParameterNode(AcademyNode, bpy.types.Node):
    """The current value of one of the Academy's reset parameters (drawn again at every episode reset)"""

    bl_idname = "AcademyResetParameterNode"
    bl_label = "Reset Parameter"
    bl_icon = "PRESET"

    parameter: bpy.props.StringProperty(
        name="Parameter", description="Name of the reset parameter (Scene → Academy)", update=touch
    )

    def init(self, context):
        self.add_output("FLOAT", "Value")

    def draw_options(self, context, layout):
        scene = context.scene if context else None
        academy = getattr(scene, "academy", None)
        params = getattr(academy, "reset_parameters", None)
        if params is not None:
            layout.prop_search(self, "parameter", academy, "reset_parameters", text="")
        else:
            layout.prop(self, "parameter", text="")

    def build(self, ins):
        if not self.parameter.strip():
            raise NodeError(self.name, "name the reset parameter")
        return {"Value": S.ResetParam(self.parameter.strip())}


class AcademyRandomNode(AcademyNode, bpy.types.Node):
    """Uniform random numbers in [Min, Max), from the Academy's seeded generator (new every evaluation)"""

    bl_idname = "AcademyRandomNode"
    bl_label = "Random"
    bl_icon = "MOD_NOISE"

    low: bpy.props.FloatProperty(name="Min", default=0.0, update=touch)
    high: bpy.props.FloatProperty(name="Max", default=1.0, update=touch)
    size: bpy.props.IntProperty(name="Size", description="How many numbers", default=1, min=1, max=64, update=touch)
    stream: bpy.props.IntProperty(
        name="Stream",
        description="Random nodes with the same Min, Max, Size and Stream give the same numbers in one evaluation; "
        "give independent draws different streams",
        default=0,
        min=0,
        update=touch,
    )

    def init(self, context):
        self.add_output("FLOAT", "Value")

    def draw_options(self, context, layout):
        col = layout.column(align=True)
        col.prop(self, "low")
        col.prop(self, "high")
        row = layout.row(align=True)
        row.prop(self, "size")
        row.prop(self, "stream")

    def build(self, ins):
        return {"Value": S.Random(exact(self, "low"), exact(self, "high"), self.size, self.stream)}


class AcademyTeamNode(AcademyNode, bpy.types.Node):
    """The agent's team. Team: its Team number (Object Properties → Agent). Team Size: how many agents of
    its Brain play for that team, itself included"""

    bl_idname = "AcademyTeamNode"
    bl_label = "Team"
    bl_icon = "COMMUNITY"

    def init(self, context):
        self.add_output("FLOAT", "Team")
        self.add_output("FLOAT", "Team Size")

    def build(self, ins):
        return {"Team": S.Team("TEAM"), "Team Size": S.Team("SIZE")}


OTHER_AGENT_ITEMS = [
    ("OTHER_TEAM", "Nearest of Another Team", "The nearest enabled agent whose Team differs from this agent's"),
    ("SAME_TEAM", "Nearest Teammate", "The nearest other enabled agent of this agent's Team"),
    ("ANY", "Nearest Other Agent", "The nearest other enabled agent, whatever its team"),
]


class AcademyOtherAgentNode(AcademyNode, bpy.types.Node):
    """Another agent of the scene, picked again at every decision: the nearest of another team, the nearest
    teammate or the nearest of any team. Read it with Transform, Velocity, Distance / Direction or Property
    (it cannot be written to, carry a camera or cast rays)"""

    bl_idname = "AcademyOtherAgentNode"
    bl_label = "Other Agent"
    bl_icon = "USER"

    mode: bpy.props.EnumProperty(
        name="Which", description="Which other agent", items=OTHER_AGENT_ITEMS, default="OTHER_TEAM", update=touch
    )

    def init(self, context):
        self.add_output("OBJECT", "Agent")

    def draw_options(self, context, layout):
        layout.prop(self, "mode", text="")

    def build(self, ins):
        return {"Agent": f"agent:{self.mode}"}


def refuse_other_agent(node, ref, what: str) -> None:
    """Raise :class:`NodeError` on ``node`` when ``ref`` is an Other Agent (it changes from decision to decision)."""
    if S.is_dynamic_ref(ref):
        raise NodeError(node.name, f"{what} cannot be an Other Agent (it can change at every decision)")


class AcademyValueNode(AcademyNode, bpy.types.Node):
    """A constant number"""

    bl_idname = "AcademyValueNode"
    bl_label = "Value"
    bl_icon = "DRIVER_TRANSFORM"

    value: bpy.props.FloatProperty(name="Value", default=0.0, update=touch)

    def init(self, context):
        self.add_output("FLOAT", "Value")

    def draw_options(self, context, layout):
        layout.prop(self, "value", text="")

    def build(self, ins):
        return {"Value": S.Const((exact(self, "value"),))}


CLASSES = (
    AcademySelfNode,
    AcademyObjectNode,
    AcademyPropertyNode,
    AcademyTransformNode,
    AcademyVelocityNode,
    AcademyDistanceNode,
    AcademyRayPerceptionNode,
    AcademyCameraNode,
    AcademyStepInfoNode,
    AcademyTrainingProgressNode,
    AcademyResetParameterNode,
    AcademyRandomNode,
    AcademyValueNode,
    AcademyTeamNode,
    AcademyOtherAgentNode,
)
