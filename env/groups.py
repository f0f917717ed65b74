"""A Brain's agents as the Academy runs them: its groups (agents sharing one behaviour) and its state.

:func:`agents_by_brain` finds the enabled agents of each Brain, :func:`compile_groups` compiles their
behaviours and checks the Brain has one shape; :class:`BrainState` is one running Brain's batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core import specs as S
from ..core.stats import BrainStats
from ..core.teams import team_sizes
from .behaviours import behaviour_for
from .brains import Runner, action_space, observation_space
from .compiler import BehaviourError, CompiledBehaviour, EvalContext
from .errors import AcademyError, describe_shape


@dataclass
class Group:
    """The agents of one Brain that share one behaviour, and where they sit in the Brain's batch."""

    compiled: CompiledBehaviour
    rows: np.ndarray  # indices into the Brain's batch
    ctx: EvalContext


@dataclass
class BrainState:
    name: str
    runner: Runner
    groups: list[Group]
    n: int
    obs_space: object
    action_space: object
    vector_size: int
    cameras: tuple
    captures: list = field(default_factory=list)
    last_obs: object = None
    last_actions: np.ndarray | None = None
    episode_return: np.ndarray | None = None
    episode_length: np.ndarray | None = None
    # Reset on Done per row; rows whose episode ended with it off wait (no actions, no learning data)
    reset_on_done: np.ndarray | None = None
    waiting: np.ndarray | None = None
    next_step_reset: bool = False  # done rows wait one decision, then reset (see Academy._decide)
    wait_for_reset: bool = False  # done rows wait until the Academy starts again (see Academy._release_waiting)
    team: np.ndarray | None = None  # (n,) each row's Team (Object Properties → Agent)
    # the team's Group Rewards a row received while it waited after its episode ended (see Academy._group_rewards)
    group_credit: np.ndarray | None = None
    credit_delivered: np.ndarray | None = None  # group_credit handed over at the decision a row's next episode starts
    # the outcome of the latest decision (for the gymnasium wrapper and the stats)
    rewards: np.ndarray | None = None
    terminated: np.ndarray | None = None
    truncated: np.ndarray | None = None
    success: np.ndarray | None = None
    final_obs: object = None
    awaiting_update: bool = False
    uid: str = ""  # the Brain's stable identifier (its name can change while it runs)
    stats: BrainStats | None = None  # what this Brain's agents did (episodes, means, curve)


def add_group_rewards(state: BrainState, rewards: np.ndarray, active: np.ndarray) -> None:
    """Add this decision's Group Rewards to every acting agent of each team of the Brain (``rewards``, in place).

    Each group's live agents contribute (``CompiledBehaviour.group_rewards``); the team's total goes to
    every agent of the team that acted since the last decision. An agent whose episode already ended and
    that waits is credited in ``state.group_credit`` instead: the team's reward after its end, which it
    would lose otherwise; the Academy hands it over in ``state.credit_delivered`` at the decision its next
    episode starts (the learners do not use it yet)."""
    if not any(g.compiled.group_reward_fns for g in state.groups):
        return
    totals: dict[int, float] = {}
    for g in state.groups:
        g.compiled.group_rewards(g.ctx, active[g.rows], totals)
    per_row = np.array([totals.get(int(t), 0.0) for t in state.team])
    rewards += np.where(active, per_row, 0.0)
    state.group_credit += np.where(active, 0.0, per_row)


def brain_for(scene, name: str, uid: str = ""):
    """The Brain called ``name`` in ``scene``'s Academy, else (renamed meanwhile) the one whose uid is ``uid``."""
    brains = scene.academy.brains
    brain = brains.get(name)
    if brain is not None and (not uid or not brain.uid or brain.uid == uid):
        return brain
    if uid:
        for other in brains:
            if other.uid == uid:
                return other
    return brain


def compile_groups(scene, name: str, agents: list) -> tuple[list[Group], tuple]:
    """Compile the behaviours of one Brain's agents (grouped by behaviour); check they share one shape.

    Returns the groups (rows in the Brain's batch) and ``(vector size, cameras, actions)``.
    """
    by_behaviour: dict[S.Behaviour, list] = {}  # equal behaviours (frozen, hashable) share a group
    for obj in agents:
        try:
            behaviour = behaviour_for(obj)
        except S.SpecError as exc:
            raise AcademyError(str(exc)) from None
        by_behaviour.setdefault(behaviour, []).append(obj)
    groups: list[Group] = []
    shape = None
    row = 0
    for behaviour, objs in by_behaviour.items():
        slots = [{s.name: s.object for s in o.academy_agent.objects if s.object is not None} for o in objs]
        try:
            compiled = CompiledBehaviour(behaviour, objs, scene, slots)
        except (BehaviourError, S.SpecError) as exc:
            raise AcademyError(str(exc)) from None
        this = (behaviour.observation_size, behaviour.cameras, behaviour.actions)
        if shape is None:
            shape = (this, objs[0].name)
        elif this != shape[0]:
            raise AcademyError(
                f"Brain '{name}': agents '{shape[1]}' and '{objs[0].name}' have different observations or "
                f"actions ({describe_shape(shape[0])} vs {describe_shape(this)}); one Brain needs one shape"
            )
        ctx = EvalContext(n=len(objs), num_objects=compiled.num_columns, scene=scene)
        ctx.team_size[:] = team_sizes([int(o.academy_agent.team) for o in agents], [int(t) for t in compiled.teams])
        groups.append(Group(compiled, np.arange(row, row + len(objs)), ctx))
        row += len(objs)
    return groups, shape[0]


def brain_spaces(scene, name: str):
    """``(observation space, action space, number of agents)`` of Brain ``name``, from its agents.

    Raises :class:`AcademyError` when the Brain has no agents or they disagree.
    """
    agents = agents_by_brain(scene).get(name)
    if not agents:
        raise AcademyError(f"Brain '{name}' has no agents")
    groups, (vector_size, cameras, actions) = compile_groups(scene, name, agents)
    return observation_space(vector_size, cameras), action_space(actions), len(agents)


def player_bindings(brain) -> list[tuple[str, int, float]]:
    """The Player Brain's key bindings as ``(event type, action index, value)``."""
    return [(k.key, k.action, k.value) for k in brain.player_keys]


def agents_by_brain(scene, only=None) -> dict[str, list]:
    """Enabled agent objects of ``scene`` (or only those named in ``only``) by Brain name, sorted by name."""
    academy = scene.academy
    brains = {b.name for b in academy.brains}
    out: dict[str, list] = {}
    for obj in sorted(scene.objects, key=lambda o: o.name):
        agent = obj.academy_agent
        if not agent.enabled or (only is not None and obj.name not in only):
            continue
        if not agent.brain:
            raise AcademyError(f"Agent '{obj.name}' has no Brain (Object Properties → Agent → Brain)")
        if agent.brain not in brains:
            raise AcademyError(f"Agent '{obj.name}' uses Brain '{agent.brain}', which is not in the scene's Academy")
        out.setdefault(agent.brain, []).append(obj)
    return out


class BrainView:
    """What a client may read of one running Brain: its agents, spaces, last outcome and learner."""

    __slots__ = ("_state",)

    def __init__(self, state: BrainState):
        self._state = state

    name = property(lambda self: self._state.name)
    n = property(lambda self: self._state.n, doc="agents in the Brain's batch")
    obs_space = property(lambda self: self._state.obs_space)
    action_space = property(lambda self: self._state.action_space)
    last_obs = property(lambda self: self._state.last_obs)
    last_actions = property(lambda self: self._state.last_actions)
    rewards = property(lambda self: self._state.rewards)
    terminated = property(lambda self: self._state.terminated)
    truncated = property(lambda self: self._state.truncated)
    success = property(lambda self: self._state.success)
    final_obs = property(lambda self: self._state.final_obs)
    stats = property(lambda self: self._state.stats)
    uid = property(lambda self: self._state.uid)
    waiting = property(lambda self: self._state.waiting, doc="agents waiting for the Academy reset")
    values = property(
        lambda self: self._state.runner.values, doc="each agent's value estimate at the latest decision, or None"
    )
    team = property(lambda self: self._state.team, doc="each agent's Team")
    group_credit = property(
        lambda self: self._state.group_credit,
        doc="the team's Group Rewards each agent received while it waited after its episode ended",
    )
    credit_delivered = property(
        lambda self: self._state.credit_delivered,
        doc="group_credit handed over at this decision, where an agent's next episode started",
    )

    @property
    def agents(self) -> tuple[str, ...]:
        """The agents' object names, in batch order."""
        out = [""] * self._state.n
        for g in self._state.groups:
            for row, name in zip(g.rows, g.compiled.agent_names, strict=True):
                out[row] = name
        return tuple(out)

    @property
    def learner(self):
        """The Brain's learner (Training Brains; Inference ones when torch runs them), else None."""
        return getattr(self._state.runner, "learner", None)
