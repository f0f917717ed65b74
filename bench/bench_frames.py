"""Per-step cost over a long run in a scene with a camera: flat with the timeline wrap, not without.

Blender's ``frame_set`` slows linearly with the frame number whenever ``scene.camera`` is set
(see DESIGN's facts). Agent Academy wraps every driven run back to the first frame every 10,000
frames (``env.session.wrap_frames``). This runs one 6-agent scene without physics but with a
scene camera for ``--frames`` frames, twice: as shipped (wrap) and with the wrap pushed past the
run (what every non-physics scene did before), and reports the cost of an agent step near the
first frame and near the last (each over one whole 10,000-frame wrap cycle, so both windows cover
the same frames of a cycle).

    .venv/bin/python bench/bench_frames.py [--quick] [--frames N]

Writes bench/results/frames.md and frames.json.
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

AGENTS = 6
PERIOD = 1  # a decision every frame: the most frames per agent step, so the frame cost shows most


def build(bpy, S, set_behaviour):
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(cam)
    scene.camera = cam
    academy = scene.academy
    academy.decision_period = PERIOD
    academy.max_steps = 200
    brain = academy.brains.add()
    brain.name = "Walker"
    brain.brain_type = "HEURISTIC"
    me = S.SELF
    spec = S.Behaviour(
        name="Walker",
        observations=(S.Location(me),),
        actions=S.DiscreteActions((("Left", "Right"),)),
        writes=(
            S.Write(
                me,
                "location",
                S.Select(S.Action(0), (S.as_expr(-0.1), S.as_expr(0.1))),
                index=0,
                mode="ADD",
                low=-5.0,
                high=5.0,
            ),
        ),  # fmt: skip
        rewards=(S.Reward(S.as_expr(0.01), name="Alive"),),
        heuristic=S.as_expr(1.0),
    )
    for i in range(AGENTS):
        obj = bpy.data.objects.new(f"Walker.{i:03d}", bpy.data.meshes.new(f"Walker.{i:03d}"))
        scene.collection.objects.link(obj)
        obj.location = (0.0, 2.0 * i, 0.0)
        obj.academy_agent.enabled = True
        obj.academy_agent.brain = "Walker"
        set_behaviour(obj, spec)
    return scene


def run(mod, frames: int, window: int, wrap: bool) -> dict:
    import bpy

    S = importlib.import_module(mod.__name__ + ".core.specs")
    academy_mod = importlib.import_module(mod.__name__ + ".env.academy")
    session_mod = importlib.import_module(mod.__name__ + ".env.session")
    timeline_mod = importlib.import_module(mod.__name__ + ".env.timeline")
    saved = session_mod.WRAP_FRAMES
    if not wrap:
        session_mod.WRAP_FRAMES = timeline_mod.FRAME_LIMIT  # every non-physics scene before issue 11
    try:
        scene = build(bpy, S, academy_mod.set_behaviour)
        session = session_mod.Session(scene, training=False, steps=0).start()
    finally:
        session_mod.WRAP_FRAMES = saved

    def us_per_step(until_decisions: int) -> float:
        while session.decisions < until_decisions - window:  # untimed: get there
            session.tick(1.0, until_steps=(until_decisions - window) * AGENTS)
        start_steps, start = session.agent_steps, time.perf_counter()
        session.tick(3600.0, until_steps=until_decisions * AGENTS)
        return (time.perf_counter() - start) / max(session.agent_steps - start_steps, 1) * 1e6

    first = us_per_step(window + 1)
    last = us_per_step(frames // PERIOD)
    highest = scene.frame_current
    session.finish(store=False)
    return {"first_us": round(first, 2), "last_us": round(last, 2), "ratio": round(last / first, 2), "frame": highest}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60,000 frames instead of 300,000")
    parser.add_argument("--frames", type=int, default=None, help="frames to run (default 300,000)")
    args = parser.parse_args()
    frames = args.frames or (60_000 if args.quick else 300_000)
    window = 10_000  # one whole wrap cycle: both windows cover the same frames of a cycle
    mod = boot.boot()
    ours = run(mod, frames, window, wrap=True)
    before = run(mod, frames, window, wrap=False)
    result = {"frames": frames, "agents": AGENTS, "window_frames": window, "wrap": ours, "no_wrap": before}
    cmd = "python bench/bench_frames.py" + (f" --frames {args.frames}" if args.frames else " --quick" * args.quick)
    md = (
        f"## Frame cost over a long run ({AGENTS} agents, scene camera set, no physics)\n\n"
        f"Command: `{cmd}` (2 CPU cores, shared; one run each, µs per agent step over {window:,} frames)\n\n"
        f"| | near frame 1 | after {frames:,} frames | ratio |\n|---|---|---|---|\n"
        f"| Agent Academy (timeline wraps every 10,000 frames) | {ours['first_us']} | {ours['last_us']} | "
        f"{ours['ratio']:.2f} |\n"
        f"| without the wrap (non-physics scenes before issue 11) | {before['first_us']} | {before['last_us']} | "
        f"{before['ratio']:.2f} |\n\n"
        f"Target: ≤ 1.2× after {frames:,} frames. {'Met' if ours['ratio'] <= 1.2 else 'Not met'}.\n"
    )
    write_results("frames", md, result)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
