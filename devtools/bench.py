"""Run every benchmark under ``bench/`` and gather their tables into ``bench/RESULTS.md``.

Each ``bench/bench_*.py`` is a standalone script that writes ``bench/results/<name>.md`` (a
markdown section with its table and the command that produced it) and ``<name>.json``.
``python -m devtools.bench [--quick] [NAME ...]`` runs them one after another (never in parallel:
they compare wall times on a shared 2-core machine).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"


def write_results(name: str, markdown: str, data: object) -> Path:
    """Write ``bench/results/<name>.md`` (the section for RESULTS.md) and ``<name>.json``; return the .md."""
    import json

    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(data, indent=2, default=float))  # numpy scalars too
    md = out / f"{name}.md"
    md.write_text(markdown.rstrip() + "\n")
    return md


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the benchmarks and write bench/RESULTS.md")
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all), e.g. training")
    parser.add_argument("--quick", action="store_true", help="pass --quick to each benchmark (smaller budgets)")
    parser.add_argument("--gather", action="store_true", help="only gather bench/results/*.md into RESULTS.md")
    args = parser.parse_args()
    if args.gather:
        gather()
        return 0
    scripts = sorted(BENCH.glob("bench_*.py"))
    if args.names:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.names]
    if not scripts:
        print("bench: no benchmark matched", file=sys.stderr)
        return 2
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        start = time.perf_counter()
        cmd = [sys.executable, str(script)] + (["--quick"] if args.quick else [])
        if subprocess.run(cmd, cwd=ROOT).returncode != 0:
            failed.append(script.name)
        print(f"== {script.name}: {time.perf_counter() - start:.0f} s", flush=True)
    sections = [p.read_text() for p in sorted((BENCH / "results").glob("*.md"))]
    header = (
        "# Benchmark results\n\nWritten by `make bench` (`python -m devtools.bench`); each section names its command.\n"
    )
    (BENCH / "RESULTS.md").write_text(header + "\n" + "\n".join(sections))
    print(f"wrote {BENCH / 'RESULTS.md'}")
    if failed:
        print(f"bench: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def gather() -> None:
    """Concatenate every bench/results/*.md section into bench/RESULTS.md."""
    sections = [p.read_text().strip() + "\n" for p in sorted((BENCH / "results").glob("*.md"))]
    header = (
        "# Benchmark results\n\nWritten by `make bench` (`python -m devtools.bench`); each section names its command.\n"
    )
    (BENCH / "RESULTS.md").write_text(header + "\n" + "\n".join(sections))
    print(f"wrote {BENCH / 'RESULTS.md'}")


if __name__ == "__main__":
    raise SystemExit(main())
