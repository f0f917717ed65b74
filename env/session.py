"""Sessions: an Academy bound to the frame-change handlers, driven by ``tick`` or by the timeline.

``tick(budget_s)`` is what the Train operator's timer, the headless trainer and the tests call: it
advances frames (each ``frame_set`` goes through the handlers, the one stepping path) and runs
learning updates in slices, stopping once its time budget is spent.
"""

from __future__ import annotations

import time

import bpy

from ..core.checks import one_line
from . import sessions, takes
from .academy import FRAME_LIMIT, Academy, AcademyError

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
    """

    def __init__(
        self, scene, training: bool = True, steps: int | None = None, brains=None, external=(), seed=None, agents=None
    ):
        self.scene_name = scene.name
        self.training = training
        # baked takes would replay over the agents (and hold rigid bodies): mute them while running
        self._muted_takes = takes.mute_takes(scene)
        try:
            self.academy = Academy(scene, brains=brains, external=external, seed=seed, training=training, agents=agents)
        except BaseException:
            takes.unmute_takes(self._muted_takes)
            raise
        self.academy.split_updates = True
        self.total_steps = steps if steps is not None else (scene.academy.training_steps if training else 0)
        self.started = False
        self.stopped = False
        self.started_at = 0.0
        self.stop_requested = False  # set by the Stop operator; the modal operator owning the session ends it
        self.modal_owned = False
        self.clock = time.perf_counter  # tests replace it with a virtual clock
        self.error: BaseException | None = None  # what ended the session, if it did not end normally
        self.lost: list[str] = []  # what restoring found gone (deleted objects or properties)
        self.stored = False  # finish() stored what was learned in the Brains
        self.wrap_frame = scene.frame_start + wrap_frames(scene)

    # -- the Session protocol of env.sessions ---------------------------------------------
    def on_frame_change_pre(self, scene) -> None:
        self.academy.frame_pre(scene)

    def on_frame_change(self, scene, depsgraph) -> None:
        self.academy.frame_post(scene, depsgraph)

    def stop(self) -> None:
        """Stop, keep what was learned in the Brains, restore the scene (see :meth:`finish`)."""
        self.finish(store=True)

    # -- driving --------------------------------------------------------------------------
    @property
    def scene(self):
        scene = bpy.data.scenes.get(self.scene_name)
        if scene is None:
            raise AcademyError(f"Scene '{self.scene_name}' was deleted while the Academy was running")
        return scene

    def start(self) -> Session:
        """Register with the handlers, reset every agent and make the first decision."""
        sessions.start_session(self)
        try:
            if self.training and self.total_steps:
                self.academy.begin_runs(self.total_steps)
            self.academy.start(self.scene)
        except BaseException as exc:  # ends the session (scene restored); raised as one line
            raise self.fail(exc) from None
        self.started = True
        self.started_at = time.perf_counter()
        return self

    @property
    def notice(self) -> str:
        """A message for the designer about the running session ('' when there is nothing to say)."""
        scene = bpy.data.scenes.get(self.scene_name)
        edited = self.academy.edited_behaviours(scene) if scene is not None else []
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
            if academy.update_pending:
                academy.update_slice(1)
            else:
                frame = scene.frame_current + 1
                scene.frame_set(scene.frame_start if frame >= self.wrap_frame else frame)
            if academy.error is not None:
                raise academy.error
            if self.clock() >= deadline:
                return True
            if until_steps is not None and academy.agent_steps >= until_steps and not academy.update_pending:
                return True

    def fail(self, exc: BaseException) -> BaseException:
        """End the session because of ``exc``; return what to raise (one line, naming what failed)."""
        scene = bpy.data.scenes.get(self.scene_name)
        if scene is not None and not isinstance(exc, AcademyError | KeyboardInterrupt | SystemExit):
            exc = self.academy._explain(scene, exc)
        if not isinstance(exc, AcademyError | KeyboardInterrupt | SystemExit):
            exc = AcademyError(describe_error(exc, self.academy))
        self.error = exc
        if self.academy.error is None:  # drivers that look at the Academy (headless, gym) see it too
            self.academy.error = exc
        try:
            self.finish(store=True)
        except BaseException as again:  # never hide the first error behind one from cleaning up
            if isinstance(exc, AcademyError):
                exc = AcademyError(f"{exc}; then ending the session failed: {one_line(again)}")
                self.error = exc
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

    def run(self, progress=None, interval_s: float = 0.5) -> None:
        """Tick until done; ``progress(session)`` is called about every ``interval_s`` seconds.

        An error in ``progress`` ends the session too (see :meth:`tick`).
        """
        try:
            while self.tick(interval_s):
                if progress is not None:
                    progress(self)
            if progress is not None:
                progress(self)
        except BaseException as exc:
            if self.stopped:
                raise
            raise self.fail(exc) from None

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
        finally:
            if self in sessions.active_sessions():
                sessions._active.remove(self)
            try:
                self.lost = self.academy.close(scene, restore=scene is not None)
            finally:
                takes.unmute_takes(self._muted_takes)


def describe_error(exc: BaseException, academy: Academy) -> str:
    """One line for an unexpected error while a session ran, naming the Brain when it was learning."""
    learning = [name for name, state in academy.brains.items() if state.awaiting_update]
    if learning:
        return f"Brain '{learning[0]}': the learning update failed ({one_line(exc)})"
    names = ", ".join(f"'{name}'" for name in academy.brains)
    return f"Brain{'s' if len(academy.brains) > 1 else ''} {names}: an unexpected error ({one_line(exc)})"
