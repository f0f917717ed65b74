"""Write ``docs/nodes/reference.md``: every behaviour node's Python type name, properties and sockets.

Generated from the node classes themselves (each node is created in a scratch tree to list the
sockets its ``init`` makes), so the reference cannot drift: ``tests/blender/test_node_reference.py``
fails when the file is stale. Run after changing a node:

    .venv/bin/python -m devtools.node_reference
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "nodes" / "reference.md"
CATEGORIES = (("input", "Inputs"), ("math", "Math"), ("agent", "Agent"), ("output", "Outputs"), ("group", "Groups"))


def _value(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return f"`{value!r}`" if value else "`''`"
    if hasattr(value, "__len__"):
        return "(" + ", ".join(_value(v) for v in value) + ")"
    return str(value)


def _property(prop) -> str:
    """One table row: name, type, default and range or choices, description."""
    kind = prop.type.lower()
    default = ""
    extra = ""
    if prop.type == "ENUM":
        default = f"`{prop.default}`"
        extra = ", ".join(f"`{item.identifier}`" for item in prop.enum_items)
    elif prop.type in {"INT", "FLOAT"}:
        default = _value(prop.default_array[:] if getattr(prop, "is_array", False) else prop.default)
        lo, hi = prop.hard_min, prop.hard_max
        if lo > -1e30 and lo != -(2**31):
            extra = f"≥ {_value(lo)}"
        if hi < 1e30 and hi != 2**31 - 1:
            extra += (" and " if extra else "") + f"≤ {_value(hi)}"
    elif prop.type == "BOOLEAN":
        default = str(prop.default)
    elif prop.type == "STRING":
        default = _value(prop.default)
    elif prop.type == "POINTER":
        kind = f"pointer to {prop.fixed_type.identifier}"
    description = " ".join(prop.description.split()).replace("|", "\\|")
    return f"| `{prop.identifier}` | {kind} | {default} | {extra} | {description} |"


def _sockets(sockets, kind_of) -> list[str]:
    rows = []
    for s in sockets:
        default = ""
        if hasattr(s, "default_value"):
            value = s.default_value
            default = _value(tuple(value) if hasattr(value, "__len__") else value)
        hidden = " (hidden until the node's settings use it)" if s.hide else ""
        multi = " (takes several links)" if getattr(s, "is_multi_input", False) else ""
        rows.append(f"| `{s.identifier}` | {s.name} | {kind_of(s)} | {default} |{hidden}{multi} |")
    return rows


def generate(package: str) -> str:
    """The reference as markdown, from the registered node classes of ``package``."""
    import bpy

    kind_of = importlib.import_module(package + ".nodes.sockets").kind_of
    base_props = {p.identifier for p in bpy.types.Node.bl_rna.properties}
    tree = bpy.data.node_groups.new("reference scratch", importlib.import_module(package + ".nodes.base").TREE)
    out = [
        "# Node reference",
        "",
        "Every node of the Agent Behaviour editor, by its Python type name (what `tree.nodes.new(...)` takes),",
        "with its properties (set them as attributes) and sockets (`node.inputs[identifier]`,",
        "`node.outputs[identifier]`). Written by `python -m devtools.node_reference` from the node classes;",
        "a test fails when this file is stale. How the kinds connect: [index](index.md#sockets).",
        "",
    ]
    try:
        for module_name, title in CATEGORIES:
            module = importlib.import_module(f"{package}.nodes.{module_name}")
            out += [f"## {title}", ""]
            for cls in [c for c in module.CLASSES if issubclass(c, bpy.types.Node)]:
                node = tree.nodes.new(cls.bl_idname)
                doc = " ".join((cls.__doc__ or "").split())
                out += [f"### {cls.bl_label} — `{cls.bl_idname}`", "", doc, ""]
                props = [p for p in node.bl_rna.properties if p.identifier not in base_props]
                if props:
                    out += ["| property | type | default | range / choices | what it does |", "|---|---|---|---|---|"]
                    out += [_property(p) for p in props]
                    out.append("")
                for label, sockets in (("Inputs", node.inputs), ("Outputs", node.outputs)):
                    if len(sockets):
                        out += [f"{label}:", "", "| identifier | name | kind | default | |", "|---|---|---|---|---|"]
                        out += _sockets(sockets, kind_of)
                        out.append("")
                tree.nodes.remove(node)
    finally:
        bpy.data.node_groups.remove(tree)
    return "\n".join(out).rstrip() + "\n"


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from devtools import boot

    package = boot.boot().__name__
    REFERENCE.write_text(generate(package))
    print(f"wrote {REFERENCE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
