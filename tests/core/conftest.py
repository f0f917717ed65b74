"""Test setup for ``core/``, the code that needs no Blender: the checkout registered as the package
``academy_pure`` (``devtools.pure``) so tests import ``academy_pure.core.x``.

Nothing here imports bpy; these tests run in any Python with numpy.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from devtools import pure  # noqa: E402

pure.register()
