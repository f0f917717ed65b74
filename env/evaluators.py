"""What every expression evaluator shares: the context of one evaluation pass, the error, and the registry
of which method of ``CompiledBehaviour`` compiles each spec kind."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..core import specs as S

Fn = Callable[["EvalContext"], np.ndarray]


class BehaviourError(ValueError):
    """A behaviour cannot run on an agent. The message names the agent and the setting at fault."""


@dataclass
class EvalContext:
    """What the evaluators read during one pass over N agents."""

    n: int
    num_objects: int
    mats: np.ndarray = field(init=False)  # (K, 4, 4) world matrices of the referenced objects
    prev_loc: np.ndarray = field(init=False)  # (K, 3) locations at the previous decision
    prev_rot: np.ndarray = field(init=False)  # (K, 3, 3) rotations at the previous decision
    dt: float = 1.0 / 24.0
    actions: np.ndarray = field(init=False)  # (N, slots)
    step: np.ndarray = field(init=False)  # (N,) decisions this episode
    episode: np.ndarray = field(init=False)  # (N,) episodes ended so far
    max_steps: np.ndarray = field(init=False)  # (N,) 0 = unlimited
    team_size: np.ndarray = field(init=False)  # (N,) agents of the Brain on each agent's team (itself included)
    chosen: dict[str, np.ndarray] = field(default_factory=dict)  # agent: reference -> (N,) column it picked
    acting: np.ndarray | None = None  # (N,) bool: the agents whose actuators write (None: all)
    reset_params: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (N,)
    rng: np.random.Generator = field(default_factory=np.random.default_rng)
    depsgraph: object = None
    scene: object = None
    pass_id: int = 0  # bumped whenever inputs may have changed; cached sub-expressions recompute
    training_progress: Callable[[], float] = lambda: 0.0  # the run's fraction of its steps (env.curricula)

    def __post_init__(self) -> None:
        k = self.num_objects
        self.mats = np.tile(np.eye(4), (k, 1, 1))
        self.prev_loc = np.zeros((k, 3))
        self.prev_rot = np.tile(np.eye(3), (k, 1, 1))
        self.actions = np.zeros((self.n, 0))
        self.step = np.zeros(self.n, dtype=np.int64)
        self.episode = np.zeros(self.n, dtype=np.int64)
        self.max_steps = np.zeros(self.n, dtype=np.int64)
        self.team_size = np.ones(self.n, dtype=np.int64)


# Expression kind -> (the CompiledBehaviour method that compiles it, cache its closure per pass?).
_EVALUATORS: dict[type[S.Expr], tuple[Callable[..., Fn], bool]] = {}


def _evaluates(kind: type[S.Expr], *, per_pass: bool = True) -> Callable[[Callable[..., Fn]], Callable[..., Fn]]:
    """Register the decorated method as the compiler of ``kind`` (found by exact type, not isinstance).

    ``per_pass=False`` for closures already as cheap as a cache lookup: they are not wrapped in :func:`_per_pass`.
    """

    def register(method: Callable[..., Fn]) -> Callable[..., Fn]:
        if kind in _EVALUATORS:
            raise TypeError(f"two evaluators for {kind.__name__}")
        _EVALUATORS[kind] = (method, per_pass)
        return method

    return register
