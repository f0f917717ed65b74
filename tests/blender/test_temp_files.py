"""Temporary folders and camera images: removed when a process ends, and after a kill by the next run."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from devtools import boot

pytestmark = pytest.mark.lts
ACADEMY_PY = str(boot.ROOT / "devtools" / "academy.py")


# Sleeps in short steps: Python acts on a signal in the main thread, and the kernel may hand it to one of
# Blender's threads, which would leave one long sleep running to its end.
WAITS = "\n".join(
    ["from devtools import boot", "boot.boot()", "print('booted', flush=True)", "import time"]
    + ["for _ in range(6000): time.sleep(0.1)"]
)


def _default_signals() -> None:
    """In the child before exec: the runner may ignore SIGHUP/SIGINT (nohup, a background job), and an
    ignored signal is inherited; the process under test must start as one from a terminal does."""
    for signum in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)


def _env(tmpdir):
    """A child with its own temp folder (so counts are not disturbed by other processes)."""
    env = {k: v for k, v in os.environ.items() if k != "BLENDER_USER_RESOURCES"}
    env["TMPDIR"] = str(tmpdir)
    return env


def _ours(tmpdir):
    return sorted(p.name for p in tmpdir.iterdir() if p.name.startswith(boot.TEMP_PREFIXES))


def test_a_run_removes_its_two_temp_folders(tmp_path):
    proc = subprocess.run([sys.executable, ACADEMY_PY, "info"], env=_env(tmp_path), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert _ours(tmp_path) == []


def test_a_killed_runs_folders_are_removed_by_the_next_run(tmp_path):
    script = WAITS
    child = subprocess.Popen(
        [sys.executable, "-c", script], env=_env(tmp_path), cwd=boot.ROOT, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "booted"
    child.send_signal(signal.SIGKILL)
    child.wait()
    left = _ours(tmp_path)
    assert [name.split("-")[1] for name in left] == ["repo", "user"]
    owners = {boot.files.owner_of(n, p)[0] for n in left for p in boot.TEMP_PREFIXES if n.startswith(p)}
    assert owners == {child.pid}
    proc = subprocess.run([sys.executable, ACADEMY_PY, "info"], env=_env(tmp_path), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert _ours(tmp_path) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_signals_remove_the_folders(tmp_path, sig):
    script = WAITS
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        env=_env(tmp_path),
        cwd=boot.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_signals,
    )
    assert child.stdout.readline().strip() == "booted"
    assert len(_ours(tmp_path)) == 2
    child.send_signal(sig)
    child.communicate(timeout=180)
    assert child.returncode in (-sig, 1)  # dies of the signal (SIGINT: a KeyboardInterrupt exit)
    assert _ours(tmp_path) == []


PINNED = textwrap.dedent(
    """
    import ctypes, sys
    from devtools import boot
    boot.boot()
    import bpy
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(bpy))  # as a leaked reference does: bpy outlives teardown
    print("pinned", bpy.app.version_string, flush=True)
    boot.exit_process(3)
    """
)


def test_a_process_whose_bpy_outlives_teardown_still_ends_with_its_status(tmp_path):
    """bpy 4.5 hangs for ever in its C++ exit then (its sound thread, Blender #146640); 5.0 does not."""
    proc = subprocess.run(
        [sys.executable, "-c", PINNED], env=_env(tmp_path), cwd=boot.ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.stdout.startswith("pinned"), proc.stderr[-2000:]
    assert proc.returncode == 3
    assert _ours(tmp_path) == []  # the exit handlers ran


def test_old_folders_without_an_owner_are_removed_once_a_day_old(tmp_path, monkeypatch):
    import tempfile
    import time

    old, new = tmp_path / "academy-repo-abcd1234", tmp_path / "academy-user-efgh5678"
    old.mkdir()
    new.mkdir()
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert boot.sweep_temp_folders() == [old]
    assert _ours(tmp_path) == [new.name]


def test_the_test_suite_leaves_no_folders(tmp_path):
    """A pytest run of this suite (its conftest boots bpy) leaves nothing in its temp folder."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/blender/test_cli.py::test_help_lists_the_subcommands"],
        env=_env(tmp_path), cwd=boot.ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert _ours(tmp_path) == []


CAMERA = textwrap.dedent(
    """
    import sys, time
    from devtools import boot
    academy = boot.boot()
    import bpy
    from importlib import import_module
    cam_mod = import_module(boot.MODULE + ".env.camera")
    Camera = import_module(boot.MODULE + ".core.specs").Camera
    scene = bpy.context.scene
    cam = scene.camera
    cc = cam_mod.CameraCapture(scene, Camera("self", width=8, height=8, mode="RENDER"), engine="BLENDER_WORKBENCH")
    cc.capture(scene, [cam])
    print("PATH", cc._impl.path, flush=True)
    if sys.argv[1] == "wait":
        for _ in range(6000):
            time.sleep(0.1)
    # "exit": leave without closing the capture
    """
)


def _camera_child(mode):
    """A process that made one RENDER capture; returns it and its image's path."""
    child = subprocess.Popen(
        [sys.executable, "-c", CAMERA, mode],
        cwd=boot.ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_signals,
    )
    for line in child.stdout:  # Blender prints its own lines ("Saved: ...") too
        if line.startswith("PATH "):
            return child, line[5:].strip()
    raise AssertionError(child.stderr.read())


def test_render_images_of_a_killed_process_are_removed_by_the_next_render_capture():
    killed, path = _camera_child("wait")
    assert os.path.basename(path).startswith(f"academy-camera-{killed.pid}.") and os.path.exists(path)
    killed.send_signal(signal.SIGKILL)
    killed.communicate()
    assert os.path.exists(path)  # a kill leaves it behind...
    exits, mine = _camera_child("exit")  # ...the next RENDER capture removes it; an unclosed one goes at exit
    exits.communicate(timeout=120)
    assert exits.returncode == 0
    assert not os.path.exists(path) and not os.path.exists(mine)


def test_render_images_go_on_sigterm():
    child, path = _camera_child("wait")
    assert os.path.exists(path)
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=180)
    assert child.returncode == -signal.SIGTERM and not os.path.exists(path)


def test_learning_curve_pictures_live_in_a_folder_of_the_process_that_goes_with_it(tmp_path):
    """The panel's curve picture is a file Blender loads; it must not pile up in the temp folder."""
    script = textwrap.dedent(
        f"""
        import os, sys, tempfile
        sys.path.insert(0, {str(boot.ROOT)!r})
        from devtools import boot
        mod = boot.boot()
        import importlib
        curves = importlib.import_module(mod.__name__ + ".panels.curves")
        curves.preview("Scene", "B", [(0.0, 1.0, 2.0), (10.0, 2.0, 3.0)])
        folder = curves._folder
        print("made", os.path.isfile(os.path.join(folder, os.listdir(folder)[0])))
        curves.unregister_previews()
        print("gone", not os.path.exists(folder))
        curves.register_previews()
        curves.preview("Scene", "B", [(0.0, 1.0, 2.0), (10.0, 2.0, 3.0)])
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], env=_env(tmp_path), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "made True" in proc.stdout and "gone True" in proc.stdout
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(("academy-curve", "academy-curves-"))]
