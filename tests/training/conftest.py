"""Test setup for the pure learning core: the checkout registered as the package ``academy_pure``
(``devtools.pure``) so tests import ``academy_pure.training.x``; one torch thread."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from devtools import pure  # noqa: E402

pure.register()


@pytest.fixture(autouse=True)
def _one_thread():
    """One torch thread: results are reproducible and the 2-core CI machine is not oversubscribed."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
