"""Test setup for ``core/``, the code that needs no Blender: the repo root on sys.path so ``import core`` works.

Nothing here imports bpy; these tests run in any Python with numpy.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
