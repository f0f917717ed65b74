"""The command line: ``./academy`` headless from a checkout, and ``blender -c agent_academy``.

Both reach :func:`main`. Subcommands register themselves in :data:`COMMANDS` with
:func:`command`; later features (train, bake, export) add theirs the same way.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass


class UsageError(Exception):
    """Bad command-line input: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print usage and exit; we want one line
        raise UsageError(message)


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str):
    """Decorator for ``configure(parser)``: the returned function gains ``.run`` via :func:`runs`."""

    def wrap(configure: Callable[[argparse.ArgumentParser], None]):
        def runs(run: Callable[[argparse.Namespace], int]):
            COMMANDS[name] = Command(name, help, configure, run)
            return run

        configure.runs = runs
        return configure

    return wrap


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = _Parser(
        prog=prog,
        description="Agent Academy: train learning agents inside Blender scenes, headless.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for cmd in COMMANDS.values():
        sub_parser = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.configure(sub_parser)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "academy") -> int:
    """Parse ``argv``, run the subcommand, return the exit status (never raises SystemExit)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(prog)
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(f"{prog}: error: {exc} (see '{prog} --help')", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(COMMANDS[args.command].run(args) or 0)
    except UsageError as exc:
        print(f"{prog} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog} {args.command}: interrupted", file=sys.stderr)
        return 130


def blender_cli(argv: Sequence[str]) -> int:
    """Entry for ``blender -c agent_academy ARGS`` (registered in ``register()``)."""
    return main(argv, prog="blender -c agent_academy")


@command("info", "Show the Blender, extension and PyTorch versions this command line uses")
def _info_args(parser: argparse.ArgumentParser) -> None:
    pass


@_info_args.runs
def _info(args: argparse.Namespace) -> int:
    import bpy

    from . import compat

    print(f"Agent Academy {compat.extension_version()} ({__package__})")
    print(f"Blender {bpy.app.version_string}")
    print(f"Python {sys.version.split()[0]}")
    import numpy

    print(f"numpy {numpy.__version__}")
    torch_version = compat.torch_version()
    print(f"PyTorch {torch_version}" if torch_version else "PyTorch not installed: training is unavailable")
    return 0
