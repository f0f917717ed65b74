"""Behaviour specs: what an agent observes, how it acts, what it is rewarded for, when it ends.

Plain data, JSON-serialisable, no bpy: a script builds them directly, the behaviour node tree
compiles into them, and ``env.compiler`` turns them into vectorised evaluators over all the agents
that share them. Everything an agent computes is an :class:`Expr`: a small expression graph whose
leaves read the scene (transforms, properties, rays, the chosen action) and whose inner nodes are
math. Object references are strings:

- ``"self"``: the agent the behaviour is evaluated for;
- ``"slot:NAME"``: the object the agent links under NAME (Agent panel → Agent Objects), e.g. each
  Balance Ball platform links its own ball as ``slot:Ball``;
- ``"object:NAME"``: one fixed object of the scene, shared by every agent.

Sizes are known when a spec is built (``Expr.size``); scalars broadcast against vectors. Every part
checks its numbers when it is made (NaN never; ray counts, image sizes, action and observation sizes
up to ``training.config.LIMITS``), so a node's error names the node and a script's spec is refused
before anything is allocated.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..training.config import LIMITS, Range, SettingsError, check_range

SELF = "self"


class SpecError(ValueError):
    """A behaviour spec is malformed. The message names the part at fault."""


def parse_ref(ref: str) -> tuple[str, str]:
    """``(kind, name)`` of an object reference: ``("self", "")``, ``("slot", NAME)`` or ``("object", NAME)``."""
    if ref == SELF:
        return "self", ""
    kind, _, name = ref.partition(":")
    return kind, name


def _in_range(part: str, label: str, value, allowed: Range) -> None:
    try:
        check_range(f"{part}: {label}", value, allowed)
    except SettingsError as exc:
        raise SpecError(str(exc)) from None


def _no_nan(part: str, obj) -> None:
    """Refuse NaN in any number (or tuple of numbers) of the dataclass ``obj``."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        values = value if isinstance(value, tuple) else (value,)
        if any(isinstance(v, float) and math.isnan(v) for v in values):
            raise SpecError(f"{part}: {f.name.rstrip('_').replace('_', ' ')} is NaN")


RAYS = Range(1, LIMITS["rays"])
IMAGE_SIDE = Range(1, LIMITS["image_size"])
ACTION_SIZE = Range(1, LIMITS["action_size"])
VALUE_SIZE = Range(1, LIMITS["observation_size"])
FINITE = Range(-math.inf, math.inf)


def check_ref(ref: str, where: str) -> str:
    """Validate an object reference string; return it."""
    if ref == SELF or (ref.startswith(("slot:", "object:")) and ref.split(":", 1)[1]):
        return ref
    raise SpecError(f"{where}: object reference {ref!r} must be 'self', 'slot:NAME' or 'object:NAME'")


# --------------------------------------------------------------------------------------------
# Expressions


_EXPR_TYPES: dict[str, type[Expr]] = {}


@dataclass(frozen=True)
class Expr:
    """A vector-valued expression evaluated once per decision for every agent."""

    op: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.op:
            _EXPR_TYPES[cls.op] = cls
        own = cls.__dict__.get("size")
        if isinstance(own, property) and own.fget is not None:
            cls.size = _remembered("_size", own.fget)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        _no_nan(self.label, self)
        self.check_numbers()

    @property
    def label(self) -> str:
        """What error messages call this expression ("ray perception")."""
        return self.op.replace("_", " ")

    def check_numbers(self) -> None:
        """Subclass hook: raise :class:`SpecError` for a number out of its range (sizes, counts)."""

    @property
    def size(self) -> int:
        raise NotImplementedError

    @property
    def depth(self) -> int:
        """How many expressions deep this one is (1 for a leaf); computed without recursion."""
        return expr_depth(self)

    def children(self) -> tuple[Expr, ...]:
        """The expressions this one reads."""
        out: list[Expr] = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Expr):
                out.append(value)
            elif isinstance(value, tuple):
                out.extend(v for v in value if isinstance(v, Expr))
        return tuple(out)

    # operators, so scripts can write ``loc(b) - loc(p)``
    def __add__(self, other) -> Expr:
        return Binary("ADD", self, as_expr(other))

    def __radd__(self, other) -> Expr:
        return Binary("ADD", as_expr(other), self)

    def __sub__(self, other) -> Expr:
        return Binary("SUBTRACT", self, as_expr(other))

    def __rsub__(self, other) -> Expr:
        return Binary("SUBTRACT", as_expr(other), self)

    def __mul__(self, other) -> Expr:
        return Binary("MULTIPLY", self, as_expr(other))

    def __rmul__(self, other) -> Expr:
        return Binary("MULTIPLY", as_expr(other), self)

    def __truediv__(self, other) -> Expr:
        return Binary("DIVIDE", self, as_expr(other))

    def __neg__(self) -> Expr:
        return Unary("NEGATE", self)

    def __getitem__(self, index: int) -> Expr:
        return Component(self, index)

    def lt(self, other) -> Expr:
        return Compare("LESS_THAN", self, as_expr(other))

    def gt(self, other) -> Expr:
        return Compare("GREATER_THAN", self, as_expr(other))


# Expressions share sub-expressions (a node's output read by several nodes is one object), so a
# tree of n nodes can hold 2**n paths: sizes and hashes are remembered on each object, and walks
# visit each object once. Deep chains are refused (MAX_DEPTH) before anything recurses through them.
MAX_DEPTH = 128
"""At most this many expressions (math nodes) in a row: far beyond a hand-made tree, and within
the Python stack that compiling and evaluating an expression recurse on."""


def _remembered(slot: str, compute):
    def get(self):
        try:
            return self.__dict__[slot]
        except KeyError:
            value = self.__dict__[slot] = compute(self)  # frozen: write past __setattr__
            return value

    get.__doc__ = compute.__doc__
    return property(get)


def _remember_hash(cls: type) -> None:
    raw = cls.__hash__

    def __hash__(self) -> int:
        try:
            return self.__dict__["_hash"]
        except KeyError:
            value = self.__dict__["_hash"] = raw(self)
            return value

    cls.__hash__ = __hash__  # type: ignore[method-assign]


def expr_depth(expr: Expr) -> int:
    """The length of the longest path from ``expr`` down to a leaf (1 for a leaf), without recursion."""
    if "_depth" in expr.__dict__:
        return expr.__dict__["_depth"]
    stack = [(expr, False)]
    while stack:
        e, expanded = stack.pop()
        if "_depth" in e.__dict__:
            continue
        kids = e.children()
        if expanded:
            e.__dict__["_depth"] = 1 + max((k.__dict__["_depth"] for k in kids), default=0)
            continue
        stack.append((e, True))
        stack.extend((k, False) for k in kids if "_depth" not in k.__dict__)
    return expr.__dict__["_depth"]


def as_expr(value) -> Expr:
    """``value`` as an expression: numbers and sequences of numbers become :class:`Const`."""
    if isinstance(value, Expr):
        return value
    if isinstance(value, int | float):
        return Const((float(value),))
    return Const(tuple(float(v) for v in value))


def _broadcast(a: int, b: int, where: str) -> int:
    if a == b or b == 1:
        return a
    if a == 1:
        return b
    raise SpecError(f"{where}: sizes {a} and {b} do not match (only size 1 broadcasts)")


# -- leaves -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Const(Expr):
    """A constant vector."""

    op: ClassVar[str] = "const"
    value: tuple[float, ...] = (0.0,)

    def check_numbers(self) -> None:
        _in_range(self.label, "size", len(self.value), VALUE_SIZE)

    @property
    def size(self) -> int:
        return len(self.value)


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
        _in_range(f"property {self.path}", "size", self.size_, VALUE_SIZE)

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
        _in_range(self.label, "rays", self.rays, RAYS)
        _in_range(self.label, "angle", self.angle, Range(0.0, 360.0))
        _in_range(self.label, "length", self.length, Range(0.0, 1e30, low_open=True))
        _in_range(self.label, "height offset", self.offset, FINITE)
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
    cut by a timeline jump), or ``PROGRESS`` (step / max steps, 0 when unlimited)."""

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
        _in_range(self.label, "size", self.size_, VALUE_SIZE)
        _in_range(self.label, "min", self.low, FINITE)
        _in_range(self.label, "max", self.high, FINITE)
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
        _in_range(self.label, "size", self.size_, ACTION_SIZE)

    @property
    def size(self) -> int:
        return self.size_


# -- math -------------------------------------------------------------------------------------

UNARY_FUNCS = ("NEGATE", "ABSOLUTE", "SQRT", "SINE", "COSINE", "TANGENT", "EXPONENT", "LOGARITHM",
               "FLOOR", "CEIL", "ROUND", "SIGN", "NOT")  # fmt: skip
BINARY_FUNCS = ("ADD", "SUBTRACT", "MULTIPLY", "DIVIDE", "POWER", "MINIMUM", "MAXIMUM", "MODULO",
                "ARCTAN2", "AND", "OR", "XOR")  # fmt: skip
COMPARE_FUNCS = ("LESS_THAN", "LESS_EQUAL", "GREATER_THAN", "GREATER_EQUAL", "EQUAL", "NOT_EQUAL")
VECTOR_FUNCS = {"DOT": 1, "CROSS": 3, "LENGTH": 1, "NORMALIZE": 0, "DISTANCE": 1, "SUM": 1}


@dataclass(frozen=True)
class Unary(Expr):
    op: ClassVar[str] = "unary"
    func: str = "NEGATE"
    x: Expr = field(default_factory=Const)

    @property
    def size(self) -> int:
        return self.x.size


@dataclass(frozen=True)
class Binary(Expr):
    op: ClassVar[str] = "binary"
    func: str = "ADD"
    a: Expr = field(default_factory=Const)
    b: Expr = field(default_factory=Const)

    @property
    def size(self) -> int:
        return _broadcast(self.a.size, self.b.size, f"{self.func.lower()}")


@dataclass(frozen=True)
class Compare(Expr):
    """Element-wise comparison; 1.0 where true, 0.0 where false. ``EQUAL`` uses ``epsilon``."""

    op: ClassVar[str] = "compare"
    func: str = "LESS_THAN"
    a: Expr = field(default_factory=Const)
    b: Expr = field(default_factory=Const)
    epsilon: float = 1e-6

    def check_numbers(self) -> None:
        _in_range(self.label, "epsilon", self.epsilon, Range(0.0, math.inf))

    @property
    def size(self) -> int:
        return _broadcast(self.a.size, self.b.size, f"{self.func.lower()}")


@dataclass(frozen=True)
class Clamp(Expr):
    op: ClassVar[str] = "clamp"
    x: Expr = field(default_factory=Const)
    low: float = 0.0
    high: float = 1.0

    @property
    def size(self) -> int:
        return self.x.size


@dataclass(frozen=True)
class MapRange(Expr):
    op: ClassVar[str] = "map_range"
    x: Expr = field(default_factory=Const)
    from_low: float = 0.0
    from_high: float = 1.0
    to_low: float = 0.0
    to_high: float = 1.0
    clamp: bool = True

    def check_numbers(self) -> None:
        for name in ("from_low", "from_high", "to_low", "to_high"):
            _in_range(self.label, name.replace("_", " "), getattr(self, name), FINITE)

    @property
    def size(self) -> int:
        return self.x.size


@dataclass(frozen=True)
class Switch(Expr):
    """``a`` where ``condition`` is non-zero, else ``b``."""

    op: ClassVar[str] = "switch"
    condition: Expr = field(default_factory=Const)
    a: Expr = field(default_factory=Const)
    b: Expr = field(default_factory=Const)

    @property
    def size(self) -> int:
        _broadcast(self.a.size, self.condition.size, "switch condition")
        return _broadcast(self.a.size, self.b.size, "switch")


@dataclass(frozen=True)
class Select(Expr):
    """``options[int(index)]``: maps a discrete choice to a value (each option has the same size)."""

    op: ClassVar[str] = "select"
    index: Expr = field(default_factory=Const)
    options: tuple[Expr, ...] = ()

    @property
    def size(self) -> int:
        sizes = {o.size for o in self.options}
        if len(sizes) != 1:
            raise SpecError(f"select: options have different sizes {sorted(sizes)}")
        return sizes.pop()


@dataclass(frozen=True)
class VectorMath(Expr):
    """DOT, CROSS, LENGTH, NORMALIZE, DISTANCE, SUM over 3-vectors (or any size for LENGTH/SUM)."""

    op: ClassVar[str] = "vector_math"
    func: str = "LENGTH"
    a: Expr = field(default_factory=Const)
    b: Expr | None = None

    @property
    def size(self) -> int:
        out = VECTOR_FUNCS.get(self.func)
        if out is None:
            raise SpecError(f"vector math: unknown function {self.func!r}")
        return self.a.size if out == 0 else out


@dataclass(frozen=True)
class Component(Expr):
    op: ClassVar[str] = "component"
    x: Expr = field(default_factory=Const)
    index: int = 0

    size = 1


@dataclass(frozen=True)
class Concat(Expr):
    op: ClassVar[str] = "concat"
    items: tuple[Expr, ...] = ()

    @property
    def size(self) -> int:
        return sum(item.size for item in self.items)


for _cls in _EXPR_TYPES.values():
    _remember_hash(_cls)


# --------------------------------------------------------------------------------------------
# The parts of a behaviour


@dataclass(frozen=True)
class Write:
    """Write a value onto a property every frame (``SET``) or add it every frame (``ADD``).

    ``value`` usually depends on :class:`Action`; ``low``/``high`` clamp the written result.
    """

    obj: str
    path: str
    value: Expr
    index: int = -1
    mode: str = "SET"  # SET | ADD
    low: float = -math.inf
    high: float = math.inf

    def __post_init__(self) -> None:
        _no_nan(f"write to {self.path}", self)


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
        _in_range(f"camera {self.camera}", "width", self.width, IMAGE_SIDE)
        _in_range(f"camera {self.camera}", "height", self.height, IMAGE_SIDE)

    @property
    def channels(self) -> int:
        return 1 if self.grayscale or self.kind != "COLOR" else 3


@dataclass(frozen=True)
class Reward:
    """A reward term added at every decision."""

    value: Expr
    weight: float = 1.0
    name: str = ""

    def __post_init__(self) -> None:
        _in_range(f"reward '{self.name or '?'}'", "weight", self.weight, FINITE)


@dataclass(frozen=True)
class End:
    """Ends the episode when ``condition`` is non-zero; adds ``reward`` on that decision."""

    condition: Expr
    reward: float = 0.0
    success: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        _in_range(f"end '{self.name or '?'}'", "reward", self.reward, FINITE)


@dataclass(frozen=True)
class ContinuousActions:
    """``size`` continuous actions, each in [low, high]."""

    size: int
    low: float = -1.0
    high: float = 1.0

    def __post_init__(self) -> None:
        _in_range("continuous actions", "size", self.size, ACTION_SIZE)
        _in_range("continuous actions", "min", self.low, FINITE)
        _in_range("continuous actions", "max", self.high, FINITE)
        if self.low >= self.high:
            raise SpecError(f"continuous actions: Min {self.low:g} must be below Max {self.high:g}")


@dataclass(frozen=True)
class DiscreteActions:
    """One or more discrete branches; each branch is a tuple of choice names."""

    branches: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        if (
            len(self.branches) > LIMITS["action_size"]
            or max(map(len, self.branches), default=0) > LIMITS["action_size"]
        ):
            raise SpecError(
                f"discrete actions: {len(self.branches)} branches of up to {max(map(len, self.branches))} choices; "
                f"the limit is {LIMITS['action_size']} of each"
            )


@dataclass(frozen=True)
class Behaviour:
    """Everything an agent does. Shared by every agent that points at it."""

    observations: tuple[Expr, ...] = ()
    actions: ContinuousActions | DiscreteActions | None = None
    writes: tuple[Write, ...] = ()
    rewards: tuple[Reward, ...] = ()
    ends: tuple[End, ...] = ()
    cameras: tuple[Camera, ...] = ()
    on_reset: tuple[Write, ...] = ()
    heuristic: Expr | None = None
    name: str = ""

    @property
    def observation_size(self) -> int:
        return sum(o.size for o in self.observations)

    def validate(self) -> Behaviour:
        """Check sizes and references; raise :class:`SpecError` naming the part at fault."""
        label = f"behaviour '{self.name}'" if self.name else "behaviour"
        for i, obs in enumerate(self.observations):
            _check_expr(obs, f"{label}: observation {i + 1}")
        if self.observation_size > LIMITS["observation_size"]:
            raise SpecError(
                f"{label}: observes {self.observation_size:,} numbers, more than the limit of "
                f"{LIMITS['observation_size']:,}"
            )
        if self.actions is None:
            raise SpecError(f"{label}: has no actions (add a Continuous Action or Discrete Action)")
        if isinstance(self.actions, DiscreteActions):
            if not self.actions.branches or any(len(b) < 1 for b in self.actions.branches):
                raise SpecError(f"{label}: every discrete branch needs at least one choice")
        n_act = action_slots(self.actions)
        for w in self.writes + self.on_reset:
            where = f"{label}: write to {w.obj} {w.path}"
            check_ref(w.obj, where)
            if w.mode not in ("SET", "ADD"):
                raise SpecError(f"{where}: mode must be SET or ADD, not {w.mode!r}")
            _check_expr(w.value, where, n_act)
        for w in self.on_reset:
            if _uses(w.value, Action):
                raise SpecError(f"{label}: reset write to {w.obj} {w.path} cannot use the action")
        for r in self.rewards:
            _check_expr(r.value, f"{label}: reward '{r.name or '?'}'", n_act)
            if r.value.size != 1:
                raise SpecError(f"{label}: reward '{r.name or '?'}' has size {r.value.size}, must be 1")
        for e in self.ends:
            _check_expr(e.condition, f"{label}: end '{e.name or '?'}'", n_act)
            if e.condition.size != 1:
                raise SpecError(f"{label}: end condition '{e.name or '?'}' has size {e.condition.size}, must be 1")
        for cam in self.cameras:
            check_ref(cam.camera, f"{label}: camera")
            if cam.mode not in ("FAST", "RENDER") or cam.kind not in ("COLOR", "DEPTH", "INDEX"):
                raise SpecError(f"{label}: camera {cam.camera}: unknown mode {cam.mode!r} or kind {cam.kind!r}")
        if self.heuristic is not None:
            _check_expr(self.heuristic, f"{label}: heuristic")
            if self.heuristic.size != n_act:
                raise SpecError(f"{label}: heuristic gives {self.heuristic.size} values, the actions need {n_act}")
        return self

    # -- JSON --------------------------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps(_encode(self), separators=(",", ":"))

    @staticmethod
    def from_json(text: str) -> Behaviour:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"behaviour spec is not valid JSON: {exc}") from None
        return _decode_behaviour(data)


def action_slots(actions) -> int:
    """How many values :class:`Action` can index: continuous size, or number of discrete branches."""
    if isinstance(actions, ContinuousActions):
        return actions.size
    if isinstance(actions, DiscreteActions):
        return len(actions.branches)
    return 0


def walk(expr: Expr):
    """Yield ``expr`` and every distinct expression object below it, each once (depth first)."""
    seen: set[int] = set()
    stack = [expr]
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        stack.extend(reversed(e.children()))


def check_depth(expr: Expr, where: str) -> None:
    """Raise :class:`SpecError` when ``expr`` chains more than :data:`MAX_DEPTH` expressions."""
    if expr_depth(expr) > MAX_DEPTH:
        raise SpecError(f"{where}: more than {MAX_DEPTH} operations in a row ({expr_depth(expr)}); simplify it")


def _uses(expr: Expr, kind: type) -> bool:
    return any(isinstance(e, kind) for e in walk(expr))


def _check_expr(expr: Expr, where: str, n_actions: int | None = None) -> None:
    if not isinstance(expr, Expr):
        raise SpecError(f"{where}: expected an expression, got {type(expr).__name__}")
    check_depth(expr, where)
    for e in walk(expr):
        for f in dataclasses.fields(e):
            if f.name in ("obj", "a", "b", "relative_to") and isinstance(getattr(e, f.name), str):
                check_ref(getattr(e, f.name), where)
        if isinstance(e, Unary) and e.func not in UNARY_FUNCS:
            raise SpecError(f"{where}: unknown math function {e.func!r}")
        if isinstance(e, Binary) and e.func not in BINARY_FUNCS:
            raise SpecError(f"{where}: unknown math function {e.func!r}")
        if isinstance(e, Compare) and e.func not in COMPARE_FUNCS:
            raise SpecError(f"{where}: unknown comparison {e.func!r}")
        if isinstance(e, Property) and not e.path:
            raise SpecError(f"{where}: property read on {e.obj} has no data path")
        if isinstance(e, Component) and not 0 <= e.index < e.x.size:
            raise SpecError(f"{where}: component {e.index} of a value of size {e.x.size}")
        if isinstance(e, Action) and n_actions is not None and e.index + e.size > n_actions:
            raise SpecError(f"{where}: uses action {e.index + e.size - 1} but there are only {n_actions}")
        if isinstance(e, Action) and n_actions is None:
            raise SpecError(f"{where}: observations and heuristics cannot read the chosen action")
        _ = e.size  # raises SpecError on mismatched sizes


# -- JSON encoding ----------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    if isinstance(value, Expr):
        out = {"op": value.op}
        for f in dataclasses.fields(value):
            out[f.name] = _encode(getattr(value, f.name))
        return out
    if dataclasses.is_dataclass(value):
        out = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, ContinuousActions | DiscreteActions):
            out["kind"] = "continuous" if isinstance(value, ContinuousActions) else "discrete"
        return out
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _decode_expr(data: Any, where: str) -> Expr:
    if not isinstance(data, dict) or data.get("op") not in _EXPR_TYPES:
        raise SpecError(f"{where}: not an expression: {str(data)[:80]}")
    cls = _EXPR_TYPES[data["op"]]
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        v = data[f.name]
        if isinstance(v, dict) and "op" in v:
            v = _decode_expr(v, where)
        elif isinstance(v, list):
            v = tuple(_decode_expr(x, where) if isinstance(x, dict) else x for x in v)
        kwargs[f.name] = v
    return cls(**kwargs)


def _num(v) -> float:
    return float(v) if not isinstance(v, str) else (math.inf if v == "inf" else -math.inf)


def _decode_write(d: dict) -> Write:
    return Write(d["obj"], d["path"], _decode_expr(d["value"], f"write {d['path']}"), int(d.get("index", -1)),
                 d.get("mode", "SET"), _num(d.get("low", "-inf")), _num(d.get("high", "inf")))  # fmt: skip


def _decode_behaviour(d: dict) -> Behaviour:
    try:
        acts = d.get("actions")
        if acts is None:
            actions = None
        elif acts.get("kind") == "continuous":
            actions = ContinuousActions(int(acts["size"]), float(acts["low"]), float(acts["high"]))
        else:
            actions = DiscreteActions(tuple(tuple(b) for b in acts["branches"]))
        return Behaviour(
            observations=tuple(_decode_expr(o, "observation") for o in d.get("observations", ())),
            actions=actions,
            writes=tuple(_decode_write(w) for w in d.get("writes", ())),
            rewards=tuple(
                Reward(_decode_expr(r["value"], "reward"), float(r["weight"]), r.get("name", ""))
                for r in d.get("rewards", ())
            ),  # fmt: skip
            ends=tuple(
                End(_decode_expr(e["condition"], "end"), float(e["reward"]), bool(e["success"]), e.get("name", ""))
                for e in d.get("ends", ())
            ),  # fmt: skip
            cameras=tuple(Camera(**c) for c in d.get("cameras", ())),
            on_reset=tuple(_decode_write(w) for w in d.get("on_reset", ())),
            heuristic=None if d.get("heuristic") is None else _decode_expr(d["heuristic"], "heuristic"),
            name=d.get("name", ""),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise SpecError(f"behaviour spec is malformed ({type(exc).__name__}: {exc})") from None
