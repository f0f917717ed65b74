"""One loop advances the timeline (issue 13.1): only ``env/timeline.py`` moves the scene's frame.

Read from the source with ``ast`` (no bpy), like ``test_layout.py``: every shipped module is
searched for ``frame_set``, called or only looked up (``f = scene.frame_set``,
``getattr(scene, "frame_set")``).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_SHIPPED = {"tests", "bench", "devtools"}  # as in test_layout.py
THE_TIMELINE = Path("env/timeline.py")


def shipped_files() -> list[Path]:
    """Every module of the extension, relative to the root."""
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if not (rel.parts[0].startswith(".") or rel.parts[0] in NOT_SHIPPED):
            out.append(rel)
    return out


def frame_sets(source: str) -> list[int]:
    """Lines of ``source`` that reach ``frame_set`` (an attribute, or a ``getattr`` by name)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "frame_set":
            lines.append(node.lineno)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"getattr", "setattr", "hasattr"}
            and any(isinstance(a, ast.Constant) and a.value == "frame_set" for a in node.args)
        ):
            lines.append(node.lineno)
    return sorted(lines)


def test_the_finder_sees_calls_lookups_and_getattr_but_not_words():
    source = (
        '"""a docstring may say scene.frame_set"""\n'
        "scene.frame_set(1)\n"
        "step = bpy.context.scene.frame_set\n"
        "getattr(scene, 'frame_set')(2)\n"
        "# scene.frame_set(3) in a comment\n"
        "scene.frame_current = 4\n"
    )
    assert frame_sets(source) == [2, 3, 4]


def test_only_the_timeline_moves_the_frame():
    files = shipped_files()
    assert THE_TIMELINE in files and Path("env/session.py") in files and Path("bake/record.py") in files
    found = {rel: frame_sets((ROOT / rel).read_text()) for rel in files}
    assert found.pop(THE_TIMELINE), "env/timeline.py no longer calls frame_set: update this test"
    elsewhere = [f"{rel}:{line}" for rel, lines in found.items() for line in lines]
    assert not elsewhere, "frame_set outside env/timeline.py (use timeline.advance / go_to / show_frame): " + ", ".join(
        elsewhere
    )
