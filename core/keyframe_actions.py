"""Which action reproduces a change: inverting a behaviour's actuators (no bpy).

An actuator (``specs.Write``) writes ``value`` onto a property before every frame, ``SET`` (the
value) or ``ADD`` (the property plus the value), clamped to its ``low``/``high``. Given what an
actuated property was at one decision and at the next (``frames`` later), :func:`invert` finds,
for every agent and decision, the action whose writes reproduce that change most closely:

- each action slot (a continuous component or a discrete branch) is inverted from the writes whose
  value depends on it alone; a discrete slot takes the choice whose predicted effect is nearest, a
  continuous one the value in its range whose predicted effect is nearest (a coarse then a fine
  search over the range, so clamps are respected exactly: a value held at a clamp bound gives the
  action that reaches the bound; a change outside what any action can do is counted in
  ``outside``);
- a write's value may go through constants, math, Clamp, Map Range, Switch and Select of the
  action, but nothing the scene holds (a location, a property ...): that, a write that depends on
  two action slots, a continuous value that is not one-to-one over the action range (a sine, an
  absolute value), or two writes to one property, is refused with :class:`NotInvertible` naming
  the write (and, given a node tree's names, the node that writes and the node at the cause);
- a slot no write depends on takes 0 (reported in ``unused``).

The reconstruction error of each write is the RMS difference between what the inferred actions
would have written (:func:`predict`) and the values that were read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import specs as S
from .mathops import BINARY, COMPARE, UNARY

__all__ = ["Inversion", "NotInvertible", "Writer", "invert", "predict", "writers_of"]

COARSE = 257  # candidate values of a continuous action in the first search
FINE = 33  # candidates around each of the best ones in the second search
TIE = 1e-12  # prefers, of values that fit equally, the one nearest the middle of the action range


class NotInvertible(ValueError):
    """An actuator whose action cannot be worked out from what it changed (the message names it)."""


@dataclass
class Writer:
    """One action write, as a function of the action slots it depends on."""

    label: str
    mode: str
    low: float
    high: float
    slot: int  # the action slot it depends on (-1: none)
    fn: Callable[[np.ndarray], np.ndarray]  # (K, slots) actions -> (K, 1 or size) values


def _eval(e: S.Expr, acts: np.ndarray, where: str) -> np.ndarray:
    """``e`` for each row of ``acts`` (K, slots): (K, size). Only what depends on the action alone."""
    if isinstance(e, S.Const):
        return np.broadcast_to(np.asarray(e.value, dtype=np.float64), (len(acts), len(e.value)))
    if isinstance(e, S.Action):
        return acts[:, e.index : e.index + e.size]
    if isinstance(e, S.Unary):
        return UNARY[e.func](_eval(e.x, acts, where))
    if isinstance(e, S.Binary):
        return BINARY[e.func](_eval(e.a, acts, where), _eval(e.b, acts, where))
    if isinstance(e, S.Compare):
        a, b = _eval(e.a, acts, where), _eval(e.b, acts, where)
        if e.func in ("EQUAL", "NOT_EQUAL"):
            return ((np.abs(a - b) <= e.epsilon) == (e.func == "EQUAL")).astype(np.float64)
        return COMPARE[e.func](a, b).astype(np.float64)
    if isinstance(e, S.Clamp):
        return np.clip(_eval(e.x, acts, where), e.low, e.high)
    if isinstance(e, S.MapRange):
        span = e.from_high - e.from_low
        scale = 0.0 if span == 0 else (e.to_high - e.to_low) / span
        y = e.to_low + (_eval(e.x, acts, where) - e.from_low) * scale
        return np.clip(y, min(e.to_low, e.to_high), max(e.to_low, e.to_high)) if e.clamp else y
    if isinstance(e, S.Switch):
        c = _eval(e.condition, acts, where)
        return np.where(c != 0.0, _eval(e.a, acts, where), _eval(e.b, acts, where))
    if isinstance(e, S.Select):
        idx = np.clip(np.rint(_eval(e.index, acts, where)[:, 0]).astype(np.int64), 0, len(e.options) - 1)
        values = np.stack([np.broadcast_to(_eval(o, acts, where), (len(acts), o.size)) for o in e.options])
        return values[idx, np.arange(len(acts))]
    if isinstance(e, S.Component):
        return _eval(e.x, acts, where)[:, e.index : e.index + 1]
    if isinstance(e, S.Concat):
        return np.concatenate([np.broadcast_to(_eval(i, acts, where), (len(acts), i.size)) for i in e.items], axis=1)
    raise _ReadsScene(e, where)


class _ReadsScene(NotInvertible):
    """A write's value reads ``expr`` (the scene) as well as the action; :func:`writers_of` words it."""

    def __init__(self, expr: S.Expr, where: str):
        super().__init__(f"{where}: its value reads {type(expr).__name__} as well as the action")
        self.expr = expr


def _slots_used(e: S.Expr) -> set[int]:
    return {i for x in S.walk(e) if isinstance(x, S.Action) for i in range(x.index, x.index + x.size)}


def _write_label(w: S.Write, k: int, write_nodes: Sequence[str] = ()) -> str:
    index = "" if w.index < 0 else f"[{w.index}]"
    label = f"action write {k + 1} ({w.mode}) to {w.obj} {w.path}{index}"
    node = write_nodes[k] if k < len(write_nodes) else ""
    return f"node '{node}' ({label})" if node else label


def _node_of(e: S.Expr, root: S.Expr, origins: Mapping[S.Expr, str]) -> str:
    """The node whose output ``e`` is, else the nearest node whose output holds it, below ``root`` ("": none)."""
    parent: dict[int, S.Expr] = {}
    for x in S.walk(root):
        for c in x.children():
            parent.setdefault(id(c), x)
    while True:
        name = origins.get(e, "")
        if name or e is root or id(e) not in parent:
            return name
        e = parent[id(e)]


def _named(e: S.Expr, root: S.Expr, origins: Mapping[S.Expr, str]) -> str:
    node = _node_of(e, root, origins) if origins else ""
    return f" (node '{node}')" if node else ""


def _at(e: S.Expr, root: S.Expr, origins: Mapping[S.Expr, str]) -> str:
    node = _node_of(e, root, origins) if origins else ""
    return f" at node '{node}'" if node else ""


def _first_turning(root: S.Expr, slot: int, grid: np.ndarray) -> S.Expr:
    """The innermost part of ``root`` that depends on action ``slot`` and is not one-to-one over ``grid``
    (turns back, or a single value that stays flat): where the chain stops being invertible."""
    bad = root
    for x in S.walk(root):
        if x is root or slot not in _slots_used(x) or x.depth >= bad.depth:
            continue
        steps = np.diff(np.asarray(_eval(x, grid, ""), dtype=np.float64), axis=0)
        turns = ((steps > 0).any(axis=0) & (steps < 0).any(axis=0)).any()
        if turns or (x.size == 1 and not np.any(steps)):
            bad = x
    return bad


def writers_of(
    behaviour: S.Behaviour, write_nodes: Sequence[str] = (), origins: Mapping[S.Expr, str] | None = None
) -> list[Writer]:
    """The behaviour's action writes as :class:`Writer`; :class:`NotInvertible` naming a write that cannot be.

    ``write_nodes``: the node that makes each write (a compiled tree's), so a refusal names it;
    ``origins``: expression -> the node whose output it is, so a refusal names the node at its cause.
    """
    actions = behaviour.actions
    if isinstance(actions, S.HybridActions):
        raise NotInvertible("hybrid actions (continuous and discrete together) are not read from keyframes yet")
    discrete = isinstance(actions, S.DiscreteActions)
    slots = S.action_slots(actions)
    origins = origins or {}
    out: list[Writer] = []
    claimed: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for k, w in enumerate(behaviour.writes):
        label = _write_label(w, k, write_nodes)
        for idx, other in claimed.get((w.obj, w.path), []):
            if idx < 0 or w.index < 0 or idx == w.index:
                raise NotInvertible(f"{label} and {other} write the same property: which one moved it is unknown")
        claimed.setdefault((w.obj, w.path), []).append((w.index, label))
        used = _slots_used(w.value)
        if len(used) > 1:
            names = ", ".join(str(i + 1) for i in sorted(used))
            raise NotInvertible(f"{label}: its value depends on actions {names} together (not inverted)")
        if not used:
            continue  # not an actuator: nothing to infer from it
        slot = used.pop()

        def fn(acts: np.ndarray, e: S.Expr = w.value, where: str = label) -> np.ndarray:
            return np.asarray(_eval(e, acts, where), dtype=np.float64)

        try:
            fn(np.zeros((2, slots)))  # refuses now, naming the write, if it reads the scene
        except _ReadsScene as exc:
            raise NotInvertible(
                f"{label}: its value reads {type(exc.expr).__name__}{_named(exc.expr, w.value, origins)} as well "
                "as the action, so the action cannot be worked out from the keyframes (only constants and math "
                "of the action are inverted)"
            ) from None
        if not discrete:
            lo, hi = actions.low, actions.high
            grid = np.zeros((COARSE, slots))
            grid[:, slot] = np.linspace(lo, hi, COARSE)
            values = fn(grid)
            if values.shape[1] != 1:
                raise NotInvertible(f"{label}: its value has {values.shape[1]} components of one action (not inverted)")
            steps = np.diff(values[:, 0])
            if not ((steps >= 0).all() or (steps <= 0).all()) or not np.any(steps):
                cause = _first_turning(w.value, slot, grid)
                raise NotInvertible(
                    f"{label}: its value is not one-to-one in action {slot + 1} over [{lo:g}, {hi:g}] "
                    f"(it turns back or stays flat{_at(cause, w.value, origins)}), so which action moved it "
                    "is ambiguous"
                )
        out.append(Writer(label, w.mode, w.low, w.high, slot, fn))
    return out


def predict(writer: Writer, before: np.ndarray, acts: np.ndarray, frames: int) -> np.ndarray:
    """The property after ``frames`` frames of ``writer`` with actions ``acts`` (K, slots) from ``before``."""
    v = writer.fn(acts)
    x = np.asarray(before, dtype=np.float64)
    if writer.mode == "SET":
        return np.clip(np.broadcast_to(v, x.shape), writer.low, writer.high)
    for _ in range(max(1, frames)):
        x = np.clip(x + v, writer.low, writer.high)
    return x


@dataclass
class Inversion:
    """What :func:`invert` found: the actions, each write's reconstruction error, what was not inverted."""

    actions: np.ndarray  # (N, slots): continuous values, or discrete choice indices (as floats)
    errors: dict[str, float]  # write label -> RMS of re-applied minus read values
    outside: dict[str, int] = field(default_factory=dict)  # write label -> rows no action reproduces
    unused: list[int] = field(default_factory=list)  # action slots no write depends on (set to 0)


def _candidates(actions, slot: int) -> np.ndarray:
    if isinstance(actions, S.DiscreteActions):
        return np.arange(len(actions.branches[slot]), dtype=np.float64)
    return np.linspace(actions.low, actions.high, COARSE)


def _cost(ws: Sequence[Writer], slot: int, slots: int, cand: np.ndarray, before, after, frames: int) -> np.ndarray:
    """(N, C): squared error of each candidate value of ``slot`` for each row, over the writes."""
    n, c = len(before[0]), cand.shape[-1]
    total = np.zeros((n, c))
    for w, b, a in zip(ws, before, after, strict=True):
        acts = np.zeros((n * c, slots))
        acts[:, slot] = np.broadcast_to(cand, (n, c)).reshape(-1)
        got = predict(w, np.repeat(b, c, axis=0), acts, frames).reshape(n, c, -1)
        total += ((got - a[:, None, :]) ** 2).sum(axis=2)
    return total


def _direct(w: Writer, before, after, frames: int, cand: np.ndarray, slot: int, slots: int) -> np.ndarray:
    """(N, 1): the action whose value is the one written each frame (``after``, or the change per
    frame for ADD), read off the coarse curve (monotone, checked by :func:`writers_of`)."""
    acts = np.zeros((len(cand), slots))
    acts[:, slot] = cand
    curve = w.fn(acts)[:, 0]
    want = after if w.mode == "SET" else (after - before) / max(1, frames)
    want = want.mean(axis=1)
    if curve[-1] < curve[0]:
        return np.interp(want, curve[::-1], cand[::-1])[:, None]
    return np.interp(want, curve, cand)[:, None]


def invert(
    behaviour: S.Behaviour,
    before: Sequence[np.ndarray],
    after: Sequence[np.ndarray],
    frames: int,
    tolerance: float = 1e-4,
    write_nodes: Sequence[str] = (),
) -> Inversion:
    """The actions that take each write's property from ``before`` to ``after`` in ``frames`` frames.

    ``before``/``after``: one (N, size) array per write of ``behaviour.writes`` (N rows: agents ×
    decisions). Writes that do not depend on the action are ignored. ``write_nodes``: as for
    :func:`writers_of` (the labels of ``errors`` then name the nodes). See the module docstring.
    """
    actions = behaviour.actions
    slots = S.action_slots(actions)
    writers = writers_of(behaviour, write_nodes)
    index = {_write_label(w, k, write_nodes): k for k, w in enumerate(behaviour.writes)}
    n = len(before[0]) if len(before) else 0
    out = np.zeros((n, slots))
    result = Inversion(out, {})
    for slot in range(slots):
        ws = [w for w in writers if w.slot == slot]
        if not ws:
            result.unused.append(slot)
            continue
        b = [np.asarray(before[index[w.label]], np.float64).reshape(n, -1) for w in ws]
        a = [np.asarray(after[index[w.label]], np.float64).reshape(n, -1) for w in ws]
        cand = _candidates(actions, slot)
        cost = _cost(ws, slot, slots, cand, b, a, frames)
        if isinstance(actions, S.DiscreteActions):
            best = cand[np.argmin(cost, axis=1)]
        else:  # refine around the best few coarse values (a clamp's flat stretch can tie with the true one)
            step = (actions.high - actions.low) / (COARSE - 1)
            near = [cand[np.argmin(cost, axis=1)][:, None]] + [
                _direct(w, bb, aa, frames, cand, slot, slots) for w, bb, aa in zip(ws, b, a, strict=True)
            ]
            near = np.concatenate(near, axis=1)  # (N, 1 + writes)
            offsets = np.linspace(-step, step, FINE)
            fine = np.clip((near[:, :, None] + offsets).reshape(n, -1), actions.low, actions.high)
            cost = _cost(ws, slot, slots, fine, b, a, frames)
            # of equally good values (a bound reached by many), the one nearest the middle of the range
            cost = cost + TIE * np.abs(fine - 0.5 * (actions.low + actions.high))
            best = fine[np.arange(n), np.argmin(cost, axis=1)]
        out[:, slot] = best
    for w in writers:
        k = index[w.label]
        b = np.asarray(before[k], np.float64).reshape(n, -1)
        a = np.asarray(after[k], np.float64).reshape(n, -1)
        diff = predict(w, b, out, frames) - a
        result.errors[w.label] = float(np.sqrt(np.mean(diff**2))) if diff.size else 0.0
        far = int((np.abs(diff).max(axis=1) > tolerance).sum()) if diff.size else 0
        if far:
            result.outside[w.label] = far
    return result
