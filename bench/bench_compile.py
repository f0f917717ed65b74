"""Compiling a behaviour node tree: time against the number of nodes (linear), and shared outputs.

Three shapes of Math nodes (``devtools/trees.math_tree``): "fan" (every node feeds Observe), "chain"
(each feeds the next, up to the depth limit) and "diamond" (each feeds both inputs of the next:
2**n paths, which a compiler that re-walks shared outputs cannot finish). Cold compiles (no cache).

    .venv/bin/python bench/bench_compile.py [--quick]

Writes bench/results/compile.md and compile.json.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools import boot  # noqa: E402
from devtools.bench import write_results  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller trees")
    args = parser.parse_args()
    mod = boot.boot()
    import bpy

    from devtools.trees import math_tree

    compile_tree = importlib.import_module(mod.__name__ + ".nodes.compile").compile_tree
    max_depth = importlib.import_module(mod.__name__ + ".core.specs").MAX_DEPTH
    sizes = {"fan": [250, 1000] if args.quick else [250, 1000, 3000], "chain": [max_depth - 1], "diamond": [60]}
    rows = []
    for shape, counts in sizes.items():
        for n in counts:
            bpy.ops.wm.read_homefile(use_empty=True)
            tree, _ = math_tree(n, shape)
            start = time.perf_counter()
            compile_tree(tree)
            rows.append({"shape": shape, "math_nodes": n, "compile_s": round(time.perf_counter() - start, 3)})
            print(rows[-1], flush=True)
    cmd = "python bench/bench_compile.py" + (" --quick" if args.quick else "")
    table = "".join(f"| {r['shape']} | {r['math_nodes']:,} | {r['compile_s']} |\n" for r in rows)
    md = (
        "## Compiling big behaviour trees\n\n"
        f"Command: `{cmd}` (cold compile, one run each; before issue 12: 1,000 nodes 1.5–4.7 s, 3,000 over "
        "240 s, a 20-node diamond 44 s)\n\n| shape | Math nodes | compile s |\n|---|---|---|\n" + table
    )
    write_results("compile", md, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
