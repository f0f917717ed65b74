"""Camera sensors: images of the scene from camera objects, one per agent, as numpy batches.

Two modes (``specs.Camera.mode``):

- ``RENDER`` renders with a real render engine (the scene's own by default) through
  ``bpy.ops.render.render(write_still=True)`` into one BMP file in ``/dev/shm`` that is parsed
  with numpy (the ``Render Result`` pixels are not readable from Python). The settings it needs
  (camera, resolution, percentage, border, multiview, sequencer, output format and path, engine)
  are swapped in only where they differ and put back after every capture, so the designer's scene
  is never left changed.
- ``FAST`` draws the scene's visible geometry with Blender's ``gpu`` module into an offscreen
  buffer: flat-shaded object colours (``kind`` COLOR), linear depth (DEPTH) or object ids (INDEX).
  All the cameras of a batch are drawn into one tall offscreen and read back at once.

Rules of the FAST mode (the same in 4.5 and 5.0):

- Drawn: objects of type MESH, CURVE, SURFACE, FONT and META that are visible in the view layer
  (``visible_get()``) and not disabled for rendering (``hide_render``), as their evaluated meshes
  (modifiers applied). Instances (collection instances, particles, geometry-node instances) are not
  drawn.
- Colour: the object colour (``Object.color``, Object Properties → Viewport Display) when it is
  not the default white, else the active material's viewport colour (``diffuse_color``), else
  grey 0.8. Colours are scene-linear and written through the sRGB transfer function (what the
  "Standard" view transform shows). Faces are flat shaded by a fixed world-space light from
  above, in front (-Y) and to the right (+X), ``LIGHT_DIR``: ``colour * (0.6 + 0.4 * max(0, n·l))``,
  so the faces of one object stay distinguishable. Background: the world's viewport colour
  (``World.color``), black without a world.
- DEPTH: distance along the camera's view axis divided by the camera's ``clip_end``, in [0, 1];
  background (and anything past ``clip_end``) is 1.
- INDEX: background 0; an object's id is its ``pass_index`` when that is 1-255, otherwise an
  automatic id: the smallest id from 1 up that no explicit ``pass_index`` uses, given in order of
  object name when the object is first drawn and kept for the life of the :class:`CameraCapture`
  (``CameraCapture.index_of`` maps object names to ids).
- Geometry is cached per mesh datablock (per object when the object has modifiers or is not a
  mesh) for the life of the capture; transforms are read at every capture. Call
  :meth:`CameraCapture.invalidate` after editing meshes.

In background mode Blender's ``gpu`` module refuses to draw until a GPU context exists; the first
FAST capture makes one by rendering a 4×4 Workbench image of a temporary scene (once per process).

Images are ``(N, H, W, C)`` arrays with row 0 at the top; ``uint8`` for COLOR and INDEX,
``float32`` for DEPTH. Greyscale uses Rec. 709 luma weights in both modes.

Note: ``bpy.ops.render.render`` fires ``frame_change_pre/post`` handlers; :func:`is_rendering`
is true while a RENDER capture is running so a frame-change handler can ignore those calls.
"""

from __future__ import annotations

import atexit
import functools
import os
from typing import TYPE_CHECKING

import numpy as np

from ..core import files
from ..core.specs import Camera

if TYPE_CHECKING:
    import bpy

LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)
DEFAULT_GREY = (0.8, 0.8, 0.8)
LIGHT_DIR = (0.32, -0.45, 0.83)  # world space, towards the light: above, in front (-Y), to the right (+X)
DRAWABLE_TYPES = frozenset({"MESH", "CURVE", "SURFACE", "FONT", "META"})
MAX_TEXTURE_ROWS = 8192  # tall offscreens are split into chunks of at most this many rows

_state = {"gpu_ready": False, "rendering": 0, "shaders": {}}


def is_rendering() -> bool:
    """True while a RENDER-mode capture runs ``bpy.ops.render.render`` (which fires frame handlers)."""
    return _state["rendering"] > 0


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    """The sRGB transfer function on scene-linear values (clipped to [0, 1])."""
    c = np.clip(np.asarray(c, np.float32), 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * np.power(c, 1.0 / 2.4) - 0.055).astype(np.float32)


@functools.lru_cache(maxsize=1024)
def _srgb_colour(rgb: tuple[float, ...]) -> tuple[float, float, float, float]:
    return (*(float(c) for c in linear_to_srgb(rgb[:3])), 1.0)


def to_grey(rgb: np.ndarray) -> np.ndarray:
    """``(..., 3)`` uint8 RGB → ``(..., 1)`` uint8 luma (Rec. 709 weights)."""
    grey = rgb[..., :3].astype(np.float32) @ LUMA
    return np.clip(grey + 0.5, 0, 255).astype(np.uint8)[..., None]


def parse_bmp(data: bytes) -> np.ndarray:
    """A 24- or 32-bit uncompressed BMP → ``(H, W, 3)`` uint8 RGB, row 0 at the top."""
    if data[:2] != b"BM":
        raise ValueError("not a BMP file")
    offset = int.from_bytes(data[10:14], "little")
    width = int.from_bytes(data[18:22], "little", signed=True)
    height = int.from_bytes(data[22:26], "little", signed=True)
    bpp = int.from_bytes(data[28:30], "little")
    if bpp not in (24, 32):
        raise ValueError(f"unsupported BMP depth {bpp} bits")
    px = bpp // 8
    stride = (width * px + 3) & ~3
    rows = np.frombuffer(data, np.uint8, count=stride * abs(height), offset=offset).reshape(abs(height), stride)
    img = rows[:, : width * px].reshape(abs(height), width, px)[..., 2::-1]  # BGR(A) → RGB
    return img[::-1] if height > 0 else img  # positive height: rows stored bottom-up


def _check_camera(obj) -> None:
    if obj is None or getattr(obj, "type", None) != "CAMERA":
        name = getattr(obj, "name", repr(obj))
        kind = getattr(obj, "type", type(obj).__name__)
        raise ValueError(f"camera sensor: object '{name}' is not a camera (it is a {kind})")


class CameraCapture:
    """Captures images of one Camera spec for a batch of camera objects (one per agent)."""

    def __init__(self, scene: bpy.types.Scene, spec: Camera, engine: str | None = None):
        """Prepare to capture ``spec`` in ``scene``; no GPU or render work happens until :meth:`capture`.

        ``engine`` (RENDER mode only) overrides the render engine for the captures, e.g.
        ``"BLENDER_WORKBENCH"`` when the scene is set to EEVEE; by default the scene's engine is used.
        """
        if spec.mode not in ("FAST", "RENDER") or spec.kind not in ("COLOR", "DEPTH", "INDEX"):
            raise ValueError(f"camera sensor: unknown mode {spec.mode!r} or kind {spec.kind!r}")
        if spec.mode == "RENDER" and spec.kind != "COLOR":
            raise ValueError(f"camera sensor: kind {spec.kind} needs mode FAST (RENDER gives colour images)")
        if spec.width < 1 or spec.height < 1:
            raise ValueError("camera sensor: resolution must be positive")
        self.spec = spec
        self.engine = engine
        self.index_of: dict[str, int] = {}
        self._impl = _RenderCapture(self) if spec.mode == "RENDER" else _FastCapture(self)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(H, W, C)`` of one image."""
        return (self.spec.height, self.spec.width, self.spec.channels)

    @property
    def dtype(self) -> type:
        """``np.float32`` for DEPTH, ``np.uint8`` otherwise."""
        return np.float32 if self.spec.kind == "DEPTH" else np.uint8

    def capture(self, scene: bpy.types.Scene, cameras: list[bpy.types.Object]) -> np.ndarray:
        """One image per camera object: ``(N, H, W, C)``, row 0 at the top.

        Raises ValueError naming the object when one of ``cameras`` is not a camera.
        """
        for cam in cameras:
            _check_camera(cam)
        if not cameras:
            return np.zeros((0, *self.shape), self.dtype)
        return self._impl.capture(scene, list(cameras))

    def invalidate(self) -> None:
        """Forget cached geometry (FAST mode) so edited meshes are rebuilt at the next capture."""
        if isinstance(self._impl, _FastCapture):
            self._impl.batches.clear()

    def close(self) -> None:
        """Free offscreen buffers and temp files; restore any scene setting still swapped. Idempotent."""
        self._impl.close()

    def __enter__(self) -> CameraCapture:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# RENDER mode


RENDER_PREFIX = "academy-camera-"
# Images in /dev/shm of old-style names (no owner token) are removed once this old.
LEGACY_AGE_S = 24 * 3600
_render_files: set[str] = set()  # this process's RENDER images, removed at exit if still there


@atexit.register
def _remove_render_files() -> None:
    while _render_files:
        files.remove(_render_files.pop())


class _RenderCapture:
    def __init__(self, owner: CameraCapture):
        self.owner = owner
        # The image's name carries this process's owner token: an image left by a killed process
        # is removed by the next RENDER capture made on this machine.
        shm = files.shm_dir()
        files.sweep_stale(shm, RENDER_PREFIX, legacy_age_s=LEGACY_AGE_S)
        self.path = os.path.join(shm, files.owned_name(RENDER_PREFIX, ".bmp"))
        _render_files.add(self.path)
        self.saved: list[tuple[object, str | list[str], object]] = []

    def _set(self, owner, attr: str, value) -> None:
        """Set ``owner.attr`` only when it differs, remembering the old value for :meth:`_restore`."""
        old = getattr(owner, attr)
        if old != value:
            self.saved.append((owner, attr, old))
            setattr(owner, attr, value)

    def _set_image_format(self, image) -> None:
        """BMP, RGB; saved so that restoring puts back the format's own colour mode and depth too."""
        # Changing the format can silently change color_mode/color_depth (PNG 16 bit → BMP → PNG 8
        # bit), and in 5.0 a video output needs media_type IMAGE before an image format is accepted.
        attrs = [a for a in ("media_type", "file_format", "color_mode", "color_depth") if hasattr(image, a)]
        if image.file_format == "BMP" and image.color_mode == "RGB":
            return
        self.saved.append((image, attrs, [getattr(image, a) for a in attrs]))
        if "media_type" in attrs:
            image.media_type = "IMAGE"
        image.file_format = "BMP"
        image.color_mode = "RGB"

    def _restore(self) -> None:
        while self.saved:
            owner, attr, old = self.saved.pop()
            if isinstance(attr, list):  # image settings: in order, each only if it differs now
                for a, v in zip(attr, old, strict=True):
                    if getattr(owner, a) != v:
                        setattr(owner, a, v)
            else:
                setattr(owner, attr, old)

    def capture(self, scene, cameras) -> np.ndarray:
        import bpy

        spec = self.owner.spec
        out = np.empty((len(cameras), spec.height, spec.width, 3), np.uint8)
        render = scene.render
        counted = False
        try:
            if self.owner.engine:
                self._set(render, "engine", self.owner.engine)
            self._set(render, "resolution_x", spec.width)
            self._set(render, "resolution_y", spec.height)
            self._set(render, "resolution_percentage", 100)
            self._set(render, "use_border", False)
            self._set(render, "use_multiview", False)
            self._set(render, "use_sequencer", False)  # with strips, the sequencer's output would be saved
            self._set(render, "filepath", self.path)
            self._set(render, "use_file_extension", False)
            self._set_image_format(render.image_settings)
            _state["rendering"] += 1
            counted = True
            for i, cam in enumerate(cameras):
                self._set(scene, "camera", cam)
                bpy.ops.render.render(write_still=True, scene=scene.name)
                with open(self.path, "rb") as fh:
                    img = parse_bmp(fh.read())
                if img.shape[:2] != (spec.height, spec.width):
                    raise RuntimeError(f"camera sensor: render gave {img.shape[1]}x{img.shape[0]} pixels")
                out[i] = img
        finally:
            if counted:
                _state["rendering"] -= 1
            self._restore()
        return to_grey(out) if spec.grayscale else out

    def close(self) -> None:
        self._restore()
        files.remove(self.path)
        _render_files.discard(self.path)


# --------------------------------------------------------------------------------------------
# FAST mode

_VERT = {
    "COLOR": """
void main()
{
  vec3 n = normalize(nrm * nor);
  shade = color.rgb * (0.6 + 0.4 * max(0.0, dot(n, normalize(vec3(LIGHT)))));
  gl_Position = mvp * vec4(pos, 1.0);
}
""",
    "DEPTH": """
void main()
{
  shade = vec3(-dot(depth_row, vec4(pos, 1.0)), 0.0, 0.0);
  gl_Position = mvp * vec4(pos, 1.0);
}
""",
    "INDEX": """
void main()
{
  shade = color.rgb;
  gl_Position = mvp * vec4(pos, 1.0);
}
""",
}
_FRAG = "void main()\n{\n  frag = vec4(shade, 1.0);\n}\n"


def _shader(kind: str):
    """The FAST-mode shader for ``kind`` (compiled once per process; needs a GPU context)."""
    shaders = _state["shaders"]
    if kind not in shaders:
        import gpu

        info = gpu.types.GPUShaderCreateInfo()
        # 128 bytes of push constants at most (the guaranteed minimum on every backend)
        info.push_constant("MAT4", "mvp")
        if kind == "COLOR":
            info.push_constant("MAT3", "nrm")
            info.push_constant("VEC4", "color")
            info.define("LIGHT", "vec3({:.4f}, {:.4f}, {:.4f})".format(*LIGHT_DIR))
        elif kind == "DEPTH":
            info.push_constant("VEC4", "depth_row")
        else:
            info.push_constant("VEC4", "color")
        info.vertex_in(0, "VEC3", "pos")
        if kind == "COLOR":
            info.vertex_in(1, "VEC3", "nor")
        iface = gpu.types.GPUStageInterfaceInfo(f"academy_camera_{kind.lower()}")
        if kind == "DEPTH":
            iface.smooth("VEC3", "shade")
        else:
            iface.flat("VEC3", "shade")
        info.vertex_out(iface)
        info.fragment_out(0, "VEC4", "frag")
        info.vertex_source(_VERT[kind])
        info.fragment_source(_FRAG)
        shaders[kind] = gpu.shader.create_from_info(info)
    return shaders[kind]


def ensure_gpu() -> None:
    """Make Blender's ``gpu`` module usable: in background mode, one tiny Workbench render (once)."""
    if _state["gpu_ready"]:
        return
    import bpy

    if bpy.app.background:
        # The render creates the GPU context that background mode otherwise lacks. A throw-away
        # scene keeps the designer's scene (and its frame handlers' view of it) untouched.
        tmp = bpy.data.scenes.new("academy_gpu_init")
        cam_data = bpy.data.cameras.new("academy_gpu_init")
        cam = bpy.data.objects.new("academy_gpu_init", cam_data)
        try:
            tmp.collection.objects.link(cam)
            tmp.camera = cam
            tmp.render.engine = "BLENDER_WORKBENCH"
            tmp.render.resolution_x = tmp.render.resolution_y = 4
            tmp.render.resolution_percentage = 100
            tmp.display.render_aa = "OFF"
            _state["rendering"] += 1
            try:
                bpy.ops.render.render(write_still=False, scene=tmp.name)
            finally:
                _state["rendering"] -= 1
        finally:
            bpy.data.objects.remove(cam)
            bpy.data.cameras.remove(cam_data)
            bpy.data.scenes.remove(tmp)
    _state["gpu_ready"] = True


class _Batch:
    __slots__ = ("batch", "n_tris")

    def __init__(self, batch, n_tris: int):
        self.batch = batch
        self.n_tris = n_tris


def _mesh_arrays(mesh) -> tuple[np.ndarray, np.ndarray]:
    """Triangle soup of ``mesh``: positions and flat face normals, ``(3T, 3)`` float32 each."""
    mesh.calc_loop_triangles()
    tris = mesh.loop_triangles
    n = len(tris)
    verts = np.empty(n * 3, np.int32)
    tris.foreach_get("vertices", verts)
    co = np.empty(len(mesh.vertices) * 3, np.float32)
    mesh.vertices.foreach_get("co", co)
    normals = np.empty(n * 3, np.float32)
    tris.foreach_get("normal", normals)
    pos = co.reshape(-1, 3)[verts]
    nor = np.repeat(normals.reshape(-1, 3), 3, axis=0)
    return pos, nor


class _FastCapture:
    def __init__(self, owner: CameraCapture):
        self.owner = owner
        self.batches: dict[object, _Batch | None] = {}
        self.offscreens: dict[int, object] = {}
        self.buffers: dict[int, object] = {}

    # -- scene --------------------------------------------------------------------------------
    def _drawables(self, scene, depsgraph) -> list[tuple[object, _Batch]]:
        out = []
        view_layer = depsgraph.view_layer
        for obj in scene.objects:
            if obj.type not in DRAWABLE_TYPES or obj.hide_render or not obj.visible_get(view_layer=view_layer):
                continue
            key = obj.data if obj.type == "MESH" and len(obj.modifiers) == 0 else obj
            batch = self.batches.get(key, False)
            if batch is False:
                batch = self.batches[key] = self._build(obj, depsgraph)
            if batch is not None:
                out.append((obj, batch))
        return out

    def _build(self, obj, depsgraph) -> _Batch | None:
        from gpu_extras.batch import batch_for_shader

        obj_eval = obj.evaluated_get(depsgraph)
        mesh = obj_eval.to_mesh()
        try:
            if mesh is None or len(mesh.polygons) == 0:
                return None
            pos, nor = _mesh_arrays(mesh)
        finally:
            obj_eval.to_mesh_clear()
        kind = self.owner.spec.kind
        attrs = {"pos": pos, "nor": nor} if kind == "COLOR" else {"pos": pos}
        batch = batch_for_shader(_shader(kind), "TRIS", attrs)
        return _Batch(batch, len(pos) // 3)

    def _colour(self, obj) -> tuple[float, float, float]:
        c = tuple(obj.color)
        if c[:3] != (1.0, 1.0, 1.0):
            return c[:3]
        mat = obj.active_material
        return tuple(mat.diffuse_color)[:3] if mat is not None else DEFAULT_GREY

    def _index(self, obj, scene_objects) -> int:
        if 1 <= obj.pass_index <= 255:
            return obj.pass_index
        idx = self.owner.index_of.get(obj.name)
        if idx is None:
            explicit = {o.pass_index for o in scene_objects if 1 <= o.pass_index <= 255}
            used = explicit | set(self.owner.index_of.values())
            idx = next((i for i in range(1, 256) if i not in used), 255)
            self.owner.index_of[obj.name] = idx
        return idx

    # -- drawing ------------------------------------------------------------------------------
    def _offscreen(self, rows: int):
        import gpu

        off = self.offscreens.get(rows)
        if off is None:
            spec = self.owner.spec
            fmt = "RGBA32F" if spec.kind == "DEPTH" else "RGBA8"
            off = self.offscreens[rows] = gpu.types.GPUOffScreen(spec.width, rows, format=fmt)
            n = spec.width * rows * 4
            self.buffers[rows] = gpu.types.Buffer("FLOAT" if spec.kind == "DEPTH" else "UBYTE", n)
        return off, self.buffers[rows]

    def capture(self, scene, cameras) -> np.ndarray:
        import bpy
        import gpu

        ensure_gpu()
        spec = self.owner.spec
        kind = spec.kind
        w, h = spec.width, spec.height
        depsgraph = bpy.context.evaluated_depsgraph_get()
        if depsgraph.scene_eval.original != scene:
            depsgraph = scene.view_layers[0].depsgraph if len(scene.view_layers) else depsgraph
        drawables = self._drawables(scene, depsgraph)
        shader = _shader(kind)

        if kind == "INDEX":  # new objects get automatic ids in name order
            for obj in sorted((o for o, _ in drawables), key=lambda o: o.name):
                self._index(obj, scene.objects)

        # per-object constants, computed once per capture and shared by all cameras
        objs = []
        for obj, batch in drawables:
            model = obj.matrix_world.copy()
            if kind == "COLOR":
                nrm = model.to_3x3().inverted_safe().transposed()
                objs.append((batch, model, nrm, _srgb_colour(self._colour(obj))))
            elif kind == "INDEX":
                objs.append((batch, model, None, (self._index(obj, scene.objects) / 255.0, 0.0, 0.0, 1.0)))
            else:
                objs.append((batch, model, None, None))
        if kind == "COLOR":
            world = scene.world
            bg = _srgb_colour(tuple(world.color) if world is not None else (0.0, 0.0, 0.0))
        elif kind == "DEPTH":
            bg = (1.0, 1.0, 1.0, 1.0)
        else:
            bg = (0.0, 0.0, 0.0, 1.0)

        per_chunk = max(1, MAX_TEXTURE_ROWS // h)
        images = []
        for start in range(0, len(cameras), per_chunk):
            chunk = cameras[start : start + per_chunk]
            rows = h * len(chunk)
            off, buf = self._offscreen(rows)
            with off.bind():
                fb = gpu.state.active_framebuffer_get()
                fb.clear(color=bg, depth=1.0)
                gpu.state.depth_test_set("LESS_EQUAL")
                gpu.state.depth_mask_set(True)
                gpu.state.face_culling_set("NONE")
                try:
                    shader.bind()
                    for i, cam in enumerate(chunk):
                        # rows come bottom-up: camera i of the chunk goes i images from the bottom
                        gpu.state.viewport_set(0, i * h, w, h)
                        view = cam.matrix_world.inverted_safe()
                        view_proj = cam.calc_matrix_camera(depsgraph, x=w, y=h) @ view
                        inv_far = 1.0 / cam.data.clip_end
                        for batch, model, nrm, colour in objs:
                            shader.uniform_float("mvp", view_proj @ model)
                            if kind == "DEPTH":
                                shader.uniform_float("depth_row", (view @ model)[2] * inv_far)
                            else:
                                shader.uniform_float("color", colour)
                                if nrm is not None:
                                    shader.uniform_float("nrm", nrm)
                            batch.batch.draw(shader)
                    fb.read_color(0, 0, w, rows, 4, 0, "FLOAT" if kind == "DEPTH" else "UBYTE", data=buf)
                finally:
                    gpu.state.depth_test_set("NONE")
                    gpu.state.depth_mask_set(False)
            dtype = np.float32 if kind == "DEPTH" else np.uint8
            flat = np.frombuffer(buf, dtype)
            images.append(flat.reshape(len(chunk), h, w, 4)[:, ::-1])
        img = images[0] if len(images) == 1 else np.concatenate(images)
        if kind == "DEPTH":
            return np.clip(img[..., :1], 0.0, 1.0).astype(np.float32)
        if kind == "INDEX":
            return np.ascontiguousarray(img[..., :1])
        return to_grey(img) if spec.grayscale else np.ascontiguousarray(img[..., :3])

    def close(self) -> None:
        for off in self.offscreens.values():
            off.free()
        self.offscreens.clear()
        self.buffers.clear()
        self.batches.clear()
