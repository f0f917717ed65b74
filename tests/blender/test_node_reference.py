"""docs/nodes/reference.md is what the node classes say now (regenerate: python -m devtools.node_reference)."""

import pytest

from devtools import boot, node_reference

pytestmark = pytest.mark.lts


def test_the_node_reference_is_up_to_date():
    import bpy

    bpy.ops.wm.read_homefile(use_empty=True)
    fresh = node_reference.generate(boot.MODULE)
    assert node_reference.REFERENCE.read_text() == fresh, "stale: run python -m devtools.node_reference"
    assert fresh.count("\n### ") >= 30  # every node (a generator listing nothing would pass the comparison)
