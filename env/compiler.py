"""Compile a :class:`core.specs.Behaviour` for a list of agents into vectorised evaluators.

Compilation resolves every object reference and data path once; per step nothing walks the
spec. Each expression becomes a closure ``f(ctx) -> ndarray (N, size)`` over all N agents; world
matrices of every referenced object are read once per evaluation pass into one array. Each
expression kind has one method, registered for its spec class with ``@_evaluates``, that builds
its closure; the ray casts of ray sensors are in :mod:`.rays`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..core import specs as S
from ..core.checks import first_unlearnable, unlearnable
from ..core.mathops import BINARY, COMPARE, UNARY
from ..core.rotations import euler_xyz, quaternion_wxyz, rotation_part, rotation_vector
from .evaluators import _EVALUATORS, BehaviourError, EvalContext, Fn, _evaluates
from .paths import Accessor, PathError, check_writable, resolve
from .rays import ray_sensor
from .team_evaluators import TeamEvaluators, team_of

__all__ = ["BehaviourError", "CompiledBehaviour", "CompiledWrite", "EvalContext", "Fn"]


class CompiledBehaviour(TeamEvaluators):
    """One behaviour bound to N agents, evaluated for all of them at once.

    ``agents`` are the agent objects; each agent's slots (Agent Objects) and the scene's objects
    resolve references. Raises :class:`BehaviourError` naming the agent and setting at fault.
    """

    def __init__(self, behaviour: S.Behaviour, agents: Sequence, scene, slots: Sequence[dict[str, object]]):
        self.behaviour = behaviour
        self.n = len(agents)
        self.agent_names = [a.name for a in agents]
        self.scene = scene
        try:
            behaviour.validate()
        except S.SpecError as exc:
            raise BehaviourError(f"{self._agents_label()}: {exc}") from None
        self._agents = list(agents)
        self._slots = list(slots)
        self.teams = np.array([team_of(a) for a in agents], dtype=np.int64)
        self.changes: list = []  # core.teams.Change of each Changed expression, inner ones first
        self.dynamic: dict = {}  # agent: reference -> core.teams.Nearest; N proxy columns each, after the objects
        self.objects: list = []  # referenced objects, index = column in ctx.mats
        self._object_index: dict[str, int] = {}
        self._ref_index: dict[str, np.ndarray] = {}
        # per agent, the object indices that belong to it (self and its slots): reset together
        self.agent_object_indices: list[set[int]] = [set() for _ in range(self.n)]
        self.ray_objects: list[int] = []
        self._memo: dict[S.Expr, Fn] = {}
        self.observe_fn = self._compile_concat(behaviour.observations, "observation")
        self.reward_fns = [(self._compile(r.value, f"reward '{r.name}'"), r.weight) for r in behaviour.rewards]
        self.group_reward_fns = [
            (self._compile(r.value, f"group reward '{r.name}'"), r) for r in behaviour.group_rewards
        ]
        self.end_fns = [(self._compile(e.condition, f"end '{e.name}'"), e) for e in behaviour.ends]
        self.heuristic_fn = self._compile(behaviour.heuristic, "heuristic") if behaviour.heuristic is not None else None
        self.mask_fns = [(self._compile(m.enabled, f"action mask '{m.name}'"), m) for m in behaviour.masks]
        self.writes = [self._compile_write(w, "action write") for w in behaviour.writes]
        self.reset_writes = [self._compile_write(w, "reset write") for w in behaviour.on_reset]
        self.camera_objects = [self._resolve_ref(c.camera, "camera") for c in behaviour.cameras]
        for cam, objs in zip(behaviour.cameras, self.camera_objects, strict=True):
            for i, obj in enumerate(objs):
                if obj.type != "CAMERA":
                    raise BehaviourError(
                        f"Agent '{self.agent_names[i]}': camera sensor '{cam.camera}' is '{obj.name}', "
                        f"which is a {obj.type.lower()}, not a camera"
                    )
        self._ref("self", "agent")  # the agent itself always belongs to its reset set
        for ref in list(self._ref_index):
            self._claim(ref)
        # proxy columns of agent: references come after every object's column
        for k, nearest in enumerate(self.dynamic.values()):
            nearest.proxy[:] = len(self.objects) + k * self.n + np.arange(self.n)
        self.num_columns = len(self.objects) + len(self.dynamic) * self.n

    # -- references -----------------------------------------------------------------------
    def _agents_label(self) -> str:
        if self.n == 1:
            return f"Agent '{self.agent_names[0]}'"
        return f"Agents {', '.join(repr(n) for n in self.agent_names[:3])}{'…' if self.n > 3 else ''}"

    def _resolve_ref(self, ref: str, where: str) -> list:
        out = []
        kind, name = S.parse_ref(ref)
        if kind == "agent":
            raise BehaviourError(
                f"{self._agents_label()}: {where} cannot use the nearest other agent ({ref}): it can change "
                "at every decision; only transforms, distances, directions, velocities and properties follow it"
            )
        for i, agent in enumerate(self._agents):
            if kind == "self":
                out.append(agent)
            elif kind == "slot":
                obj = self._slots[i].get(name)
                if obj is None:
                    raise BehaviourError(
                        f"Agent '{agent.name}': {where} uses the Agent Object '{name}', which this agent "
                        f"does not link (Object Properties → Agent → Agent Objects)"
                    )
                out.append(obj)
            else:
                obj = self.scene.objects.get(name)
                if obj is None:
                    raise BehaviourError(
                        f"Agent '{agent.name}': {where} uses object '{name}', which is not in the scene"
                    )
                out.append(obj)
        return out

    def _ref(self, ref: str, where: str) -> np.ndarray:
        """Column indices (N,) into ``ctx.mats`` for ``ref``."""
        if S.is_dynamic_ref(ref):
            return self._nearest(ref, where).proxy
        if ref not in self._ref_index:
            idx = []
            for obj in self._resolve_ref(ref, where):
                key = obj.name
                if key not in self._object_index:
                    self._object_index[key] = len(self.objects)
                    self.objects.append(obj)
                idx.append(self._object_index[key])
            self._ref_index[ref] = np.asarray(idx, dtype=np.int64)
        return self._ref_index[ref]

    def _claim(self, ref: str) -> None:
        if S.parse_ref(ref)[0] in ("self", "slot"):  # the agent's own objects (not shared scene objects)
            for i, k in enumerate(self._ref_index[ref]):
                self.agent_object_indices[i].add(int(k))

    # -- expressions ----------------------------------------------------------------------
    def _compile_concat(self, exprs: Sequence[S.Expr], where: str) -> Fn:
        fns = [self._compile(e, f"{where} {i + 1}") for i, e in enumerate(exprs)]
        n = self.n
        if not fns:
            return lambda ctx: np.zeros((n, 0))
        if len(fns) == 1:
            return fns[0]
        return lambda ctx: np.concatenate([f(ctx) for f in fns], axis=1)

    def _compile(self, e: S.Expr, where: str) -> Fn:
        """Compile ``e`` once; equal sub-expressions share one closure evaluated once per pass."""
        fn = self._memo.get(e)
        if fn is None:
            compile_kind, per_pass = _EVALUATORS.get(type(e), (None, False))
            if compile_kind is None:
                raise BehaviourError(
                    f"{self._agents_label()}: {where}: cannot compile {type(e).__name__} (unknown kind)"
                )
            raw = compile_kind(self, e, where)
            fn = _per_pass(raw) if per_pass else raw
            self._memo[e] = fn
        return fn

    # -- one compiler per expression kind (registered in _EVALUATORS) ----------------------
    @_evaluates(S.Const, per_pass=False)
    def _const(self, e: S.Const, where: str) -> Fn:
        value = np.asarray(e.value, dtype=np.float64)[None, :]
        out = np.repeat(value, self.n, axis=0)
        return lambda ctx: out

    @_evaluates(S.Location)
    def _location(self, e: S.Location, where: str) -> Fn:
        a = self._ref(e.obj, where)
        if e.relative_to is None:
            return lambda ctx: ctx.mats[a, :3, 3]
        b = self._ref(e.relative_to, where)

        def relative_location(ctx):
            inv = np.linalg.inv(ctx.mats[b])
            p = ctx.mats[a, :, 3]
            return np.einsum("nij,nj->ni", inv, p)[:, :3]

        return relative_location

    @_evaluates(S.Rotation)
    def _rotation(self, e: S.Rotation, where: str) -> Fn:
        a = self._ref(e.obj, where)
        b = None if e.relative_to is None else self._ref(e.relative_to, where)
        convert = quaternion_wxyz if e.mode == "QUATERNION" else euler_xyz

        def rotation(ctx):
            r = rotation_part(ctx.mats[a])
            if b is not None:
                r = np.einsum("nji,njk->nik", rotation_part(ctx.mats[b]), r)
            return convert(r)

        return rotation

    @_evaluates(S.Velocity)
    def _velocity(self, e: S.Velocity, where: str) -> Fn:
        a = self._ref(e.obj, where)
        b = None if e.relative_to is None else self._ref(e.relative_to, where)

        def velocity(ctx):
            if e.angular:
                # rotation from the previous decision to now, as a rotation vector (axis * angle)
                r_now = rotation_part(ctx.mats[a])
                delta = np.einsum("nij,nkj->nik", r_now, ctx.prev_rot[a])
                v = rotation_vector(delta) / ctx.dt
            else:
                v = (ctx.mats[a, :3, 3] - ctx.prev_loc[a]) / ctx.dt
            if b is not None:
                v = np.einsum("nji,nj->ni", rotation_part(ctx.mats[b]), v)
            return v

        return velocity

    @_evaluates(S.Property)
    def _property(self, e: S.Property, where: str) -> Fn:
        if S.is_dynamic_ref(e.obj):
            return self._nearest_property(e, where)
        accessors = self._accessors(e.obj, e.path, e.index, where)
        size = accessors[0].size
        if size != e.size:
            raise BehaviourError(
                f"Agent '{self.agent_names[0]}': {where} reads '{e.path}', which has {size} values, "
                f"but the spec says {e.size}"
            )
        getters = [acc.get for acc in accessors]
        return lambda ctx: np.array([g() for g in getters], dtype=np.float64)

    @_evaluates(S.Distance)
    def _distance(self, e: S.Distance, where: str) -> Fn:
        a, b = self._ref(e.a, where), self._ref(e.b, where)
        return lambda ctx: np.linalg.norm(ctx.mats[b, :3, 3] - ctx.mats[a, :3, 3], axis=1, keepdims=True)

    @_evaluates(S.Direction)
    def _direction(self, e: S.Direction, where: str) -> Fn:
        a, b = self._ref(e.a, where), self._ref(e.b, where)

        def direction(ctx):
            d = ctx.mats[b, :3, 3] - ctx.mats[a, :3, 3]
            if e.local:
                d = np.einsum("nji,nj->ni", rotation_part(ctx.mats[a]), d)
            norm = np.linalg.norm(d, axis=1, keepdims=True)
            return d / np.where(norm == 0.0, 1.0, norm)

        return direction

    @_evaluates(S.StepInfo, per_pass=False)
    def _step_info(self, e: S.StepInfo, where: str) -> Fn:
        if e.what == "STEP":
            return lambda ctx: ctx.step[:, None].astype(np.float64)
        if e.what == "EPISODE":
            return lambda ctx: ctx.episode[:, None].astype(np.float64)
        if e.what == "PROGRESS":
            return lambda ctx: np.where(ctx.max_steps > 0, ctx.step / np.maximum(ctx.max_steps, 1), 0.0)[:, None]
        if e.what == "TRAINING":
            return lambda ctx: np.full((ctx.n, 1), float(ctx.training_progress()))
        raise BehaviourError(f"{self._agents_label()}: {where}: unknown step info {e.what!r}")

    @_evaluates(S.ResetParam, per_pass=False)
    def _reset_param(self, e: S.ResetParam, where: str) -> Fn:
        name = e.name

        def reset_param(ctx):
            try:
                return ctx.reset_params[name][:, None]
            except KeyError:
                raise BehaviourError(
                    f"{self._agents_label()}: {where} reads reset parameter '{name}', which the Academy "
                    f"does not define (Scene Properties → Academy → Reset Parameters)"
                ) from None

        return reset_param

    @_evaluates(S.Random)
    def _random(self, e: S.Random, where: str) -> Fn:
        n, low, high, size = self.n, e.low, e.high, e.size
        return lambda ctx: ctx.rng.uniform(low, high, size=(n, size))

    @_evaluates(S.Action, per_pass=False)
    def _action(self, e: S.Action, where: str) -> Fn:
        lo, hi = e.index, e.index + e.size
        return lambda ctx: ctx.actions[:, lo:hi]

    @_evaluates(S.Unary)
    def _unary(self, e: S.Unary, where: str) -> Fn:
        f, x = UNARY[e.func], self._compile(e.x, where)
        return lambda ctx: f(x(ctx))

    @_evaluates(S.Binary)
    def _binary(self, e: S.Binary, where: str) -> Fn:
        f, a, b = BINARY[e.func], self._compile(e.a, where), self._compile(e.b, where)
        return lambda ctx: f(a(ctx), b(ctx))

    @_evaluates(S.Compare)
    def _compare(self, e: S.Compare, where: str) -> Fn:
        a, b = self._compile(e.a, where), self._compile(e.b, where)
        if e.func in ("EQUAL", "NOT_EQUAL"):
            eps, want = e.epsilon, e.func == "EQUAL"
            return lambda ctx: ((np.abs(a(ctx) - b(ctx)) <= eps) == want).astype(np.float64)
        f = COMPARE[e.func]
        return lambda ctx: f(a(ctx), b(ctx)).astype(np.float64)

    @_evaluates(S.Clamp)
    def _clamp(self, e: S.Clamp, where: str) -> Fn:
        x, lo, hi = self._compile(e.x, where), e.low, e.high
        return lambda ctx: np.clip(x(ctx), lo, hi)

    @_evaluates(S.MapRange)
    def _map_range(self, e: S.MapRange, where: str) -> Fn:
        x = self._compile(e.x, where)
        span = e.from_high - e.from_low
        scale = 0.0 if span == 0 else (e.to_high - e.to_low) / span
        lo, hi = min(e.to_low, e.to_high), max(e.to_low, e.to_high)

        def map_range(ctx):
            y = e.to_low + (x(ctx) - e.from_low) * scale
            return np.clip(y, lo, hi) if e.clamp else y

        return map_range

    @_evaluates(S.Switch)
    def _switch(self, e: S.Switch, where: str) -> Fn:
        c, a, b = self._compile(e.condition, where), self._compile(e.a, where), self._compile(e.b, where)
        return lambda ctx: np.where(c(ctx) != 0.0, a(ctx), b(ctx))

    @_evaluates(S.Select)
    def _select(self, e: S.Select, where: str) -> Fn:
        n = self.n
        index = self._compile(e.index, where)
        options = [self._compile(o, where) for o in e.options]
        last = len(options) - 1

        def select(ctx):
            idx = np.clip(np.rint(index(ctx)[:, 0]).astype(np.int64), 0, last)
            values = np.stack([o(ctx) for o in options], axis=0)  # (options, N, size)
            return values[idx, np.arange(n)]

        return select

    @_evaluates(S.Component)
    def _component(self, e: S.Component, where: str) -> Fn:
        x, i = self._compile(e.x, where), e.index
        return lambda ctx: x(ctx)[:, i : i + 1]

    @_evaluates(S.Concat)
    def _concat(self, e: S.Concat, where: str) -> Fn:
        return self._compile_concat(e.items, where)

    @_evaluates(S.VectorMath)
    def _vector_math(self, e: S.VectorMath, where: str) -> Fn:
        a = self._compile(e.a, where)
        b = self._compile(e.b, where) if e.b is not None else None
        if e.func in ("DOT", "CROSS", "DISTANCE") and b is None:
            raise BehaviourError(f"{self._agents_label()}: {where}: vector {e.func.lower()} needs two inputs")
        if e.func == "LENGTH":
            return lambda ctx: np.linalg.norm(a(ctx), axis=1, keepdims=True)
        if e.func == "SUM":
            return lambda ctx: a(ctx).sum(axis=1, keepdims=True)
        if e.func == "NORMALIZE":

            def normalize(ctx):
                v = a(ctx)
                norm = np.linalg.norm(v, axis=1, keepdims=True)
                return v / np.where(norm == 0.0, 1.0, norm)

            return normalize
        if e.func == "DOT":
            return lambda ctx: np.sum(a(ctx) * b(ctx), axis=1, keepdims=True)
        if e.func == "CROSS":
            return lambda ctx: np.cross(a(ctx), b(ctx))
        return lambda ctx: np.linalg.norm(a(ctx) - b(ctx), axis=1, keepdims=True)

    @_evaluates(S.RayPerception)
    def _ray_perception(self, e: S.RayPerception, where: str) -> Fn:
        a = self._ref(e.obj, where)
        rays = e.rays
        angles = np.radians(np.linspace(-e.angle / 2, e.angle / 2, rays)) if rays > 1 else np.zeros(1)
        axis = {"Y": (0.0, 1.0), "-Y": (0.0, -1.0), "X": (1.0, 0.0), "-X": (-1.0, 0.0)}.get(e.forward.upper())
        if axis is None:
            raise BehaviourError(f"{self._agents_label()}: {where}: forward axis must be X, Y, -X or -Y")
        base = math.atan2(axis[1], axis[0])
        local_dirs = np.stack([np.cos(base + angles), np.sin(base + angles), np.zeros(rays)], axis=1)
        owners = self._resolve_ref(e.obj, where)
        self.ray_objects.extend(int(k) for k in a)
        return ray_sensor(a, owners, local_dirs, e.offset, e.length, e.tags)

    # -- writes ---------------------------------------------------------------------------
    def _accessors(self, ref: str, path: str, index: int, where: str) -> list[Accessor]:
        self._claim_ref_for_path(ref, where)
        out = []
        for i, obj in enumerate(self._resolve_ref(ref, where)):
            try:
                out.append(resolve(obj, path, index))
            except PathError as exc:
                raise BehaviourError(f"Agent '{self.agent_names[i]}': {where}: {exc}") from None
        return out

    def _claim_ref_for_path(self, ref: str, where: str) -> None:
        self._ref(ref, where)  # objects read or written through paths are snapshotted too

    def _compile_write(self, w: S.Write, where: str) -> CompiledWrite:
        label = f"{where} to {w.obj} {w.path}"
        accessors = self._accessors(w.obj, w.path, w.index, label)
        for i, (obj, acc) in enumerate(zip(self._resolve_ref(w.obj, label), accessors, strict=True)):
            try:
                check_writable(acc, w.path, obj)
            except PathError as exc:
                raise BehaviourError(f"Agent '{self.agent_names[i]}': {label}: {exc}") from None
        value = self._compile(w.value, label)
        size = accessors[0].size
        if w.value.size not in (1, size):
            raise BehaviourError(
                f"Agent '{self.agent_names[0]}': {label}: the value has {w.value.size} components, "
                f"the property has {size}"
            )
        return CompiledWrite(w, accessors, value, size, label, self.agent_names)

    def target_accessors(self) -> list[Accessor]:
        """Every property any write of this behaviour can change (for the snapshot)."""
        return [acc for cw in self.writes + self.reset_writes for acc in cw.accessors]

    # -- evaluation -----------------------------------------------------------------------
    def read_matrices(self, ctx: EvalContext) -> None:
        """Read the world matrix of every referenced object into ``ctx.mats`` (starts a new pass)."""
        ctx.pass_id += 1
        mats = ctx.mats
        for k, obj in enumerate(self.objects):
            mats[k] = obj.matrix_world
        for ref, nearest in self.dynamic.items():
            ctx.chosen[ref] = nearest.pick(mats, ctx.prev_loc, ctx.prev_rot)

    def remember_motion(self, ctx: EvalContext, objects: np.ndarray | None = None) -> None:
        """Store the current transforms as the previous ones (velocity is measured from them)."""
        sel = slice(None) if objects is None else objects
        ctx.prev_loc[sel] = ctx.mats[sel, :3, 3]
        ctx.prev_rot[sel] = rotation_part(ctx.mats[sel])

    def observe(self, ctx: EvalContext) -> np.ndarray:
        return self.observe_fn(ctx)

    def reward(self, ctx: EvalContext) -> np.ndarray:
        """The summed reward terms per agent; raises naming the agent and term if one cannot be learned from."""
        total = np.zeros(self.n)
        for (fn, weight), spec in zip(self.reward_fns, self.behaviour.rewards, strict=True):
            term = weight * fn(ctx)[:, 0]
            self._check_finite(term, f"reward '{spec.name or '?'}'")
            total += term
        return total

    def observation_at(self, component: int) -> str:
        """Which observation (as the behaviour lists them) a component of the observation vector comes from."""
        start = 0
        for i, e in enumerate(self.behaviour.observations):
            if component < start + e.size:
                return f"; it comes from observation {i + 1} ({type(e).__name__})"
            start += e.size
        return ""

    def _check_finite(self, values: np.ndarray, what: str) -> None:
        """Raise :class:`BehaviourError` naming the agent, ``what`` and the value if float32 cannot hold it."""
        bad = first_unlearnable(values)
        if bad is not None:
            row, _col, value = bad
            raise BehaviourError(f"Agent '{self.agent_names[row]}': {what} {unlearnable(value)} ({value:g})")

    def ends(self, ctx: EvalContext) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ended, success, end reward) per agent; the first end that fires decides success."""
        ended = np.zeros(self.n, dtype=bool)
        success = np.zeros(self.n, dtype=bool)
        bonus = np.zeros(self.n)
        for fn, end in self.end_fns:
            fire = (fn(ctx)[:, 0] != 0.0) & ~ended
            if fire.any():
                ended |= fire
                success |= fire & end.success
                bonus[fire] += end.reward
        return ended, success, bonus

    def action_mask(self, ctx: EvalContext) -> np.ndarray | None:
        """(N, sum of branch sizes) bool: the choices each agent may take now (None: no masks).

        Raises :class:`BehaviourError` naming the agent and the masks if they disable every choice of a branch."""
        if not self.mask_fns:
            return None
        branches = S.discrete_part(self.behaviour.actions).branches  # type: ignore[union-attr]
        starts = np.cumsum([0] + [len(b) for b in branches])
        mask = np.ones((self.n, int(starts[-1])), dtype=bool)
        for fn, m in self.mask_fns:
            mask[:, starts[m.branch] + m.choice] &= fn(ctx)[:, 0] != 0.0
        for b in range(len(branches)):
            dead = ~mask[:, starts[b] : starts[b + 1]].any(axis=1)
            if dead.any():
                names = ", ".join(sorted({m.name or "?" for _, m in self.mask_fns if m.branch == b}))
                raise BehaviourError(
                    f"Agent '{self.agent_names[int(np.argmax(dead))]}': action masks {names} disable every "
                    f"choice of branch {b} at this decision (leave at least one enabled)"
                )
        return mask

    def apply_writes(self, ctx: EvalContext, agents: np.ndarray | None = None) -> None:
        """Write the actuators of ``agents`` (default: the acting ones, ``ctx.acting``)."""
        if agents is None and ctx.acting is not None:
            agents = np.nonzero(ctx.acting)[0]
            if not len(agents):
                return
        ctx.pass_id += 1  # writes may read properties that earlier writes changed
        for cw in self.writes:
            cw.apply(ctx, agents)

    def apply_reset_writes(self, ctx: EvalContext, agents: np.ndarray) -> None:
        ctx.pass_id += 1
        for cw in self.reset_writes:
            cw.apply(ctx, agents)


def _per_pass(fn: Fn) -> Fn:
    """Evaluate ``fn`` at most once per evaluation pass (``ctx.pass_id``)."""
    cache: list = [None, -1]

    def cached(ctx: EvalContext) -> np.ndarray:
        if cache[1] != ctx.pass_id:
            cache[0] = fn(ctx)
            cache[1] = ctx.pass_id
        return cache[0]

    return cached


@dataclass
class CompiledWrite:
    spec: S.Write
    accessors: list[Accessor]
    value: Fn
    size: int
    label: str
    agent_names: list[str] = field(default_factory=list)

    def apply(self, ctx: EvalContext, agents: np.ndarray | None = None) -> None:
        values = self.value(ctx)
        if values.shape[1] != self.size:
            values = np.broadcast_to(values, (values.shape[0], self.size))
        accessors = self.accessors if agents is None else [self.accessors[i] for i in agents]
        if agents is not None:
            values = values[agents]
        if self.spec.mode == "ADD":
            values = np.array([acc.get() for acc in accessors]) + values
        lo, hi = self.spec.low, self.spec.high
        if lo > -math.inf or hi < math.inf:
            values = np.clip(values, lo, hi)
        if not np.isfinite(values).all():  # never write NaN/inf into the designer's objects
            row = int(np.argwhere(~np.isfinite(np.asarray(values, dtype=np.float64)).reshape(len(values), -1))[0][0])
            agent = self.agent_names[row if agents is None else int(agents[row])]
            bad = np.asarray(values, dtype=np.float64)[row]
            raise BehaviourError(f"Agent '{agent}': {self.label} got a value that is not a number ({bad.tolist()})")
        for i, (acc, v) in enumerate(zip(accessors, values.tolist(), strict=True)):
            try:
                acc.set(v)
            except (AttributeError, TypeError, ValueError) as exc:  # Blender refused it (locked, out of range)
                agent = self.agent_names[i if agents is None else int(agents[i])]
                why = " ".join(str(exc).split())
                raise BehaviourError(f"Agent '{agent}': {self.label}: Blender refused the write ({why})") from None
