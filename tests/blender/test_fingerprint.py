"""The seeded fingerprint (devtools/fingerprint.py) is what it was: learning, stepping and baking unchanged.

When a change is meant to change these numbers (new default values, a fix), regenerate the file with
``.venv/bin/python devtools/fingerprint.py --write`` and say why in the commit.
"""

import json

import pytest

from devtools import fingerprint

STORED = json.loads(fingerprint.DATA.read_text())


@pytest.fixture(scope="module")
def measured():
    return fingerprint.run()


@pytest.mark.parametrize("case", sorted(fingerprint.CASES))
def test_fingerprint_is_unchanged(measured, case):
    assert measured[case] == STORED[case]


def test_every_case_is_stored():
    assert sorted(STORED) == sorted(fingerprint.CASES)
