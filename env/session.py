"""Sessions: an Academy bound to the frame-change handlers, driven by ``tick`` or by the timeline.

``tick(budget_s)`` is what the Train operator's timer, the headless trainer and the tests call: it
advances frames (each frame change goes through the handlers, the one stepping path) and runs
learning updates in slices, stopping once its time budget is spent. ``step`` (the gym wrappers),
``reset``, ``advance_frames`` (bake) and ``rollout`` (whole fragments, for worker processes) turn
the same loop (``_one``); the frame itself only ever moves through :mod:`.timeline`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

import bpy

from ..core.checks import one_line
from ..core.stats import BrainStats, TensorBoardRun
from . import demos, sessions, takes, timeline
from .academy import Academy, AcademyError
from .brains import ExternalRunner, TrainingRunner
from .callbacks import DONE, INTERRUPTED, Callback, CallbackList
from .curricula import CurriculumRun
from .groups import BrainView
from .timeline import FRAME_LIMIT

WRAP_FRAMES = 10_000  # frames; see wrap_frames


def wrap_frames(scene) -> int:
    """Frames a driven run goes before jumping back to the first frame (an Academy-wide reset).

    Every scene wraps, because the cost of a frame grows with its number in two ways Blender does
    not show: the rigid-body cache keeps every simulated frame, and each new frame costs more the
    more are cached (Balance Ball: 9,600 agent steps/s at frame 6,000, 1,600 at frame 58,000); and
    whenever ``scene.camera`` is set, ``frame_set`` itself slows linearly with the frame number
    (0.6 M frames/s at frame 1, 15 k at frame 100,000, 3.4 k at 300,000; flat without a camera).
    So a driven run restarts from the first frame every 10,000 frames, or two of its longest
    episodes if that is longer. The wrap is an Academy-wide reset (episodes are cut, truncated,
    never terminated); when the run ends the designer's frame is restored as always.
    """
    academy = scene.academy
    longest = max([academy.max_steps] + [o.academy_agent.max_steps for o in scene.objects if o.academy_agent.enabled])
    return min(FRAME_LIMIT - 10, max(WRAP_FRAMES, 2 * longest * academy.decision_period))


class Session:
    """A running Academy on one scene.

    ``steps``: stop after this many agent steps (default: the Academy's Training Steps when
    training, unlimited otherwise). ``training``: learn (Train) or only act (Play).
    ``tensorboard``: a folder; each Brain's curve and learner statistics go to its own run in
    ``<folder>/<Brain>``. ``targets``: mean episode reward per Brain name (``None``: every Training
    Brain) whose first reaching each Brain's statistics record (``stats[name].reached_at``).
    ``stats_window``: episodes the means are over, at least (default one per agent, at least 10).
    ``deterministic``: trained Brains acting (not training) take their most probable action instead
    of sampling it (None: each Brain's Deterministic setting). ``next_step_reset``: Brains whose
    agents reset one decision after their episode ends, waiting meanwhile (see ``Academy``).
    ``wait_for_reset``: Brains whose agents, once their episode ends, wait for the Academy reset
    whatever their Reset on Done (see ``Academy``).
    """

    def __init__(
        self,
        scene,
        training: bool = True,
        steps: int | None = None,
        brains=None,
        external=(),
        seed=None,
        agents=None,
        *,
        tensorboard: str | os.PathLike | None = None,
        targets: Mapping[str | None, float] | None = None,
        stats_window: int | None = None,
        deterministic: bool | None = None,
        next_step_reset: Iterable[str] = (),
        wait_for_reset: Iterable[str] = (),
    ):
        self.scene_name = scene.name
        self.training = training
        # baked takes would replay over the agents (and hold rigid bodies): mute them while running
        self._muted_takes = takes.mute_takes(scene)
        try:
            self.academy = Academy(
                scene,
                brains=brains,
                external=external,
                seed=seed,
                training=training,
                agents=agents,
                deterministic=deterministic,
                next_step_reset=tuple(next_step_reset),
                wait_for_reset=tuple(wait_for_reset),
            )
        except BaseException:
            takes.unmute_takes(self._muted_takes)
            raise
        self.academy.split_updates = True
        self.total_steps = steps if steps is not None else (scene.academy.training_steps if training else 0)
        self.started = False
        self.stopped = False
        self.started_at = 0.0
        self.ended_at = 0.0  # when run() ended (before its last callbacks): the run's wall time
        self.stop_requested = False  # Stop, Ctrl-C in the terminal: run() or the modal operator owning it ends it
        self.modal_owned = False
        self.clock = time.perf_counter  # tests replace it with a virtual clock
        self._error: BaseException | None = None  # what ended the session, if it did not end normally
        self.lost: list[str] = []  # what restoring found gone (deleted objects or properties)
        self.stored = False  # finish() stored what was learned in the Brains
        self.wrap_frame = scene.frame_start + wrap_frames(scene)
        self._runs: dict[str, TensorBoardRun] = {}  # each Brain's TensorBoard run (with a folder)
        try:
            self._watch(tensorboard, targets or {}, stats_window)
            self.curriculum = CurriculumRun(scene, self)  # lessons, Training Progress, gym's reset parameters
            self.recorder = demos.recorder_for(scene, self.academy)  # Brains with Record Demonstrations on
            if training:
                demos.attach_bc(scene, self.academy)
        except BaseException:
            self.academy.close(scene, restore=False)
            takes.unmute_takes(self._muted_takes)
            raise

    def _watch(self, tensorboard, targets: Mapping[str | None, float], stats_window: int | None) -> None:
        """Give each Brain's statistics its target and window, and its TensorBoard run."""
        unknown = [name for name in targets if name is not None and name not in self.academy.brains]
        if unknown:
            raise AcademyError(f"Brain '{unknown[0]}' (a --target) is not running in this scene")
        trained = self.trained
        for name, state in self.academy.brains.items():
            stats = state.stats
            if stats_window:
                state.stats = stats = BrainStats(name, state.n, window=max(stats_window, stats.window))
                state.episode_return, state.episode_length = stats.episode_return, stats.episode_length
            stats.target = targets.get(name, targets.get(None) if name in trained else None)
            stats.on_point = self._on_curve_point
        self.academy.on_update = self._on_update
        self._tensorboard = None if tensorboard is None else Path(tensorboard)

    def _on_curve_point(self, stats: BrainStats, point) -> None:
        run = self._runs.get(stats.name)
        if run is not None:
            run.curve(stats, point)

    def _on_update(self, state) -> None:
        """A Brain's learning update finished: its statistics now, to its TensorBoard run at this step."""
        stats = state.stats
        stats.learner = {**learner_stats(state.runner.learner), **state.runner.extra_stats}
        run = self._runs.get(state.name)
        if run is not None:
            run.updated(stats.agent_steps, stats.learner)

    # -- the Session protocol of env.sessions ---------------------------------------------
    def on_frame_change_pre(self, scene) -> None:
        self.academy.frame_pre(scene)

    def on_frame_change(self, scene, depsgraph) -> None:
        self.academy.frame_post(scene, depsgraph)

    def stop(self) -> None:
        """Stop, keep what was learned in the Brains, restore the scene (see :meth:`finish`)."""
        self.finish(store=True)

    def suspend_for_save(self):
        """The file is about to be saved: store what was learned, put the designer's values back.

        Returns what :meth:`resume_after_save` needs (None when there is nothing to resume)."""
        scene = bpy.data.scenes.get(self.scene_name)
        if scene is None or not self.started or self.stopped:
            return None
        if self.training:
            self.academy.store_trained_brains(scene)
        return self.academy.suspend_for_save(scene)

    def resume_after_save(self, token) -> None:
        """Undo :meth:`suspend_for_save` once the file is written."""
        scene = bpy.data.scenes.get(self.scene_name)
        if token is not None and scene is not None:
            self.academy.resume_after_save(scene, token)

    # -- reading (what every client sees; nothing here changes the run) -------------------
    @property
    def error(self) -> BaseException | None:
        """What ended the session, or the error a frame handler met (Play by timeline), else None."""
        return self._error if self._error is not None else self.academy.error

    @property
    def stats(self) -> Mapping[str, BrainStats]:
        """Each running Brain's statistics (episodes, means, curve, target), by Brain name."""
        return MappingProxyType({name: state.stats for name, state in self.academy.brains.items()})

    @property
    def brains(self) -> tuple[str, ...]:
        """The names of the running Brains."""
        return tuple(self.academy.brains)

    @property
    def trained(self) -> tuple[str, ...]:
        """The Brains that learn in this session."""
        return tuple(n for n, s in self.academy.brains.items() if isinstance(s.runner, TrainingRunner))

    def brain(self, name: str) -> BrainView:
        """A read-only view of the running Brain ``name`` (its batch, last outcome and learner)."""
        try:
            return BrainView(self.academy.brains[name])
        except KeyError:
            raise KeyError(f"Brain '{name}' is not running in this session") from None

    @property
    def agent_steps(self) -> int:
        """Agent steps of every Brain so far (what :attr:`total_steps` counts)."""
        return self.academy.agent_steps

    @property
    def decisions(self) -> int:
        return self.academy.decisions

    @property
    def episodes(self) -> int:
        """Episodes ended so far, over every Brain."""
        return sum(state.stats.episodes for state in self.academy.brains.values())

    @property
    def update_pending(self) -> bool:
        """A learning update is under way (its Brain decides once it completes)."""
        return self.academy.update_pending

    @property
    def update_slices(self) -> int:
        """Slices of learning updates run so far (between frames, each a loop turn of :meth:`tick`)."""
        return self.academy.learning_updates_sliced

    @property
    def edited_behaviours(self) -> list[str]:
        """Agents whose behaviour was edited since the session started (the edit applies next time)."""
        scene = bpy.data.scenes.get(self.scene_name)
        return self.academy.edited_behaviours(scene) if scene is not None else []

    def written(self, brain: str) -> tuple[set[str], list]:
        """What Brain ``brain``'s agents change: their objects' names, and each property their actuators
        or resets write (an ``env.paths.Accessor``, once each): what a bake must key."""
        objects, accessors, seen = set(), [], set()
        for g in self.academy.brains[brain].groups:
            objects.update(obj.name for obj in g.compiled.objects)
            for cw in g.compiled.writes + g.compiled.reset_writes:
                for acc in cw.accessors:
                    if id(acc) not in seen:
                        seen.add(id(acc))
                        accessors.append(acc)
        return objects, accessors

    def learner_stats(self) -> dict[str, dict[str, float]]:
        """Each learning Brain's learner statistics (for display: never raises)."""
        out = {}
        for name, state in self.academy.brains.items():
            learner = getattr(state.runner, "learner", None)
            if learner is not None:
                out[name] = {**learner_stats(learner), **state.runner.extra_stats}
        return out

    # -- driving --------------------------------------------------------------------------
    @property
    def scene(self):
        scene = bpy.data.scenes.get(self.scene_name)
        if scene is None:
            raise AcademyError(f"Scene '{self.scene_name}' was deleted while the Academy was running")
        return scene

    def start(self, reset_writes: bool = True) -> Session:
        """Register with the handlers, reset every agent and make the first decision.

        ``reset_writes``: False starts the first episode from the scene as it is (a bake "from here")."""
        sessions.start_session(self)
        try:
            if self._tensorboard is not None:  # the runs' folders appear when the run starts
                from ..core.tensorboard import EventWriter

                for name, state in self.academy.brains.items():
                    learner = getattr(state.runner, "learner", None)
                    # at the Brain's total trained steps: a continued run goes on, never back
                    before = int(learner.total_steps) if learner is not None and self.training else 0
                    self._runs[name] = TensorBoardRun(EventWriter(self._tensorboard / safe_name(name)), before)
            if self.training and self.total_steps:
                self.academy.begin_runs(self.total_steps)
            self.academy.start(self.scene, reset_writes)
        except BaseException as exc:  # ends the session (scene restored); raised as one line
            raise self.fail(exc) from None
        self.started = True
        self.started_at = time.perf_counter()
        return self

    @property
    def notice(self) -> str:
        """A message for the designer about the running session ('' when there is nothing to say)."""
        edited = self.edited_behaviours
        if not edited:
            return ""
        more = f" and {len(edited) - 1} more" if len(edited) > 1 else ""
        return f"The behaviour of '{edited[0]}'{more} changed: it applies when you Train or Play again"

    @property
    def done(self) -> bool:
        return self.total_steps > 0 and self.academy.agent_steps >= self.total_steps

    def tick(self, budget_s: float = 0.05, until_steps: int | None = None) -> bool:
        """Advance for up to ``budget_s`` seconds (or until ``until_steps`` agent steps are reached).
        Returns False once finished.

        Each loop iteration is one frame or one slice of a learning update, so a tick overruns its
        budget by at most one of those. Any error ends the session first (what was learned up to
        the last completed update is kept, the scene restored), then raises as an
        :class:`AcademyError` with a one-line message; ``KeyboardInterrupt`` ends it and re-raises.
        """
        if self.stopped:
            return False
        try:
            return self._tick(budget_s, until_steps)
        except BaseException as exc:
            raise self.fail(exc) from None

    def _tick(self, budget_s: float, until_steps: int | None) -> bool:
        deadline = self.clock() + budget_s
        academy = self.academy
        scene = self.scene
        while True:
            if academy.error is not None:
                raise academy.error
            if self.done and not academy.update_pending:
                return False
            self._one(scene)
            if self.clock() >= deadline:
                return True
            if until_steps is not None and academy.agent_steps >= until_steps and not academy.update_pending:
                return True

    # -- the one loop (issue 13.1): tick above and every stepping method below turn it --------
    def _one(self, scene, wrap: bool = True) -> bool:
        """One turn of every driving loop: a slice of the pending learning update, else one frame
        (wrapping at :attr:`wrap_frame` unless ``wrap`` is False). True when a frame was advanced."""
        academy = self.academy
        if academy.update_pending:
            academy.update_slice(1)
            advanced = False
        else:
            timeline.advance(scene, self.wrap_frame if wrap else None)
            advanced = True
        if academy.error is not None:
            raise academy.error
        return advanced

    # stepping for the clients (gym wrappers, bake, worker processes), instead of reaching inside
    def reset(self, seed: int | None = None) -> None:
        """Start every agent's episode again from the first frame and decide (``seed``: restart the
        random numbers of resets and randomisation first). An error ends the session (see :meth:`tick`)."""
        self._require_running()
        try:
            if seed is not None:
                self.academy.reseed(seed)
            self.academy.start(self.scene)
        except BaseException as exc:
            raise self.fail(exc) from None

    def step(self, brain: str, actions) -> timeline.Step:
        """Give the external Brain ``brain`` its agents' ``actions`` (learner format, one row per agent),
        advance until the next decision and return what that Brain's agents saw (a :class:`timeline.Step`).

        A wrong ``actions`` raises without ending the session; an error while stepping ends it (see
        :meth:`tick`).
        """
        return self.step_brains({brain: actions})[brain]

    def step_brains(self, actions: Mapping[str, object]) -> dict[str, timeline.Step]:
        """:meth:`step` for several external Brains at once: ``actions`` by Brain name; every one of
        them acts, then the frames advance once, to the next decision. Returns each Brain's
        :class:`timeline.Step`, by name.
        """
        self._require_running()
        states = {}
        for brain in actions:
            state = self.academy.brains.get(brain)
            if state is None or not isinstance(state.runner, ExternalRunner):
                raise AcademyError(f"Brain '{brain}' does not take its actions from outside in this session")
            states[brain] = state
        for brain, state in states.items():
            self.academy.set_actions(state, actions[brain])
        try:
            scene, decisions = self.scene, self.academy.decisions
            while self.academy.decisions == decisions:
                self._one(scene)
        except BaseException as exc:
            raise self.fail(exc) from None
        return {
            brain: timeline.Step(
                state.last_obs,
                state.rewards,
                state.terminated,
                state.truncated,
                state.final_obs if state.final_obs is not None else state.last_obs,
                state.success,
            )
            for brain, state in states.items()
        }

    def advance_frames(self, n: int, *, wrap: bool = True) -> None:
        """Advance ``n`` frames (a pending learning update is run first, as in every loop).

        ``wrap``: False goes on past :attr:`wrap_frame` (a bake needs its frames consecutive).
        An error ends the session (see :meth:`tick`).
        """
        self._require_running()
        try:
            scene, left = self.scene, n
            while left > 0:
                left -= self._one(scene, wrap)
        except BaseException as exc:
            raise self.fail(exc) from None

    def rollout(self, decisions: int) -> timeline.Fragment:
        """Advance until ``decisions`` more decisions are made; return what they collected, per Brain.

        Counted in decisions, not agent steps, so the amount is exact: a decision is one frame's
        (every Brain decides for all its agents at once), whereas agent steps come in batches.
        The fragment ends at a whole frame, the one of the last decision, once any learning update
        that decision started has completed, so every Brain has acted and the next call (or
        :meth:`tick`) goes on from a clean frame boundary. The step budget (:attr:`done`) is not
        looked at: the caller decides how many fragments to collect. An error ends the session.
        """
        self._require_running()
        academy = self.academy
        states = academy.brains
        before = {name: (s.stats.agent_steps, s.stats.episodes) for name, s in states.items()}
        rewards = dict.fromkeys(states, 0.0)
        frames, target = 0, academy.decisions + decisions
        try:
            scene = self.scene
            while academy.decisions < target or academy.update_pending:
                seen = academy.decisions
                frames += self._one(scene)
                if academy.decisions != seen:
                    for name, s in states.items():
                        rewards[name] += float(s.rewards.sum())
        except BaseException as exc:
            raise self.fail(exc) from None
        brains = {
            name: timeline.BrainFragment(
                s.stats.agent_steps - before[name][0], s.stats.episodes - before[name][1], rewards[name]
            )
            for name, s in states.items()
        }
        return timeline.Fragment(
            decisions, frames, sum(b.agent_steps for b in brains.values()), scene.frame_current, brains
        )

    def _require_running(self) -> None:
        if not self.started or self.stopped:
            why = f": {one_line(self.error)}" if self.error is not None else ""
            raise AcademyError(f"The session is not running{why}")

    def fail(self, exc: BaseException) -> BaseException:
        """End the session because of ``exc``; return what to raise (one line, naming what failed)."""
        scene = bpy.data.scenes.get(self.scene_name)
        if scene is not None and not isinstance(exc, AcademyError | KeyboardInterrupt | SystemExit):
            exc = self.academy.explain(scene, exc)
        if not isinstance(exc, AcademyError | KeyboardInterrupt | SystemExit):
            exc = AcademyError(describe_error(exc, self.academy))
        self._error = exc
        if self.academy.error is None:  # drivers that look at the Academy (headless, gym) see it too
            self.academy.error = exc
        try:
            self.finish(store=True)
        except BaseException as again:  # never hide the first error behind one from cleaning up
            if isinstance(exc, AcademyError):
                exc = AcademyError(f"{exc}; then ending the session failed: {one_line(again)}")
                self._error = exc
        return exc

    @property
    def message(self) -> str:
        """One line for the designer on how the session ended (what was kept, what was restored)."""
        if self.error is not None and not isinstance(self.error, KeyboardInterrupt | SystemExit):
            head = f"Stopped: {self.error}"
        elif self.training:
            head = "Training stopped"
        else:
            head = "Stopped"
        if self.training and self.started and self.stopped:
            head += "; what was learned is kept" if self.stored else "; nothing learned was stored"
        if not self.stopped:
            return head
        if self.lost and all(what.lower() in head.lower() for what in self.lost):
            return f"{head}; the rest of the scene is restored"
        if self.lost:
            more = f" and {len(self.lost) - 1} more" if len(self.lost) > 1 else ""
            return f"{head}; the scene is restored except the {self.lost[0]}{more}, which was gone"
        return f"{head}; the scene is restored"

    def run(
        self,
        callbacks: Iterable[Callback] | Callable | CallbackList = (),
        interval_s: float = 0.5,
        checkpoint_every: int | None = None,
    ) -> str:
        """Tick until done (starting the session first if needed), calling ``callbacks``' hooks; return why it ended.

        ``callbacks``: :class:`~.callbacks.Callback` objects, a function (called as ``on_progress``
        and once more at the end), or a ready :class:`~.callbacks.CallbackList` (whose own interval
        and checkpoints then count). Each
        tick lasts up to ``interval_s`` seconds and ``on_progress`` is called at most that often;
        ``on_checkpoint`` every ``checkpoint_every`` agent steps and at the end (never without
        ``checkpoint_every``). The reason is one of :data:`~.callbacks.REASONS`: "done" leaves the
        session to its owner to :meth:`finish` (as before); a stop before the end (a callback
        returning False, :attr:`stop_requested`) stops it (:meth:`stop`: what was learned kept,
        the scene restored). ``KeyboardInterrupt`` and errors end the session, call ``on_stop``
        ("interrupted" / "error") and raise again; an error in a callback ends the session too
        (see :meth:`tick`).
        """
        hooks = (
            callbacks if isinstance(callbacks, CallbackList) else CallbackList(callbacks, interval_s, checkpoint_every)
        )
        if not self.started:
            self.start()
        try:
            hooks.start(self)
            reason = None
            while reason is None:
                running = self.tick(hooks.interval_s, until_steps=hooks.next_checkpoint)
                reason = hooks.after_tick(self, running)
            self.ended_at = time.perf_counter()
            hooks.end(self, reason)
            if reason != DONE:
                self.stop()
            return reason
        except BaseException as exc:
            self.ended_at = self.ended_at or time.perf_counter()
            if not self.stopped:
                exc = self.fail(exc)
            if not hooks.ended and isinstance(exc, KeyboardInterrupt):
                hooks.end(self, INTERRUPTED)  # the interrupted checkpoint; its own failure is the news then
            else:  # the callbacks still hear of the end (a last progress line), with no checkpoint
                hooks.end_after_error(self, exc)
            raise exc from None

    def finish(self, store: bool = True) -> None:
        """Stop stepping; store learned weights into the Brains (``store``); restore the scene. Idempotent.

        The scene is restored even when storing fails (the error is raised after), and restoring goes
        on past objects or properties deleted meanwhile (listed in :attr:`lost`, see :attr:`message`).
        """
        if self.stopped:
            return
        self.stopped = True
        scene = bpy.data.scenes.get(self.scene_name)
        try:
            if store and self.training and scene is not None and self.started:
                self.academy.store_trained_brains(scene)
                self.stored = True
            if store and self.recorder is not None and scene is not None:
                self.recorder.store(scene)
        finally:
            if self in sessions.active_sessions():
                sessions._active.remove(self)
            try:
                for run in self._runs.values():
                    run.close()
                self.lost = self.academy.close(scene, restore=scene is not None)
            finally:
                takes.unmute_takes(self._muted_takes)


def safe_name(name: str) -> str:
    """``name`` usable as a file or folder name (a Brain's checkpoints, its TensorBoard run)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def learner_stats(learner) -> dict[str, float]:
    """The learner's statistics for display (never raises; DQN's epsilon also before its first update)."""
    try:
        stats = dict(learner.stats)
    except Exception:  # statistics are for display: never let them end a run
        return {}
    if "epsilon" not in stats and isinstance(getattr(learner, "epsilon", None), float):
        stats["epsilon"] = learner.epsilon  # DQN before its first update
    return stats


def describe_error(exc: BaseException, academy: Academy) -> str:
    """One line for an unexpected error while a session ran, naming the Brain when it was learning."""
    learning = [name for name, state in academy.brains.items() if state.awaiting_update]
    if learning:
        return f"Brain '{learning[0]}': the learning update failed ({one_line(exc)})"
    names = ", ".join(f"'{name}'" for name in academy.brains)
    return f"Brain{'s' if len(academy.brains) > 1 else ''} {names}: an unexpected error ({one_line(exc)})"
