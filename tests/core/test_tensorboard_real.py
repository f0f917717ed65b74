"""The hand-written event files open in the real TensorBoard reader (a development dependency)."""

import math

import pytest

from academy_pure.core import tensorboard as tb

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator", reason="tensorboard is not installed"
)


def test_tensorboards_own_reader_reads_every_tag_with_increasing_steps(tmp_path):
    writer = tb.EventWriter(tmp_path / "Brain")
    for step in (100, 200, 300):
        writer.scalars(step, {"Losses/policy": step / 1000, "Policy/entropy": 1.0 - step / 1000})
    writer.close()
    acc = event_accumulator.EventAccumulator(str(tmp_path / "Brain"))
    acc.Reload()
    assert set(acc.Tags()["scalars"]) == {"Losses/policy", "Policy/entropy"}
    for tag in ("Losses/policy", "Policy/entropy"):
        events = acc.Scalars(tag)
        assert [e.step for e in events] == [100, 200, 300]
        assert all(math.isfinite(e.value) for e in events)
