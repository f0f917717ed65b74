"""Behaviour specs: what an agent observes, how it acts, what it is rewarded for, when it ends.

Plain data, JSON-serialisable, no bpy: a script builds them directly, the behaviour node tree
compiles into them, and ``env.compiler`` turns them into vectorised evaluators over all the agents
that share them. Everything an agent computes is an expression (``core.expressions``, whose leaves
are in ``core.inputs``); this module holds the parts of a behaviour (writes, rewards, ends,
actions), :class:`Behaviour` itself, its validation and its JSON, and re-exports the expressions and
inputs so ``from ..core import specs as S`` reaches every name.

Every part checks its numbers when it is made (NaN never; action and observation sizes up to
``core.limits.LIMITS``), so a node's error names the node and a script's spec is refused before
anything is allocated.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

from .expressions import (
    ACTION_SIZE,
    AGENT_REFS,
    BINARY_FUNCS,
    COMPARE_FUNCS,
    EXPR_TYPES,
    FINITE,
    IMAGE_SIDE,
    MAX_DEPTH,
    RAYS,
    SELF,
    UNARY_FUNCS,
    VALUE_SIZE,
    VECTOR_FUNCS,
    Binary,
    Clamp,
    Compare,
    Component,
    Concat,
    Const,
    Expr,
    MapRange,
    Select,
    SpecError,
    Switch,
    Unary,
    VectorMath,
    as_expr,
    check_depth,
    check_ref,
    expr_depth,
    in_range,
    is_dynamic_ref,
    no_nan,
    parse_ref,
    walk,
)
from .inputs import (
    Action,
    Camera,
    Changed,
    Direction,
    Distance,
    Location,
    Property,
    Random,
    RayPerception,
    ResetParam,
    Rotation,
    StepInfo,
    Team,
    Velocity,
)
from .limits import LIMITS

__all__ = [
    "ACTION_SIZE",
    "AGENT_REFS",
    "Action",
    "BINARY_FUNCS",
    "Behaviour",
    "Binary",
    "COMPARE_FUNCS",
    "Camera",
    "Changed",
    "Clamp",
    "Compare",
    "Component",
    "Concat",
    "Const",
    "ContinuousActions",
    "Direction",
    "DiscreteActions",
    "Distance",
    "End",
    "Expr",
    "FINITE",
    "GroupReward",
    "HybridActions",
    "IMAGE_SIDE",
    "Location",
    "MAX_DEPTH",
    "MapRange",
    "Mask",
    "Property",
    "RAYS",
    "Random",
    "RayPerception",
    "ResetParam",
    "Reward",
    "Rotation",
    "SELF",
    "Select",
    "SpecError",
    "StepInfo",
    "Switch",
    "Team",
    "UNARY_FUNCS",
    "Unary",
    "VALUE_SIZE",
    "VECTOR_FUNCS",
    "VectorMath",
    "Velocity",
    "Write",
    "action_slots",
    "as_expr",
    "check_depth",
    "check_masks",
    "continuous_part",
    "discrete_part",
    "check_ref",
    "expr_depth",
    "is_dynamic_ref",
    "parse_ref",
    "walk",
]


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
        no_nan(f"write to {self.path}", self)


@dataclass(frozen=True)
class Reward:
    """A reward term added at every decision."""

    value: Expr
    weight: float = 1.0
    name: str = ""

    def __post_init__(self) -> None:
        in_range(f"reward '{self.name or '?'}'", "weight", self.weight, FINITE)


GROUP_COMBINE = ("SUM", "MEAN", "MAX")


@dataclass(frozen=True)
class GroupReward:
    """A reward given to every agent of a team (of one Brain) at every decision.

    Each agent of the team computes ``value``; ``combine`` makes the team's reward of them: ``SUM``
    (every agent's contribution adds up), ``MEAN`` or ``MAX`` (an event every agent sees, counted
    once). ``weight`` multiplies the result, which every agent of the team receives.
    """

    value: Expr
    weight: float = 1.0
    combine: str = "SUM"  # SUM | MEAN | MAX
    name: str = ""

    def __post_init__(self) -> None:
        in_range(f"group reward '{self.name or '?'}'", "weight", self.weight, FINITE)
        if self.combine not in GROUP_COMBINE:
            raise SpecError(
                f"group reward '{self.name or '?'}': combine must be one of {', '.join(GROUP_COMBINE)}, "
                f"not {self.combine!r}"
            )


@dataclass(frozen=True)
class End:
    """Ends the episode when ``condition`` is non-zero; adds ``reward`` on that decision."""

    condition: Expr
    reward: float = 0.0
    success: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        in_range(f"end '{self.name or '?'}'", "reward", self.reward, FINITE)


@dataclass(frozen=True)
class Mask:
    """Choice ``choice`` of discrete branch ``branch`` may be taken only while ``enabled`` is non-zero.

    Evaluated at every decision, before the Brain decides; a choice with several masks is enabled
    only if all of them enable it. Masking every choice of a branch is an error.
    """

    branch: int
    choice: int
    enabled: Expr
    name: str = ""


@dataclass(frozen=True)
class ContinuousActions:
    """``size`` continuous actions, each in [low, high]."""

    size: int
    low: float = -1.0
    high: float = 1.0

    def __post_init__(self) -> None:
        in_range("continuous actions", "size", self.size, ACTION_SIZE)
        in_range("continuous actions", "min", self.low, FINITE)
        in_range("continuous actions", "max", self.high, FINITE)
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
class HybridActions:
    """Continuous and discrete actions together (ML-Agents' ActionSpec with both parts).

    :class:`Action` slots ``0 .. continuous.size - 1`` are the continuous values and the next ones
    are the discrete branches' choices, in order; masks name branches of ``discrete`` (0 is its first).
    """

    continuous: ContinuousActions
    discrete: DiscreteActions

    def __post_init__(self) -> None:
        if not isinstance(self.continuous, ContinuousActions) or not isinstance(self.discrete, DiscreteActions):
            raise SpecError("hybrid actions: need one ContinuousActions and one DiscreteActions")


def discrete_part(actions) -> DiscreteActions | None:
    """The discrete actions of a behaviour's actions (hybrid ones included), or None if it has none."""
    if isinstance(actions, HybridActions):
        return actions.discrete
    return actions if isinstance(actions, DiscreteActions) else None


def continuous_part(actions) -> ContinuousActions | None:
    """The continuous actions of a behaviour's actions (hybrid ones included), or None if it has none."""
    if isinstance(actions, HybridActions):
        return actions.continuous
    return actions if isinstance(actions, ContinuousActions) else None


@dataclass(frozen=True)
class Behaviour:
    """Everything an agent does. Shared by every agent that points at it."""

    observations: tuple[Expr, ...] = ()
    actions: ContinuousActions | DiscreteActions | HybridActions | None = None
    writes: tuple[Write, ...] = ()
    rewards: tuple[Reward, ...] = ()
    ends: tuple[End, ...] = ()
    cameras: tuple[Camera, ...] = ()
    on_reset: tuple[Write, ...] = ()
    heuristic: Expr | None = None
    name: str = ""
    group_rewards: tuple[GroupReward, ...] = ()
    masks: tuple[Mask, ...] = ()

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
        if (discrete := discrete_part(self.actions)) is not None:
            if not discrete.branches or any(len(b) < 1 for b in discrete.branches):
                raise SpecError(f"{label}: every discrete branch needs at least one choice")
        n_act = action_slots(self.actions)
        for w in self.writes + self.on_reset:
            where = f"{label}: write to {w.obj} {w.path}"
            check_ref(w.obj, where)
            if is_dynamic_ref(w.obj):
                raise SpecError(f"{where}: a write cannot follow the nearest other agent ({w.obj})")
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
        for r in self.group_rewards:
            _check_expr(r.value, f"{label}: group reward '{r.name or '?'}'", n_act)
            if r.value.size != 1:
                raise SpecError(f"{label}: group reward '{r.name or '?'}' has size {r.value.size}, must be 1")
        for e in self.ends:
            _check_expr(e.condition, f"{label}: end '{e.name or '?'}'", n_act)
            if e.condition.size != 1:
                raise SpecError(f"{label}: end condition '{e.name or '?'}' has size {e.condition.size}, must be 1")
        for cam in self.cameras:
            check_ref(cam.camera, f"{label}: camera")
            if is_dynamic_ref(cam.camera):
                raise SpecError(f"{label}: a camera cannot be the nearest other agent ({cam.camera})")
            if cam.mode not in ("FAST", "RENDER") or cam.kind not in ("COLOR", "DEPTH", "INDEX"):
                raise SpecError(f"{label}: camera {cam.camera}: unknown mode {cam.mode!r} or kind {cam.kind!r}")
        if self.heuristic is not None:
            _check_expr(self.heuristic, f"{label}: heuristic")
            if self.heuristic.size != n_act:
                raise SpecError(f"{label}: heuristic gives {self.heuristic.size} values, the actions need {n_act}")
        check_masks(self.masks, self.actions, label)
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
    """How many values :class:`Action` can index: continuous size, number of discrete branches, or
    (hybrid actions) both: the continuous values first, then the branches."""
    if isinstance(actions, ContinuousActions):
        return actions.size
    if isinstance(actions, DiscreteActions):
        return len(actions.branches)
    if isinstance(actions, HybridActions):
        return actions.continuous.size + len(actions.discrete.branches)
    return 0


def check_masks(masks: tuple[Mask, ...], actions, label: str = "behaviour") -> None:
    """Raise :class:`SpecError` naming the mask that refers to a branch or choice that does not exist,
    reads the chosen action, or (with constant conditions) disables every choice of a branch."""
    if not masks:
        return
    actions = discrete_part(actions)
    if actions is None:
        raise SpecError(f"{label}: action mask '{masks[0].name or '?'}': only discrete actions can be masked")
    off: dict[int, set[int]] = {}
    for m in masks:
        where = f"{label}: action mask '{m.name or '?'}'"
        if not 0 <= m.branch < len(actions.branches):
            raise SpecError(f"{where}: branch {m.branch} does not exist (there are {len(actions.branches)})")
        if not 0 <= m.choice < len(actions.branches[m.branch]):
            raise SpecError(
                f"{where}: branch {m.branch} has no choice {m.choice} "
                f"(its choices are 0..{len(actions.branches[m.branch]) - 1})"
            )
        if _uses(m.enabled, Action):
            raise SpecError(f"{where}: a mask cannot read the chosen action (it is computed before the decision)")
        _check_expr(m.enabled, where)
        if m.enabled.size != 1:
            raise SpecError(f"{where}: Enabled has size {m.enabled.size}, must be 1")
        if isinstance(m.enabled, Const) and m.enabled.value[0] == 0.0:
            off.setdefault(m.branch, set()).add(m.choice)
    for branch, choices in off.items():
        if len(choices) == len(actions.branches[branch]):
            names = ", ".join(sorted({m.name or "?" for m in masks if m.branch == branch}))
            raise SpecError(f"{label}: action masks {names} disable every choice of branch {branch}")


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
        if isinstance(e, RayPerception) and is_dynamic_ref(e.obj):
            raise SpecError(f"{where}: ray perception cannot start from the nearest other agent ({e.obj})")
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
        if isinstance(value, HybridActions):
            out["kind"] = "hybrid"
        return out
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _decode_expr(data: Any, where: str) -> Expr:
    if not isinstance(data, dict) or data.get("op") not in EXPR_TYPES:
        raise SpecError(f"{where}: not an expression: {str(data)[:80]}")
    cls = EXPR_TYPES[data["op"]]
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


def _decode_actions(acts: dict) -> ContinuousActions | DiscreteActions | HybridActions:
    if acts.get("kind") == "hybrid":
        continuous, discrete = _decode_actions(acts["continuous"]), _decode_actions(acts["discrete"])
        return HybridActions(continuous, discrete)  # type: ignore[arg-type]
    if acts.get("kind") == "continuous":
        return ContinuousActions(int(acts["size"]), float(acts["low"]), float(acts["high"]))
    return DiscreteActions(tuple(tuple(b) for b in acts["branches"]))


def _decode_behaviour(d: dict) -> Behaviour:
    try:
        acts = d.get("actions")
        actions = None if acts is None else _decode_actions(acts)
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
            group_rewards=tuple(
                GroupReward(
                    _decode_expr(r["value"], "group reward"),
                    float(r["weight"]),
                    r.get("combine", "SUM"),
                    r.get("name", ""),
                )
                for r in d.get("group_rewards", ())
            ),  # fmt: skip
            masks=tuple(
                Mask(int(m["branch"]), int(m["choice"]), _decode_expr(m["enabled"], "mask"), m.get("name", ""))
                for m in d.get("masks", ())
            ),  # fmt: skip
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise SpecError(f"behaviour spec is malformed ({type(exc).__name__}: {exc})") from None
