"""TensorBoard event files for the learning curve, written without TensorBoard or TensorFlow.

An event file is a TFRecord stream of ``Event`` protocol buffers; scalars need only a handful of
fields, so they are encoded here by hand (varints, length-delimited fields, masked CRC-32C). The
files open in TensorBoard like any other run. :func:`read_scalars` reads them back (for tests and
for tools without TensorBoard).
"""

from __future__ import annotations

import os
import socket
import struct
import time
from pathlib import Path

_CRC_TABLE: list[int] = []


def _crc32c(data: bytes) -> int:
    if not _CRC_TABLE:
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            _CRC_TABLE.append(c)
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked_crc(data: bytes) -> int:
    crc = _crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, wire: int, payload: bytes) -> bytes:
    return _varint((number << 3) | wire) + payload


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _field(number, 2, _varint(len(payload)) + payload)


def _event(wall_time: float, step: int, *, file_version: str | None = None, scalars=()) -> bytes:
    msg = _field(1, 1, struct.pack("<d", wall_time)) + _field(2, 0, _varint(step))
    if file_version is not None:
        msg += _length_delimited(3, file_version.encode())
    if scalars:
        summary = b"".join(
            _length_delimited(1, _length_delimited(1, tag.encode()) + _field(2, 5, struct.pack("<f", value)))
            for tag, value in scalars
        )
        msg += _length_delimited(5, summary)
    return msg


def _record(data: bytes) -> bytes:
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", _masked_crc(header)) + data + struct.pack("<I", _masked_crc(data))


class EventWriter:
    """Appends scalar events to ``<logdir>/events.out.tfevents.<time>.<host>``."""

    def __init__(self, logdir: str | os.PathLike):
        self.logdir = Path(logdir)
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.path = self.logdir / f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}"
        self._file = open(self.path, "ab")  # noqa: SIM115 - kept open for the run, closed in close()
        self._file.write(_record(_event(time.time(), 0, file_version="brain.Event:2")))

    def scalars(self, step: int, values: dict[str, float]) -> None:
        """Write ``values`` (tag -> number) at ``step``."""
        items = [(tag, float(v)) for tag, v in values.items() if v == v]  # NaN means "not yet"
        if items:
            self._file.write(_record(_event(time.time(), int(step), scalars=items)))
            self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


def read_scalars(path: str | os.PathLike) -> list[tuple[int, str, float]]:
    """``(step, tag, value)`` of every scalar in an event file; checks every record's CRC."""
    data = Path(path).read_bytes()
    out, pos = [], 0
    while pos < len(data):
        (length,) = struct.unpack_from("<Q", data, pos)
        (header_crc,) = struct.unpack_from("<I", data, pos + 8)
        if header_crc != _masked_crc(data[pos : pos + 8]):
            raise ValueError(f"corrupt record header at byte {pos}")
        body = data[pos + 12 : pos + 12 + length]
        (body_crc,) = struct.unpack_from("<I", data, pos + 12 + length)
        if body_crc != _masked_crc(body):
            raise ValueError(f"corrupt record at byte {pos}")
        pos += 16 + length
        step, scalars = 0, []
        for number, value in _fields(body):
            if number == 2:
                step = value
            elif number == 5:
                for n2, v2 in _fields(value):
                    if n2 == 1:
                        tag, simple = "", 0.0
                        for n3, v3 in _fields(v2):
                            if n3 == 1:
                                tag = v3.decode()
                            elif n3 == 2:
                                simple = struct.unpack("<f", v3)[0]
                        scalars.append((tag, simple))
        out.extend((step, tag, value) for tag, value in scalars)
    return out


def _fields(buf: bytes):
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        elif wire == 2:
            length, pos = _read_varint(buf, pos)
            value, pos = buf[pos : pos + length], pos + length
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, value


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
