"""Train, Stop and Play: thin shells over ``env.session.Session`` (its ``tick`` does the work)."""

from __future__ import annotations

import time

import bpy

from ..drivers import ui_train
from ..drivers.headless import brain_stats_text
from ..env import sessions
from ..env.academy import AcademyError
from ..env.callbacks import DONE, STOPPED, TARGET, Callback, CallbackList, TargetReached
from ..env.groups import agents_by_brain, brain_for
from ..env.session import Session
from ..env.torch_setup import torch_available

TICK_BUDGET_S = 1.0 / 30.0  # keeps the UI at about 30 redraws per second while training
STATS_EVERY_S = 0.5


def brains_with_agents(scene) -> dict[str, list]:
    try:
        return agents_by_brain(scene)
    except AcademyError:
        return {}


def _why_not_train(context) -> str | None:
    scene = context.scene
    if sessions.session_for(scene.name) is not None or ui_train.busy(scene.name):
        return "The Academy is already running in this scene (Stop it first)"
    training = [b.name for b in scene.academy.brains if b.brain_type == "TRAINING"]
    if not training:
        return "No Brain of type Training (Scene Properties → Academy → Brains)"
    if not any(name in brains_with_agents(scene) for name in training):
        return "No agent uses a Training Brain (Object Properties → Agent)"
    if not torch_available():
        return "Training needs PyTorch: Edit → Preferences → Add-ons → Agent Academy → Install PyTorch"
    return None


def tensorboard_dir(context) -> str | None:
    """Where Train writes TensorBoard event files (a run per Brain): ``academy_runs/<scene>`` next to
    the saved .blend. The writer needs no package; an unsaved .blend has no folder to write next to,
    so None (no event files)."""
    if not bpy.data.filepath:
        return None
    return bpy.path.abspath(f"//academy_runs/{context.scene.name}")


def update_stats(scene, session: Session) -> None:
    """Copy live statistics into the Brains (the panels and the Graph Editor read them), each its own."""
    for name, stats in session.stats.items():
        view = session.brain(name)
        brain = brain_for(scene, name, view.uid)
        if brain is None:
            continue
        learner = view.learner
        if learner is not None:
            brain.trained_steps = int(learner.total_steps)
        if stats.recent_returns:
            brain.mean_reward = stats.mean_return


def status_line(session: Session) -> str:
    notice = session.notice
    if notice:
        return f"Academy: {notice}   (Esc to stop)"
    steps_s = session.agent_steps / max(time.perf_counter() - session.started_at, 1e-9)
    total = f"/{session.total_steps:,}" if session.total_steps else ""
    learners = session.learner_stats() if session.training else {}
    several = len(session.stats) > 1
    parts = []
    for name, stats in session.stats.items():
        reward = "–" if not stats.recent_returns else f"{stats.mean_return:.2f}"
        text = " ".join(t for t in (f"mean reward {reward}", brain_stats_text(learners.get(name, {}))) if t)
        parts.append(f"{name} {text}" if several else text)
    return (
        f"Academy: {session.agent_steps:,}{total} agent steps · {steps_s:,.0f} steps/s · "
        f"{session.episodes:,} episodes" + "".join(f" · {part}" for part in parts) + "   (Esc to stop)"
    )


class PanelProgress(Callback):
    """The Train operator's progress: live statistics into the Brains, the status bar, a redraw.

    ``context``: the operator's current context (set on every modal event; None in background).
    """

    def __init__(self, scene_name: str):
        self.scene_name = scene_name
        self.context = None

    def on_progress(self, session: Session) -> None:
        scene = bpy.data.scenes.get(self.scene_name)
        if scene is not None:
            update_stats(scene, session)
        context = self.context
        if context is None:
            return
        if context.workspace is not None:
            context.workspace.status_text_set(status_line(session))
        for area in context.screen.areas if context.screen else ():
            if area.type in {"VIEW_3D", "PROPERTIES"}:
                area.tag_redraw()

    def on_stop(self, session: Session, reason: str) -> None:
        scene = bpy.data.scenes.get(self.scene_name)
        if scene is not None:
            update_stats(scene, session)


class _RunModal:
    """Shared modal loop: timer ticks drive the session; Esc or Stop ends it (restoring the scene).

    Any error while it runs ends the session (scene restored, what was learned kept) and is
    reported as one line; Train is available again at once.
    """

    _timer = None
    _scene_name = ""
    _run: Session | None = None
    _hooks: CallbackList | None = None

    def _start_modal(self, context, session: Session) -> set[str]:
        self._scene_name = session.scene_name
        self._run = session
        session.modal_owned = True
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.001 if session.training else 0.1, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def _end_modal(self, context, session: Session | None, head: str | None = None) -> set[str]:
        """End the session (if still running), then report how it ended (``head`` replacing its first part)."""
        if self._timer is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None
        level = "INFO"
        if session is not None:
            if not session.stopped:
                try:
                    scene = bpy.data.scenes.get(self._scene_name)
                    if scene is not None:
                        update_stats(scene, session)
                    session.finish(store=True)
                except Exception as exc:
                    session.fail(exc)
            if session.error is not None and not isinstance(session.error, KeyboardInterrupt):
                level = "ERROR"
            message = session.message
            if head is not None:
                message = f"{head}; {message.split('; ', 1)[1]}" if "; " in message else head
        else:
            message = head or "Stopped"
        if context.workspace is not None:
            context.workspace.status_text_set(None)
        self.report({level}, message)
        for area in context.screen.areas if context.screen else ():
            area.tag_redraw()
        return {"FINISHED"}


class ACADEMY_OT_train(_RunModal, bpy.types.Operator):
    """Train this scene's Training Brains in-process. Esc or Stop ends training, keeps what was learned and restores the scene"""  # noqa: E501

    bl_idname = "academy.train"
    bl_label = "Train"
    bl_options = {"REGISTER", "UNDO"}
    _progress: PanelProgress | None = None
    _workers_run: ui_train.WorkerTrain | None = None

    steps: bpy.props.IntProperty(
        name="Steps",
        description="Agent steps to train (0: the Academy's Training Steps)",
        default=0,
        min=0,
    )
    use_target: bpy.props.BoolProperty(
        name="Use Target Reward",
        description="Say when each Training Brain's mean episode reward first reaches Target Reward",
        default=False,
    )
    target_reward: bpy.props.FloatProperty(
        name="Target Reward",
        description="The mean episode reward to reach (with Use Target Reward)",
        default=0.0,
    )
    stop_at_target: bpy.props.BoolProperty(
        name="Stop at Target",
        description="End training once every Training Brain reached Target Reward (with Use Target Reward)",
        default=False,
    )

    @classmethod
    def poll(cls, context):
        reason = _why_not_train(context)
        if reason:
            cls.poll_message_set(reason)
        return reason is None

    def _session(self, context) -> Session | None:
        try:
            session = Session(
                context.scene,
                training=True,
                steps=self.steps or None,
                tensorboard=tensorboard_dir(context),
                targets={None: self.target_reward} if self.use_target else None,
            )
            session.start()  # a failed start has restored the scene and raises one line
        except AcademyError as exc:
            self.report({"ERROR"}, str(exc))
            return None
        from ..nodes import scene_warnings

        warnings = scene_warnings(context.scene)
        if warnings:
            more = f" (and {len(warnings) - 1} more: see the node editor)" if len(warnings) > 1 else ""
            self.report({"WARNING"}, warnings[0] + more)
        return session

    def _callbacks(self, session: Session) -> CallbackList:
        """The same target logic as the command line's ``--target`` / ``--stop-at-target``, said in the status bar."""
        self._progress = PanelProgress(session.scene_name)
        target = TargetReached(self.stop_at_target, lambda text: self.report({"INFO"}, text[0].upper() + text[1:]))
        return CallbackList([self._progress, target], interval_s=STATS_EVERY_S)

    def execute(self, context):
        """Train to the end without returning to the UI (scripts, background mode)."""
        if context.scene.academy.workers >= 2:
            return self._execute_workers(context)
        session = self._session(context)
        if session is None:
            return {"CANCELLED"}
        try:
            session.run(self._callbacks(session))
            session.finish(store=True)
        except Exception as exc:  # tick has already ended the session; anything after it ends it here
            session.fail(exc)
            self.report({"ERROR"}, session.message)
            return {"CANCELLED"}
        kept = "" if not session.lost else f" ({session.message.split('; ', 1)[-1]})"
        means = ", ".join(
            f"{name} {session.stats[name].mean_return:.2f}"
            if len(session.trained) > 1
            else f"{session.stats[name].mean_return:.2f}"
            for name in session.trained
        )
        self.report({"INFO"}, f"Trained {session.agent_steps:,} agent steps; mean reward {means}{kept}")
        return {"FINISHED"}

    def invoke(self, context, event):
        if context.window is None:  # background: nothing would deliver timer events
            return self.execute(context)
        if context.scene.academy.workers >= 2:
            return self._invoke_workers(context)
        session = self._session(context)
        if session is None:
            return {"CANCELLED"}
        self._hooks = self._callbacks(session)
        self._progress.context = context
        try:
            self._hooks.start(session)
        except Exception as exc:
            session.fail(exc)
            return self._end_modal(context, session)
        return self._start_modal(context, session)

    def modal(self, context, event):
        if self._workers_run is not None:
            return self._modal_workers(context, event)
        session, hooks = self._run, self._hooks
        if session is None or hooks is None:
            return self._end_modal(context, session)
        stopped = session.stopped or session.stop_requested or session not in sessions.active_sessions()
        if stopped or (event.type == "ESC" and event.value == "PRESS"):
            return self._end_run(context, session, STOPPED)
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        self._progress.context = context
        try:  # the same hooks as Session.run, one tick per timer event
            reason = hooks.after_tick(session, session.tick(TICK_BUDGET_S))
        except (Exception, KeyboardInterrupt) as exc:  # tick has ended the session (scene restored, weights kept)
            if not session.stopped:
                session.fail(exc)
            return self._end_modal(context, session)
        if reason is None:
            return {"RUNNING_MODAL"}
        head = f"Training finished: {status_line(session).split('(')[0].strip()}" if reason in (DONE, TARGET) else None
        return self._end_run(context, session, reason, head)

    # -- with Workers >= 2: a driver process trains, this Blender shows its progress (drivers/ui_train.py) --
    def _start_workers(self, context) -> ui_train.WorkerTrain | None:
        scene, academy = context.scene, context.scene.academy
        try:
            return ui_train.WorkerTrain(
                scene,
                academy.workers,
                steps=self.steps or None,
                ray_address=academy.ray_address.strip() or None,
                out=tensorboard_dir(context),
                blend=ui_train.saved_file(),
                target=self.target_reward if self.use_target else None,
                stop_at_target=self.stop_at_target,
            )
        except (AcademyError, OSError) as exc:
            self.report({"ERROR"}, str(exc))
            return None

    def _execute_workers(self, context) -> set[str]:
        """Train with the workers to the end, waiting (scripts, background mode)."""
        run = self._start_workers(context)
        if run is None:
            return {"CANCELLED"}
        try:
            while run.poll():
                time.sleep(0.05)
        except KeyboardInterrupt:
            run.stop()
            while run.poll():
                time.sleep(0.05)
        finally:
            run.close()
        return self._end_workers(context, run)

    def _invoke_workers(self, context) -> set[str]:
        run = self._start_workers(context)
        if run is None:
            return {"CANCELLED"}
        self._workers_run = run
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.1, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def _modal_workers(self, context, event) -> set[str]:
        run = self._workers_run
        if event.type == "ESC" and event.value == "PRESS":
            run.stop()
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        try:
            running = run.poll()
        except BaseException:
            run.close()
            raise
        if running:
            scene = bpy.data.scenes.get(run.scene_name)
            for name, b in run.progress.get("brains", {}).items() if scene is not None else ():
                brain = scene.academy.brains.get(name)
                if brain is not None and b["mean"] is not None:
                    brain.mean_reward = b["mean"]
            if context.workspace is not None:
                stopping = "Academy: stopping the workers at the end of their round …"
                context.workspace.status_text_set(stopping if run.stop_requested else run.status_line())
            for area in context.screen.areas if context.screen else ():
                if area.type in {"VIEW_3D", "PROPERTIES"}:
                    area.tag_redraw()
            while run.notes:
                text = run.notes.pop(0)
                self.report({"INFO"}, text[0].upper() + text[1:])
            return {"RUNNING_MODAL"}
        context.window_manager.event_timer_remove(self._timer)
        self._timer = None
        if context.workspace is not None:
            context.workspace.status_text_set(None)
        return self._end_workers(context, run)

    def cancel(self, context):
        """Blender ends the operator (a file is loaded, the window closes): the driver and its workers end
        too, nothing is stored (the file it trained may be gone)."""
        if self._timer is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None
        if self._workers_run is not None:
            self._workers_run.close()

    def _end_workers(self, context, run: ui_train.WorkerTrain) -> set[str]:
        """Store what the driver's Brains learned into this scene's and report how the run ended, in one line."""
        for text in run.notes:
            self.report({"INFO"}, text[0].upper() + text[1:])
        scene = bpy.data.scenes.get(run.scene_name)
        error = run.error
        try:
            stored = run.store(scene) if scene is not None else []
        except AcademyError as exc:  # a model Blender did not keep: the Brain keeps its previous one
            stored, error = [], f"{error}; {exc}" if error else str(exc)
        kept = "what was learned is kept" if stored else "nothing learned was stored"
        if error is not None:
            self.report({"ERROR"}, f"Stopped: {error}; {kept}")
            return {"CANCELLED"}
        p = run.progress
        means = ", ".join(
            f"{name} {b['mean']:.2f}" if len(stored) > 1 else f"{b['mean']:.2f}"
            for name, b in p.get("brains", {}).items()
            if name in stored and b["mean"] is not None
        )
        head = "Training stopped" if run.stop_requested or (run.result and run.result[0]["interrupted"]) else "Trained"
        self.report(
            {"INFO"},
            f"{head}: {p.get('agent_steps', 0):,} agent steps with {run.workers} workers"
            + (f"; mean reward {means}" if means else "")
            + f"; {kept}",
        )
        return {"FINISHED"}

    def _end_run(self, context, session: Session, reason: str, head: str | None = None) -> set[str]:
        """Tell the callbacks the run ended (``reason``), then end the session and report as every run does."""
        try:
            self._hooks.end(session, reason)
        except Exception as exc:
            if not session.stopped:
                session.fail(exc)
        return self._end_modal(context, session, head)


class ACADEMY_OT_play(_RunModal, bpy.types.Operator):
    """Let the Brains drive their agents live while the timeline plays (Player Brains follow the keyboard). Esc or Stop restores the scene"""  # noqa: E501

    bl_idname = "academy.play"
    bl_label = "Play"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        scene = context.scene
        if sessions.session_for(scene.name) is not None:
            cls.poll_message_set("The Academy is already running in this scene (Stop it first)")
            return False
        if not brains_with_agents(scene):
            cls.poll_message_set("No agents: enable Agent on an object and give it a Brain")
            return False
        return True

    def _session(self, context) -> Session | None:
        try:
            return Session(context.scene, training=False, steps=0).start()
        except AcademyError as exc:
            self.report({"ERROR"}, str(exc))
            return None

    def execute(self, context):
        """Start driving the agents; frame changes (playback, scripts) step them until Stop."""
        session = self._session(context)
        return {"FINISHED"} if session is not None else {"CANCELLED"}

    def invoke(self, context, event):
        if context.window is None:
            return self.execute(context)
        session = self._session(context)
        if session is None:
            return {"CANCELLED"}
        from ..env import player

        player.clear()
        player.bound = {k.key for b in context.scene.academy.brains if b.brain_type == "PLAYER" for k in b.player_keys}
        if not context.screen.is_animation_playing:
            bpy.ops.screen.animation_play()
        return self._start_modal(context, session)

    def modal(self, context, event):
        from ..env import player

        session = self._run
        stop = session is None or session.stopped or session.stop_requested
        stop = stop or session not in sessions.active_sessions()
        if stop or (event.type == "ESC" and event.value == "PRESS") or session.error is not None:
            player.clear()
            if context.screen is not None and context.screen.is_animation_playing:
                bpy.ops.screen.animation_cancel(restore_frame=True)
            if session is not None and not session.stopped and session.error is not None:
                session.fail(session.error)
            return self._end_modal(context, session)
        if event.type in player.bound:  # keys a Player Brain uses do not reach the rest of Blender
            if event.value == "PRESS":
                player.press(event.type)
            elif event.value == "RELEASE":
                player.release(event.type)
            return {"RUNNING_MODAL"}
        return {"PASS_THROUGH"}


class ACADEMY_OT_stop(bpy.types.Operator):
    """Stop training or playback in this scene: keep what was learned, restore the scene"""

    bl_idname = "academy.stop"
    bl_label = "Stop"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        if sessions.session_for(context.scene.name) is None:
            cls.poll_message_set("Nothing is running in this scene")
            return False
        return True

    def execute(self, context):
        session = sessions.session_for(context.scene.name)
        session.stop_requested = True  # a modal operator running it reports and cleans up on its next event
        if isinstance(session, ui_train.WorkerTrain):  # the Train operator stores and reports once it ends
            sessions.stop_session(session)
            self.report({"INFO"}, "Stopping the workers at the end of their round; what was learned is kept")
            return {"FINISHED"}
        if not isinstance(session, Session):
            sessions.stop_session(session)
            self.report({"INFO"}, "Stopped; the scene is restored")
            return {"FINISHED"}
        try:
            update_stats(context.scene, session)
            session.finish(store=True)
        except Exception as exc:
            session.fail(exc)
        level = "ERROR" if session.error is not None and not isinstance(session.error, KeyboardInterrupt) else "INFO"
        self.report({level}, session.message)  # the truth: what was kept, what was restored, what was gone
        return {"FINISHED"}
