"""Build and validate the extension zip with Blender's own tools from the bpy wheel.

``python -m devtools.build [--out DIR]`` → ``DIR/agent_academy-<version>.zip`` (default ``dist/``).
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bpy_scripts_dir() -> Path:
    """``bpy/<version>/scripts`` of the bpy wheel installed in this Python (found without importing bpy)."""
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the bpy module is not installed in this Python")
    base = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(base.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    if not found:
        raise RuntimeError(f"Blender's extension tool was not found under {base}")
    return found[-1].parents[3]


def _blender_ext(*args: str) -> str:
    tool = bpy_scripts_dir() / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"
    proc = subprocess.run([sys.executable, str(tool), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"blender_ext {args[0]} failed:\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def valid_tags_file() -> Path:
    return bpy_scripts_dir() / "modules" / "_bpy_internal" / "extensions" / "tags.py"


def version() -> str:
    with open(ROOT / "blender_manifest.toml", "rb") as fh:
        return tomllib.load(fh)["version"]


def build(out_dir: Path | str = ROOT / "dist") -> Path:
    """Validate the source tree, build the zip, validate the zip; return the zip's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tags = str(valid_tags_file())
    _blender_ext("validate", "--valid-tags", tags, str(ROOT))
    zip_path = out_dir / f"agent_academy-{version()}.zip"
    zip_path.unlink(missing_ok=True)
    _blender_ext("build", "--source-dir", str(ROOT), "--output-filepath", str(zip_path), "--valid-tags", tags)
    _blender_ext("validate", "--valid-tags", tags, str(zip_path))
    return zip_path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "dist"), help="output folder (default: dist/)")
    args = parser.parse_args()
    try:
        path = build(args.out)
    except RuntimeError as exc:
        print(f"build: error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
