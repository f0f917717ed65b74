"""core/simplify.py: which baked samples become keys (every N-th frame, then a tolerance)."""

import numpy as np
import pytest

from academy_pure.core.simplify import keep_mask


def _interpolated(frames, values, keep):
    """The channel Blender would play back: linear interpolation between the kept keys."""
    return np.stack([np.interp(frames, frames[keep], values[keep, c]) for c in range(values.shape[1])], axis=1)


def test_every_frame_is_kept_without_a_tolerance():
    frames = np.arange(1, 11)
    assert keep_mask(frames, np.random.default_rng(0).normal(size=(10, 3))).all()


def test_every_nth_frame_and_always_the_last():
    frames = np.arange(1, 11)
    keep = keep_mask(frames, np.zeros((10, 1)), every=4)
    assert np.flatnonzero(keep).tolist() == [0, 4, 8, 9]


def test_a_straight_line_needs_only_its_ends():
    frames = np.arange(50)
    values = np.stack([2.0 * frames, -frames + 3.0], axis=1)
    assert np.flatnonzero(keep_mask(frames, values, tolerance=1e-9)).tolist() == [0, 49]


def test_a_corner_is_kept():
    frames = np.arange(21)
    values = np.abs(frames - 8.0)[:, None]
    assert np.flatnonzero(keep_mask(frames, values, tolerance=1e-6)).tolist() == [0, 8, 20]


@pytest.mark.parametrize("tolerance", [0.3, 0.05, 0.001])
def test_what_is_dropped_plays_back_within_the_tolerance(tolerance):
    frames = np.arange(200)
    noise = np.random.default_rng(1).normal(scale=1e-4, size=(200, 3))
    values = np.stack([np.sin(frames / 15), np.cos(frames / 23), np.abs(frames - 120) / 50], axis=1) + noise
    keep = keep_mask(frames, values, tolerance=tolerance)
    assert keep[0] and keep[-1]
    assert np.abs(_interpolated(frames, values, keep) - values).max() <= tolerance + 1e-12
    assert keep.sum() < 200  # it did simplify


def test_a_larger_tolerance_keeps_fewer_keys():
    frames = np.arange(200)
    values = np.sin(frames / 9.0)[:, None]
    counts = [keep_mask(frames, values, tolerance=t).sum() for t in (0.0, 0.001, 0.01, 0.1)]
    assert counts == sorted(counts, reverse=True) and len(set(counts)) == 4


def test_the_tolerance_applies_to_the_kept_every_nth_samples():
    frames = np.arange(30)
    values = (frames % 2).astype(float)[:, None]  # zig-zag on odd frames, flat on even ones
    keep = keep_mask(frames, values, every=2, tolerance=0.01)
    assert not keep[1:-1:2].any()  # odd frames were never candidates
    assert np.flatnonzero(keep).tolist() == [0, 28, 29]
