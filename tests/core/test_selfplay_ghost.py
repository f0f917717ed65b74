"""Self-play without Blender: the ELO update (core/elo.py) and the ghost's window, swaps, team changes and
matches (core/ghost.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from academy_pure.core import elo as E
from academy_pure.core.ghost import Ghost, GhostConfig, crossed, draw_opponent


def test_expected_score_is_symmetric_and_even_at_equal_ratings():
    assert E.expected_score(1200, 1200) == 0.5
    assert E.expected_score(1400, 1200) + E.expected_score(1200, 1400) == pytest.approx(1.0)
    assert E.expected_score(1600, 1200) == pytest.approx(1 / (1 + 10**-1))  # 400 points: 10 to 1


def test_elo_update_with_k_16():
    assert E.updated_rating(1200, 1200, E.WIN) == 1208
    assert E.updated_rating(1200, 1200, E.LOSS) == 1192
    assert E.updated_rating(1200, 1200, E.DRAW) == 1200
    # beating a much stronger opponent earns almost all of K, a much weaker one almost nothing
    assert E.updated_rating(1200, 2000, E.WIN) == pytest.approx(1200 + 16 * (1 - 1 / 101), abs=1e-9)
    assert E.updated_rating(2000, 1200, E.WIN) - 2000 < 0.2
    assert E.updated_rating(1200, 1200, E.WIN, k=32) == 1216
    with pytest.raises(ValueError, match="0.5"):
        E.updated_rating(1200, 1200, 0.7)


def test_match_score_compares_returns():
    assert E.match_score(1.0, 0.5) == E.WIN
    assert E.match_score(-1.0, 0.0) == E.LOSS
    assert E.match_score(0.3, 0.3) == E.DRAW


def test_crossed_counts_every_multiple_passed():
    assert crossed(9, 10, 10) and crossed(9, 25, 10) and not crossed(10, 19, 10) and not crossed(0, 0, 1)


@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.8, 1.0])
def test_draws_pick_the_latest_with_the_ratio_else_uniformly(ratio):
    rng = np.random.default_rng(1)
    window, draws = 5, 20_000
    picks = np.array([draw_opponent(rng, window, ratio) for _ in range(draws)])
    latest = ratio + (1 - ratio) / window  # the uniform draw can pick the latest too
    assert np.mean(picks == window - 1) == pytest.approx(latest, abs=0.015)
    for older in range(window - 1):
        assert np.mean(picks == older) == pytest.approx((1 - ratio) / window, abs=0.015)


class Counter:
    """Snapshot factory: each snapshot is a number, the count of snapshots taken before it."""

    def __init__(self):
        self.taken = itertools.count()

    def __call__(self):
        return next(self.taken)


def ghost(teams=(0, 1), **kw) -> Ghost:
    return Ghost(GhostConfig(**kw), teams, Counter(), np.random.default_rng(0))


def test_snapshots_fill_a_window_of_the_latest():
    g = ghost(snapshot_every=4, window=3, swap_steps=10**6, team_change=10**6)
    assert [s.policy for s in g.window] == [0] and g.opponent.policy == 0  # the first at the start
    for _ in range(20):
        g.after_step([0, 0], [False, False], [True, True])
    assert [s.policy for s in g.window] == [3, 4, 5] and [s.steps for s in g.window] == [12, 16, 20]
    assert g.opponent.policy == 0  # no swap yet: the opponent stays frozen


def test_steps_count_only_the_learning_team_that_acted():
    g = ghost(teams=(0, 1, 0, 1, 1), snapshot_every=10**6, swap_steps=10**6, team_change=10**6)
    g.after_step(np.zeros(5), np.zeros(5, bool), [True, True, False, True, True])
    assert g.steps == 1  # rows 0 and 2 learn; row 2 waited
    np.testing.assert_array_equal(g.learning_rows, [True, False, True, False, False])


def test_team_change_goes_through_the_teams_in_order():
    g = ghost(teams=(3, 1, 7), team_change=2, snapshot_every=10**6, swap_steps=10**6)
    seen = []
    for _ in range(8):
        seen.append(g.learning_team)
        g.after_step([0, 0, 0], [False] * 3, [True] * 3)
    assert seen == [1, 1, 3, 3, 7, 7, 1, 1]


def test_a_match_scores_the_learning_team_against_the_others_and_rates_against_the_snapshots_elo():
    g = ghost(teams=(0, 1), snapshot_every=10**6, swap_steps=10**6, team_change=10**6)
    g.opponent = g.opponent._replace(elo=1400.0)
    g.after_step([1.0, 0.0], [False, False], [True, True])
    assert g.matches == 0  # nobody's episode ended
    score = g.after_step([0.0, 0.5], [True, True], [True, True])  # returns 1 vs 0.5
    assert score == E.WIN and g.matches == 1
    assert g.elo == pytest.approx(E.updated_rating(1200, 1400, E.WIN))
    assert g.window[0].elo == 1200  # a snapshot keeps the rating it had when taken
    # the returns start again with the next episode
    assert g.after_step([0.0, 2.0], [True, True], [True, True]) == E.LOSS
    assert (g.wins, g.losses, g.draws) == (1, 1, 0)
    # an opponent whose episode goes on is judged on its return so far
    g.after_step([0.0, 0.0], [False, False], [True, True])
    assert g.after_step([0.0, 0.0], [True, False], [True, True]) == E.DRAW


def test_snapshots_keep_the_elo_of_their_time():
    g = ghost(teams=(0, 1), snapshot_every=2, window=5, swap_steps=10**6, team_change=10**6)
    for _ in range(6):
        g.after_step([1.0, 0.0], [True, True], [True, True])  # a win a step
    elos = [s.elo for s in g.window]
    assert elos == sorted(elos) and len(set(elos)) == len(elos) == 4


def test_settings_out_of_range_and_one_team_are_refused():
    with pytest.raises(ValueError, match="window"):
        GhostConfig(window=0)
    with pytest.raises(ValueError, match="latest_ratio"):
        GhostConfig(latest_ratio=1.5)
    with pytest.raises(ValueError, match="two Teams"):
        ghost(teams=(2, 2))
