"""The seeded fingerprint (devtools/fingerprint.py) is what it was: learning, stepping and baking unchanged.

On a CPU model the file has an entry for, every hash must match exactly; on another, the counts
must match and the curves and means be close (floats' last bits differ between CPU models).
When a change is meant to change these numbers (new default values, a fix), regenerate this CPU's
entry with ``.venv/bin/python devtools/fingerprint.py --write``, drop the other CPUs' entries (or
regenerate them there), and say why in the commit.
"""

import json

import pytest

from devtools import fingerprint

STORED = json.loads(fingerprint.DATA.read_text())  # CPU model -> case -> fingerprint
HERE = fingerprint.machine()


@pytest.fixture(scope="module")
def measured():
    return fingerprint.run()


@pytest.mark.parametrize("case", sorted(fingerprint.CASES))
def test_fingerprint_is_unchanged(measured, case):
    if HERE in STORED:
        assert measured[case] == STORED[HERE][case]
    else:  # as close as another CPU allows to one of the recorded ones
        misses = {cpu: fingerprint.close(measured[case], entry[case]) for cpu, entry in STORED.items()}
        assert any(not m for m in misses.values()), misses


def test_every_case_is_stored():
    assert STORED and all(sorted(entry) == sorted(fingerprint.CASES) for entry in STORED.values())


def test_the_portable_comparison_can_fail():
    entry = next(iter(STORED.values()))["a_balance_ball"]
    same = json.loads(json.dumps(entry))
    same["brains"]["3DBall"]["model"] = "another-cpu"  # hashes are not compared across CPUs
    assert fingerprint.close(same, entry) == []
    steps = json.loads(json.dumps(entry))
    steps["agent_steps"] += 1
    assert fingerprint.close(steps, entry) == ["/agent_steps: 3001, stored 3000"]
    curve = json.loads(json.dumps(entry))
    curve["brains"]["3DBall"]["curve"][1] += 1.0
    assert len(fingerprint.close(curve, entry)) == 1
