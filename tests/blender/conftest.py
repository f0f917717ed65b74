"""Fixtures for tests that run Blender (the pip ``bpy`` module, headless).

The session boots bpy with user resources in a temp folder and registers this checkout as an
extension (``bl_ext.academy_dev.agent_academy``); every test starts from a fresh home file.
"""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT, Path(__file__).resolve().parent):  # devtools, and helpers beside the tests
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from devtools import boot  # noqa: E402

ACADEMY = boot.boot()  # at collection: test modules may import the add-on's submodules

import bpy  # noqa: E402

_status: list[int] = []


def pytest_sessionfinish(session, exitstatus):
    _status.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """Last of all: leave the way ``./academy`` does (bpy 4.5 can hang in its C++ exit)."""
    if _status and boot.exit_may_hang():
        boot.exit_process(_status[-1])


@pytest.fixture(scope="session")
def academy():
    """The registered add-on module (``bl_ext.academy_dev.agent_academy``)."""
    return ACADEMY


@pytest.fixture(autouse=True)
def fresh_file():
    """Every test starts from Blender's factory startup file with no running session."""
    bpy.ops.wm.read_homefile(app_template="")
    yield
    ACADEMY.env.stop_all_sessions()
