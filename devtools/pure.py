"""Import the add-on's pure packages (``core/``, ``training/``) in a Python without Blender.

The checkout's top-level ``__init__.py`` is the add-on and imports bpy, and ``training/`` imports
``core/`` relatively (``from ..core.limits import ...``), so neither can be imported as a top-level
package. :func:`register` puts a package named ``academy_pure`` into ``sys.modules`` whose path is
the checkout, *without* running that ``__init__.py``: ``import academy_pure.training`` then loads
``training/`` and the ``core/`` modules it imports, and nothing else. Used by ``tests/core``,
``tests/training`` and the benchmarks that need no Blender.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME = "academy_pure"


def register(root: Path = ROOT) -> types.ModuleType:
    """Make ``academy_pure`` the package of the checkout at ``root`` (once); return the package.

    Raises :class:`RuntimeError` when ``academy_pure`` is already another checkout's package.
    """
    path = str(Path(root).resolve())
    existing = sys.modules.get(NAME)
    if existing is not None:
        if list(getattr(existing, "__path__", [])) != [path]:
            raise RuntimeError(f"{NAME} is already {list(getattr(existing, '__path__', []))}, not {path}")
        return existing
    spec = importlib.machinery.ModuleSpec(NAME, None, is_package=True)
    spec.submodule_search_locations = [path]
    package = importlib.util.module_from_spec(spec)
    package.__doc__ = "The add-on's checkout as a package whose __init__.py (which imports bpy) never runs."
    sys.modules[NAME] = package
    return package
