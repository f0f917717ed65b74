"""Stepping cost of this checkout against another commit, side by side (a refactoring costs nothing).

Runs the Academy's stepping of Balance Ball (12 agents, a Heuristic Brain, no learning, no resets;
the same work as ``bench_stepping.py``'s "ours") in fresh processes, alternating between this
checkout and a git worktree of ``--base``, after one warm-up run of the same length in each process.
These machines are shared, so wall time is not compared:

- ``--measure instructions`` (the default where valgrind and its headers are installed): the
  instructions executed while stepping, counted by ``valgrind --tool=callgrind`` with collection
  switched on only around the measured run (a small C helper calls callgrind's client requests).
  Counts repeat within about 2% whatever else the machine does.
- ``--measure cpu``: CPU time (``time.process_time``, every thread), which a process waiting for a
  core is not charged for, but which cache contention still inflates.

    .venv/bin/python bench/bench_versions.py [--base REV] [--repeats N] [--decisions N] [--measure M]

Writes bench/results/versions.md and versions.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.bench import write_results  # noqa: E402

CHILD = r"""
import ctypes, importlib, json, sys, time
sys.path.insert(0, sys.argv[1])
from devtools import boot
mod = boot.boot()
import bpy, torch
torch.set_num_threads(1)
bb = importlib.import_module(mod.__name__ + ".examples.balance_ball")
Session = importlib.import_module(mod.__name__ + ".env.session").Session
decisions = int(sys.argv[2])
bpy.ops.wm.read_homefile(use_empty=True)
scene = bb.build(bpy.context.scene)
scene.academy.brains[0].brain_type = "HEURISTIC"
scene.academy.max_steps = 0
session = Session(scene, training=False, steps=12 * decisions).start()
session.run(interval_s=1e9)  # warm-up: lazy imports and caches are done before the measured run
session.finish(store=False)
counter = ctypes.CDLL(sys.argv[3]) if len(sys.argv) > 3 else None
session = Session(scene, training=False, steps=12 * decisions).start()
start = time.process_time()
if counter is not None:
    counter.collect_start()
session.run(interval_s=1e9)
if counter is not None:
    counter.collect_stop()
cpu = time.process_time() - start
steps = getattr(session, "agent_steps", None)
steps = session.academy.agent_steps if steps is None else steps  # before issue 13's read API
session.finish(store=False)
print("RESULT", json.dumps({"us": cpu / steps * 1e6, "steps": steps}))
"""


HELPER = r"""
#include <valgrind/callgrind.h>
void collect_start(void) { CALLGRIND_START_INSTRUMENTATION; CALLGRIND_TOGGLE_COLLECT; }
void collect_stop(void) { CALLGRIND_TOGGLE_COLLECT; CALLGRIND_STOP_INSTRUMENTATION; }
"""


def can_count_instructions() -> bool:
    """valgrind and callgrind's header (for the client requests) and a C compiler are installed."""
    return bool(shutil.which("valgrind") and shutil.which("gcc") and Path("/usr/include/valgrind/callgrind.h").exists())


def build_helper(folder: Path) -> Path:
    """Compile the client-request helper the child loads with ctypes."""
    src, lib = folder / "collect.c", folder / "libcollect.so"
    src.write_text(HELPER)
    subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    return lib


def measure(root: Path, decisions: int, helper: Path | None) -> float:
    """Per agent step of one fresh process stepping the checkout at ``root``: instructions if
    ``helper`` is given (the process runs under callgrind), else CPU µs."""
    cmd = [sys.executable, "-c", CHILD, str(root), str(decisions)]
    if helper is not None:
        tool = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--collect-atstart=no"]
        cmd = [*tool, "--callgrind-out-file=/dev/null", *cmd, str(helper)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=3600, env=env)
    steps = None
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
            if helper is None:
                return result["us"]
            steps = result["steps"]
    refs = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr)
    if steps is None or (helper is not None and refs is None):
        raise RuntimeError(f"{root}: no result (exit {proc.returncode}): {proc.stderr[-1500:]}")
    return int(refs.group(1).replace(",", "")) / steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="99ab885", help="the commit to compare with (default: issue 13's base)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--decisions", type=int, default=None, help="per run (default 200 counted, 1500 timed)")
    parser.add_argument("--measure", choices=("instructions", "cpu"), default=None)
    args = parser.parse_args()
    args.measure = args.measure or ("instructions" if can_count_instructions() else "cpu")
    counted = args.measure == "instructions"
    args.decisions = args.decisions or (200 if counted else 1500)
    git = ["git", "rev-parse", "--short", "HEAD"]
    head = subprocess.run(git, cwd=ROOT, capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="academy-bench-versions-") as tmp:
        base_root = Path(tmp) / "base"
        helper = build_helper(Path(tmp)) if counted else None
        subprocess.run(["git", "worktree", "add", "-q", "--detach", str(base_root), args.base], cwd=ROOT, check=True)
        try:
            ours, base = [], []
            for _ in range(args.repeats):  # alternated, so machine noise hits both alike
                base.append(measure(base_root, args.decisions, helper))
                ours.append(measure(ROOT, args.decisions, helper))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base_root)], cwd=ROOT, check=False)
    ours_us, base_us = statistics.median(ours), statistics.median(base)
    ratio = ours_us / base_us
    result = {
        "base": args.base,
        "head": head,
        "measure": args.measure,
        "decisions_per_run": args.decisions,
        "repeats": args.repeats,
        "base_per_agent_step": [round(x, 1) for x in base],
        "head_per_agent_step": [round(x, 1) for x in ours],
        "ratio": round(ratio, 3),
    }
    cmd = f"python bench/bench_versions.py --base {args.base} --measure {args.measure}"
    unit = "instructions" if counted else "CPU µs"
    md = (
        "## Stepping cost against an earlier commit (Balance Ball, 12 agents)\n\n"
        f"Command: `{cmd}` ({unit} per agent step, median of {args.repeats} alternated fresh processes "
        f"of {args.decisions} decisions each, after a warm-up run)\n\n"
        f"| checkout | {unit} per agent step (median) | every run | ratio |\n|---|---|---|---|\n"
        f"| {args.base} | {base_us:.1f} | {', '.join(f'{x:.0f}' for x in base)} | 1.00 |\n"
        f"| {head} (this checkout) | {ours_us:.1f} | {', '.join(f'{x:.0f}' for x in ours)} | {ratio:.3f} |\n"
    )
    write_results("versions", md, result)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
