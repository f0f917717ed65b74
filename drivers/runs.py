"""Training runs' folders, as mlagents-learn keeps them: ``--run-id``, ``--force``, ``--resume``, ``--initialize-from``.

A run is everything one ``academy train`` writes: ``summary.json``, ``checkpoints/``,
``tensorboard/`` and the trained copy ``X-trained.blend``, in ``--out/RUN_ID/`` (``--out`` itself
without ``--run-id``). A run folder already used is refused, so no run overwrites or mixes with
another; ``--force`` deletes the run's own files first, ``--resume`` trains the run's trained copy
further (its Brains' models and step counts: checkpoints and TensorBoard go on at the total steps)
and its summary lists every part.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


class RunError(ValueError):
    """A run flag that cannot be followed; the message says the way forward (a usage error)."""


RUN_FILES = ("summary.json", "checkpoints", "tensorboard")


def trained_name(blend: str | os.PathLike) -> str:
    """The trained copy's file name: ``X-trained.blend``, also for ``X-trained.blend`` (no pile-up)."""
    stem = Path(blend).stem
    return stem.removesuffix("-trained") + "-trained.blend"


def used(folder: Path) -> bool:
    """Whether ``folder`` holds a run (its summary, checkpoints or TensorBoard runs)."""
    return any((folder / name).exists() for name in RUN_FILES) or any(folder.glob("*-trained.blend"))


def clear_run(folder: Path, keep: str | os.PathLike | None = None) -> None:
    """Delete a run's own files only (--force): whatever else the folder holds stays, and ``keep``
    (the .blend about to be trained, which may be an earlier run's trained copy)."""
    import shutil

    for name in RUN_FILES:
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    for path in folder.glob("*-trained.blend"):
        if keep is None or not path.samefile(keep):
            path.unlink()


def run_folder(args) -> tuple[Path, dict | None, bool]:
    """The run's folder, (``--resume``) the summary it continues, and whether ``--force`` must clear
    it (:func:`clear_run`) — left to the caller, to do only once the file and config are known good.

    Raises :class:`RunError` with the way forward when the folder already holds a run.
    """
    out = Path(args.out)
    run = out / args.run_id if args.run_id else out
    if args.run_id is not None and (
        not args.run_id or Path(args.run_id).name != args.run_id or args.run_id in {".", ".."}
    ):
        raise RunError(f"--run-id {args.run_id!r}: expected a plain folder name")
    if args.resume:
        summary_path = run / "summary.json"
        if not summary_path.is_file():
            raise RunError(f"--resume: {run} holds no run to continue (no summary.json)")
        previous = json.loads(summary_path.read_text())
        blend = run / Path(previous.get("blend") or trained_name(args.blend)).name
        if not blend.is_file():
            raise RunError(f"--resume: the run's trained copy {blend} is missing")
        args.blend = str(blend)
        return run, previous, False
    if used(run):
        if not args.force:
            raise RunError(
                f"{run} already holds a run: --force overwrites it, --resume continues it"
                + ("" if args.run_id else " (or give another --run-id)")
            )
        return run, None, True
    return run, None, False


def initialize_from(scene, args) -> list[str]:
    """Load each Training Brain's model from run ``--initialize-from``'s newest ``-final`` or
    ``-interrupted`` checkpoint; returns the Brains loaded."""
    from ..env.brain_io import BrainIOError, import_brain
    from ..env.session import safe_name

    source = Path(args.out) / args.initialize_from
    if not (source / "checkpoints").is_dir():
        raise RunError(f"--initialize-from {args.initialize_from}: {source} holds no checkpoints")
    loaded = []
    for brain in scene.academy.brains:
        if brain.brain_type != "TRAINING" or args.brain not in (None, brain.name):
            continue
        ends = [source / "checkpoints" / f"{safe_name(brain.name)}-{tag}.academy" for tag in ("final", "interrupted")]
        ends = [path for path in ends if path.is_file()]
        if not ends:
            continue
        newest = max(ends, key=lambda path: path.stat().st_mtime_ns)  # a resumed run may hold both
        try:
            import_brain(scene, brain, newest)
        except BrainIOError as exc:
            raise RunError(f"--initialize-from {args.initialize_from}: {exc}") from None
        loaded.append(brain.name)
    if not loaded:
        raise RunError(f"--initialize-from {args.initialize_from}: no checkpoint in {source} for a Training Brain")
    return loaded


def run_summary(summary: dict, run_id: str, previous: dict | None, initialized_from: str | None) -> dict:
    """``summary`` with the run's id and its parts: a resumed run's summary lists every part, oldest first."""
    part = {key: value for key, value in summary.items() if key != "parts"}
    parts = [] if previous is None else previous.get("parts") or [previous]
    parts = [{key: value for key, value in p.items() if key != "parts"} for p in parts] + [part]
    out = {**summary, "run_id": run_id, "parts": parts, "total_agent_steps": sum(p["agent_steps"] for p in parts)}
    if initialized_from is not None:
        out["initialized_from"] = initialized_from
    elif previous is not None and "initialized_from" in previous:
        out["initialized_from"] = previous["initialized_from"]
    return out
