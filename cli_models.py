"""The ``export`` and ``import`` subcommands: a Brain's model out of a .blend and into it."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .cli_base import UsageError, brain_named, command, open_blend, scene_named


@command("export", "Write a Brain's trained model: a checkpoint, ONNX, or a Stable-Baselines3 PPO .zip")
def _export_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("blend", metavar="FILE.blend", help="the scene whose Brain to export")
    parser.add_argument("--brain", required=True, help="the Brain whose model to write")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--checkpoint", metavar="OUT.academy", help="the full training state (import it or resume)")
    what.add_argument("--onnx", metavar="OUT.onnx", help="the acting policy for other runtimes (needs onnx)")
    what.add_argument(
        "--sb3", metavar="OUT.zip", help="a Stable-Baselines3 PPO model: PPO.load(OUT.zip) acts as the Brain (PPO)"
    )
    parser.add_argument(
        "--convention",
        choices=("academy", "mlagents", "godot"),
        default="academy",
        help="with --onnx: whose loader the file's input and output names follow (default: academy; "
        "mlagents: Unity's inference engine, godot: the Godot RL Agents plugin)",
    )
    parser.add_argument("--scene", help="the scene (default: the file's active scene)")


@_export_args.runs
def _export(args: argparse.Namespace) -> int:
    from .env.brain_io import BrainIOError, export_brain

    fmt, path = next((f, p) for f, p in (("CHECKPOINT", args.checkpoint), ("ONNX", args.onnx), ("SB3", args.sb3)) if p)
    if args.convention != "academy" and fmt != "ONNX":
        raise UsageError("--convention applies to --onnx only")
    open_blend(args.blend)
    brain = brain_named(scene_named(args.scene), args.brain)
    notes: list[str] = []
    try:
        out = export_brain(brain, path, fmt, convention=args.convention, notes=notes)
    except BrainIOError as exc:
        print(f"academy export: error: {exc}", file=sys.stderr)
        return 1
    for note in notes:
        print(f"academy export: note: {note}", file=sys.stderr)
    print(f"wrote {out} (Brain '{brain.name}', {fmt.lower()})")
    return 0


@command("import", "Load a checkpoint or a Stable-Baselines3 PPO .zip into a Brain and save the .blend")
def _import_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("blend", metavar="FILE.blend", help="the scene whose Brain takes the model")
    parser.add_argument("--brain", required=True, help="the Brain that takes the model")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--checkpoint", metavar="IN.academy", help="a checkpoint written by 'export --checkpoint'")
    what.add_argument(
        "--sb3",
        metavar="IN.zip",
        help="a Stable-Baselines3 PPO MlpPolicy model (read as data, nothing in it runs); the Brain's PPO "
        "settings become its hyper-parameters",
    )
    parser.add_argument("--scene", help="the scene (default: the file's active scene)")
    parser.add_argument("--out", metavar="SAVED.blend", help="where to save the scene (default: FILE.blend itself)")


@_import_args.runs
def _import(args: argparse.Namespace) -> int:
    from .env.blendfile import save_blend_copy
    from .env.brain_io import BrainIOError, import_brain

    fmt, path = ("SB3", args.sb3) if args.sb3 else ("CHECKPOINT", args.checkpoint)
    if not os.path.isfile(path):
        raise UsageError(f"no such file: {path}")
    open_blend(args.blend)
    brain = brain_named(scene_named(args.scene), args.brain)
    notes: list[str] = []
    try:
        header = import_brain(scene_named(args.scene), brain, path, fmt, notes=notes)
    except BrainIOError as exc:
        print(f"academy import: error: {exc}", file=sys.stderr)
        return 1
    for note in notes:
        print(f"academy import: note: {note}", file=sys.stderr)
    out = save_blend_copy(Path(args.out or args.blend).resolve())
    print(f"Brain '{brain.name}' now has a model trained {int(header.get('total_steps', 0)):,} steps; wrote {out}")
    return 0
