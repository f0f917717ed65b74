"""The built zip validates, holds no development files, installs, enables and disables cleanly."""

import json
import subprocess
import sys
import zipfile

import pytest

from devtools import build

pytestmark = pytest.mark.lts

DEV_TOP = {
    "tests",
    "bench",
    ".ci",
    "devtools",
    ".venv",
    ".venv45",
    "Makefile",
    "academy",
    "pyproject.toml",
    "constraints.txt",
    "requirements-dev.txt",
    ".git",
    ".gitignore",
    "dist",
    "docs",
    "out",
    "README.md",
}


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory):
    return build.build(tmp_path_factory.mktemp("dist"))


def test_zip_holds_the_extension_and_nothing_of_the_dev_tree(built_zip):
    names = zipfile.ZipFile(built_zip).namelist()
    assert built_zip.name == f"agent_academy-{build.version()}.zip"
    for required in (
        "blender_manifest.toml",
        "__init__.py",
        "LICENSE",
        "properties/__init__.py",
        "operators/__init__.py",
        "panels/__init__.py",
        "nodes/__init__.py",
        "env/__init__.py",
        "core/__init__.py",
        "bake/__init__.py",
    ):
        assert required in names
    leaked = [n for n in names if n.split("/")[0] in DEV_TOP or "__pycache__" in n or n.endswith(".pyc")]
    assert leaked == []


def test_validator_rejects_a_bad_manifest(tmp_path):
    # The validator we rely on must be able to fail: an unknown tag is refused.
    src = tmp_path / "src"
    src.mkdir()
    manifest = (build.ROOT / "blender_manifest.toml").read_text()
    (src / "blender_manifest.toml").write_text(manifest.replace('"Physics"', '"Not A Tag"'))
    (src / "__init__.py").write_text("def register(): pass\ndef unregister(): pass\n")
    with pytest.raises(RuntimeError, match="Not A Tag"):
        build._blender_ext("validate", "--valid-tags", str(build.valid_tags_file()), str(src))


def test_install_enable_disable_leaves_nothing_behind(built_zip):
    script = build.ROOT / "tests" / "blender" / "install_check.py"
    proc = subprocess.run([sys.executable, str(script), str(built_zip)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    during, after = report["during"], report["after"]
    assert during["install_result"] == ["FINISHED"]
    assert during["enabled"]
    assert "user_default" in during["module_file"] and "/agent_academy/" in during["module_file"]
    assert len(during["class_names"]) >= 8
    assert all(during["classes_registered"]), during["class_names"]
    assert during["handlers_present"] and all(during["handlers_present"])
    assert during["has_scene_academy"] and during["has_object_agent"] and during["scene_academy_usable"]
    assert during["cli_registered"]
    assert not after["enabled"]
    assert not any(after["classes_registered"])
    assert not any(after["handlers_present"])
    assert not after["cli_registered"]
    assert after["same_as_before"], after["diff"]
