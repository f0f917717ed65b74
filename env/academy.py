"""The Academy runtime: agents observe, Brains decide, actuators write, episodes end and reset.

One stepping path drives everything: the frame-change handlers call :meth:`Academy.frame_pre` and
:meth:`Academy.frame_post` for every frame, whether the timeline plays, a modal operator ticks, a
headless loop advances the timeline (:mod:`.timeline`) or the gymnasium wrapper steps.

Per decision (every ``decision_period`` frames), for each Brain, as one batch over its agents:
rewards and episode ends are evaluated on the new state, ended agents are reset (their objects
restored, reset writes applied, their rigid bodies held still for two frames so the physics
restarts exactly), observations are taken, the Brain learns from the outcome and decides, and the
actuators write the actions. Between decisions the last actions are written again every frame.

Rigid-body worlds restart exactly only from the first frame, so a jump of the timeline (the
playhead looping back, a headless loop wrapping around, a scrub) is an Academy-wide reset: every
agent's episode is cut (truncated), the snapshot is restored before the frame is evaluated, and
every agent starts again.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field

import numpy as np

from ..core.checks import first_unlearnable, one_line, unlearnable
from ..core.names import CURVE_KEY
from ..core.stats import BrainStats
from . import brain_store, timeline
from . import specs as S
from .behaviours import behaviour_for, behaviour_revision, set_behaviour
from .brains import (
    BrainError,
    ExternalRunner,
    HeuristicRunner,
    InferenceRunner,
    PlayerRunner,
    Runner,
    TrainingRunner,
    action_space,
    actions_as_slots,
    observation_space,
)
from .compiler import BehaviourError, CompiledBehaviour, EvalContext
from .snapshot import Snapshot

__all__ = ["Academy", "AcademyError", "agents_by_brain", "behaviour_for", "set_behaviour"]

HOLD_FRAMES = 2  # frames a reset rigid body is held kinematic so Bullet forgets its velocity
FRAME_LIMIT = 1_000_000  # Blender's last frame is 1048574; wrap around well before it


class AcademyError(RuntimeError):
    """The scene cannot be trained or played as configured. Names the agent, Brain or setting."""


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
    # the outcome of the latest decision (for the gymnasium wrapper and the stats)
    rewards: np.ndarray | None = None
    terminated: np.ndarray | None = None
    truncated: np.ndarray | None = None
    success: np.ndarray | None = None
    final_obs: object = None
    awaiting_update: bool = False
    uid: str = ""  # the Brain's stable identifier (its name can change while it runs)
    stats: BrainStats | None = None  # what this Brain's agents did (episodes, means, curve)


def _brain_for(scene, name: str, uid: str = ""):
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
                f"actions ({_describe(shape[0])} vs {_describe(this)}); one Brain needs one shape"
            )
        ctx = EvalContext(n=len(objs), num_objects=len(compiled.objects), scene=scene)
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


class Academy:
    """Runs the scene's agents. Build it, :meth:`start` it, drive frames, :meth:`close` it.

    ``brains``: names of the Brains to run (default: every Brain with agents). ``external``: names of
    Brains whose actions come from outside (the gymnasium wrapper). ``training``: False runs Training
    Brains without learning. ``agents``: run only the agents with these object names.
    ``deterministic``: whether trained Brains take their most probable action rather than sample it
    (None: each Brain's Deterministic setting; see :class:`InferenceRunner`).
    """

    def __init__(
        self,
        scene,
        brains=None,
        external=(),
        seed: int | None = None,
        training: bool = True,
        agents=None,
        deterministic: bool | None = None,
    ):
        self.scene_name = scene.name
        settings = scene.academy
        try:  # a .blend can carry any value: every setting is checked again before it is used
            settings.check(scene)
        except ValueError as exc:
            raise AcademyError(str(exc)) from None
        self.decision_period = settings.decision_period
        self.max_steps = settings.max_steps
        self.seed = settings.seed if seed is None else seed
        self.rng = np.random.default_rng(self.seed)
        self.training = training
        self.deterministic = deterministic
        fps = scene.render.fps / scene.render.fps_base
        self.dt = self.decision_period / fps
        world = scene.rigidbody_world
        if world is not None and world.enabled and world.point_cache.is_baked:
            raise AcademyError(
                "The Rigid Body World's cache is baked, so physics would replay the bake: delete the bake "
                "(Scene Properties → Rigid Body World → Cache → Delete All Bakes) to train"
            )
        by_brain = agents_by_brain(scene, None if agents is None else set(agents))
        names = list(by_brain) if brains is None else list(brains)
        if not names:
            raise AcademyError("No agents: enable Agent on an object (Object Properties → Agent) and give it a Brain")
        self.brains: dict[str, BrainState] = {}
        compiled_all: list[CompiledBehaviour] = []
        for name in names:
            if name not in by_brain:
                raise AcademyError(f"Brain '{name}' has no agents")
            state = self._build_brain(scene, name, by_brain[name], set(external))
            self.brains[name] = state
            compiled_all.extend(g.compiled for g in state.groups)
        self._compiled = compiled_all
        self._revisions = {
            name: behaviour_revision(scene.objects[name]) for c in compiled_all for name in c.agent_names
        }
        objects = [obj for c in compiled_all for obj in c.objects]
        accessors = [acc for c in compiled_all for acc in c.target_accessors()]
        self.snapshot = Snapshot.take(scene, objects, accessors)
        self._holds: dict[str, int] = {}
        self.last_frame: int | None = None
        self._frames_since_decision = 0
        self._world_reset_pending = False
        self.active = False
        self.split_updates = False
        self.learning_updates_sliced = 0  # update slices run by the driver (see update_slice)
        self.error: BaseException | None = None
        # the training budget counts every Brain's agent steps; each Brain's own numbers are in its stats
        self.agent_steps = 0
        self.decisions = 0
        self._curves_stored: dict[str, tuple[int, int]] = {}  # Brain -> (step offset, curve points stored)

    # -- building -------------------------------------------------------------------------
    def _build_brain(self, scene, name: str, agents: list, external: set) -> BrainState:
        brain = scene.academy.brains[name]
        groups, (vector_size, cameras, actions) = compile_groups(scene, name, agents)
        for g in groups:
            g.ctx.dt, g.ctx.rng = self.dt, self.rng
            g.ctx.max_steps[:] = [
                scene.objects[a].academy_agent.max_steps or self.max_steps for a in g.compiled.agent_names
            ]
        obs_space = observation_space(vector_size, cameras)
        act_space = action_space(actions)
        n = sum(g.ctx.n for g in groups)
        stored = brain_store.stored_state(brain)
        try:
            if name in external:
                runner: Runner = ExternalRunner(name, obs_space, act_space, n)
            elif brain.brain_type == "HEURISTIC":
                runner = HeuristicRunner(name, obs_space, act_space, n)
            elif brain.brain_type == "PLAYER":
                runner = PlayerRunner(name, obs_space, act_space, n, player_bindings(brain))
            elif brain.brain_type == "INFERENCE" or (brain.brain_type == "TRAINING" and not self.training):
                deterministic = brain.deterministic if self.deterministic is None else self.deterministic
                runner = InferenceRunner(
                    name, obs_space, act_space, n, stored, brain.brain_type, deterministic, seed=self.seed
                )
            elif brain.brain_type == "TRAINING":
                if isinstance(actions, S.ContinuousActions) and brain.algorithm == "DQN":
                    raise BrainError(
                        f"Brain '{name}' uses DQN, which needs discrete actions; its agents' are continuous"
                    )
                self._require_torch(name)
                if not brain.uid:
                    brain.uid = uuid.uuid4().hex
                runner = TrainingRunner(name, obs_space, act_space, n, brain.config(), self.seed, stored)
            else:
                raise BrainError(f"Brain '{name}' is of type {brain.brain_type}, which cannot run here yet")
        except (BrainError, ValueError) as exc:
            raise AcademyError(str(exc)) from None
        state = BrainState(name, runner, groups, n, obs_space, act_space, vector_size, cameras, uid=brain.uid)
        state.stats = BrainStats(name, n)
        state.episode_return = state.stats.episode_return  # the same arrays: the running episodes
        state.episode_length = state.stats.episode_length
        state.reset_on_done = np.ones(n, dtype=bool)
        for g in groups:
            state.reset_on_done[g.rows] = [scene.objects[a].academy_agent.reset_on_done for a in g.compiled.agent_names]
        state.waiting = np.zeros(n, dtype=bool)
        return state

    @staticmethod
    def _require_torch(name: str) -> None:
        from .torch_setup import torch_status

        usable, detail = torch_status()
        if not usable:
            why = "it is not installed" if detail == "not installed" else f"it does not load ({detail})"
            raise AcademyError(
                f"Brain '{name}' needs PyTorch to train, and {why} in this Blender "
                "(Edit → Preferences → Add-ons → Agent Academy → Install PyTorch)"
            )

    # -- lifecycle ------------------------------------------------------------------------
    def begin_runs(self, agent_steps: int) -> None:
        """Tell every Training Brain's learner that this run is ``agent_steps`` agent steps long.

        The one training budget: learning-rate, clip and exploration schedules decay over the steps
        actually being trained (the Academy's Training Steps, or ``--steps``). The budget counts the
        steps of every agent of the run, and every Brain decides for all its agents at each decision,
        so each learner's share is in proportion to its number of agents.
        """
        everyone = sum(state.n for state in self.brains.values())
        for state in self.brains.values():
            if isinstance(state.runner, TrainingRunner):
                state.runner.learner.begin_run(max(1, math.ceil(agent_steps * state.n / everyone)))

    def start(self, scene) -> None:
        """Reset every agent, start the physics from the first frame, make the first decision."""
        world = scene.rigidbody_world
        if world is not None:
            world.point_cache.frame_end = FRAME_LIMIT
        self._reset_all_before_eval(scene)
        self.active = False  # going to the first frame must not step
        timeline.go_to(scene, scene.frame_start)
        self.last_frame = scene.frame_current
        self._frames_since_decision = 0
        self._decide(scene, None, first=True)
        self.active = True

    def close(self, scene, restore: bool = True) -> list[str]:
        """Stop stepping; restore the designer's scene exactly as it was when the Academy was built.

        Goes on past anything that vanished meanwhile; returns what was gone (see ``Snapshot.lost``).
        """
        self.active = False
        try:
            for state in self.brains.values():
                for cap in state.captures:
                    cap.close()
        finally:
            if restore and scene is not None:
                self._restore(scene)
        return list(self.snapshot.lost)

    def _restore(self, scene) -> None:
        snap = self.snapshot
        snap.restore(scene)
        by_uid = {o.session_uid: o for o in scene.objects}
        bodies = False
        for key in snap.objects:
            obj = snap.find(scene, key, by_uid)
            if obj is not None and obj.rigid_body is not None:
                obj.update_tag()
                bodies = True
        timeline.show_frame(scene, snap.frame_current, snap.frame_subframe, physics=bodies)

    def suspend_for_save(self, scene):
        """Put the designer's values back (for saving the file mid-run); returns what to resume with."""
        from .snapshot import current_values

        now = current_values(self.snapshot, scene)
        was_active, self.active = self.active, False
        self.snapshot.restore_accessors()
        self.snapshot.restore_objects(scene)
        self.snapshot.restore_scene(scene)
        frame = scene.frame_current
        scene.frame_current = self.snapshot.frame_current
        return now, frame, was_active

    def resume_after_save(self, scene, token) -> None:
        """Undo :meth:`suspend_for_save` once the file is written."""
        now, frame, was_active = token
        now.restore_accessors()
        now.restore_objects(scene)
        world = scene.rigidbody_world
        if world is not None:
            world.point_cache.frame_end = FRAME_LIMIT
        scene.frame_current = frame
        self.active = was_active

    def edited_behaviours(self, scene) -> list[str]:
        """Agents whose behaviour (tree or spec) was edited since the Academy compiled it.

        A running Academy never applies such an edit (a half-applied behaviour would corrupt the
        episode and the learner's data): it keeps running what it compiled, and the edit takes effect
        the next time Train or Play starts.
        """
        edited = []
        for name, rev in self._revisions.items():
            obj = scene.objects.get(name)
            if obj is not None and behaviour_revision(obj) != rev:
                edited.append(name)
        return edited

    def reseed(self, seed: int) -> None:
        """Restart the random numbers of resets and randomisation from ``seed``."""
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        for state in self.brains.values():
            for g in state.groups:
                g.ctx.rng = self.rng

    # -- frames ---------------------------------------------------------------------------
    def frame_pre(self, scene) -> None:
        """Before a frame is evaluated: apply the actions (or, on a jump, restore everything).

        Writing here, not after evaluation, keeps Blender from evaluating every frame twice (a
        second evaluation re-reads the rigid-body cache, whose cost grows with the frames cached).
        """
        if not self.active or self.error is not None:
            return
        where = "Resetting every agent after the timeline jumped"
        try:
            if self.last_frame is not None and scene.frame_current != self.last_frame + 1:
                self._reset_all_before_eval(scene)
                self._world_reset_pending = True
                return
            self._tick_holds(scene)
            for state in self.brains.values():
                if state.last_actions is None:
                    continue
                for g in state.groups:
                    where = f"Brain '{state.name}': writing the actions of {_agents(g.compiled.agent_names)}"
                    g.compiled.apply_writes(g.ctx)
        except BaseException as exc:
            self.error = self._explain(scene, exc, where)

    def frame_post(self, scene, depsgraph) -> None:
        """After a frame is evaluated: decide, every ``decision_period`` frames."""
        if not self.active or self.error is not None:
            return
        try:
            self._frame_post(scene, depsgraph)
        except BaseException as exc:
            names = ", ".join(f"'{name}'" for name in self.brains)
            where = f"Brain {names}: observing, rewarding, resetting or deciding" if len(self.brains) == 1 else ""
            self.error = self._explain(scene, exc, where or f"Brains {names}: a decision")

    def _frame_post(self, scene, depsgraph) -> None:
        jumped = self._world_reset_pending or (
            self.last_frame is not None and scene.frame_current != self.last_frame + 1
        )
        self.last_frame = scene.frame_current
        if jumped:
            self._world_reset_pending = False
            self._frames_since_decision = 0
            self._decide(scene, depsgraph, world_reset=True)
            return
        self._frames_since_decision += 1
        if self._frames_since_decision >= self.decision_period:
            self._frames_since_decision = 0
            self._decide(scene, depsgraph)

    # -- resets ---------------------------------------------------------------------------
    def _draw_reset_params(self, scene, g: Group, agents: np.ndarray) -> None:
        for p in scene.academy.reset_parameters:
            values = g.ctx.reset_params.setdefault(p.name, np.zeros(g.ctx.n))
            if p.mode == "UNIFORM":
                values[agents] = self.rng.uniform(p.minimum, p.maximum, size=len(agents))
            else:
                values[agents] = p.value

    def _reset_all_before_eval(self, scene) -> None:
        """Restore every object and property, release holds, apply every agent's reset writes."""
        gone = self.snapshot.restore_accessors()
        if gone:
            raise AcademyError(f"The {gone[0]} was deleted while the Academy was running")
        missing = self.snapshot.restore_objects(scene)
        if missing:
            raise AcademyError(f"Object '{missing[0]}' was deleted while the Academy was running")
        self._holds.clear()
        for state in self.brains.values():
            for g in state.groups:
                every = np.arange(g.ctx.n)
                self._hold_rigid_bodies(scene, g.compiled.objects, HOLD_FRAMES)
                self._draw_reset_params(scene, g, every)
                g.ctx.step[:] = 0
                if g.compiled.reset_writes:
                    g.compiled.read_matrices(g.ctx)
                    g.compiled.apply_reset_writes(g.ctx, every)
                for obj in g.compiled.objects:
                    if obj.rigid_body is not None:
                        obj.update_tag()

    def _reset_agents(self, scene, g: Group, agents: np.ndarray) -> None:
        """Reset some agents mid-run: restore their objects and properties, hold their rigid bodies."""
        c = g.compiled
        objs = [c.objects[k] for k in sorted({k for i in agents for k in c.agent_object_indices[i]})]
        keys = [self.snapshot.key_of(obj) for obj in objs]  # the objects may have been renamed
        accessors = [cw.accessors[i] for cw in c.writes + c.reset_writes for i in agents]
        gone = self.snapshot.restore_accessors(accessors)
        if gone:
            raise AcademyError(f"The {gone[0]} was deleted while the Academy was running")
        missing = self.snapshot.restore_objects(scene, [k for k in keys if k is not None], rigid_flags=False)
        if missing:
            raise AcademyError(f"Object '{missing[0]}' was deleted while the Academy was running")
        self._draw_reset_params(scene, g, agents)
        g.ctx.step[agents] = 0
        if c.reset_writes:
            c.apply_reset_writes(g.ctx, agents)
        self._hold_rigid_bodies(scene, objs, HOLD_FRAMES)

    def _hold_rigid_bodies(self, scene, objects, frames: int) -> None:
        """Make the active rigid bodies among ``objects`` kinematic for ``frames`` evaluated frames.

        Bullet keeps a body's velocity when it is moved; holding it still for two frames zeroes
        it, so every episode starts from rest exactly as the first one did. After a timeline jump
        the first frame is evaluated held too (the reset frame), one more than mid-run, where the
        reset happens after the frame was evaluated: either way the body is free from the third
        frame after the decision that reset it.
        """
        for obj in objects:
            rb = obj.rigid_body
            key = self.snapshot.key_of(obj)
            if rb is not None and rb.type == "ACTIVE" and rb.enabled and key is not None:
                rb.kinematic = True
                self._holds[key] = frames  # by snapshot key: the object may be renamed meanwhile

    def _tick_holds(self, scene) -> None:
        """Called before each frame: a held body stays kinematic for HOLD_FRAMES evaluated frames."""
        if not self._holds:
            return
        for name in list(self._holds):
            self._holds[name] -= 1
            if self._holds[name] < 0:
                del self._holds[name]
                state = self.snapshot.objects.get(name)
                obj = self.snapshot.find(scene, name) if state is not None else None
                if obj is not None and obj.rigid_body is not None and state is not None and state.rigid_body:
                    obj.rigid_body.kinematic = state.rigid_body["kinematic"]

    # -- decisions ------------------------------------------------------------------------
    def _decide(self, scene, depsgraph, first: bool = False, world_reset: bool = False) -> None:
        """One decision for every Brain. ``first``: the start (nothing to learn from yet).
        ``world_reset``: the timeline jumped and everything was reset before this frame: every
        episode was cut short, there is no reward to give.

        An agent with Reset on Done off whose episode ends is not reset: it waits (see
        :meth:`_release_waiting`): its actuators do not write, its rewards and episode ends are not
        evaluated, and its rows reach the learner marked inactive."""
        if depsgraph is None:
            depsgraph = _depsgraph()
        fresh_start = first or world_reset
        # Phase A: the outcome of the last actions; reset the agents whose episode ended
        outcomes = {}
        resets: dict[str, np.ndarray] = {}
        any_reset = False
        for state in self.brains.values():
            n = state.n
            active = ~state.waiting  # rows that acted since the last decision: the others' transition is not real
            rewards = np.zeros(n)
            ended = np.zeros(n, dtype=bool)
            success = np.zeros(n, dtype=bool)
            truncated = np.full(n, world_reset) & active
            vec = np.zeros((n, state.vector_size))
            for g in state.groups:
                c, ctx = g.compiled, g.ctx
                ctx.depsgraph = depsgraph
                c.read_matrices(ctx)
                live = active[g.rows]
                if fresh_start:
                    c.remember_motion(ctx)  # nothing moved yet: velocities start at zero
                    if world_reset:
                        ctx.episode += live  # every running episode was cut before this frame
                else:
                    ctx.step += live
                    e, s, bonus = c.ends(ctx)
                    r = c.reward(ctx) + bonus
                    if not live.all():
                        e, s, r = e & live, s & live, np.where(live, r, 0.0)
                    _check_finite(r, c, "reward")
                    rewards[g.rows], ended[g.rows], success[g.rows] = r, e, s
                    truncated[g.rows] = (ctx.max_steps > 0) & (ctx.step >= ctx.max_steps) & ~e & live
                vec[g.rows] = o = c.observe(ctx)
                _check_finite(o, c, "observation")
                c.remember_motion(ctx)
                if not fresh_start:
                    ctx.episode += ended[g.rows] | truncated[g.rows]  # the final observation showed the old count
            outcomes[state.name] = (rewards, ended, truncated, success, vec, active)
            if fresh_start:
                state.waiting[:] = False  # everything was reset
                continue
            done = ended | truncated
            state.waiting |= done & ~state.reset_on_done
            resets[state.name] = reset = done & state.reset_on_done
            if reset.any():
                any_reset = True
                for g in state.groups:
                    agents = np.nonzero(reset[g.rows])[0]
                    if len(agents):
                        self._reset_agents(scene, g, agents)
        if not fresh_start and self._release_waiting(scene, resets):
            any_reset = True
        if any_reset:
            depsgraph.update()  # evaluate the restored transforms before observing them
        for state in self.brains.values():
            rewards, ended, truncated, success, vec, active = outcomes[state.name]
            # Phase B: observe the agents that were just reset (their final observation is kept)
            # after a timeline jump the episodes were cut before this frame: their last observation is
            # the one the Brain saw at the previous decision
            final_obs = state.last_obs if world_reset else None
            done = ended | truncated
            reset = resets.get(state.name)
            if not fresh_start and (done.any() or reset.any()):
                final_vec = vec.copy()
                for g in state.groups:
                    agents = np.nonzero(reset[g.rows])[0]
                    if len(agents):
                        c, ctx = g.compiled, g.ctx
                        c.read_matrices(ctx)
                        objs = sorted({k for i in agents for k in c.agent_object_indices[i]})
                        c.remember_motion(ctx, np.asarray(objs, dtype=np.int64))  # reset: at rest
                        again = c.observe(ctx)
                        _check_finite(again, c, "observation")
                        vec[g.rows[agents]] = again[agents]
                obs = self._assemble(state, vec, scene)
                final_obs = self._assemble(state, final_vec, scene, reuse=obs)
            else:
                obs = self._assemble(state, vec, scene)
            # Phase C: learn from the outcome, decide, act
            if not first and state.last_actions is not None:
                self._record(state, rewards, ended, truncated, success, active)
                if self.training:
                    mask = None if active.all() else active  # None: every row is real (the learners' fast path)
                    state.runner.observe(rewards, ended, truncated, obs, final_obs, active=mask)
            state.rewards, state.terminated, state.truncated, state.success = rewards, ended, truncated, success
            state.final_obs, state.last_obs = final_obs, obs
            for g in state.groups:  # waiting agents' actuators do not write (CompiledBehaviour.apply_writes)
                g.ctx.acting = ~state.waiting[g.rows] if state.waiting.any() else None
            if state.runner.update_pending:
                if self.split_updates:  # the driver runs the update in slices, then calls finish_update()
                    state.awaiting_update = True
                    continue
                while not state.runner.update_chunk(None):
                    pass
            self._act(state)
        self.decisions += 1

    def _release_waiting(self, scene, resets: dict[str, np.ndarray]) -> bool:
        """The Academy reset of agents with Reset on Done off: once every such agent of the scene
        waits (agents that reset themselves do not hold it up), all of them are reset together.
        A timeline jump resets them too (see :meth:`_reset_all_before_eval`). True if any was reset."""
        states = self.brains.values()
        if not any(state.waiting.any() for state in states):
            return False
        if not all((state.waiting | state.reset_on_done).all() for state in states):
            return False
        for state in states:
            waiting = state.waiting
            if waiting.any():
                for g in state.groups:
                    agents = np.nonzero(waiting[g.rows])[0]
                    if len(agents):
                        self._reset_agents(scene, g, agents)
                resets[state.name] = resets[state.name] | waiting
                state.waiting = np.zeros(state.n, dtype=bool)
        return True

    def _act(self, state: BrainState) -> None:
        """Decide; the actuators write the actions before each following frame (see :meth:`frame_pre`)."""
        actions = state.runner.decide(state.last_obs, self._heuristic(state))
        self.set_actions(state, actions)

    def set_actions(self, state: BrainState, actions) -> None:
        """Make ``actions`` (learner format) the ones the Brain's agents carry out from the next frame on."""
        state.last_actions = actions
        slots = actions_as_slots(actions, state.action_space, state.n)
        for g in state.groups:
            g.ctx.actions = slots[g.rows]

    @property
    def update_pending(self) -> bool:
        """A Brain waits for its learning update before it can decide (only with ``split_updates``)."""
        return any(state.awaiting_update for state in self.brains.values())

    def update_slice(self, max_minibatches: int = 1) -> bool:
        """Run part of the pending learning updates; once one completes its Brain decides. True when none is left."""
        self.learning_updates_sliced += 1
        for state in self.brains.values():
            if state.awaiting_update:
                if state.runner.update_chunk(max_minibatches):
                    state.awaiting_update = False
                    self._act(state)
                return not self.update_pending
        return True

    def _assemble(self, state: BrainState, vec: np.ndarray, scene, reuse=None):
        obs_vec = vec.astype(np.float32)
        if not state.cameras:
            return obs_vec
        out = {}
        if state.vector_size:
            out["vector"] = obs_vec
        if reuse is not None:  # final observations share the images of the fresh ones
            for key, value in reuse.items():
                if key != "vector":
                    out[key] = value
            return out
        for i, _cam in enumerate(state.cameras):
            out[f"camera_{i}"] = self._capture(state, i, scene)
        return out

    def _capture(self, state: BrainState, i: int, scene) -> np.ndarray:
        from .camera import CameraCapture

        while len(state.captures) <= i:
            spec = state.cameras[len(state.captures)]
            # RENDER mode uses the scene's engine, except EEVEE, which needs a GPU: Workbench then
            engine = "BLENDER_WORKBENCH" if scene.render.engine.startswith("BLENDER_EEVEE") else None
            state.captures.append(CameraCapture(scene, spec, engine=engine))
        cap = state.captures[i]
        images = None
        for g in state.groups:
            cams = g.compiled.camera_objects[i]
            part = cap.capture(scene, cams)
            if images is None:
                images = np.zeros((state.n, *part.shape[1:]), dtype=part.dtype)
            images[g.rows] = part
        return images

    def _heuristic(self, state: BrainState) -> np.ndarray | None:
        if not isinstance(state.runner, HeuristicRunner):
            return None
        out = None
        for g in state.groups:
            if g.compiled.heuristic_fn is None:
                return None
            h = g.compiled.heuristic_fn(g.ctx)
            if out is None:
                out = np.zeros((state.n, h.shape[1]))
            out[g.rows] = h
        return out

    def _record(self, state: BrainState, rewards, ended, truncated, success, active) -> None:
        """Statistics of one decision; ``active`` rows acted (waiting agents take no steps)."""
        stats = state.stats
        before = stats.agent_steps
        stats.record(rewards, ended, truncated, success, active)
        self.agent_steps += stats.agent_steps - before

    @property
    def episodes(self) -> int:
        """Episodes ended so far, over every Brain."""
        return sum(state.stats.episodes for state in self.brains.values())

    def store_trained_brains(self, scene) -> None:
        """Write every Training Brain's learned state into the Brain (saved with the .blend).

        Each model is checked and read back after writing (``env.brain_store.store_trained``); a
        Brain whose model cannot be stored keeps its previous one, the others are still stored, and
        the first such error is raised afterwards.
        """
        first_error: BrainError | None = None
        for name, state in self.brains.items():
            if not isinstance(state.runner, TrainingRunner):
                continue
            brain = _brain_for(scene, name, state.uid)
            if brain is None:
                continue
            learner = state.runner.learner
            try:
                brain_store.store_trained(
                    scene, brain, state.runner.state_bytes(), learner.total_steps, state.stats.mean_return
                )
            except BrainError as exc:
                first_error = first_error or exc
                continue
            self._store_curve(brain, state)
        if first_error is not None:
            raise first_error

    def _store_curve(self, brain, state: BrainState) -> None:
        """Append the Brain's new curve points to its stored curve (a resumed run continues its steps)."""
        previous = list(brain.get(CURVE_KEY, ()))
        offset, saved = self._curves_stored.get(state.name, (None, 0))
        if offset is None:
            offset = int(previous[-3]) if len(previous) >= 3 else 0
        curve = state.stats.curve
        brain[CURVE_KEY] = previous + [
            v for s, r, n in curve[saved:] if not (math.isnan(r) or math.isnan(n)) for v in (offset + s, r, n)
        ]
        self._curves_stored[state.name] = (offset, len(curve))

    # -- errors ---------------------------------------------------------------------------
    def _explain(self, scene, exc: BaseException, where: str = "") -> BaseException:
        """Turn an error raised while stepping into an :class:`AcademyError` naming what is at fault.

        ``where``: what the Academy was doing, for an error it has nothing more precise to say about.
        """
        if isinstance(exc, AcademyError | KeyboardInterrupt | SystemExit):
            return exc
        if isinstance(exc, BehaviourError):
            return AcademyError(str(exc))
        if isinstance(exc, ReferenceError | KeyError | IndexError | TypeError | AttributeError):
            by_uid = {o.session_uid: o for o in scene.objects}
            for key in self.snapshot.objects:
                if self.snapshot.find(scene, key, by_uid) is None:
                    return AcademyError(f"Object '{key}' was deleted while the Academy was running")
            for c in self._compiled:
                for acc in c.target_accessors():
                    try:
                        acc.raw()
                    except ReferenceError:
                        continue
                    except (KeyError, IndexError, TypeError, AttributeError):
                        return AcademyError(f"The {acc.describe()} was deleted while the Academy was running")
            if isinstance(exc, ReferenceError):  # every object is still there: undo replaced the data
                return AcademyError(
                    "The scene's data was replaced while the Academy was running (undo?), so it stopped; "
                    "Train or Play again"
                )
        if where:
            return AcademyError(f"{where} failed ({one_line(exc)})")
        return exc


def _check_finite(values: np.ndarray, c: CompiledBehaviour, what: str) -> None:
    """Raise naming the agent, the part and the value when ``values`` holds a value float32 cannot hold."""
    bad = first_unlearnable(values)
    if bad is None:
        return
    row, col, value = bad
    agent = c.agent_names[row]
    detail = f" (component {col + 1})" if what == "observation" else ""
    where = c.observation_at(col) if what == "observation" else ""
    why = unlearnable(value)
    raise AcademyError(f"Agent '{agent}': the {what}{detail} {why} ({value:g}){where}")


def _agents(names: list[str]) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:3])
    return f"agent {shown}" if len(names) == 1 else f"agents {shown}{'…' if len(names) > 3 else ''}"


def _describe(shape) -> str:
    size, cameras, actions = shape
    acts = (
        f"{actions.size} continuous"
        if isinstance(actions, S.ContinuousActions)
        else f"discrete {[len(b) for b in actions.branches]}"
    )
    cams = f" + {len(cameras)} camera(s)" if cameras else ""
    return f"{size} observations{cams}, {acts} actions"


def _depsgraph():
    import bpy

    return bpy.context.evaluated_depsgraph_get()
