"""What a Brain's runner is given at each decision besides the observations: the behaviour's
Heuristic Action (Heuristic Brains) and its action masks (every Brain with Action Mask nodes).

Both are evaluated per agent group (agents sharing a compiled behaviour) and gathered into the
Brain's batch rows.
"""

from __future__ import annotations

import numpy as np

from ..core import specs as S
from .brains import HeuristicRunner
from .groups import BrainState


def heuristic(state: BrainState) -> np.ndarray | None:
    """The Heuristic Action of every agent of a Heuristic Brain (None: not Heuristic, or a group has none)."""
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


def action_mask(state: BrainState) -> np.ndarray | None:
    """(agents, sum of branch sizes) bool: the choices each agent of the Brain may take now.

    None when no agent group has an Action Mask node (the learners' unmasked path); rows of groups
    without masks allow every choice."""
    if not any(g.compiled.mask_fns for g in state.groups):
        return None
    out = None
    for g in state.groups:
        m = g.compiled.action_mask(g.ctx)
        if out is None:
            discrete = S.discrete_part(g.compiled.behaviour.actions)
            width = m.shape[1] if m is not None else sum(len(b) for b in discrete.branches)  # type: ignore[union-attr]
            out = np.ones((state.n, width), dtype=bool)
        if m is not None:
            out[g.rows] = m
    return out
