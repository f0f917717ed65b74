"""The command line: ``./academy`` headless from a checkout, and ``blender -c agent_academy``.

Both reach :func:`main`. Subcommands register themselves in :data:`COMMANDS` with
:func:`command` (``cli_base``); ``export`` and ``import`` live in ``cli_models``, imported last so
``--help`` lists the commands in the order they were written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .cli_base import (
    COMMANDS,
    UsageError,
    _Parser,
    command,
    open_blend,
    scene_named,
)
from .core.files import write_atomic


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
    except KeyboardInterrupt as exc:
        sys.stdout.flush()
        print(f"{prog} {args.command}: interrupted" + (f" {exc}" if str(exc) else ""), file=sys.stderr)
        return 130
    except Exception as exc:
        if not _ours(exc):
            raise  # a bug: the traceback is what a report needs
        sys.stdout.flush()
        print(f"{prog} {args.command}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1


def _ours(exc: BaseException) -> bool:
    """Whether ``exc`` is one of the project's own errors (they name what is at fault) or the system's."""
    return type(exc).__module__.startswith(f"{__package__}.") or isinstance(exc, OSError)


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


@command("train", "Train the Training Brains of a .blend headless; write checkpoints, a trained copy and summary.json")
def _train_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("blend", metavar="FILE.blend", help="the scene to train")
    parser.add_argument("--brain", help="train only this Brain (default: every Training Brain with agents)")
    parser.add_argument("--steps", type=int, help="agent steps to train (default: the Academy's Training Steps)")
    parser.add_argument("--out", default="out", help="output folder (default: out/)")
    parser.add_argument(
        "--run-id",
        metavar="NAME",
        help="write the run into OUT/NAME/ (default: into OUT itself); a run folder already used is refused "
        "unless --force or --resume",
    )
    runs = parser.add_mutually_exclusive_group()
    runs.add_argument("--force", action="store_true", help="overwrite the run's earlier files")
    runs.add_argument(
        "--resume",
        action="store_true",
        help="continue the run: train its trained copy further (FILE.blend only names it), steps counted on",
    )
    runs.add_argument(
        "--initialize-from",
        metavar="RUN_ID",
        help="a new run whose Training Brains start from the final (or interrupted) checkpoint of OUT/RUN_ID",
    )
    parser.add_argument(
        "--config",
        metavar="RUN.toml",
        help="set the Academy's and the Brains' settings from this file before training (as written by "
        "'config FILE.blend'); the trained copy keeps them",
    )
    parser.add_argument("--scene", help="scene to train (default: the file's active scene)")
    parser.add_argument("--seed", type=int, help="override the Academy's seed (and the --config file's)")
    parser.add_argument("--checkpoint-every", type=int, help="agent steps between checkpoints (default: a tenth)")
    parser.add_argument(
        "--target",
        action="append",
        metavar="[BRAIN=]REWARD",
        help="mean episode reward to report reaching (steps and seconds): REWARD for every Training Brain, "
        "BRAIN=REWARD for one (repeatable)",
    )
    parser.add_argument(
        "--stop-at-target", action="store_true", help="end the run when --target is reached (checkpoint and summary)"
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="start the Training Brains from scratch, ignoring the models stored in the file (which is not changed)",
    )
    parser.add_argument("--threads", type=int, default=1, help="PyTorch CPU threads (default: 1)")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes collecting the samples, each a headless Blender running the scene (default: 1, "
        "in this process; PPO Brains)",
    )
    parser.add_argument(
        "--track",
        action="append",
        choices=("wandb", "mlflow"),
        help="also log each Brain's statistics to Weights & Biases or MLflow (repeatable; needs the package)",
    )
    parser.add_argument(
        "--ray-address",
        metavar="auto|HOST:PORT",
        help="run the --workers as actors on this Ray cluster (needs the ray package; every node needs bpy, "
        "ray and a checkout of the extension: docs/training.md)",
    )
    parser.add_argument(
        "--no-tensorboard", action="store_true", help="do not write TensorBoard event files (OUT/tensorboard)"
    )
    parser.add_argument(
        "--pretrain",
        action="store_true",
        help="first fit each Training Brain with demonstrations to them (behaviour cloning), then train",
    )


def _targets(values) -> dict[str | None, float]:
    """``--target`` values (``R`` or ``BRAIN=R``) as ``{brain or None: R}``."""
    out: dict[str | None, float] = {}
    for value in values:
        name, sep, number = value.rpartition("=")
        try:
            reward = float(number)
        except ValueError:
            raise UsageError(f"--target {value}: expected REWARD or BRAIN=REWARD (a number)") from None
        if sep and not name:
            raise UsageError(f"--target {value}: the Brain's name is missing before '='")
        out[name if sep else None] = reward
    return out


def _trackers(args: argparse.Namespace) -> list:
    """The ``--track`` callbacks, named after the run; a missing package is a usage error naming it."""
    from .env.trackers import TrackerError, make_tracker

    config = {"blend": os.path.abspath(args.blend), "steps": args.steps, "seed": args.seed, "workers": args.workers}
    try:
        run_name = args.run_id or Path(args.out).name
        return [make_tracker(name, run_name=run_name, config=config) for name in dict.fromkeys(args.track or ())]
    except TrackerError as exc:
        raise UsageError(str(exc)) from None


@_train_args.runs
def _train(args: argparse.Namespace) -> int:
    from .drivers.headless import train
    from .env.academy import AcademyError

    if args.steps is not None and args.steps < 1:
        raise UsageError("--steps must be at least 1")
    if args.stop_at_target and not args.target:
        raise UsageError("--stop-at-target needs --target REWARD")
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.ray_address is not None:
        from .drivers.ray_pool import import_ray

        if not args.ray_address.strip():
            raise UsageError("--ray-address needs 'auto' or HOST:PORT")
        try:
            import_ray()
        except AcademyError as exc:
            raise UsageError(str(exc)) from None
    if args.workers > 1 or args.ray_address is not None:
        from functools import partial

        from .drivers.workers import train_workers

        train = partial(train_workers, workers=args.workers, ray_address=args.ray_address)
    targets = _targets(args.target or ())
    if args.resume and args.fresh:
        raise UsageError("--resume continues the run's models; --fresh would discard them")
    if args.initialize_from is not None and args.initialize_from == (args.run_id or Path(args.out).name):
        raise UsageError("--initialize-from names this run itself: use --resume to continue it")
    if not args.resume and not os.path.isfile(args.blend):
        raise UsageError(f"no such file: {args.blend}")  # before --force deletes anything
    from .drivers import run_config, runs

    config = None
    if args.config is not None:
        try:
            config = run_config.read_config(args.config)
        except run_config.RunConfigError as exc:
            raise UsageError(str(exc)) from None
    trackers = _trackers(args)  # a missing package is refused before --force deletes anything
    try:
        out, previous, clear = runs.run_folder(args)
    except runs.RunError as exc:
        raise UsageError(str(exc)) from None
    try:
        import torch

        torch.set_num_threads(max(1, args.threads))
    except ImportError:
        pass
    open_blend(args.blend)
    scene = scene_named(args.scene)
    if config is not None:
        try:
            run_config.apply_config(scene, args.config, config)
        except run_config.RunConfigError as exc:
            raise UsageError(str(exc)) from None
    if args.fresh:
        from .env.brain_store import clear_state

        for b in scene.academy.brains:
            if b.brain_type == "TRAINING" and args.brain in (None, b.name):
                clear_state(b)
    if args.initialize_from is not None:
        try:
            runs.initialize_from(scene, args)
        except runs.RunError as exc:
            raise UsageError(str(exc)) from None
    if args.pretrain:
        _pretrain(scene, args.brain)
    if clear:  # --force: only now that the file, its config and --initialize-from were all accepted
        runs.clear_run(out, keep=args.blend)
    from .nodes import scene_warnings

    for line in scene_warnings(scene):
        print(f"academy train: warning: {line}", file=sys.stderr)
    trained = out / runs.trained_name(args.blend)
    try:
        result = train(
            scene,
            out,
            steps=args.steps,
            brain=args.brain,
            seed=args.seed,
            checkpoint_every=args.checkpoint_every,
            target_reward=targets,
            save_blend=trained,
            tensorboard=not args.no_tensorboard,
            stop_at_target=args.stop_at_target,
            callbacks=trackers,
        )
    except AcademyError as exc:
        print(f"academy train: error: {exc}", file=sys.stderr)
        return 1
    result.summary.update(run_config.run_record(scene, result.summary["trained"], args.seed, args.config))
    s = runs.run_summary(result.summary, args.run_id or out.name, previous, args.initialize_from)
    write_atomic(out / "summary.json", json.dumps(s, indent=2).encode())
    print(f"trained {', '.join(s['trained'])}: {s['agent_steps']} agent steps in {s['wall_seconds']:.1f} s")
    for name, b in s["brains"].items():
        print(
            f"  {name}: {b['agent_steps']} agent steps, {b['episodes']} episodes, "
            f"mean episode reward {b['mean_episode_reward']}"
        )
    print(f"wrote {out / 'summary.json'}, {len(result.checkpoints)} checkpoint(s) and {trained}")
    if result.interrupted:
        sys.stdout.flush()  # the interruption is the last line, after stdout's
        last = result.checkpoints[-1] if result.checkpoints else None
        print(
            f"academy train: interrupted at {s['agent_steps']:,} agent steps; "
            + (f"checkpoint {last}" if last else "no checkpoint")
            + f", trained copy {trained}",
            file=sys.stderr,
        )
        return 130
    return 0


def _pretrain(scene, only: str | None) -> None:
    """``--pretrain``: behaviour cloning of every Training Brain (or ``only``) that has demonstrations."""
    from .env.demos import pretrain_brain

    brains = [b for b in scene.academy.brains if b.brain_type == "TRAINING" and only in (None, b.name)]
    if not any(len(b.demos.items) for b in brains):
        raise UsageError("--pretrain: no Training Brain has demonstrations (record some in Play, or 'demos --import')")
    for b in brains:
        if len(b.demos.items):
            stats = pretrain_brain(scene, b)
            print(f"pretrained {b.name} from {sum(e.steps for e in b.demos.items):,} demonstrated steps: "
                  + ", ".join(f"{k} {v:.4g}" for k, v in stats.items()))  # fmt: skip


@command("config", "Write the Academy's and every Brain's settings of a .blend as a run file for 'train --config'")
def _config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("blend", metavar="FILE.blend", help="the scene whose settings to write")
    parser.add_argument("--out", metavar="RUN.toml", help="where to write them (default: FILE.toml next to FILE)")
    parser.add_argument("--scene", help="the scene (default: the file's active scene)")


@_config_args.runs
def _config(args: argparse.Namespace) -> int:
    from .drivers.run_config import write_config

    open_blend(args.blend)
    scene = scene_named(args.scene)
    path = write_config(scene, args.out or Path(args.blend).with_suffix(".toml"))
    print(f"wrote {path} ({len(scene.academy.brains)} Brain(s) of scene '{scene.name}')")
    return 0


@command("demo", "Build Balance Ball, train it, bake it, and write the results (what 'make demo' runs)")
def _demo_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="out", help="output folder (default: out/)")
    parser.add_argument("--steps", type=int, help="agent steps to train (default: the example's 150000)")
    parser.add_argument("--threads", type=int, default=1, help="PyTorch CPU threads (default: 1)")


@_demo_args.runs
def _demo(args: argparse.Namespace) -> int:
    from .env.academy import AcademyError
    from .examples import demo

    if args.steps is not None and args.steps < 1:
        raise UsageError("--steps must be at least 1")
    try:
        import torch

        torch.set_num_threads(max(1, args.threads))
    except ImportError:
        raise UsageError("the demo trains with PyTorch, which is not installed") from None
    try:
        s = demo.run(args.out, steps=args.steps)
    except AcademyError as exc:
        print(f"academy demo: error: {exc}", file=sys.stderr)
        return 1
    b = s["brains"][demo.balance_ball.BRAIN]
    reached = (
        f"reached mean reward {demo.TARGET:g} after {b['steps_to_target']:,} agent steps ({b['seconds_to_target']} s)"
        if b["steps_to_target"]
        else f"did not reach mean reward {demo.TARGET:g} (final {b['mean_episode_reward']})"
    )
    print(f"\nBalance Ball: {s['agent_steps']:,} agent steps in {s['wall_seconds']} s; {reached}.")
    print(f"Baked take '{s['bake']['take']}': {s['bake']['keys']:,} keys on {s['bake']['objects']} objects.\n")
    print("Results:")
    for label, key in (
        ("scene with the trained Brain and the baked take", "blend"),
        ("learning curve", "learning_curve_png"),
        ("rendered frames of the baked take", "contact_sheet_png"),
    ):
        print(f"  {s[key]}  ({label})")
    print(f"  {Path(args.out).resolve() / 'summary.json'}  (steps, seconds, rewards, the curve)")
    print("\nOpen the .blend in Blender 4.5+ and press Play in the timeline: the baked take plays without")
    print("Agent Academy. With the extension installed, the Academy tab in the 3D Viewport sidebar can Play")
    print("the trained Brain live or train it further.")
    return 0


@command("example", "Build an example scene from nothing and save it as a .blend")
def _example_args(parser: argparse.ArgumentParser) -> None:
    from .examples import EXAMPLES

    parser.add_argument("name", choices=sorted(EXAMPLES), help="which example")
    parser.add_argument("--out", help="where to save it (default: NAME.blend)")


@_example_args.runs
def _example(args: argparse.Namespace) -> int:
    import bpy

    from .env.blendfile import save_blend_copy
    from .examples import EXAMPLES

    bpy.ops.wm.read_homefile(use_empty=True)
    scene = EXAMPLES[args.name].build(bpy.context.scene)
    path = os.path.abspath(args.out or f"{args.name}.blend")
    save_blend_copy(path)
    print(f"wrote {path} (scene '{scene.name}')")
    return 0


@command("run", "Run a Python script with the extension registered: 'from agent_academy import api' works in it")
def _run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("script", metavar="SCRIPT.py", help="the script to run (as __main__)")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments the script sees in sys.argv[1:]")


@_run_args.runs
def _run(args: argparse.Namespace) -> int:
    import runpy

    script = Path(args.script)
    if not script.is_file():
        raise UsageError(f"no such script: {script}")
    alias_package()
    saved = sys.argv
    sys.argv = [str(script), *args.args]
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = saved
    return 0


PUBLIC_NAME = "agent_academy"


def alias_package() -> None:
    """Make the extension importable as ``agent_academy`` (whatever Blender's repository calls it).

    Every loaded module is aliased, so ``agent_academy.api`` and ``bl_ext.<repo>.agent_academy.api``
    are one module (a second copy would register its Blender classes twice).
    """
    from . import api  # noqa: F401  (loaded before aliasing, so the alias covers it)

    if __package__ == PUBLIC_NAME:
        return
    for name, module in list(sys.modules.items()):
        if name == __package__ or name.startswith(f"{__package__}."):
            sys.modules.setdefault(PUBLIC_NAME + name[len(__package__) :], module)


def _frame_range(text: str) -> tuple[int, int]:
    import re

    m = re.fullmatch(r"\s*(-?\d+)\s*-\s*(-?\d+)\s*", text or "")
    if m is None or int(m.group(1)) >= int(m.group(2)):
        raise UsageError(f"--frames must be START-END with START < END, e.g. 1-250 (got '{text}')")
    return int(m.group(1)), int(m.group(2))


@command("bake", "Bake a Brain's behaviour into keyframes (a take per seed) and save a baked copy of the .blend")
def _bake_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("blend", metavar="FILE.blend", help="the scene to bake")
    parser.add_argument("--brain", required=True, help="the Brain whose agents act (Inference, or a trained Training)")
    parser.add_argument("--frames", required=True, metavar="A-B", help="the frame range to bake, e.g. 1-250")
    parser.add_argument("--seed", type=int, default=0, help="seed of the episode resets (default: 0)")
    parser.add_argument("--seeds", metavar="S,S,...", help="bake one take per seed (instead of --seed)")
    parser.add_argument("--every", type=int, default=1, help="key every Nth frame (default: every frame)")
    parser.add_argument("--tolerance", type=float, default=0.0, help="drop keys reproduced within this (default 0)")
    parser.add_argument("--objects", metavar="NAME,NAME,...", help="bake only these objects (default: all that move)")
    parser.add_argument("--from-current", action="store_true", help="start from the scene as it is, not a reset")
    parser.add_argument("--take", help="name of the take (default: '<brain> seed <seed> <A>-<B>')")
    parser.add_argument("--scene", help="scene to bake (default: the file's active scene)")
    parser.add_argument("--out", help="where to save the baked file (default: FILE-baked.blend next to FILE)")


@_bake_args.runs
def _bake(args: argparse.Namespace) -> int:
    start, end = _frame_range(args.frames)
    if args.every < 1:
        raise UsageError("--every must be at least 1")
    if not args.tolerance >= 0:
        raise UsageError("--tolerance must be 0 or more")
    seeds = [args.seed]
    if args.seeds is not None:
        try:
            seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
        except ValueError:
            raise UsageError(f"--seeds must be integers separated by commas (got '{args.seeds}')") from None
        if not seeds:
            raise UsageError("--seeds needs at least one seed")

    from .bake import BakeError, bake, bake_takes
    from .env.blendfile import save_blend_copy

    open_blend(args.blend)
    scene = scene_named(args.scene)
    academy = getattr(scene, "academy", None)
    if academy is None or academy.brains.get(args.brain) is None:
        names = ", ".join(b.name for b in academy.brains) if academy is not None else ""
        raise UsageError(f"no Brain named '{args.brain}' in scene '{scene.name}' (Brains: {names or 'none'})")
    objects = None if args.objects is None else [n.strip() for n in args.objects.split(",") if n.strip()]
    out = Path(args.out) if args.out else Path(args.blend).with_name(Path(args.blend).stem + "-baked.blend")
    options = dict(
        every=args.every,
        tolerance=args.tolerance,
        objects=objects,
        from_reset=not args.from_current,
        take_name=args.take,
    )
    try:
        if len(seeds) == 1:
            results = [bake(scene, args.brain, start, end, seed=seeds[0], **options)]
        else:
            results = bake_takes(scene, args.brain, start, end, seeds=seeds, **options)
    except BakeError as exc:
        print(f"academy bake: error: {exc}", file=sys.stderr)
        return 1
    for r in results:
        check = "" if r.max_error is None else f", replay within {r.max_error:.1e}"
        print(
            f"take '{r.take}': {len(r.objects)} objects, {r.keys} keys, rollout {r.rollout_seconds:.2f} s, "
            f"writing {r.write_seconds:.2f} s{check}"
        )
        for warning in r.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    save_blend_copy(out.resolve())
    print(f"wrote {out}")
    return 0


from . import cli_demos, cli_models  # noqa: E402, F401  (register export, import and demos, after the others)
