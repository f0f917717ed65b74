"""What a run learned, written into its Brains: each Training Brain's model and its new curve points.

The model goes through :func:`.brain_store.store_trained` (checked, read back); the curve is the
Brain's ``CURVE_KEY`` property, to which each store appends the points not stored yet; a self-play
Brain's ELO goes to its ``self_play.elo``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ..core.names import CURVE_KEY
from . import brain_store
from .brain_store import BrainError
from .brains import TrainingRunner
from .groups import BrainState, brain_for


class TrainedStore:
    """Stores one Academy's Training Brains, as often as asked (saving mid-run, then at the end)."""

    def __init__(self) -> None:
        self.curves: dict[str, tuple[int, int]] = {}  # Brain -> (step offset, curve points stored)

    def store(self, scene, brains: Mapping[str, BrainState]) -> None:
        """Write every Training Brain's learned state into the Brain (saved with the .blend).

        Each model is checked and read back after writing (``env.brain_store.store_trained``); a
        Brain whose model cannot be stored keeps its previous one, the others are still stored, and
        the first such error is raised afterwards.
        """
        first_error: BrainError | None = None
        for name, state in brains.items():
            if not isinstance(state.runner, TrainingRunner):
                continue
            brain = brain_for(scene, name, state.uid)
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
            elo = getattr(state.runner, "elo", None)
            if elo is not None:  # a self-play Brain's rating, kept with the model it rates
                brain.self_play.elo = elo
        if first_error is not None:
            raise first_error

    def _store_curve(self, brain, state: BrainState) -> None:
        """Append the Brain's new curve points to its stored curve (a resumed run continues its steps)."""
        previous = list(brain.get(CURVE_KEY, ()))
        offset, saved = self.curves.get(state.name, (None, 0))
        if offset is None:
            offset = int(previous[-3]) if len(previous) >= 3 else 0
        curve = state.stats.curve
        brain[CURVE_KEY] = previous + [
            v for s, r, n in curve[saved:] if not (math.isnan(r) or math.isnan(n)) for v in (offset + s, r, n)
        ]
        self.curves[state.name] = (offset, len(curve))
