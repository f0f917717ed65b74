"""ELO ratings for self-play: the expected score of a match and the update after it (no bpy).

As ML-Agents' ghost trainer: one rating per Brain, starting at 1200; after each match the learner's
rating moves by ``K * (score - expected)`` with K = 16, against the rating its opponent (a frozen
snapshot) had when it was taken. Snapshots keep that rating: only the learner's moves.
"""

from __future__ import annotations

INITIAL_ELO = 1200.0
K_FACTOR = 16.0
WIN, DRAW, LOSS = 1.0, 0.5, 0.0


def expected_score(rating: float, opponent: float) -> float:
    """The score (1 a win, 0.5 a draw, 0 a loss) a player rated ``rating`` is expected to make against ``opponent``."""
    return 1.0 / (1.0 + 10.0 ** ((opponent - rating) / 400.0))


def updated_rating(rating: float, opponent: float, score: float, k: float = K_FACTOR) -> float:
    """``rating`` after a match against a player rated ``opponent`` that scored ``score`` (1, 0.5 or 0)."""
    if score not in (WIN, DRAW, LOSS):
        raise ValueError(f"a match scores 1 (win), 0.5 (draw) or 0 (loss), not {score!r}")
    return rating + k * (score - expected_score(rating, opponent))


def match_score(own_return: float, opponent_return: float, tolerance: float = 1e-9) -> float:
    """The outcome of a match from the two sides' episode returns: the side that earned more wins.

    Comparing returns (rather than ML-Agents' sign of the last reward) also judges games whose rewards
    are shaped along the way (Tennis' +0.1 per hit) and games that end on a timeout; equal returns
    (within ``tolerance``) are a draw."""
    diff = float(own_return) - float(opponent_return)
    if diff > tolerance:
        return WIN
    if diff < -tolerance:
        return LOSS
    return DRAW
