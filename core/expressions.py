"""Expressions: the small graphs every observation, reward, end condition and write of a behaviour computes.

An :class:`Expr`'s leaves read the scene (``core.inputs``: transforms, properties, rays, the chosen
action) and its inner nodes, defined here, are math. Object references are strings:

- ``"self"``: the agent the behaviour is evaluated for;
- ``"slot:NAME"``: the object the agent links under NAME (Agent panel → Agent Objects), e.g. each
  Balance Ball platform links its own ball as ``slot:Ball``;
- ``"object:NAME"``: one fixed object of the scene, shared by every agent;
- ``"agent:OTHER_TEAM"``, ``"agent:SAME_TEAM"``, ``"agent:ANY"``: the nearest other agent of the scene
  (of another team, of the agent's own team, of any team), chosen again at every evaluation. Only
  transform-based readings (Location, Rotation, Velocity, Distance, Direction) and Property reads
  take it; a write, a camera or a ray sensor cannot follow an object that changes.

Sizes are known when an expression is built (``Expr.size``); scalars broadcast against vectors.
Every expression checks its numbers when it is made (NaN never; sizes up to ``core.limits.LIMITS``),
so a node's error names the node and a script's spec is refused before anything is allocated.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import ClassVar

from .limits import LIMITS, Range, SettingsError, check_range

SELF = "self"


class SpecError(ValueError):
    """A behaviour spec is malformed. The message names the part at fault."""


def parse_ref(ref: str) -> tuple[str, str]:
    """``(kind, name)`` of an object reference: ``("self", "")``, ``("slot", NAME)`` or ``("object", NAME)``."""
    if ref == SELF:
        return "self", ""
    kind, _, name = ref.partition(":")
    return kind, name


def in_range(part: str, label: str, value, allowed: Range) -> None:
    """Raise :class:`SpecError` "``part``: ``label`` is ``value``; it must be ..." unless ``allowed`` holds it."""
    try:
        check_range(f"{part}: {label}", value, allowed)
    except SettingsError as exc:
        raise SpecError(str(exc)) from None


def no_nan(part: str, obj) -> None:
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


#: the nearest other agent an ``agent:`` reference means: of another team, of the same team, of any team
AGENT_REFS = ("OTHER_TEAM", "SAME_TEAM", "ANY")


def check_ref(ref: str, where: str) -> str:
    """Validate an object reference string; return it."""
    if ref == SELF or (ref.startswith(("slot:", "object:")) and ref.split(":", 1)[1]):
        return ref
    if ref.startswith("agent:") and ref.split(":", 1)[1] in AGENT_REFS:
        return ref
    raise SpecError(
        f"{where}: object reference {ref!r} must be 'self', 'slot:NAME' or 'object:NAME' "
        f"(or the nearest other agent: {', '.join('agent:' + a for a in AGENT_REFS)})"
    )


def is_dynamic_ref(ref) -> bool:
    """Whether ``ref`` means an object that can change from one evaluation to the next (``agent:``)."""
    return isinstance(ref, str) and ref.startswith("agent:")


# --------------------------------------------------------------------------------------------
# Expressions: the base class and its helpers


#: every expression type by its ``op`` (how JSON names it)
EXPR_TYPES: dict[str, type[Expr]] = {}


@dataclass(frozen=True)
class Expr:
    """A vector-valued expression evaluated once per decision for every agent."""

    op: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.op:
            EXPR_TYPES[cls.op] = cls
        own = cls.__dict__.get("size")
        if isinstance(own, property) and own.fget is not None:
            cls.size = _remembered("_size", own.fget)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        no_nan(self.label, self)
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

    __hash__.remembers = True  # type: ignore[attr-defined]
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


# -- constants --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Const(Expr):
    """A constant vector."""

    op: ClassVar[str] = "const"
    value: tuple[float, ...] = (0.0,)

    def check_numbers(self) -> None:
        in_range(self.label, "size", len(self.value), VALUE_SIZE)

    @property
    def size(self) -> int:
        return len(self.value)


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
        in_range(self.label, "epsilon", self.epsilon, Range(0.0, math.inf))

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
            in_range(self.label, name.replace("_", " "), getattr(self, name), FINITE)

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


def remember_hashes() -> None:
    """Make every expression type defined so far remember its hash on each object.

    Called at the end of each module that defines expressions: ``@dataclass`` sets ``__hash__``
    after ``__init_subclass__`` has run, so it cannot be wrapped there.
    """
    for cls in EXPR_TYPES.values():
        if not getattr(cls.__dict__.get("__hash__"), "remembers", False):
            _remember_hash(cls)


remember_hashes()
