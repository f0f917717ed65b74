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

Beside it: a Brain's agents and groups (:mod:`.groups`), resets and rigid-body holds
(:mod:`.resets`), error messages (:mod:`.errors`), storing what was learned (:mod:`.trained`).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable

import numpy as np

from ..core.stats import BrainStats
from . import brain_store, decisions, timeline
from .behaviours import behaviour_for, behaviour_revision, set_behaviour
from .brain_images import assemble, capture_finals
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
    check_algorithm,
    observation_space,
)
from .compiler import CompiledBehaviour
from .errors import AcademyError, agents_label, check_finite, explain_error
from .groups import BrainState, add_group_rewards, agents_by_brain, compile_groups, player_bindings
from .resets import Resets
from .selfplay import training_runner
from .snapshot import Snapshot
from .timeline import FRAME_LIMIT
from .trained import TrainedStore

__all__ = ["Academy", "AcademyError", "behaviour_for", "set_behaviour"]


class Academy:
    """Runs the scene's agents. Build it, :meth:`start` it, drive frames, :meth:`close` it.

    ``brains``: names of the Brains to run (default: every Brain with agents). ``external``: names of
    Brains whose actions come from outside (the gymnasium wrapper). ``training``: False runs Training
    Brains without learning. ``agents``: run only the agents with these object names.
    ``deterministic``: whether trained Brains take their most probable action rather than sample it
    (None: each Brain's Deterministic setting; see :class:`InferenceRunner`). ``next_step_reset``:
    names of Brains whose agents, when their episode ends, wait through the next decision and are
    reset at it, whatever their Reset on Done (gymnasium's next-step autoreset; see :meth:`_decide`).
    ``wait_for_reset``: names of Brains whose agents, when their episode ends, wait as with Reset on
    Done off, whatever their Reset on Done, and are not released when every agent waits either: they
    wait until the Academy starts again (:meth:`start`, or a timeline jump). PettingZoo's parallel
    API, where an agent that is done leaves the game until the next ``reset()``.
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
        next_step_reset=(),
        wait_for_reset=(),
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
        for what, listed in (("next-step reset", next_step_reset), ("wait for reset", wait_for_reset)):
            unknown = [name for name in listed if name not in names]
            if unknown:
                raise AcademyError(f"Brain '{unknown[0]}' ({what}) is not running in this scene")
        both = [name for name in next_step_reset if name in wait_for_reset]
        if both:
            raise AcademyError(f"Brain '{both[0]}' cannot both reset at the next step and wait for the Academy reset")
        for name in names:
            if name not in by_brain:
                raise AcademyError(f"Brain '{name}' has no agents")
            state = self._build_brain(scene, name, by_brain[name], set(external))
            state.next_step_reset = name in next_step_reset
            if name in wait_for_reset:
                state.wait_for_reset = True
                state.reset_on_done[:] = False
            self.brains[name] = state
            compiled_all.extend(g.compiled for g in state.groups)
        self._compiled = compiled_all
        self._revisions = {
            name: behaviour_revision(scene.objects[name]) for c in compiled_all for name in c.agent_names
        }
        objects = [obj for c in compiled_all for obj in c.objects]
        accessors = [acc for c in compiled_all for acc in c.target_accessors()]
        self.resets = Resets(Snapshot.take(scene, objects, accessors))
        self.last_frame: int | None = None
        self._frames_since_decision = 0
        self._world_reset_pending = False
        self.active = False
        self.split_updates = False
        self.learning_updates_sliced = 0  # update slices run by the driver (see update_slice)
        self.on_update: Callable[[BrainState], None] | None = None  # a Brain's learning update finished
        self.on_decision: Callable[[], None] | None = None  # every Brain decided (env.demos records)
        self.error: BaseException | None = None
        # the training budget counts every Brain's agent steps; each Brain's own numbers are in its stats
        self.agent_steps = 0
        self.decisions = 0
        self._trained = TrainedStore()

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
                check_algorithm(name, brain.algorithm, actions)
                self._require_torch(name)
                if not brain.uid:
                    brain.uid = uuid.uuid4().hex
                runner = training_runner(brain, groups, obs_space, act_space, n, self.seed, stored)
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
        state.team = np.zeros(n, dtype=np.int64)
        for g in groups:
            state.team[g.rows] = g.compiled.teams
        state.group_credit = np.zeros(n)
        state.credit_delivered = np.zeros(n)
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

    def start(self, scene, reset_writes: bool = True) -> None:
        """Reset every agent, start the physics from the first frame, make the first decision.

        ``reset_writes``: False skips the agents' reset writes this once (start from the scene as it is)."""
        world = scene.rigidbody_world
        if world is not None:
            world.point_cache.frame_end = FRAME_LIMIT
        self.resets.all_before_eval(scene, self.brains.values(), self.rng, reset_writes)
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
                self.resets.restore(scene)
        return list(self.resets.snapshot.lost)

    def suspend_for_save(self, scene):
        """Put the designer's values back (for saving the file mid-run); returns what to resume with."""
        now, frame = self.resets.suspend_for_save(scene)
        was_active, self.active = self.active, False
        return now, frame, was_active

    def resume_after_save(self, scene, token) -> None:
        """Undo :meth:`suspend_for_save` once the file is written."""
        now, frame, was_active = token
        self.resets.resume_after_save(scene, now, frame)
        self.active = was_active

    def store_trained_brains(self, scene) -> None:
        """Write every Training Brain's learned state and new curve points into the Brain (see :mod:`.trained`)."""
        self._trained.store(scene, self.brains)

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
                self.resets.all_before_eval(scene, self.brains.values(), self.rng)
                self._world_reset_pending = True
                return
            self.resets.tick_holds(scene)
            for state in self.brains.values():
                if state.last_actions is None:
                    continue
                for g in state.groups:
                    where = f"Brain '{state.name}': writing the actions of {agents_label(g.compiled.agent_names)}"
                    g.compiled.apply_writes(g.ctx)
        except BaseException as exc:
            self.error = self.explain(scene, exc, where)

    def frame_post(self, scene, depsgraph) -> None:
        """After a frame is evaluated: decide, every ``decision_period`` frames."""
        if not self.active or self.error is not None:
            return
        try:
            self._frame_post(scene, depsgraph)
        except BaseException as exc:
            names = ", ".join(f"'{name}'" for name in self.brains)
            where = f"Brain {names}: observing, rewarding, resetting or deciding" if len(self.brains) == 1 else ""
            self.error = self.explain(scene, exc, where or f"Brains {names}: a decision")

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

    # -- decisions ------------------------------------------------------------------------
    def _decide(self, scene, depsgraph, first: bool = False, world_reset: bool = False) -> None:
        """One decision for every Brain. ``first``: the start (nothing to learn from yet).
        ``world_reset``: the timeline jumped and everything was reset before this frame: every
        episode was cut short, there is no reward to give.

        An agent with Reset on Done off whose episode ends is not reset: it waits (see
        :meth:`_release_waiting`): its actuators do not write, its rewards and episode ends are not
        evaluated, and its rows reach the learner marked inactive. In a Brain with
        ``next_step_reset`` every agent whose episode ends (a timeline jump included) waits the same
        way through the next decision only, and is reset and observed afresh at it (the reward 0, no
        end): gymnasium's next-step autoreset, in which the step after the last one resets."""
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
                c.update_changes(ctx, np.ones(ctx.n, dtype=bool) if fresh_start else None)
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
                    check_finite(r, c, "reward")
                    rewards[g.rows], ended[g.rows], success[g.rows] = r, e, s
                    truncated[g.rows] = (ctx.max_steps > 0) & (ctx.step >= ctx.max_steps) & ~e & live
                vec[g.rows] = o = c.observe(ctx)
                check_finite(o, c, "observation")
                c.remember_motion(ctx)
                if not fresh_start:
                    ctx.episode += ended[g.rows] | truncated[g.rows]  # the final observation showed the old count
            if not fresh_start:
                add_group_rewards(state, rewards, active)
            outcomes[state.name] = (rewards, ended, truncated, success, vec, active)
            if fresh_start:
                # everything was reset; next-step agents whose episode the jump cut wait the next decision
                state.waiting = truncated.copy() if state.next_step_reset else np.zeros(n, dtype=bool)
                continue
            done = ended | truncated
            if state.next_step_reset:  # the agents that waited since the last decision reset now
                resets[state.name] = reset = state.waiting.copy()
                state.waiting = done.copy()
            else:
                state.waiting |= done & ~state.reset_on_done
                resets[state.name] = done & state.reset_on_done
        # the images of the episodes that end now, before their resets move anything (bootstrapping a
        # truncated episode from the new episode's first image would teach that stalling pays)
        final_images = {} if fresh_start else capture_finals(self.brains.values(), scene, outcomes, resets)
        for state in self.brains.values():
            reset = resets.get(state.name)
            if reset is not None and reset.any():
                any_reset = True
                for g in state.groups:
                    agents = np.nonzero(reset[g.rows])[0]
                    if len(agents):
                        self.resets.agents(scene, g, agents, self.rng)
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
                        c.restart_changes(ctx, agents)
                        again = c.observe(ctx)
                        check_finite(again, c, "observation")
                        vec[g.rows[agents]] = again[agents]
                obs = assemble(state, vec, scene)
                final_obs = assemble(state, final_vec, scene, reuse=obs, finals=final_images.get(state.name))
            else:
                obs = assemble(state, vec, scene)
            # what the team earned while a row waited after its end is handed over as its next episode starts
            starts = np.ones(state.n, dtype=bool) if fresh_start else reset
            state.runner.new_episodes(starts)  # a runner with memory forgets the episodes that ended
            state.credit_delivered = np.where(starts, state.group_credit, 0.0)
            state.group_credit[starts] = 0.0
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
                self._updated(state)
            self._act(state)
        self.decisions += 1
        if self.on_decision is not None:
            self.on_decision()

    def _release_waiting(self, scene, resets: dict[str, np.ndarray]) -> bool:
        """The Academy reset of agents with Reset on Done off: once every such agent of the scene
        waits (agents that reset themselves do not hold it up), all of them are reset together.
        A timeline jump resets them too (see :meth:`.resets.Resets.all_before_eval`). True if any was reset.
        Brains with ``next_step_reset`` take no part (their agents reset one decision after their end),
        nor do Brains with ``wait_for_reset`` (theirs wait until the Academy starts again)."""
        states = [state for state in self.brains.values() if not (state.next_step_reset or state.wait_for_reset)]
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
                        self.resets.agents(scene, g, agents, self.rng)
                resets[state.name] = resets[state.name] | waiting
                state.waiting = np.zeros(state.n, dtype=bool)
        return True

    def _act(self, state: BrainState) -> None:
        """Decide; the actuators write the actions before each following frame (see :meth:`frame_pre`)."""
        actions = state.runner.decide(state.last_obs, decisions.heuristic(state), decisions.action_mask(state))
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
                    self._updated(state)
                    self._act(state)
                return not self.update_pending
        return True

    def _updated(self, state: BrainState) -> None:
        if self.on_update is not None:
            self.on_update(state)

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

    def explain(self, scene, exc: BaseException, where: str = "") -> BaseException:
        """``exc``, raised while stepping, as an :class:`AcademyError` naming what is at fault (see
        :func:`.errors.explain_error`)."""
        return explain_error(scene, exc, self.resets.snapshot, self._compiled, where)


def _depsgraph():
    import bpy

    return bpy.context.evaluated_depsgraph_get()
