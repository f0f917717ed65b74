"""Socket types of the behaviour editor: each shows its kind by colour and shape.

| socket | carries | colour | shape |
|---|---|---|---|
| Float | one number | grey | circle |
| Vector | several numbers (a location, a colour, a list) | purple | circle |
| Boolean | 0 or 1 | pink | diamond |
| Object | an object reference (Self, an Agent Object slot, a scene object) | orange | square |
| Action | the action the Brain chose (numbers; never an observation) | green | diamond with dot |
| Rays | a ray-perception reading (numbers, one block per ray) | teal | circle with dot |
| Image | a camera image (only an Observe node takes it) | yellow | square with dot |
| Observation | what an Observe node takes: numbers or images, in link order | light blue | circle |

Numbers convert freely between Float, Vector, Boolean, Action and Rays (sizes are checked when the
tree compiles: size 1 broadcasts); Object and Image connect only to their own kind.
"""

from __future__ import annotations

import bpy

# kind -> (colour, shape); the kind is what the compiler checks
NUMERIC = frozenset({"FLOAT", "VECTOR", "BOOL", "ACTION", "RAYS"})


def compatible(from_kind: str, to_kind: str) -> bool:
    """Whether a value of ``from_kind`` may feed an input of ``to_kind``."""
    if to_kind == "OBSERVATION":
        return from_kind in NUMERIC or from_kind == "IMAGE"
    if to_kind in NUMERIC:
        return from_kind in NUMERIC
    return from_kind == to_kind


class _Socket:
    """Shared behaviour: the colour and shape of the kind, the value drawn when unlinked."""

    kind = "FLOAT"
    colour = (0.63, 0.63, 0.63, 1.0)
    shape = "CIRCLE"

    @classmethod
    def draw_color_simple(cls):
        return cls.colour

    def draw_color(self, context, node):  # Blender before 4.0 and fallbacks call this one
        return self.colour

    def draw(self, context, layout, node, text):
        if self.is_output or self.is_linked or not hasattr(self, "default_value") or self.hide_value:
            layout.label(text=text)
        else:
            layout.prop(self, "default_value", text=text)


def _init_shape(socket) -> None:
    socket.display_shape = type(socket).shape


class AcademySocketFloat(_Socket, bpy.types.NodeSocket):
    """A single number"""

    bl_idname = "AcademySocketFloat"
    bl_label = "Float"
    kind = "FLOAT"
    colour = (0.63, 0.63, 0.63, 1.0)
    default_value: bpy.props.FloatProperty(name="Value", description="The value used when nothing is linked")


class AcademySocketVector(_Socket, bpy.types.NodeSocket):
    """Several numbers: a location, a rotation, a colour or any list"""

    bl_idname = "AcademySocketVector"
    bl_label = "Vector"
    kind = "VECTOR"
    colour = (0.39, 0.39, 0.78, 1.0)
    default_value: bpy.props.FloatVectorProperty(
        name="Value", description="The value used when nothing is linked", size=3
    )

    def draw(self, context, layout, node, text):
        if self.is_output or self.is_linked or self.hide_value:
            layout.label(text=text)
        else:
            layout.column().prop(self, "default_value", text=text)


class AcademySocketBool(_Socket, bpy.types.NodeSocket):
    """True (1) or false (0)"""

    bl_idname = "AcademySocketBool"
    bl_label = "Boolean"
    kind = "BOOL"
    colour = (0.80, 0.65, 0.84, 1.0)
    shape = "DIAMOND"
    default_value: bpy.props.BoolProperty(name="Value", description="The value used when nothing is linked")


class AcademySocketObject(_Socket, bpy.types.NodeSocket):
    """An object: Self (the agent) when nothing is linked, or what an Object node picks"""

    bl_idname = "AcademySocketObject"
    bl_label = "Object"
    kind = "OBJECT"
    colour = (0.93, 0.62, 0.36, 1.0)
    shape = "SQUARE"

    def draw(self, context, layout, node, text):
        layout.label(text=text if self.is_output or self.is_linked else f"{text}: Self")


class AcademySocketAction(_Socket, bpy.types.NodeSocket):
    """The action the Brain chose (a continuous value or a discrete choice index)"""

    bl_idname = "AcademySocketAction"
    bl_label = "Action"
    kind = "ACTION"
    colour = (0.35, 0.80, 0.45, 1.0)
    shape = "DIAMOND_DOT"


class AcademySocketRays(_Socket, bpy.types.NodeSocket):
    """A ray-perception reading: per ray one flag per tag, a 'nothing hit' flag and the distance"""

    bl_idname = "AcademySocketRays"
    bl_label = "Rays"
    kind = "RAYS"
    colour = (0.25, 0.75, 0.75, 1.0)
    shape = "CIRCLE_DOT"


class AcademySocketImage(_Socket, bpy.types.NodeSocket):
    """A camera image observation (plug it into an Observe node)"""

    bl_idname = "AcademySocketImage"
    bl_label = "Image"
    kind = "IMAGE"
    colour = (0.78, 0.70, 0.16, 1.0)
    shape = "SQUARE_DOT"


class AcademySocketObservation(_Socket, bpy.types.NodeSocket):
    """What the agent observes: link numbers or images, in order (drag links to reorder)"""

    bl_idname = "AcademySocketObservation"
    bl_label = "Observation"
    kind = "OBSERVATION"
    colour = (0.45, 0.70, 0.95, 1.0)


SOCKETS = (
    AcademySocketFloat,
    AcademySocketVector,
    AcademySocketBool,
    AcademySocketObject,
    AcademySocketAction,
    AcademySocketRays,
    AcademySocketImage,
    AcademySocketObservation,
)

KIND_OF = {cls.bl_idname: cls.kind for cls in SOCKETS}
IDNAME_OF = {cls.kind: cls.bl_idname for cls in SOCKETS}


def kind_of(socket) -> str | None:
    """The kind of any socket (ours by type; Blender's float/vector/bool by their type)."""
    kind = KIND_OF.get(socket.bl_idname)
    if kind is not None:
        return kind
    return {"VALUE": "FLOAT", "INT": "FLOAT", "BOOLEAN": "BOOL", "VECTOR": "VECTOR", "RGBA": "VECTOR"}.get(
        getattr(socket, "type", ""), None
    )


def new_socket(collection, kind: str, name: str, identifier: str = "", **options):
    """Add a socket of ``kind`` with its shape set; ``options`` go to the new socket."""
    use_multi_input = options.pop("use_multi_input", False)
    if use_multi_input:
        socket = collection.new(IDNAME_OF[kind], name, identifier=identifier, use_multi_input=True)
    else:
        socket = collection.new(IDNAME_OF[kind], name, identifier=identifier)
    _init_shape(socket)
    for key, value in options.items():
        setattr(socket, key, value)
    return socket
