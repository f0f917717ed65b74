"""env/blendfile.py: a copy of the open .blend is saved atomically and read back before it replaces the old one."""

import importlib

import pytest

from devtools import boot

blendfile = importlib.import_module(boot.MODULE + ".env.blendfile")
pytestmark = pytest.mark.lts


def test_save_blend_copy_is_atomic_and_keeps_the_open_file_path(tmp_path):
    import bpy

    target = tmp_path / "trained.blend"
    blendfile.save_blend_copy(target)
    blendfile.save_blend_copy(target)  # Blender alone would move the first to trained.blend1
    assert [p.name for p in tmp_path.iterdir()] == ["trained.blend"]
    assert bpy.data.filepath == ""  # a copy: the open file did not become the temporary name
    bpy.ops.wm.open_mainfile(filepath=str(target))
    assert bpy.data.filepath == str(target)


def test_a_blend_copy_that_does_not_read_back_keeps_the_old_file(tmp_path, monkeypatch):
    import bpy

    target = tmp_path / "trained.blend"
    blendfile.save_blend_copy(target)
    good = target.read_bytes()
    real_save = bpy.ops.wm.save_as_mainfile

    def truncated_save(filepath, **kwargs):  # Blender writes, then the disk loses the second half
        real_save(filepath=filepath, **kwargs)
        with open(filepath, "rb") as fh:
            data = fh.read()
        with open(filepath, "wb") as fh:
            fh.write(data[: len(data) // 2])

    from types import SimpleNamespace

    monkeypatch.setattr(bpy, "ops", SimpleNamespace(wm=SimpleNamespace(save_as_mainfile=truncated_save)))
    with pytest.raises(blendfile.WriteError, match="does not read back"):
        blendfile.save_blend_copy(target)
    assert target.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["trained.blend"]
