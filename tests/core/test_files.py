"""core/files.py: atomic writes (also under SIGKILL) and names that say which process owns a temp file."""

import hashlib
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from academy_pure.core import files

FILES_PY = files.__file__  # the writer child loads it by path (pure standard library)

# A child process that writes self-checking payloads to one path forever (or holds mid-write).
WRITER = """
import hashlib, importlib.util, os, sys, time
spec = importlib.util.spec_from_file_location("files", sys.argv[1])
files = importlib.util.module_from_spec(spec); spec.loader.exec_module(files)
path, size, mode = sys.argv[2], int(sys.argv[3]), sys.argv[4]

def payload(i):
    body = os.urandom(64) * (size // 64)
    return hashlib.sha256(body).digest() + body

if mode == "hold":  # write half, say so, and wait to be killed
    def produce(tmp):
        with open(tmp, "wb") as fh:
            data = payload(0)
            fh.write(data[: len(data) // 2]); fh.flush()
            print("half", flush=True)
            time.sleep(600)
    files.write_atomic_with(path, produce)
else:
    print("writing", flush=True)
    i = 0
    while True:
        data = payload(i)
        if mode == "atomic":
            files.write_atomic(path, data)
        else:  # what the checkpoints did before: write in place
            with open(path, "wb") as fh:
                fh.write(data)
        i += 1
"""


def _valid(data: bytes) -> bool:
    return len(data) > 32 and hashlib.sha256(data[32:]).digest() == data[:32]


def _writer(tmp_path, target, size, mode):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    proc = subprocess.Popen(
        [sys.executable, str(script), FILES_PY, str(target), str(size), mode], stdout=subprocess.PIPE, text=True
    )
    proc.stdout.readline()  # "writing" / "half"
    return proc


def test_write_atomic_replaces_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "sub" / "model.academy"
    files.write_atomic(target, b"first")
    files.write_atomic(target, b"second\x00with a NUL")
    assert target.read_bytes() == b"second\x00with a NUL"
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.academy"]


def test_a_failing_writer_leaves_the_old_file(tmp_path):
    target = tmp_path / "summary.json"
    target.write_bytes(b"old")

    def produce(tmp):
        with open(tmp, "wb") as fh:
            fh.write(b"half of the new")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        files.write_atomic_with(target, produce)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]
    with pytest.raises(OSError, match="nothing was written"):
        files.write_atomic_with(target, lambda tmp: None)
    assert target.read_bytes() == b"old"


def test_sigkill_mid_write_keeps_the_old_file_and_the_next_write_sweeps_the_leftover(tmp_path):
    target = tmp_path / "model.academy"
    target.write_bytes(b"the previous checkpoint")
    proc = _writer(tmp_path, target, 1 << 20, "hold")
    proc.kill()
    proc.wait()
    assert target.read_bytes() == b"the previous checkpoint"
    (leftover,) = [p for p in tmp_path.iterdir() if p.name.startswith(".model.academy.tmp-")]
    assert files.owner_of(leftover.name, ".model.academy.tmp-")[0] == proc.pid
    files.write_atomic(target, b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.academy", "writer.py"]


def test_sigkill_at_random_moments_never_leaves_a_truncated_file(tmp_path, mode="atomic"):
    # 8 MB payloads, killed 20 times at random moments while rewriting: the name always holds a
    # complete payload. (With mode "inplace", what checkpoints did before, kills leave truncated files.)
    target = tmp_path / "model.academy"
    rng = random.Random(0)
    bad = []
    for i in range(20):
        proc = _writer(tmp_path, target, 8 << 20, mode)
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if target.exists() and not _valid(target.read_bytes()):
            bad.append(i)
    assert target.exists() and not bad, f"truncated after kills {bad}"
    files.write_atomic(target, b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.academy", "writer.py"]  # leftovers swept


def test_owner_alive_tells_a_dead_process_and_a_reused_pid():
    me, start = map(int, files.owner_token().split("."))
    assert me == os.getpid() and files.owner_alive(me, start)
    assert not files.owner_alive(me, start + 1)  # same PID, another process (PID reuse)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not files.owner_alive(child.pid, 0)


def test_sweep_removes_only_what_dead_processes_left(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = tmp_path / f"academy-user-{child.pid}.1-abc"
    dead.mkdir()
    (dead / "config").mkdir()
    dead_file = tmp_path / f"academy-camera-{child.pid}.1-abc.bmp"
    dead_file.write_bytes(b"BM")
    dead_old_style = tmp_path / f"academy-camera-{child.pid}-0123abcd.bmp"  # names before the start time
    dead_old_style.write_bytes(b"BM")
    alive_old_style = tmp_path / f"academy-camera-{os.getpid()}-0123abcd.bmp"
    alive_old_style.write_bytes(b"BM")
    alive = tmp_path / f"academy-user-{files.owner_token()}-abc"
    alive.mkdir()
    legacy_new, legacy_old = tmp_path / "academy-user-k3j4h5g6", tmp_path / "academy-user-a1b2c3d4"
    legacy_new.mkdir()
    legacy_old.mkdir()
    two_days_ago = time.time() - 2 * 86400
    os.utime(legacy_old, (two_days_ago, two_days_ago))
    other = tmp_path / f"unrelated-{child.pid}.1-abc"
    other.mkdir()

    assert files.sweep_stale(tmp_path, "academy-user-") == [dead]
    assert sorted(files.sweep_stale(tmp_path, "academy-camera-")) == sorted([dead_file, dead_old_style])
    assert files.sweep_stale(tmp_path, "academy-user-", legacy_age_s=86400) == [legacy_old]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [alive.name, alive_old_style.name, legacy_new.name, other.name]
    )


def test_what_is_written_is_read_back_before_the_rename(tmp_path, monkeypatch):
    """A file that reads back unlike what was written (a failing disk, a short write) never replaces the old one."""
    target = tmp_path / "model.academy"
    files.write_atomic(target, b"good model")
    real_open = open

    def short_writes(path, mode="r", *args, **kwargs):  # the disk keeps only the first 4 bytes
        fh = real_open(path, mode, *args, **kwargs)
        if "w" in mode:
            write = fh.write
            fh.write = lambda data: write(data[:4])
        return fh

    monkeypatch.setattr("builtins.open", short_writes)
    with pytest.raises(files.WriteError, match="read back 4 bytes unlike the 9 written; old file kept"):
        files.write_atomic(target, b"new model")
    monkeypatch.undo()
    assert target.read_bytes() == b"good model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.academy"]
