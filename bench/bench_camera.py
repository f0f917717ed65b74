"""Camera sensors: ms per 84×84 image, our RENDER and FAST modes against a bare Workbench render.

Usage: ``.venv/bin/python bench/bench_camera.py [--quick]``. Writes ``bench/results/camera.md``
and ``bench/results/camera.json``.

The baseline is what anyone would write without the add-on: the scene set up once for an 84×84
Workbench render into ``/dev/shm`` as BMP, then ``bpy.ops.render.render(write_still=True)`` and a
numpy read of the file per image. RENDER is measured twice: with the scene already at the sensor's
settings, and with a designer's scene (1920×1080 PNG, another active camera) whose settings it
swaps in and restores around every capture. FAST is measured per single camera and per batch of 8.
Every row is the median over repeats of the mean time per image in a block.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools import boot  # noqa: E402
from devtools.bench import write_results  # noqa: E402

SIZE = 84


def build_scene(bpy) -> tuple[object, list[object]]:
    """A few coloured objects on a ground plane and 8 cameras around them; returns (scene, cameras)."""
    bpy.ops.wm.read_homefile(app_template="")
    scene = bpy.context.scene
    scene.render.engine = "BLENDER_WORKBENCH"
    bpy.data.objects["Cube"].color = (0.8, 0.1, 0.1, 1.0)
    bpy.ops.mesh.primitive_uv_sphere_add(radius=0.8, location=(2.5, 0.5, 0.0))
    bpy.context.object.color = (0.1, 0.7, 0.2, 1.0)
    bpy.ops.mesh.primitive_cone_add(location=(-2.5, 1.0, 0.0))
    bpy.context.object.color = (0.1, 0.2, 0.9, 1.0)
    bpy.ops.mesh.primitive_plane_add(size=20.0, location=(0.0, 0.0, -1.0))
    bpy.context.object.color = (0.6, 0.6, 0.5, 1.0)
    base = bpy.data.objects["Camera"]
    cameras = [base]
    for i in range(1, 8):
        cam = base.copy()
        angle = 2 * math.pi * i / 8
        cam.location = (10 * math.sin(angle), -10 * math.cos(angle), 4.0)
        cam.rotation_euler = (math.radians(72), 0.0, angle)
        scene.collection.objects.link(cam)
        cameras.append(cam)
    bpy.context.view_layer.update()
    return scene, cameras


def timed(cases: dict[str, tuple], calls: int, repeats: int) -> dict[str, float]:
    """Median over ``repeats`` of the mean ms per image over ``calls`` calls, for each case.

    ``cases`` maps a name to ``(fn, images_per_call, calls_factor)``. The cases take turns within
    each repeat so that load from other processes on the shared machine hits them all alike.
    """
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for fn, _, _ in cases.values():
        fn()  # warm-up: shader compilation, first-render setup, batch building
    for _ in range(repeats):
        for name, (fn, images, factor) in cases.items():
            n = max(1, int(calls * factor))
            start = time.perf_counter()
            for _ in range(n):
                fn()
            samples[name].append((time.perf_counter() - start) * 1e3 / (n * images))
    return {name: statistics.median(v) for name, v in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    calls, repeats = (5, 3) if args.quick else (20, 7)

    academy = boot.boot()
    import bpy

    camera = importlib.import_module(academy.__name__ + ".env.camera")
    Camera = importlib.import_module(academy.__name__ + ".core.specs").Camera
    scene, cams = build_scene(bpy)
    cam = cams[0]

    # -- baseline: bare render to /dev/shm + numpy read, scene prepared once
    path = f"/dev/shm/academy-bench-camera-{os.getpid()}.bmp"
    r = scene.render
    r.resolution_x = r.resolution_y = SIZE
    r.resolution_percentage = 100
    r.filepath = path
    r.use_file_extension = False
    r.image_settings.file_format = "BMP"
    r.image_settings.color_mode = "RGB"
    scene.camera = cam

    def bare():
        bpy.ops.render.render(write_still=True)
        with open(path, "rb") as fh:
            return camera.parse_bmp(fh.read())

    # a designer's scene sharing the objects: every capture swaps its settings in and restores them
    designer = scene.copy()  # links the same objects
    designer.name = "Designer"
    d = designer.render
    d.resolution_x, d.resolution_y, d.resolution_percentage = 1920, 1080, 50
    d.filepath = "//renders/shot_"
    d.use_file_extension = True
    d.image_settings.file_format = "PNG"
    designer.camera = cams[1]
    assert bpy.context.scene == scene and set(designer.objects) == set(scene.objects)

    spec = Camera("self", width=SIZE, height=SIZE, mode="RENDER")
    same = camera.CameraCapture(scene, spec)
    swapped = camera.CameraCapture(designer, spec)
    render_cases = {
        "bare render.render + /dev/shm BMP read": (bare, 1, 1),
        "RENDER, scene already at sensor settings": (lambda: same.capture(scene, [cam]), 1, 1),
        "RENDER, designer's scene (settings swapped)": (lambda: swapped.capture(designer, [cam]), 1, 1),
        "RENDER, designer's scene, batch of 8": (lambda: swapped.capture(designer, cams), 8, 1 / 4),
    }
    results = timed(render_cases, calls, repeats)
    same.close()
    swapped.close()
    try:
        os.remove(path)
    except FileNotFoundError:
        pass

    fast_cases = {}
    captures = []
    for kind in ("COLOR", "DEPTH", "INDEX"):
        cc = camera.CameraCapture(scene, Camera("self", width=SIZE, height=SIZE, kind=kind))
        captures.append(cc)
        fast_cases[f"FAST {kind}, 1 camera"] = (lambda cc=cc: cc.capture(scene, [cam]), 1, 20)
        fast_cases[f"FAST {kind}, batch of 8"] = (lambda cc=cc: cc.capture(scene, cams), 8, 5)
    cc = camera.CameraCapture(scene, Camera("self", width=SIZE, height=SIZE, grayscale=True))
    captures.append(cc)
    fast_cases["FAST COLOR grey, batch of 8"] = (lambda: cc.capture(scene, cams), 8, 5)
    results.update(timed(fast_cases, calls, repeats))
    for c in captures:
        c.close()

    bare_ms = results["bare render.render + /dev/shm BMP read"]
    rows = [{"name": k, "ms_per_image": v, "vs_bare": v / bare_ms} for k, v in results.items()]
    for x in rows:
        print(f"{x['name']:<44} {x['ms_per_image']:8.3f} ms/image  {x['vs_bare']:6.3f} x bare", flush=True)
    by = results
    render_same = by["RENDER, scene already at sensor settings"] / bare_ms
    render_swap = by["RENDER, designer's scene (settings swapped)"] / bare_ms
    fast = by["FAST COLOR, 1 camera"]
    n_tris = sum(len(o.data.polygons) for o in scene.objects if o.type == "MESH")
    machine = f"{os.cpu_count()} CPU cores, no GPU (Mesa llvmpipe), {platform.machine()}"
    machine += f", Blender {bpy.app.version_string}"
    command = ".venv/bin/python bench/bench_camera.py" + (" --quick" if args.quick else "")

    lines = [
        "## Camera sensors",
        "",
        f"One {SIZE}×{SIZE} image from a scene of 4 coloured meshes ({n_tris} faces): ms per image, median of "
        f"{repeats} repeats. `vs bare` is the time over the bare Workbench render's.",
        "",
        "| what | ms / image | vs bare |",
        "|---|---:|---:|",
    ]
    for x in rows:
        lines.append(f"| {x['name']} | {x['ms_per_image']:.3f} | {x['vs_bare']:.3f} |")
    lines += [
        "",
        f"RENDER overhead over a bare render: {100 * (render_same - 1):+.1f}% with the scene already at the "
        f"sensor's settings, {100 * (render_swap - 1):+.1f}% when it swaps and restores a designer's settings "
        f"(target ≤ +15%). FAST COLOR is {bare_ms / fast:.0f}× faster than the bare render for one camera "
        f"and {bare_ms / by['FAST COLOR, batch of 8']:.0f}× per image in a batch of 8.",
        "",
        f"Command: `{command}`  ",
        f"Machine: {machine}.",
        "",
    ]
    written = write_results(
        "camera",
        "\n".join(lines),
        {
            "size": SIZE,
            "repeats": repeats,
            "rows": rows,
            "render_overhead_same_settings": render_same - 1,
            "render_overhead_swapped_settings": render_swap - 1,
            "command": command,
            "machine": machine,
        },
    )
    print(f"wrote {written}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
