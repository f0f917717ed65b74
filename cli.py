"""The command line: ``./academy`` headless from a checkout, and ``blender -c agent_academy``.

Both reach :func:`main`. Subcommands register themselves in :data:`COMMANDS` with
:func:`command`; later features (train, bake, export) add theirs the same way.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


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


def _open_blend(path: str) -> None:
    import bpy

    if not os.path.isfile(path):
        raise UsageError(f"no such file: {path}")
    try:
        bpy.ops.wm.open_mainfile(filepath=os.path.abspath(path), load_ui=False)
    except RuntimeError as exc:
        raise UsageError(f"cannot open {path}: {str(exc).strip()}") from None


def _scene(name: str | None):
    import bpy

    if name is None:
        return bpy.context.scene
    scene = bpy.data.scenes.get(name)
    if scene is None:
        raise UsageError(f"no scene named '{name}' (scenes: {', '.join(s.name for s in bpy.data.scenes)})")
    return scene


@command("train", "Train the Training Brains of a .blend headless; write checkpoints, a trained copy and summary.json")
def _train_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("blend", metavar="FILE.blend", help="the scene to train")
    parser.add_argument("--brain", help="train only this Brain (default: every Training Brain with agents)")
    parser.add_argument("--steps", type=int, help="agent steps to train (default: the Academy's Training Steps)")
    parser.add_argument("--out", default="out", help="output folder (default: out/)")
    parser.add_argument("--scene", help="scene to train (default: the file's active scene)")
    parser.add_argument("--seed", type=int, help="override the Academy's seed")
    parser.add_argument("--checkpoint-every", type=int, help="agent steps between checkpoints (default: a tenth)")
    parser.add_argument("--target", type=float, help="mean episode reward to report reaching (steps and seconds)")
    parser.add_argument("--threads", type=int, default=1, help="PyTorch CPU threads (default: 1)")


@_train_args.runs
def _train(args: argparse.Namespace) -> int:
    from .env.academy import AcademyError
    from .env.headless import train

    if args.steps is not None and args.steps < 1:
        raise UsageError("--steps must be at least 1")
    try:
        import torch

        torch.set_num_threads(max(1, args.threads))
    except ImportError:
        pass
    _open_blend(args.blend)
    scene = _scene(args.scene)
    out = Path(args.out)
    trained = out / (Path(args.blend).stem + "-trained.blend")
    try:
        result = train(
            scene,
            out,
            steps=args.steps,
            brain=args.brain,
            seed=args.seed,
            checkpoint_every=args.checkpoint_every,
            target_reward=args.target,
            save_blend=trained,
        )
    except AcademyError as exc:
        print(f"academy train: error: {exc}", file=sys.stderr)
        return 1
    s = result.summary
    print(
        f"trained {', '.join(s['brains'])}: {s['agent_steps']} agent steps in {s['wall_seconds']:.1f} s, "
        f"mean episode reward {s['mean_episode_reward']}"
    )
    print(f"wrote {out / 'summary.json'}, {len(result.checkpoints)} checkpoint(s) and {trained}")
    return 130 if result.interrupted else 0


@command("example", "Build an example scene from nothing and save it as a .blend")
def _example_args(parser: argparse.ArgumentParser) -> None:
    from .examples import EXAMPLES

    parser.add_argument("name", choices=sorted(EXAMPLES), help="which example")
    parser.add_argument("--out", help="where to save it (default: NAME.blend)")


@_example_args.runs
def _example(args: argparse.Namespace) -> int:
    import bpy

    from .examples import EXAMPLES

    bpy.ops.wm.read_homefile(use_empty=True)
    scene = EXAMPLES[args.name].build(bpy.context.scene)
    path = os.path.abspath(args.out or f"{args.name}.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path, compress=True)
    print(f"wrote {path} (scene '{scene.name}')")
    return 0
