"""The evaluators of teams: Team, Changed, the nearest other agent (``agent:`` references) and Group Rewards.

A mix-in of :class:`.compiler.CompiledBehaviour` (which it is written against: ``self.n``, ``self.teams``,
``self._ref``, ``self._compile``, ``self.objects``); the numbers are worked out in :mod:`core.teams`.
"""

from __future__ import annotations

import numpy as np

from ..core import specs as S
from ..core import teams as T
from .evaluators import BehaviourError, EvalContext, Fn, _evaluates
from .paths import PathError, resolve


class TeamEvaluators:
    """What a behaviour needs for teams: ``self.dynamic`` (agent: references) and ``self.changes`` (Changed)."""

    def _nearest(self, ref: str, where: str) -> T.Nearest:
        """The nearest other agent ``ref`` means: its candidates, and N proxy columns its transforms go to."""
        if ref in self.dynamic:
            return self.dynamic[ref]
        mode = S.parse_ref(ref)[1]
        me = self._ref(S.SELF, where)
        candidates = [o for o in sorted(self.scene.objects, key=lambda o: o.name) if agent_enabled(o)]
        for obj in candidates:
            if obj.name not in self._object_index:
                self._object_index[obj.name] = len(self.objects)
                self.objects.append(obj)
        cols = np.asarray([self._object_index[o.name] for o in candidates], dtype=np.int64)
        ok = T.allowed(me, cols, self.teams, np.array([team_of(o) for o in candidates], dtype=np.int64), mode)
        lonely = np.nonzero(~ok.any(axis=1))[0]
        if len(lonely):
            i, which = int(lonely[0]), T.WHICH[mode]
            raise BehaviourError(
                f"Agent '{self.agent_names[i]}' (team {int(self.teams[i])}): {where} reads the nearest other agent"
                f"{which}, but the scene has no other enabled agent{which} (Object Properties → Agent → Team)"
            )
        nearest = self.dynamic[ref] = T.Nearest(me, cols, ok, np.zeros(self.n, dtype=np.int64))
        return nearest

    def _nearest_property(self, e: S.Property, where: str) -> Fn:
        """A property of the nearest other agent: one accessor per candidate, picked per agent at each evaluation."""
        nearest = self._nearest(e.obj, where)
        getters = {}
        for k in nearest.columns.tolist():
            obj = self.objects[k]
            try:
                acc = resolve(obj, e.path, e.index)
            except PathError as exc:
                raise BehaviourError(f"Agent '{obj.name}' (as the nearest other agent): {where}: {exc}") from None
            if acc.size != e.size:
                raise BehaviourError(
                    f"Agent '{obj.name}' (as the nearest other agent): {where} reads '{e.path}', which has "
                    f"{acc.size} values, but the spec says {e.size}"
                )
            getters[k] = acc.get
        ref = e.obj

        def nearest_property(ctx):
            chosen = ctx.chosen.get(ref)
            if chosen is None:  # evaluated before the first pass picked
                chosen = nearest.first()
            return np.array([getters[int(k)]() for k in chosen], dtype=np.float64).reshape(self.n, -1)

        return nearest_property

    @_evaluates(S.Team, per_pass=False)
    def _team(self, e: S.Team, where: str) -> Fn:
        if e.what == "SIZE":
            return lambda ctx: ctx.team_size[:, None].astype(np.float64)
        out = self.teams[:, None].astype(np.float64)
        return lambda ctx: out

    @_evaluates(S.Changed, per_pass=False)
    def _changed(self, e: S.Changed, where: str) -> Fn:
        x = self._compile(e.x, where)
        change = T.Change.new(x, self.n, e.size)
        self.changes.append(change)  # after any Changed inside x: updates run inner first
        return lambda ctx: change.value

    def update_changes(self, ctx: EvalContext, restart: np.ndarray | None = None) -> None:
        """A decision: every Changed expression measures its input (call right after :meth:`read_matrices`);
        ``restart`` (bool mask): agents whose episode starts here (their change is 0)."""
        for change in self.changes:
            change.decide(change.x(ctx), restart)

    def restart_changes(self, ctx: EvalContext, agents: np.ndarray) -> None:
        """``agents`` (indices) were just reset: their Changed expressions start again from 0."""
        for change in self.changes:
            change.restart(agents, change.x(ctx))

    def group_rewards(self, ctx: EvalContext, live: np.ndarray, totals: dict[int, float]) -> None:
        """Add to ``totals`` (team -> reward) what this behaviour's live agents (bool mask) give their teams."""
        for fn, spec in self.group_reward_fns:
            values = fn(ctx)[:, 0]
            self._check_finite(values, f"group reward '{spec.name or '?'}'")
            T.add_team_totals(totals, values, self.teams, live, spec.combine, spec.weight)


def team_of(obj) -> int:
    return int(getattr(getattr(obj, "academy_agent", None), "team", 0))


def agent_enabled(obj) -> bool:
    return bool(getattr(getattr(obj, "academy_agent", None), "enabled", False))
