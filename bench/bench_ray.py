"""Per-fragment overhead of the two worker transports: pipes (local ``--workers``) against Ray actors.

Balance Ball's real messages (the policy's weights and normalisers out, one worker's fragment of
32 decisions x 12 agents back, taken from a worker's own Session) go round trip to echo workers
that do no simulation, so what is timed is only the exchange: the driver sends every worker the
round's weights, then takes every fragment, as ``train_workers`` does. Pipes: worker processes
booted as ``--workers`` starts them, the messages of ``drivers/worker.py``. Ray: actors on a
two-node loopback cluster this script starts (``devtools/ray_cluster.py``; ``--ray-address``
joins one instead), the calls of ``drivers/ray_pool.py`` (weights put once per round).

    python bench/bench_ray.py [--rounds N] [--ray-address HOST:PORT]

Needs ``ray`` in this Python. Writes bench/results/ray.md and ray.json.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools import boot, ray_cluster  # noqa: E402
from devtools.bench import write_results  # noqa: E402

BRAIN = "3DBall"

ECHO = """
import signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN)
sys.path.insert(0, {root!r})
from devtools import boot
import importlib
boot.boot()
w = importlib.import_module(boot.MODULE + '.drivers.worker')
inbox, outbox = open(int(sys.argv[1]), 'rb'), open(int(sys.argv[2]), 'wb')
_, fragment = w.recv(inbox)  # the fragment to answer every message with
while True:
    try:
        w.recv(inbox)
    except EOFError:
        break
    w.send(outbox, {{'type': 'fragment', 'brain': {brain!r}}}, fragment)
"""


def _messages(bpy, mods) -> tuple[dict, dict]:
    """The round's weights (as the driver sends them) and one real fragment (as a worker returns it)."""
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = mods["bb"].build(bpy.context.scene)
    blend = Path(tempfile.mkdtemp(prefix="academy-bench-")) / "bb.blend"
    mods["blendfile"].save_blend_copy(blend)
    session = mods["session"].Session(scene, training=True, steps=0)
    weights = {f"0/{k}": v for k, v in mods["fragments"].policy_arrays(session.brain(BRAIN).learner).items()}
    session.start()
    session.finish(store=False)
    init = {"index": 0, "blend": str(blend), "scene": scene.name, "brains": [BRAIN], "trained": [BRAIN]}
    worker = mods["worker"]._Worker({**init, "num_steps": [32], "seed": 1}, weights)
    worker.start()
    _, fragment = worker.collect(None, {})
    worker.finish()
    return weights, fragment


def _pipes(mods, n: int, rounds: int, weights: dict, fragment: dict) -> float:
    """Seconds per round with ``n`` pipe workers."""
    send, recv = mods["worker"].send, mods["worker"].recv
    procs, outs, ins = [], [], []
    try:
        for _ in range(n):
            to_r, to_w = os.pipe()
            from_r, from_w = os.pipe()
            script = ECHO.format(root=str(ROOT), brain=BRAIN)
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", script, str(to_r), str(from_w)],
                    pass_fds=(to_r, from_w),
                    stdout=subprocess.DEVNULL,
                )
            )
            os.close(to_r)
            os.close(from_w)
            outs.append(open(to_w, "wb"))  # noqa: SIM115 - closed below
            ins.append(open(from_r, "rb", buffering=0))  # noqa: SIM115 - closed below
            send(outs[-1], {"type": "init"}, fragment)

        def one_round():
            for out in outs:
                send(out, {"type": "weights", "brain": BRAIN}, weights)
            for inbox in ins:
                recv(inbox)

        one_round()  # every worker booted
        start = time.perf_counter()
        for _ in range(rounds):
            one_round()
        return (time.perf_counter() - start) / rounds
    finally:
        for f in (*outs, *ins):
            f.close()
        for p in procs:
            p.wait(timeout=30)


def _ray(ray, n: int, rounds: int, weights: dict, fragment: dict) -> tuple[float, int]:
    """Seconds per round with ``n`` echo actors (one CPU each, spread); the nodes they ran on."""

    class Echo:
        def __init__(self, fragment):
            self.fragment = fragment

        def collect(self, header, weights):
            return {"type": "fragment", "brain": header["brain"]}, self.fragment

        def node(self):
            return ray.get_runtime_context().get_node_id()

    cls = ray.remote(num_cpus=1)(Echo)
    actors = [cls.options(scheduling_strategy="SPREAD").remote(fragment) for _ in range(n)]
    try:
        nodes = len(set(ray.get([a.node.remote() for a in actors])))

        def one_round():
            shared = ray.put(weights)
            refs = [a.collect.remote({"brain": BRAIN}, shared) for a in actors]
            for ref in refs:
                ray.get(ref)

        one_round()
        start = time.perf_counter()
        for _ in range(rounds):
            one_round()
        return (time.perf_counter() - start) / rounds, nodes
    finally:
        for a in actors:
            ray.kill(a)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--ray-address", help="join this cluster (default: start a two-node loopback one)")
    args = parser.parse_args()
    import ray

    boot.boot()
    import bpy
    import torch

    torch.set_num_threads(1)
    mods = {
        name: importlib.import_module(f"{boot.MODULE}.{path}")
        for name, path in {
            "bb": "examples.balance_ball",
            "blendfile": "env.blendfile",
            "session": "env.session",
            "fragments": "training.fragments",
            "worker": "drivers.worker",
        }.items()
    }
    weights, fragment = _messages(bpy, mods)
    size = lambda arrays: sum(v.nbytes for v in arrays.values())  # noqa: E731
    rows = []
    for n in (1, 2):
        seconds = _pipes(mods, n, args.rounds, weights, fragment)
        rows.append({"transport": "pipes", "workers": n, "nodes": 1, "s": seconds})
    cluster = None if args.ray_address else ray_cluster.start(nodes=2, cpus=1)
    try:
        ray.init(address=args.ray_address or cluster.address, log_to_driver=False, logging_level="WARNING")
        for n in (1, 2):
            seconds, nodes = _ray(ray, n, args.rounds, weights, fragment)
            rows.append({"transport": "ray", "workers": n, "nodes": nodes, "s": seconds})
        ray.shutdown()
    finally:
        if cluster is not None:
            cluster.stop()
    lines = [
        "# Per-fragment overhead: pipes against Ray actors",
        "",
        f"Balance Ball's messages: weights {size(weights):,} bytes out, a fragment {size(fragment):,} bytes back; "
        f"{args.rounds} rounds each, echo workers (no simulation). Ray: a two-node cluster on loopback.",
        "",
        "| transport | workers | nodes | ms per round | ms per fragment |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        r["ms_per_round"] = round(1000 * r["s"], 3)
        r["ms_per_fragment"] = round(1000 * r["s"] / r["workers"], 3)
        lines.append(
            f"| {r['transport']} | {r['workers']} | {r['nodes']} | {r['ms_per_round']} | {r['ms_per_fragment']} |"
        )
    for r in rows:
        del r["s"]
    print("\n".join(lines))
    write_results("ray", "\n".join(lines) + "\n", {"rounds": args.rounds, "rows": rows})
    return 0


if __name__ == "__main__":
    boot.exit_process(main())
