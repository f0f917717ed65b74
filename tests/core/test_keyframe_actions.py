"""Inverting actuators (core.keyframe_actions): the action that reproduces a change, and what is refused."""

import numpy as np
import pytest

from academy_pure.core import specs as S
from academy_pure.core.keyframe_actions import NotInvertible, invert, predict, writers_of


def _grid(low=-2.0, high=2.0) -> S.Behaviour:
    a = S.Action(0)
    dx = S.Select(a, (S.as_expr(0.0), S.as_expr(0.0), S.as_expr(-1.0), S.as_expr(1.0), S.as_expr(0.0)))
    dy = S.Select(a, (S.as_expr(1.0), S.as_expr(-1.0), S.as_expr(0.0), S.as_expr(0.0), S.as_expr(0.0)))
    return S.Behaviour(
        actions=S.DiscreteActions((("Up", "Down", "Left", "Right", "Stay"),)),
        writes=(
            S.Write(S.SELF, "location", dx, index=0, mode="ADD", low=low, high=high),
            S.Write(S.SELF, "location", dy, index=1, mode="ADD", low=low, high=high),
        ),
    )


def _apply(behaviour, before, acts, frames):
    return [predict(w, b, acts, frames) for w, b in zip(writers_of(behaviour), before, strict=True)]


def test_discrete_choices_are_recovered_and_clamps_respected():
    rng = np.random.default_rng(0)
    b = _grid()
    n = 400
    acts = rng.integers(0, 5, size=(n, 1)).astype(np.float64)
    before = [rng.integers(-2, 3, size=(n, 1)).astype(float) for _ in range(2)]
    after = _apply(b, before, acts, 1)
    inv = invert(b, before, after, 1)
    moved = np.any(np.abs(np.concatenate(after, 1) - np.concatenate(before, 1)) > 0, axis=1)
    # every move that changed something is the teacher's choice; into a wall it is ambiguous, not wrong
    assert (inv.actions[moved, 0] == acts[moved, 0]).all()
    assert max(inv.errors.values()) == 0.0 and not inv.outside
    # a keyframed jump of 3 cells in one decision is no choice: reported, with its error
    after[0][0] = before[0][0] + 3
    inv = invert(b, before, after, 1)
    assert list(inv.outside.values()) == [1] and max(inv.errors.values()) > 0


def test_add_over_several_frames_divides_by_the_frames_and_continuous_is_exact():
    a = S.Action(1)
    b = S.Behaviour(
        actions=S.ContinuousActions(2, -1.0, 1.0),
        writes=(
            S.Write(S.SELF, "rotation_euler", a * 0.5, index=0, mode="ADD"),
            S.Write(S.SELF, "location", S.Action(0) * 2.0 + 1.0, index=2, mode="SET", low=0.0, high=2.5),
        ),
    )
    rng = np.random.default_rng(1)
    n = 300
    acts = rng.uniform(-1, 1, size=(n, 2))
    before = [rng.normal(size=(n, 1)), rng.normal(size=(n, 1))]
    after = _apply(b, before, acts, 4)
    inv = invert(b, before, after, 4)
    assert np.abs(inv.actions[:, 1] - acts[:, 1]).max() < 1e-3  # ADD: change / frames / scale
    high = 2.0 * acts[:, 0] + 1.0 > 2.5
    clipped = high | (2.0 * acts[:, 0] + 1.0 < 0.0)
    # SET, clamped to [0, 2.5]: any action reaching the bound reproduces it; unclamped rows are exact
    assert np.abs(inv.actions[~clipped, 0] - acts[~clipped, 0]).max() < 1e-3
    assert (2.0 * inv.actions[high, 0] + 1.0 >= 2.5 - 1e-3).all() and high.any()
    assert max(inv.errors.values()) < 1e-3 and not inv.outside


def test_unused_slot_is_zero_and_reported():
    b = S.Behaviour(
        actions=S.ContinuousActions(2), writes=(S.Write(S.SELF, "location", S.Action(0), index=0, mode="SET"),)
    )
    inv = invert(b, [np.zeros((3, 1))], [np.full((3, 1), 0.25)], 1)
    assert inv.unused == [1] and np.allclose(inv.actions[:, 0], 0.25) and (inv.actions[:, 1] == 0).all()


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (S.Location(S.SELF)[0] + S.Action(0), "reads Location"),
        (S.Unary("SINE", S.Action(0) * 3.0), "not one-to-one"),
        (S.Action(0) + S.Action(1), "actions 1, 2 together"),
    ],
)
def test_chains_that_cannot_be_inverted_are_refused_naming_the_write(value, words):
    b = S.Behaviour(actions=S.ContinuousActions(2), writes=(S.Write(S.SELF, "location", value, index=0),))
    with pytest.raises(NotInvertible, match=words) as info:
        writers_of(b)
    assert "action write 1 (SET) to self location[0]" in str(info.value)
    assert "node" not in str(info.value)  # a script's spec has no nodes to name


def test_a_refusal_names_the_write_node_and_the_node_at_the_cause():
    a = S.Action(0)
    scaled = a * 3.0
    wave = S.Unary("SINE", scaled)
    where = S.Location(S.SELF)
    reads = where[2] + a
    origins = {a: "Act", scaled: "Scale", wave: "Wave", where: "Where", reads: "Plus"}
    for value, words in [
        (wave * 2.0 + 1.0, r"not one-to-one in action 1 .*stays flat at node 'Wave'\)"),  # the innermost cause
        (S.Unary("ABSOLUTE", a) * 2.0, r"not one-to-one .*flat\), so"),  # made inside the write node: none named
        (reads * 2.0, r"reads Location \(node 'Where'\) as well as the action"),
        (S.Location("slot:Goal")[0] * a, r"reads Location as well"),  # no node made it
    ]:
        b = S.Behaviour(actions=S.ContinuousActions(1), writes=(S.Write(S.SELF, "location", value, index=0),))
        with pytest.raises(NotInvertible, match=words) as info:
            writers_of(b, ("Move X",), origins)
        assert str(info.value).startswith("node 'Move X' (action write 1 (SET) to self location[0]): ")
    inner = S.Binary("MULTIPLY", S.Unary("ABSOLUTE", a), S.as_expr(2.0))  # a node's output holding the abs
    b = S.Behaviour(actions=S.ContinuousActions(1), writes=(S.Write(S.SELF, "location", inner + 1.0, index=0),))
    with pytest.raises(NotInvertible, match=r"flat at node 'Double'\)"):  # the nearest node that holds it
        writers_of(b, ("Move X",), {inner: "Double"})


def test_reconstruction_errors_are_labelled_by_the_write_nodes():
    b = _grid()
    inv = invert(b, [np.zeros((1, 1))] * 2, [np.ones((1, 1)), np.zeros((1, 1))], 1, write_nodes=("Step X", "Step Y"))
    assert list(inv.errors) == [
        "node 'Step X' (action write 1 (ADD) to self location[0])",
        "node 'Step Y' (action write 2 (ADD) to self location[1])",
    ]
    assert inv.actions[0, 0] == 3  # Right


def test_two_writes_to_one_property_are_refused():
    w = S.Write(S.SELF, "location", S.Action(0), index=-1)
    b = S.Behaviour(actions=S.ContinuousActions(1), writes=(w, S.Write(S.SELF, "location", S.Action(0), index=2)))
    with pytest.raises(NotInvertible, match="write the same property"):
        writers_of(b)
