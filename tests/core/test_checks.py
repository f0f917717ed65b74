"""core/checks.py: exceptions as one line; values a float32 learner cannot take."""

import math

import numpy as np
import pytest

from academy_pure.core.checks import F32_MAX, first_unlearnable, one_line, unlearnable


def test_one_line_keeps_the_type_and_the_first_line():
    assert one_line(ValueError("bad value\n  at line 3\n")) == "ValueError: bad value"
    assert one_line(KeyError()) == "KeyError"
    assert one_line(RuntimeError("  \n  ")) == "RuntimeError"


def test_first_unlearnable_finds_the_first_bad_row_and_component():
    values = np.zeros((3, 4))
    assert first_unlearnable(values) is None
    values[2, 1] = math.inf
    values[1, 3] = 1e39  # beyond float32: the first in row order
    assert first_unlearnable(values) == (1, 3, 1e39)
    assert first_unlearnable(np.full((2, 2, 2), F32_MAX)) is None  # the largest float32 is fine
    bad = np.zeros((2, 2, 2))
    bad[1, 1, 0] = math.nan
    row, col, value = first_unlearnable(bad)
    assert (row, col) == (1, 2) and math.isnan(value)  # components flattened per agent


@pytest.mark.parametrize(
    ("value", "why"),
    [(math.nan, "is not a finite number"), (-math.inf, "is not a finite number"), (1e39, "beyond ±3.4e38")],
)
def test_unlearnable_says_why(value, why):
    assert why in unlearnable(value)
