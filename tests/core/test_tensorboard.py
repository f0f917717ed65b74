"""core/tensorboard.py: event files TensorBoard reads, written and read back without TensorBoard."""

import pytest

from academy_pure.core import tensorboard as tb


def test_tensorboard_event_files_are_valid(tmp_path):
    assert tb._crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    writer = tb.EventWriter(tmp_path)
    writer.scalars(10, {"a": 1.5, "b": float("nan")})
    writer.scalars(20, {"a": -2.0})
    writer.close()
    assert tb.read_scalars(writer.path) == [(10, "a", 1.5), (20, "a", -2.0)]
    data = bytearray(writer.path.read_bytes())
    data[-6] ^= 0xFF
    writer.path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupt"):
        tb.read_scalars(writer.path)


def test_steps_and_tags_survive_the_round_trip_in_order(tmp_path):
    writer = tb.EventWriter(tmp_path / "run")
    for step in (0, 1, 127, 128, 300_000):  # one- to three-byte varints
        writer.scalars(step, {"Academy/mean_reward": step / 7, "Brain/x/loss": -step})
    writer.close()
    got = tb.read_scalars(writer.path)
    assert [(s, t) for s, t, _ in got] == [
        (s, t) for s in (0, 1, 127, 128, 300_000) for t in ("Academy/mean_reward", "Brain/x/loss")
    ]
    assert [v for _, _, v in got] == pytest.approx(
        [v for s in (0, 1, 127, 128, 300_000) for v in (s / 7, -s)], rel=1e-6
    )
