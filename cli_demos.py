"""The ``demos`` subcommand: list, export, import a Brain's demonstrations, and pretrain from them."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .cli_base import UsageError, brain_named, command, open_blend, scene_named


@command("demos", "List a Brain's demonstrations; export or import one; read them from keyframes; pretrain the Brain")
def _demos_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("blend", metavar="FILE.blend", help="the scene whose Brain holds the demonstrations")
    parser.add_argument("--brain", required=True, help="the Brain")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--export", nargs=2, metavar=("NAME", "OUT.npz"), help="write the demonstration NAME to OUT.npz")
    what.add_argument("--import", dest="import_", metavar="IN.npz", help="add the demonstrations in IN.npz")
    what.add_argument(
        "--pretrain",
        action="store_true",
        help="behaviour cloning: fit the Brain's policy to all its demonstrations (its Pretrain Epochs)",
    )
    what.add_argument(
        "--from-keyframes",
        action="store_true",
        help="play the agents' animation (keys or a baked take) through their behaviour and add what it "
        "demonstrates (actions inferred from the actuators; prints each actuator's reconstruction error)",
    )
    parser.add_argument("--frames", metavar="A:B", help="with --from-keyframes: the frame range (default: the scene's)")
    parser.add_argument("--agents", nargs="+", metavar="OBJECT", help="with --from-keyframes: only these agents")
    parser.add_argument("--take", help="with --from-keyframes: play only this baked take (the others muted)")
    parser.add_argument("--scene", help="the scene (default: the file's active scene)")
    parser.add_argument("--out", metavar="SAVED.blend", help="with --import or --pretrain: where to save the scene "
                        "(default: FILE.blend itself)")  # fmt: skip


@_demos_args.runs
def _demos(args: argparse.Namespace) -> int:
    from .env import demos
    from .env.blendfile import save_blend_copy
    from .env.brain_store import BrainError

    if args.import_ and not os.path.isfile(args.import_):
        raise UsageError(f"no such file: {args.import_}")
    if not args.from_keyframes and (args.frames or args.agents or args.take):
        raise UsageError("--frames, --agents and --take go with --from-keyframes")
    frames = _frames(args.frames) if args.frames else (None, None)
    open_blend(args.blend)
    scene = scene_named(args.scene)
    brain = brain_named(scene, args.brain)
    try:
        if args.export:
            name, path = args.export
            entry = brain.demos.items.get(name)
            if entry is None:
                names = ", ".join(e.name for e in brain.demos.items) or "none"
                raise UsageError(f"Brain '{brain.name}' has no demonstration '{name}' (it has: {names})")
            print(f"wrote {demos.export_entry(brain, entry, path)} ({entry.steps:,} steps)")
            return 0
        if args.import_:
            entry = demos.import_file(brain, args.import_)
            said = f"added '{entry.name}' ({entry.steps:,} steps, {entry.episodes:,} episodes)"
        elif args.from_keyframes:
            from .env.keyframe_demos import add_from_keyframes

            entry, read = add_from_keyframes(scene, brain, *frames, agents=args.agents, take=args.take)
            print(read.summary())
            said = f"added '{entry.name}' ({entry.steps:,} steps, {entry.episodes:,} episodes)"
        elif args.pretrain:
            stats = demos.pretrain_brain(scene, brain)
            said = "pretrained: " + ", ".join(f"{k} {v:.4g}" for k, v in stats.items())
        else:
            for e in brain.demos.items:
                print(f"{e.name}\t{e.episodes} episodes\t{e.steps} steps\tmean return {e.mean_return:.3f}")
            return 0
    except (BrainError, OSError) as exc:
        print(f"academy demos: error: {exc}", file=sys.stderr)
        return 1
    out = save_blend_copy(Path(args.out or args.blend).resolve())
    print(f"Brain '{brain.name}': {said}; wrote {out}")
    return 0


def _frames(text: str) -> tuple[int, int]:
    """``A:B`` as two frame numbers, A before B."""
    try:
        a, b = (int(part) for part in text.split(":"))
    except ValueError:
        raise UsageError(f"--frames must be START:END (two whole frame numbers), not {text!r}") from None
    if b <= a:
        raise UsageError(f"--frames {text}: the end frame must come after the start frame")
    return a, b
