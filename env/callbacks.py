"""Callbacks: what a client does while a :class:`~.session.Session` runs (Stable-Baselines3's seam).

A :class:`Callback` overrides the hooks it needs; :meth:`Session.run <.session.Session.run>` (the
command line, scripts) or a modal operator (through :class:`CallbackList`) calls them::

    class Report(Callback):
        def on_progress(self, session):
            print(session.agent_steps)

        def on_target(self, session, brain, value):
            return False  # stop once a Brain reaches its target

    session.run([Report()], checkpoint_every=10_000)

Returning ``False`` from :meth:`Callback.on_progress` or :meth:`Callback.on_target` stops the run
at once: the later callbacks of that round are not called, the session stops like the Stop
button (what was learned is kept, the scene restored). Any other return value goes on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

# Why a run ended, as passed to Callback.on_stop and returned by Session.run:
DONE = "done"  # the steps budget is spent (the session is left running: its owner finishes it)
STOPPED = "stopped"  # Stop, Esc, Ctrl-C in the terminal: asked to stop, or ended by someone else
TARGET = "target"  # an on_target returned False
CALLBACK = "callback"  # an on_progress returned False
INTERRUPTED = "interrupted"  # KeyboardInterrupt (raised again after the callbacks)
ERROR = "error"  # the session failed (raised again after the callbacks); no final checkpoint
REASONS = (DONE, STOPPED, TARGET, CALLBACK, INTERRUPTED, ERROR)


class Callback:
    """The hooks of a run, each a no-op here. ``session`` is the running :class:`~.session.Session`."""

    def on_start(self, session) -> None:
        """The session started (agents reset, first decision made)."""

    def on_progress(self, session) -> bool | None:
        """Called after a tick, at most every ``interval_s`` seconds (the first at once). False stops the run."""

    def on_checkpoint(self, session, tag: str) -> None:
        """Time to save: ``tag`` is the agent steps (every ``checkpoint_every``), then "final" or "interrupted"."""

    def on_target(self, session, brain: str, value: float) -> bool | None:
        """Brain ``brain``'s mean episode reward first reached its target (``value``: the mean then).

        ``session.stats[brain].reached_at`` has its steps and time. False stops the run."""

    def on_stop(self, session, reason: str) -> None:
        """The run ended (``reason``: one of :data:`REASONS`), before the session is finished when it can be."""


class ProgressFunction(Callback):
    """A plain function as a callback: ``fn(session)`` on every progress and once more when the ticks end
    ("done" or "stopped": not after an error or a hook's False)."""

    def __init__(self, fn: Callable[[object], object]):
        self.fn = fn

    def on_progress(self, session) -> None:
        self.fn(session)

    def on_stop(self, session, reason: str) -> None:
        if reason in (DONE, STOPPED):
            self.fn(session)


class CallbackList:
    """Calls its callbacks' hooks at the right moments; what :meth:`Session.run` and the Train operator drive.

    ``callbacks``: :class:`Callback` objects, or one function (a :class:`ProgressFunction`).
    ``interval_s``: least time between ``on_progress`` calls (the session's clock).
    ``checkpoint_every``: agent steps between ``on_checkpoint`` calls (None or 0: no checkpoints, not
    even the final one). A driver calls :meth:`start` once, :meth:`after_tick` after every tick
    (ticking up to :attr:`next_checkpoint`), and :meth:`end` once with the reason it returned.
    """

    def __init__(
        self,
        callbacks: Iterable[Callback] | Callable = (),
        interval_s: float = 0.5,
        checkpoint_every: int | None = None,
    ):
        self.callbacks = [ProgressFunction(callbacks)] if callable(callbacks) else list(callbacks)
        self.interval_s = interval_s
        self.every = checkpoint_every or None  # 0 would checkpoint after every tick
        self.next_checkpoint: int | None = self.every
        self.reached: set[str] = set()  # Brains whose on_target was called
        self.ended = False
        self._last_progress = -math.inf  # the first progress at once

    def start(self, session) -> None:
        for cb in self.callbacks:
            cb.on_start(session)

    def after_tick(self, session, running: bool) -> str | None:
        """The hooks due after a tick (``running``: what the tick returned); the reason to stop, or None."""
        if not running:
            self._targets(session)  # reached on the last tick: still said, nothing left to stop
            return DONE if session.done else STOPPED
        if session.stop_requested:
            return STOPPED
        now = session.clock()
        if now - self._last_progress >= self.interval_s:
            self._last_progress = now
            for cb in self.callbacks:  # a plain loop: a callback's StopIteration must stay what it is
                if cb.on_progress(session) is False:
                    return CALLBACK
        if self.next_checkpoint is not None and session.agent_steps >= self.next_checkpoint:
            if not session.update_pending:
                for cb in self.callbacks:
                    cb.on_checkpoint(session, str(session.agent_steps))
                self.next_checkpoint += self.every
        return TARGET if self._targets(session) else None

    def _targets(self, session) -> bool:
        """Call ``on_target`` for each Brain that newly reached its target; True if one returned False."""
        for name, stats in session.stats.items():
            if stats.reached_at is not None and name not in self.reached:
                self.reached.add(name)
                for cb in self.callbacks:
                    if cb.on_target(session, name, stats.reached_at.mean_return) is False:
                        return True
        return False

    def end(self, session, reason: str) -> None:
        """The final checkpoint (not after an error), then ``on_stop``; only the first call counts."""
        if self.ended:
            return
        self.ended = True
        error = session.error
        if self.every is not None and reason != ERROR and (error is None or isinstance(error, KeyboardInterrupt)):
            tag = "interrupted" if reason in (STOPPED, INTERRUPTED) else "final"
            for cb in self.callbacks:
                cb.on_checkpoint(session, tag)
        for cb in self.callbacks:
            cb.on_stop(session, reason)

    def end_after_error(self, session, exc: BaseException) -> None:
        """``end(session, ERROR)`` while ``exc`` ends the run: the callbacks still hear of the end,
        and if one of them fails too, that failure is written on ``exc`` (a note shown with it)
        instead of hiding what ended the run."""
        if self.ended:
            return
        try:
            self.end(session, ERROR)
        except Exception as also:  # noqa: BLE001 - reported on the error that ends the run
            exc.add_note(f"a callback failed too, while the run ended: {type(also).__name__}: {also}")


class TargetReached(Callback):
    """Say when each targeted Brain first reaches its target; with ``stop``, stop once every one has.

    What the command line's ``--target`` / ``--stop-at-target`` and the Train operator's Target
    Reward / Stop at Target both use. ``say(text)``: where the line goes (None: nowhere).
    ``stopping``: appended to the last line when it stops the run. ``since``: the clock time the
    seconds are counted from (default: when the session started).
    """

    def __init__(
        self,
        stop: bool = False,
        say: Callable[[str], None] | None = None,
        stopping: str = "; stopping",
        since: float | None = None,
    ):
        self.stop, self.say, self.stopping, self.since = stop, say, stopping, since
        self.targeted: list[str] = []
        self.reached: list[str] = []

    def on_start(self, session) -> None:
        self.targeted = [name for name, st in session.stats.items() if st.target is not None]
        if self.since is None:
            self.since = session.started_at

    @property
    def all_reached(self) -> bool:
        return bool(self.targeted) and len(self.reached) == len(self.targeted)

    def on_target(self, session, brain: str, value: float) -> bool:
        self.reached.append(brain)
        if self.say is not None:
            self.say(self.message(session, brain))
        return not (self.stop and self.all_reached)

    def message(self, session, brain: str) -> str:
        """``reached mean reward 1.23 (target 1) [Brain 'X' ]after 4,000 agent steps, 2.5 s[; stopping]``."""
        st = session.stats[brain]
        who = f"Brain '{brain}' " if len(self.targeted) > 1 else ""
        since = self.since if self.since is not None else session.started_at
        return (
            f"reached mean reward {st.reached_at.mean_return:.2f} (target {st.target:g}) {who}after "
            f"{st.reached_at.steps:,} agent steps, {st.reached_at.time - since:.1f} s"
            + (self.stopping if self.stop and self.all_reached else "")
        )
