"""The command line: ./academy and the function Blender's ``-c agent_academy`` calls."""

import subprocess

import pytest

from devtools import boot

pytestmark = pytest.mark.lts
ACADEMY_SCRIPT = boot.ROOT / "academy"


def test_help_lists_the_subcommands(academy, capsys):
    assert academy.cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: academy" in out
    for name in academy.cli.COMMANDS:
        assert name in out


@pytest.mark.parametrize("argv", [["nonsense"], ["info", "--bogus"], []])
def test_bad_input_is_one_line_and_non_zero(academy, capsys, argv):
    assert academy.cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    if argv:
        assert len(err.splitlines()) == 1 and err.startswith("academy: error:")


def test_info_through_the_blender_entry(academy, capsys):
    import bpy

    assert academy.cli.blender_cli(["info"]) == 0
    out = capsys.readouterr().out
    assert f"Blender {bpy.app.version_string}" in out
    assert "Agent Academy 0.1.0" in out


def test_the_academy_script_end_to_end():
    ok = subprocess.run([str(ACADEMY_SCRIPT), "--help"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "info" in ok.stdout
    bad = subprocess.run([str(ACADEMY_SCRIPT), "nonsense"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "academy: error: argument COMMAND: invalid choice: 'nonsense' (choose from "
        + ", ".join(f"'{n}'" for n in sorted_commands())
        + ") (see 'academy --help')"
    ]


def sorted_commands():
    import sys

    return list(sys.modules[boot.MODULE].cli.COMMANDS)
