"""Optional experiment trackers — Weights & Biases and MLflow — through the callback seam.

``make_tracker("wandb" | "mlflow", run_name=..., config=...)`` returns a :class:`~.callbacks.Callback`
that logs each Brain's numbers under the TensorBoard tags (``<brain>/Environment/Cumulative Reward``,
``<brain>/Losses/Policy Loss``, ...; :func:`..core.stats.learner_scalars`) at the run's agent steps,
every ``log_every`` agent steps and once more when the run ends, and closes the tracker's run with
how it ended. The tracker's package is imported only here and only when one is asked for: the
extension runs without either, and asking for a missing one is a :class:`TrackerError` naming the
package to install. ``./academy train --track wandb`` (repeatable) adds them to a run.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from ..core.stats import learner_scalars
from .callbacks import ERROR, INTERRUPTED, Callback

__all__ = ["TRACKERS", "MLflowTracker", "TrackerError", "WandbTracker", "make_tracker"]

LOG_EVERY = 1_000  # agent steps between two logs (progress comes every quarter second)


class TrackerError(Exception):
    """A tracker cannot be used (its package is missing); the message says which and how to install it."""


def _package(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise TrackerError(
            f"the {name} tracker needs the {name} package, which is not installed here (pip install {name}) ({exc})"
        ) from None


class _Tracker(Callback):
    """Logs the Brains' numbers every ``log_every`` agent steps; subclasses open, log to and close a run."""

    package = ""

    def __init__(
        self, run_name: str | None = None, config: Mapping[str, Any] | None = None, log_every: int = LOG_EVERY
    ):
        self.module = _package(self.package)
        self.run_name = run_name
        self.config = dict(config or {})
        self.log_every = max(1, int(log_every))
        self._logged: int | None = None

    def values(self, session) -> dict[str, float]:
        """Each Brain's Environment and learner numbers, keyed ``<brain>/<tag>`` (finite numbers only)."""
        out: dict[str, float] = {}
        learners = session.learner_stats()
        for name, stats in session.stats.items():
            numbers = {**stats.scalars(), **learner_scalars(learners.get(name, {}))}
            out.update({f"{name}/{tag}": v for tag, v in numbers.items() if v == v and abs(v) != float("inf")})
        return out

    def _log_now(self, session) -> None:
        step = int(session.agent_steps)
        if self._logged == step:
            return
        values = self.values(session)
        if values:
            self.log(values, step)
        self._logged = step

    def on_start(self, session) -> None:
        self.open()

    def on_progress(self, session) -> None:
        if self._logged is None or session.agent_steps - self._logged >= self.log_every:
            self._log_now(session)

    def on_stop(self, session, reason: str) -> None:
        try:
            if reason != ERROR:
                self._log_now(session)
        finally:
            self.close(reason)

    def open(self) -> None:
        raise NotImplementedError

    def log(self, values: dict[str, float], step: int) -> None:
        raise NotImplementedError

    def close(self, reason: str) -> None:
        raise NotImplementedError


class WandbTracker(_Tracker):
    """A Weights & Biases run (``wandb.init``; project ``agent-academy`` unless ``project`` says)."""

    package = "wandb"
    EXIT_CODES = {ERROR: 1, INTERRUPTED: 130}

    def __init__(self, run_name=None, config=None, log_every: int = LOG_EVERY, project: str = "agent-academy"):
        super().__init__(run_name, config, log_every)
        self.project = project
        self.run = None

    def open(self) -> None:
        self.run = self.module.init(project=self.project, name=self.run_name, config=self.config)

    def log(self, values: dict[str, float], step: int) -> None:
        self.run.log(values, step=step)

    def close(self, reason: str) -> None:
        if self.run is not None:
            self.run.finish(exit_code=self.EXIT_CODES.get(reason, 0))
            self.run = None


class MLflowTracker(_Tracker):
    """An MLflow run (experiment ``agent-academy`` unless ``experiment`` says; the config as its params)."""

    package = "mlflow"
    STATUS = {ERROR: "FAILED", INTERRUPTED: "KILLED"}

    def __init__(self, run_name=None, config=None, log_every: int = LOG_EVERY, experiment: str = "agent-academy"):
        super().__init__(run_name, config, log_every)
        self.experiment = experiment
        self.active = False

    def open(self) -> None:
        self.module.set_experiment(self.experiment)
        self.module.start_run(run_name=self.run_name)
        self.active = True
        if self.config:
            self.module.log_params(self.config)

    def log(self, values: dict[str, float], step: int) -> None:
        self.module.log_metrics(values, step=step)

    def close(self, reason: str) -> None:
        if self.active:
            self.module.end_run(status=self.STATUS.get(reason, "FINISHED"))
            self.active = False


TRACKERS = {"wandb": WandbTracker, "mlflow": MLflowTracker}


def make_tracker(name: str, **kwargs: Any) -> Callback:
    """The tracker ``name`` (``wandb`` or ``mlflow``) as a callback; :class:`TrackerError` if it cannot run."""
    try:
        cls = TRACKERS[name]
    except KeyError:
        raise TrackerError(f"unknown tracker {name!r} (one of {', '.join(TRACKERS)})") from None
    return cls(**kwargs)
