"""What an agent reads: the expressions at the leaves (transforms, properties, rays, episode progress,
reset parameters, random numbers, the chosen action) and camera images.

Each leaf is an :class:`~.expressions.Expr`; object references are ``"self"``, ``"slot:NAME"`` or
``"object:NAME"`` (``core.expressions``). ``env.compiler`` reads them from the scene.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from .expressions import (
    ACTION_SIZE,
    FINITE,
    IMAGE_SIDE,
    RAYS,
    SELF,
    VALUE_SIZE,
    Const,
    Expr,
    SpecError,
    in_range,
    remember_hashes,
)
from .limits import LIMITS, Range


@dataclass(frozen=True)
class Location(Expr):
    """World location of an object, or its location in ``relative_to``'s local frame."""

    op: ClassVar[str] = "location"
    obj: str = SELF
    relative_to: str | None = None

    size = 3


@dataclass(frozen=True)
class Rotation(Expr):
    """World rotation (Euler XYZ radians, or a quaternion WXYZ), optionally relative to an object."""

    op: ClassVar[str] = "rotation"
    obj: str = SELF
    relative_to: str | None = None
    mode: str = "EULER"  # EULER | QUATERNION

    @property
    def size(self) -> int:
        return 4 if self.mode == "QUATERNION" else 3


@dataclass(frozen=True)
class Velocity(Expr):
    """Linear (units/s) or angular (rad/s, Euler difference) velocity by finite difference between decisions.

    Blender does not expose rigid-body velocities; this differentiates the world transform. With
    ``relative_to`` the velocity is expressed in that object's rotation frame.
    """

    op: ClassVar[str] = "velocity"
    obj: str = SELF
    relative_to: str | None = None
    angular: bool = False

    size = 3


@dataclass(frozen=True)
class Property(Expr):
    """Any property by data path on an object: ``location``, ``["hp"]``, ``modifiers["Wave"].height``,
    ``data.shape_keys.key_blocks["Smile"].value``, ``pose.bones["Arm"].rotation_euler``.

    ``index`` picks one component of an array property; ``size`` is checked when compiled.
    """

    op: ClassVar[str] = "property"
    obj: str = SELF
    path: str = ""
    index: int = -1
    size_: int = 1

    def check_numbers(self) -> None:
        in_range(f"property {self.path}", "size", self.size_, VALUE_SIZE)

    @property
    def size(self) -> int:
        return self.size_


@dataclass(frozen=True)
class Distance(Expr):
    """World distance between two objects' origins."""

    op: ClassVar[str] = "distance"
    a: str = SELF
    b: str = SELF

    size = 1


@dataclass(frozen=True)
class Direction(Expr):
    """Unit vector from ``a`` to ``b`` in world space (or in ``a``'s frame with ``local``)."""

    op: ClassVar[str] = "direction"
    a: str = SELF
    b: str = SELF
    local: bool = False

    size = 3


@dataclass(frozen=True)
class RayPerception(Expr):
    """A fan of rays from an object, like ML-Agents' RayPerceptionSensor.

    Per ray: one value per tag (1 if the first hit object carries that tag), then 1 if nothing
    was hit, then the hit distance divided by ``length`` (1 when nothing was hit). An object is
    tagged with the custom property ``academy_tag`` (a string). Rays start at the object's origin
    (plus ``offset`` along its local Z), spread evenly over ``angle`` degrees around the local
    ``forward`` axis in the local XY plane.
    """

    op: ClassVar[str] = "rays"
    obj: str = SELF
    rays: int = 5
    angle: float = 90.0
    length: float = 10.0
    tags: tuple[str, ...] = ()
    forward: str = "Y"  # local axis: X, Y, -X, -Y
    offset: float = 0.0

    def check_numbers(self) -> None:
        in_range(self.label, "rays", self.rays, RAYS)
        in_range(self.label, "angle", self.angle, Range(0.0, 360.0))
        in_range(self.label, "length", self.length, Range(0.0, 1e30, low_open=True))
        in_range(self.label, "height offset", self.offset, FINITE)
        if len(self.tags) > LIMITS["rays"]:
            raise SpecError(f"{self.label}: {len(self.tags)} tags; the limit is {LIMITS['rays']}")

    @property
    def label(self) -> str:
        return "ray perception"

    @property
    def size(self) -> int:
        return self.rays * (len(self.tags) + 2)


@dataclass(frozen=True)
class StepInfo(Expr):
    """Episode progress: ``STEP`` (decisions so far this episode; it stands still while the agent waits),
    ``EPISODE`` (episodes this agent has ended since the Academy started: by an end, by its max steps or
    cut by a timeline jump), ``PROGRESS`` (step / max steps, 0 when unlimited), or ``TRAINING`` (the
    fraction 0..1 of the training run's agent steps taken; 0 when not training)."""

    op: ClassVar[str] = "step"
    what: str = "STEP"

    size = 1


@dataclass(frozen=True)
class ResetParam(Expr):
    """The current value of one of the Academy's reset parameters (chosen at each episode reset)."""

    op: ClassVar[str] = "reset_param"
    name: str = ""

    size = 1


@dataclass(frozen=True)
class Random(Expr):
    """Uniform random numbers in [low, high), drawn from the Academy's seeded generator.

    Drawn once per evaluation pass: every use of the same Random (same bounds, size and
    ``stream``) in one pass sees the same numbers, so one draw can feed several expressions.
    Give independent draws different ``stream`` numbers (each Random node has its own).
    """

    op: ClassVar[str] = "random"
    low: float = 0.0
    high: float = 1.0
    size_: int = 1
    stream: int = 0

    def check_numbers(self) -> None:
        in_range(self.label, "size", self.size_, VALUE_SIZE)
        in_range(self.label, "min", self.low, FINITE)
        in_range(self.label, "max", self.high, FINITE)
        if self.low > self.high:
            raise SpecError(f"{self.label}: Min {self.low:g} is above Max {self.high:g}")

    @property
    def size(self) -> int:
        return self.size_


@dataclass(frozen=True)
class Action(Expr):
    """The action the Brain chose: continuous component(s) or one discrete branch's choice index.

    ``index`` is the continuous component or discrete branch; ``size`` > 1 takes consecutive
    continuous components.
    """

    op: ClassVar[str] = "action"
    index: int = 0
    size_: int = 1

    def check_numbers(self) -> None:
        in_range(self.label, "size", self.size_, ACTION_SIZE)

    @property
    def size(self) -> int:
        return self.size_


@dataclass(frozen=True)
class Team(Expr):
    """The agent's team (``TEAM``: its Team number, Object Properties → Agent) or the number of agents
    of its Brain on that team, itself included (``SIZE``)."""

    op: ClassVar[str] = "team"
    what: str = "TEAM"  # TEAM | SIZE

    def check_numbers(self) -> None:
        if self.what not in ("TEAM", "SIZE"):
            raise SpecError(f"team: what must be TEAM or SIZE, not {self.what!r}")

    size = 1


@dataclass(frozen=True)
class Changed(Expr):
    """How much ``x`` changed since the agent's previous decision (0 at the first decision of each of
    its episodes). Between decisions it keeps the change measured at the last decision."""

    op: ClassVar[str] = "changed"
    x: Expr = field(default_factory=lambda: Const((0.0,)))

    @property
    def size(self) -> int:
        return self.x.size


# -- images -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Camera:
    """An image observation from a camera object.

    ``mode`` RENDER uses the scene's render engine (Workbench by default); FAST draws the scene's
    meshes with Blender's ``gpu`` module in object colours (``kind`` COLOR), depth (DEPTH) or
    object index (INDEX).
    """

    camera: str
    width: int = 84
    height: int = 84
    grayscale: bool = False
    mode: str = "FAST"  # FAST | RENDER
    kind: str = "COLOR"  # COLOR | DEPTH | INDEX

    def __post_init__(self) -> None:
        in_range(f"camera {self.camera}", "width", self.width, IMAGE_SIDE)
        in_range(f"camera {self.camera}", "height", self.height, IMAGE_SIDE)

    @property
    def channels(self) -> int:
        return 1 if self.grayscale or self.kind != "COLOR" else 3


remember_hashes()
