"""Replay learners (DQN, SAC) trained by worker processes: what a worker's copy ships, how the driver learns.

A worker's copy of the Brain's learner acts as in one process (DQN ε-greedy, SAC sampled actions)
and stores its transitions as usual, but into a :class:`_Capture` instead of a replay memory, and
never learns: :class:`ReplayCollector` counts its decisions and, after ``length`` of them, marks the
learner ready to update, which the worker turns into a fragment (:meth:`ReplayCollector.take`):
the transitions of those decisions (n-step ones already folded per agent, final observations in
place), how many each decision added, how many of its rows were real (``active``), and what the
observation normalisers saw. The driver's learner (every worker's agents side by side) replays the
decisions in order (:func:`ingest_transitions`): decision by decision, each worker's transitions
into its replay memory, then the gradient steps that decision calls for (``train_freq`` /
``gradient_steps`` per transition after ``learning_starts``, as :meth:`observe` counts them in one
process). Its step count, and so ε and SAC's random start, follow the agent steps of all workers:
each weights message says where the next fragment starts (:func:`schedule`), and a worker's copy
counts each of its decisions as all workers' agents (``copies``).

Collection is asynchronous: the driver sends a worker its next weights before it learns from the
round it just received, so the workers collect while it learns, with the weights of one round
before (at most one round of updates stale). Rounds stay in worker order, so the same seed and N
give the same curve.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..training.common import as_active
from ..training.dqn import DQNLearner
from ..training.fragments import _merge, _normalisers, _rms_arrays, _seen_since
from ..training.normalize import RunningMeanStd
from ..training.persistence import prefixed
from ..training.sac import SACLearner

__all__ = ["FRAGMENT_AGENT_STEPS", "ReplayCollector", "fragment_length", "ingest_transitions", "is_replay", "schedule"]

Arrays = dict[str, np.ndarray]
FRAGMENT_AGENT_STEPS = 256  # about this many agent steps per worker and message (never one step per call)
_FIELDS = ("actions", "rewards", "dones", "discounts")


def is_replay(learner: object) -> bool:
    """Whether ``learner`` learns from a replay memory (DQN, SAC): workers collect its transitions."""
    return isinstance(learner, DQNLearner | SACLearner)


def fragment_length(agents: int) -> int:
    """Decisions per fragment for a worker running ``agents`` agents of a Brain."""
    return max(1, -(-FRAGMENT_AGENT_STEPS // max(1, agents)))


def schedule(learner, ahead: int = 0) -> dict[str, int]:
    """Where the next fragment starts in the driver's run (``ahead``: agent steps received, not yet learned from)."""
    steps = int(learner.total_steps) + ahead
    return {"total_steps": steps, "run_start": int(learner.run_start), "run_steps": int(learner.run_steps)}


class _Capture:
    """Stands in for a worker learner's replay memory: keeps what is added, in order."""

    def __init__(self) -> None:
        self.parts: list[tuple] = []
        self.count = 0

    def add(self, obs, actions, rewards, next_obs, dones, discounts) -> None:
        self.parts.append((obs, actions, rewards, next_obs, dones, discounts))
        self.count += len(actions)

    def __len__(self) -> int:
        return 0  # nothing to learn from here


class ReplayCollector:
    """A worker's replay learner turned collector: a fragment every ``length`` decisions.

    ``copies``: the worker processes of the run (a decision here stands for one of every worker)."""

    def __init__(self, learner, length: int, copies: int):
        self.learner, self.length, self.copies = learner, int(length), int(copies)
        learner.replay = self.capture = _Capture()
        self.steps: list[tuple[int, int]] = []  # per decision: transitions added, real rows
        self.since: dict[str, RunningMeanStd] = {}
        observe = learner.observe

        def collecting(*args: Any, **kwargs: Any) -> dict[str, Any]:
            before = self.capture.count
            info = observe(*args, **kwargs)
            n = learner.num_agents
            learner.total_steps += n * (self.copies - 1)  # the other workers' agents decided meanwhile
            learner._since_train = learner._pending_grad_steps = 0  # the driver learns
            active = kwargs.get("active", args[5] if len(args) > 5 else None)
            self.steps.append((self.capture.count - before, int(as_active(active, n).sum())))
            learner.update_ready = len(self.steps) >= self.length
            return info

        learner.observe = collecting

    def loaded(self, where: Mapping[str, int] | None) -> None:
        """The driver's weights were loaded: its step count (``where``: :func:`schedule`) and normalisers hold."""
        if where:
            for key in ("total_steps", "run_start", "run_steps"):
                setattr(self.learner, key, int(where[key]))
        self.since = {}
        for prefix, rms in _normalisers(self.learner).items():
            self.since[prefix] = copy = RunningMeanStd(np.shape(rms.mean))
            copy.load_state(rms.state())

    def take(self) -> Arrays:
        """The fragment of the last ``length`` decisions (the collector starts the next one)."""
        parts, steps = self.capture.parts, self.steps
        if len(steps) < self.length:
            raise RuntimeError("the fragment is not full yet")
        learner = self.learner
        out: Arrays = {
            "steps/added": np.array([a for a, _ in steps], np.int64),
            "steps/active": np.array([r for _, r in steps], np.int64),
        }
        keys = list(learner.obs_proc.entries)
        empty = {k: np.zeros((0, *s.shape), learner.obs_proc.dtypes[k]) for k, s in learner.obs_proc.entries.items()}
        for side, j in (("obs", 0), ("next_obs", 3)):
            for k in keys:
                out[f"{side}/{k}"] = np.concatenate([p[j][k] for p in parts]) if parts else empty[k]
        for name, j in zip(_FIELDS, (1, 2, 4, 5), strict=True):
            out[name] = np.concatenate([np.asarray(p[j]) for p in parts]) if parts else np.zeros(0, np.float32)
        for prefix, rms in _normalisers(learner).items():
            count, mean, var = _seen_since(self.since[prefix], rms.state())
            out.update(_rms_arrays(f"seen/{prefix}", _as_rms(count, mean, var)))
        self.capture.parts, self.capture.count = [], 0
        self.steps = []
        learner.update_ready = False
        self.loaded(None)  # what the normalisers saw is counted: the next fragment's starts here
        return out


def _as_rms(count: float, mean: np.ndarray, var: np.ndarray) -> RunningMeanStd:
    rms = RunningMeanStd(np.shape(mean))
    rms.mean, rms.var, rms.count = np.asarray(mean, np.float64), np.asarray(var, np.float64), float(count)
    return rms


def ingest_transitions(learner, fragments: Sequence[Mapping[str, np.ndarray]]) -> None:
    """Learn from one round of ``fragments`` (one per worker, in worker order) as one process would.

    Decision by decision: each worker's transitions of that decision into the replay memory, the
    step count by every agent of the learner, then the gradient steps due (``learning_starts``,
    ``train_freq``, ``gradient_steps``). The normalisers take what each worker's copy saw first.
    """
    cfg = learner.config
    lengths = {len(f["steps/added"]) for f in fragments}
    if len(lengths) != 1:
        raise ValueError(f"fragments of {sorted(lengths)} decisions in one round")
    for prefix, rms in _normalisers(learner).items():
        for f in fragments:
            seen = prefixed(dict(f), f"seen/{prefix}")
            if seen:
                _merge(rms, float(seen["count"]), np.asarray(seen["mean"]), np.asarray(seen["var"]))
    ends = [np.concatenate([[0], np.cumsum(f["steps/added"])]) for f in fragments]
    keys = list(learner.obs_proc.entries)
    for t in range(lengths.pop()):
        for f, e in zip(fragments, ends, strict=True):
            rows = slice(int(e[t]), int(e[t + 1]))
            if rows.stop > rows.start:
                learner.replay.add(
                    {k: f[f"obs/{k}"][rows] for k in keys},
                    f["actions"][rows],
                    f["rewards"][rows],
                    {k: f[f"next_obs/{k}"][rows] for k in keys},
                    f["dones"][rows],
                    f["discounts"][rows],
                )
        learner.total_steps += learner.num_agents
        if learner.total_steps >= cfg.learning_starts:
            learner._since_train += int(sum(int(f["steps/active"][t]) for f in fragments))
            rounds = learner._since_train // cfg.train_freq
            if rounds:
                learner._since_train -= rounds * cfg.train_freq
                learner._pending_grad_steps += rounds * cfg.gradient_steps
                learner.update_ready = True
                learner.update()
