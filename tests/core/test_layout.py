"""The package layout stays as designed (issue 13), read from the source with ``ast`` (no bpy).

- ``core/`` and ``training/`` never import Blender (``bpy``, ``mathutils``, ...), not even inside
  a function; ``core/`` is the lowest layer: it imports only its own modules (``from .x import y``),
  the standard library and numpy; ``training/`` imports its own modules and ``core/``
  (``from ..core.x import y``), nothing else of the add-on;
- no two modules import each other, directly or round a circle, imports inside functions included;
- no shipped module is over 600 lines and no package holds over 30% of the shipped code.

The allow-lists below are the exceptions left today; each step of issue 13 removes its entries.
An entry that is no longer needed fails the test too, so the lists only shrink.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOT_SHIPPED = {"tests", "bench", "devtools"}  # everything else under the root is the extension
BLENDER = {"bpy", "bpy_extras", "bl_math", "bl_ui", "bl_operators", "addon_utils", "mathutils", "gpu", "bmesh", "blf"}
CORE_THIRD_PARTY = {"numpy"}
MAX_LINES = 600
MAX_SHARE = 0.30

# -- today's exceptions (issue 13 removes them step by step) -----------------------------------
LONG_MODULES: set[str] = set()
BIG_PACKAGES: set[str] = set()  # env/ was 31% after B3 (40% before issue 13); drivers/ took it to 28%
CYCLES: set[frozenset[str]] = set()


@cache
def shipped() -> dict[str, Path]:
    """Dotted module name (relative to the extension, "" for its ``__init__``) -> file."""
    mods = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0].startswith(".") or rel.parts[0] in NOT_SHIPPED:
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        mods[".".join(parts)] = path
    return mods


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def _package(name: str) -> str:
    top = name.split(".")[0]
    return top if name and (ROOT / top).is_dir() else "(root)"


@cache
def _imports(name: str) -> tuple[tuple[int, int, str], ...]:
    """Every import in module ``name``, at the top or inside a function: (line, level, absolute target).

    Relative imports are resolved to the module they load: ``from .x import y`` is ``x.y`` when
    ``y`` is a module, else ``x``.
    """
    path = shipped()[name]
    is_pkg = path.name == "__init__.py"
    here = name.split(".") if name else []
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(node.lineno, 0, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                out.append((node.lineno, 0, node.module or ""))
                continue
            base = here if is_pkg else here[:-1]
            base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            for alias in node.names:
                sub = f"{target}.{alias.name}" if target else alias.name
                out.append((node.lineno, node.level, sub if sub in shipped() else target))
    return tuple(out)


def _graph() -> dict[str, set[str]]:
    mods = shipped()
    return {m: {t for _, lvl, t in _imports(m) if lvl and t in mods and t != m} for m in mods}


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = set()
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.add(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(frozenset(comp))
    return found


# -- the tool itself ------------------------------------------------------------------------


def test_the_import_reader_resolves_relative_imports_and_imports_inside_functions():
    imports = {t for _, _, t in _imports("drivers.headless")}
    assert {"core.files", "env.blendfile"} <= imports
    assert "core.tensorboard" in {t for _, _, t in _imports("env.session")}  # inside a function
    assert "env.player" in {t for _, _, t in _imports("env.brains")}  # inside a method


def test_the_cycle_finder_finds_circles_and_only_circles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e", "d"}, "f": set()}
    graph["e"].discard("e")
    assert _cycles(graph) == [frozenset("abc")]
    assert _cycles({"a": {"b"}, "b": set()}) == []


# -- the rules ------------------------------------------------------------------------------


@pytest.mark.parametrize("package", ["core", "training"])
def test_no_blender_import_and_only_own_modules(package):
    bad = []
    for name in (m for m in shipped() if m.split(".")[0] == package):
        for line, level, target in _imports(name):
            top = target.split(".")[0]
            rel = shipped()[name].relative_to(ROOT)
            if level == 0 and top in BLENDER:
                bad.append(f"{rel}:{line} imports {target}")
            elif level > 1 and not (package == "training" and top == "core"):
                allowed = "core/" if package == "training" else "nothing"
                bad.append(f"{rel}:{line} imports {target} from outside {package}/ (it may import {allowed})")
            elif package == "core" and level == 0 and top not in sys.stdlib_module_names | CORE_THIRD_PARTY:
                bad.append(f"{rel}:{line} imports {target} (core/ needs only the standard library and numpy)")
    assert not bad, "\n".join(bad)


def test_the_rule_reader_sees_training_import_core():
    """The rule above is not vacuous: ``training/`` does import ``core/`` from outside itself."""
    outside = {t for m in shipped() if m.split(".")[0] == "training" for _, lvl, t in _imports(m) if lvl > 1}
    assert "core.limits" in outside


@pytest.mark.parametrize("package", ["core", "training"])
def test_the_pure_packages_import_in_a_python_without_blender(package):
    """Through ``devtools.pure`` (``academy_pure``): no Blender module, no other package of the add-on
    and not the add-on's own ``__init__.py`` (which imports bpy) is imported along."""
    if package == "training":
        pytest.importorskip("torch")
    names = sorted(f"academy_pure.{m}" for m in shipped() if m.split(".")[0] == package)
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); import importlib, json\n"
        "from devtools import pure; pure.register()\n"
        f"for m in {names!r}: importlib.import_module(m)\n"
        "ours = sorted(m for m in sys.modules if m.startswith('academy_pure.'))\n"
        f"blender = sorted(m for m in sys.modules if m.split('.')[0] in {sorted(BLENDER)!r})\n"
        "print(json.dumps([blender, ours, sorted(vars(sys.modules['academy_pure']))]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    blender, ours, package_names = json.loads(out.stdout)
    assert blender == []
    assert len(ours) >= len(names)
    assert {m.split(".")[1] for m in ours} <= {"core", "training"}
    assert "register" not in package_names  # the add-on's __init__.py did not run


def test_no_import_cycles():
    found = set(_cycles(_graph()))
    new = sorted(" <-> ".join(sorted(c)) for c in found - CYCLES)
    assert not new, "modules that import each other: " + "; ".join(new)
    gone = sorted(" <-> ".join(sorted(c)) for c in CYCLES - found)
    assert not gone, "no longer a cycle, remove from CYCLES: " + "; ".join(gone)


def test_no_module_over_600_lines():
    sizes = {str(p.relative_to(ROOT)): _lines(p) for p in shipped().values()}
    long = {f for f, n in sizes.items() if n > MAX_LINES}
    assert long <= LONG_MODULES, f"over {MAX_LINES} lines: " + ", ".join(
        f"{f} ({sizes[f]})" for f in sorted(long - LONG_MODULES)
    )
    assert long == LONG_MODULES, "now short enough, remove from LONG_MODULES: " + ", ".join(sorted(LONG_MODULES - long))


def test_no_package_over_30_percent_of_the_code():
    lines: dict[str, int] = {}
    for name, path in shipped().items():
        lines[_package(name)] = lines.get(_package(name), 0) + _lines(path)
    total = sum(lines.values())
    big = {p for p, n in lines.items() if n > MAX_SHARE * total}
    share = ", ".join(f"{p} {lines[p] / total:.0%}" for p in sorted(big))
    assert big <= BIG_PACKAGES, f"over {MAX_SHARE:.0%} of the {total:,} shipped lines: {share}"
    assert big == BIG_PACKAGES, "now small enough, remove from BIG_PACKAGES: " + ", ".join(sorted(BIG_PACKAGES - big))
