"""Camera sensors (env/camera.py): what the images show, where, in which layout; the scene is left as it was."""

import importlib
import math
import os

import bpy
import numpy as np
import pytest

pytestmark = pytest.mark.lts

W, H = 96, 64  # not square, so a transposed image cannot pass


@pytest.fixture
def cam_mod(academy):
    return importlib.import_module(academy.__name__ + ".env.camera")


@pytest.fixture
def Camera(academy):
    return importlib.import_module(academy.__name__ + ".core.specs").Camera


@pytest.fixture
def stage():
    """Factory cube (2 units, red) at the origin; the camera 10 units in front (-Y) looking at it along +Y."""
    scene = bpy.context.scene
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.display.shading.color_type = "OBJECT"
    scene.display.shading.light = "FLAT"
    scene.view_settings.view_transform = "Standard"
    cube = bpy.data.objects["Cube"]
    cube.color = (1.0, 0.0, 0.0, 1.0)
    cam = bpy.data.objects["Camera"]
    cam.location = (0.0, -10.0, 0.0)
    cam.rotation_euler = (math.pi / 2, 0.0, 0.0)
    bpy.context.view_layer.update()
    return scene, cam, cube


def red_mask(img: np.ndarray) -> np.ndarray:
    img = img.astype(int)
    return (img[..., 0] > 100) & (img[..., 1] < 60) & (img[..., 2] < 60)


def centroid(mask: np.ndarray) -> tuple[float, float]:
    rows, cols = np.nonzero(mask)
    assert len(rows), "object not visible"
    return rows.mean(), cols.mean()


def capture(cam_mod, Camera, scene, cams, **kw):
    cc = cam_mod.CameraCapture(scene, Camera("self", **{"width": W, "height": H, **kw}))
    try:
        return cc.capture(scene, cams)
    finally:
        cc.close()


@pytest.mark.parametrize("mode", ["FAST", "RENDER"])
def test_red_cube_in_the_centre_background_in_the_corners(cam_mod, Camera, stage, mode):
    scene, cam, _ = stage
    img = capture(cam_mod, Camera, scene, [cam], mode=mode)
    assert img.shape == (1, H, W, 3) and img.dtype == np.uint8
    img = img[0]
    assert red_mask(img[H // 2 - 3 : H // 2 + 3, W // 2 - 3 : W // 2 + 3]).all()
    bg = np.round(cam_mod.linear_to_srgb(tuple(scene.world.color)) * 255)
    for corner in (img[0, 0], img[0, -1], img[-1, 0], img[-1, -1]):
        assert not red_mask(corner)
        assert np.abs(corner.astype(int) - bg).max() <= 3, (corner, bg)


@pytest.mark.parametrize("mode", ["FAST", "RENDER"])
def test_moving_the_cube_moves_the_blob_the_same_way(cam_mod, Camera, stage, mode):
    scene, cam, cube = stage
    centres = {}
    for name, loc in {"left": (-2.5, 0, 0), "right": (2.5, 0, 0), "up": (0, 0, 1.5), "down": (0, 0, -1.5)}.items():
        cube.location = loc
        bpy.context.view_layer.update()
        centres[name] = centroid(red_mask(capture(cam_mod, Camera, scene, [cam], mode=mode)[0]))
    assert centres["left"][1] < W / 2 - 10 < W / 2 + 10 < centres["right"][1]
    assert centres["up"][0] < H / 2 - 5 < H / 2 + 5 < centres["down"][0]  # row 0 is the top


def test_render_and_fast_agree_on_where_the_object_is(cam_mod, Camera, stage):
    scene, cam, cube = stage
    cube.location = (1.2, 2.0, -0.7)
    cube.rotation_euler = (0.3, 0.5, 0.9)
    cube.scale = (1.4, 0.6, 0.9)
    bpy.context.view_layer.update()
    fast = red_mask(capture(cam_mod, Camera, scene, [cam], mode="FAST")[0])
    render = red_mask(capture(cam_mod, Camera, scene, [cam], mode="RENDER")[0])
    iou = (fast & render).sum() / (fast | render).sum()
    print(f"IoU {iou:.3f}")
    assert fast.sum() > 100 and iou > 0.85, iou


def test_fast_colour_follows_object_then_material_then_grey(cam_mod, Camera, stage):
    scene, cam, cube = stage
    centre = (slice(None), slice(H // 2 - 2, H // 2 + 2), slice(W // 2 - 2, W // 2 + 2))
    cube.color = (1.0, 1.0, 1.0, 1.0)  # default white: the material's viewport colour decides
    cube.active_material.diffuse_color = (0.0, 0.0, 1.0, 1.0)
    img = capture(cam_mod, Camera, scene, [cam])[centre].reshape(-1, 3).astype(int)
    assert (img[:, 2] > 100).all() and (img[:, :2] < 10).all()
    cube.data.materials.clear()
    img = capture(cam_mod, Camera, scene, [cam])[centre].reshape(-1, 3).astype(int)
    assert (np.abs(img - img[:, :1]) <= 1).all() and (img > 100).all()  # grey


def test_fast_draws_evaluated_meshes_and_skips_hidden_objects(cam_mod, Camera, stage):
    scene, cam, cube = stage
    cube.modifiers.new("Array", "ARRAY").relative_offset_displace = (1.0, 0.0, 0.0)  # a copy 2 to the right
    hidden = cube.copy()
    hidden.modifiers.clear()
    hidden.location.x = -2.0
    hidden.hide_render = True
    scene.collection.objects.link(hidden)
    bpy.context.view_layer.update()
    img = capture(cam_mod, Camera, scene, [cam])[0]
    row = red_mask(img)[H // 2]
    right, left = int(W / 2 + 0.45 * W / 2), int(W / 2 - 0.45 * W / 2)  # x = ±1.5 on the front faces
    assert row[W // 2] and row[right] and not row[left]
    assert centroid(red_mask(img))[1] > W / 2 + 5


@pytest.mark.parametrize("mode", ["FAST", "RENDER"])
def test_grayscale_has_one_channel_of_luma(cam_mod, Camera, stage, mode):
    scene, cam, _ = stage
    rgb = capture(cam_mod, Camera, scene, [cam], mode=mode)
    grey = capture(cam_mod, Camera, scene, [cam], mode=mode, grayscale=True)
    assert grey.shape == (1, H, W, 1) and grey.dtype == np.uint8
    expected = rgb.astype(np.float32) @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    assert np.abs(grey[..., 0].astype(np.float32) - expected).max() <= 1.0


def test_depth_is_linear_distance_over_clip_end_and_smaller_when_nearer(cam_mod, Camera, stage):
    scene, cam, cube = stage
    cam.data.clip_end = 50.0
    img = capture(cam_mod, Camera, scene, [cam], kind="DEPTH")
    assert img.shape == (1, H, W, 1) and img.dtype == np.float32
    # the front face is at y = -1: 9 units in front of the camera, everywhere on the face
    assert img[0, H // 2, W // 2, 0] == pytest.approx(9.0 / 50.0, abs=2e-4)
    assert img[0, H // 2 - 5, W // 2 + 7, 0] == pytest.approx(9.0 / 50.0, abs=2e-4)
    assert img[0, 0, 0, 0] == 1.0  # background
    cube.location.y = -4.0
    bpy.context.view_layer.update()
    nearer = capture(cam_mod, Camera, scene, [cam], kind="DEPTH")
    assert nearer[0, H // 2, W // 2, 0] == pytest.approx(5.0 / 50.0, abs=2e-4)


def test_index_separates_objects_by_pass_index_or_stable_id(cam_mod, Camera, stage):
    scene, cam, cube = stage
    cube.location.x = -2.5
    other = cube.copy()  # shares the mesh: one cached batch, two objects
    other.location.x = 2.5
    other.name = "Other"
    scene.collection.objects.link(other)
    other.pass_index = 7
    for name, x in (("B", 1.0), ("A", -1.0)):  # behind the cubes, hidden by them: ids still assigned by name
        extra = cube.copy()
        extra.name = name
        extra.location = (x, 20.0, 0.0)
        scene.collection.objects.link(extra)
    bpy.context.view_layer.update()
    cc = cam_mod.CameraCapture(scene, Camera("self", width=W, height=H, kind="INDEX"))
    try:
        img = cc.capture(scene, [cam])[0, ..., 0]
        assert img.dtype == np.uint8
        assert cc.index_of == {"A": 1, "B": 2, "Cube": 3}
        assert img[H // 2, W // 4] == 3 and img[H // 2, 3 * W // 4] == 7 and img[0, 0] == 0
        assert {0, 3, 7} <= set(np.unique(img)) <= {0, 1, 2, 3, 7}
        cube.pass_index = 9  # an explicit id wins over the automatic one
        other.pass_index = 0  # now automatic: the first free id
        img = cc.capture(scene, [cam])[0, ..., 0]
        assert img[H // 2, W // 4] == 9 and img[H // 2, 3 * W // 4] == 4
        assert cc.index_of["Other"] == 4
    finally:
        cc.close()


@pytest.mark.parametrize("mode", ["FAST", "RENDER"])
def test_a_batch_of_cameras_gives_each_its_own_image(cam_mod, Camera, stage, mode):
    scene, cam, _ = stage
    cams = [cam]
    for i, x in enumerate((-2.0, 2.5)):
        extra = cam.copy()
        extra.data = cam.data.copy()
        extra.location.x = x
        extra.location.z = 0.5 * i
        scene.collection.objects.link(extra)
        cams.append(extra)
    bpy.context.view_layer.update()
    batch = capture(cam_mod, Camera, scene, cams, mode=mode)
    assert batch.shape == (3, H, W, 3)
    cols = [centroid(red_mask(img))[1] for img in batch]
    assert cols[1] > cols[0] + 10 and cols[2] < cols[0] - 10  # camera to the left sees the cube to the right
    for i, c in enumerate(cams):
        single = capture(cam_mod, Camera, scene, [c], mode=mode)[0]
        differ = np.abs(single.astype(int) - batch[i]).max(-1) > 1
        assert differ.sum() <= 5  # a few edge pixels may rasterise differently at another viewport offset


def test_fast_batches_larger_than_one_texture_are_split(cam_mod, Camera, stage, monkeypatch):
    scene, cam, cube = stage
    whole = capture(cam_mod, Camera, scene, [cam] * 5, kind="DEPTH")
    monkeypatch.setattr(cam_mod, "MAX_TEXTURE_ROWS", 2 * H)
    split = capture(cam_mod, Camera, scene, [cam] * 5, kind="DEPTH")
    assert split.shape == (5, H, W, 1)
    np.testing.assert_array_equal(whole, split)


IMAGE_ATTRS = ("media_type", "file_format", "color_mode", "color_depth")


def designer_settings(scene) -> dict:
    r, im = scene.render, scene.render.image_settings
    return {
        "camera": scene.camera.name,
        "engine": r.engine,
        "res": (r.resolution_x, r.resolution_y, r.resolution_percentage),
        "border": r.use_border,
        "multiview": r.use_multiview,
        "sequencer": r.use_sequencer,
        "filepath": r.filepath,
        "ext": r.use_file_extension,
        "format": [
            getattr(im, a) for a in ("media_type", "file_format", "color_mode", "color_depth") if hasattr(im, a)
        ],
        "frame": scene.frame_current,
        "objects": sorted(o.name for o in bpy.data.objects),
        "scenes": sorted(s.name for s in bpy.data.scenes),
    }


def test_render_capture_restores_the_designers_settings(cam_mod, Camera, stage):
    scene, cam, cube = stage
    other_cam = cam.copy()
    other_cam.name = "Designer Camera"
    scene.collection.objects.link(other_cam)
    scene.camera = other_cam
    r = scene.render
    r.resolution_x, r.resolution_y, r.resolution_percentage = 1920, 1080, 50
    r.use_border = True
    r.filepath = "//renders/shot_"
    r.image_settings.file_format = "PNG"
    r.image_settings.color_mode = "RGBA"
    before = designer_settings(scene)
    cc = cam_mod.CameraCapture(scene, Camera("self", width=W, height=H, mode="RENDER"), engine="BLENDER_WORKBENCH")
    r.engine = "CYCLES"  # the override renders with Workbench anyway and puts Cycles back
    before["engine"] = "CYCLES"
    img = cc.capture(scene, [cam])
    assert red_mask(img[0, H // 2, W // 2])
    assert designer_settings(scene) == before
    path = cc._impl.path
    assert os.path.exists(path)
    cc.close()
    assert designer_settings(scene) == before
    assert not os.path.exists(path)


@pytest.mark.parametrize("fmt", [("PNG", "RGBA", "16"), ("OPEN_EXR", "RGB", "32"), ("FFMPEG", "RGB", "")])
def test_render_capture_restores_any_output_format(cam_mod, Camera, stage, fmt):
    scene, cam, _ = stage
    image = scene.render.image_settings
    if fmt[0] == "FFMPEG" and hasattr(image, "media_type"):
        image.media_type = "VIDEO"  # 5.0: a video output is chosen by media type first
    image.file_format = fmt[0]
    image.color_mode = fmt[1]
    if fmt[2]:
        image.color_depth = fmt[2]
    before = designer_settings(scene)
    with cam_mod.CameraCapture(scene, Camera("self", width=W, height=H, mode="RENDER")) as cc:
        img = cc.capture(scene, [cam])
        assert designer_settings(scene) == before
    assert red_mask(img[0, H // 2, W // 2])


def test_a_failing_render_capture_still_restores(cam_mod, Camera, stage, monkeypatch):
    scene, cam, _ = stage
    scene.render.resolution_x = 640
    before = designer_settings(scene)
    cc = cam_mod.CameraCapture(scene, Camera("self", width=W, height=H, mode="RENDER"))

    def broken(data):
        raise OSError("disk full")

    monkeypatch.setattr(cam_mod, "parse_bmp", broken)
    with pytest.raises(OSError):
        cc.capture(scene, [cam])
    assert designer_settings(scene) == before and not cam_mod.is_rendering()
    cc.close()


def test_fast_capture_leaves_the_scene_unchanged(cam_mod, Camera, stage, monkeypatch):
    scene, cam, _ = stage
    monkeypatch.setitem(cam_mod._state, "gpu_ready", False)  # redo the background GPU initialisation
    before = designer_settings(scene), len(bpy.data.cameras), len(bpy.data.scenes)
    capture(cam_mod, Camera, scene, [cam])
    assert (designer_settings(scene), len(bpy.data.cameras), len(bpy.data.scenes)) == before
    assert cam_mod._state["gpu_ready"]


def test_render_capture_marks_its_frame_handler_calls(cam_mod, Camera, stage):
    scene, cam, _ = stage
    seen = []

    def handler(scene, depsgraph=None):
        seen.append(cam_mod.is_rendering())

    bpy.app.handlers.frame_change_post.append(handler)
    try:
        capture(cam_mod, Camera, scene, [cam], mode="RENDER")
    finally:
        bpy.app.handlers.frame_change_post.remove(handler)
    assert all(seen) and not cam_mod.is_rendering()


@pytest.mark.parametrize("mode", ["FAST", "RENDER"])
def test_a_non_camera_object_is_named_in_the_error(cam_mod, Camera, stage, mode):
    scene, cam, cube = stage
    cc = cam_mod.CameraCapture(scene, Camera("self", mode=mode))
    with pytest.raises(ValueError, match="'Cube' is not a camera"):
        cc.capture(scene, [cam, cube])
    cc.close()


def test_bad_specs_are_refused(cam_mod, Camera, stage):
    scene = stage[0]
    with pytest.raises(ValueError, match="DEPTH needs mode FAST"):
        cam_mod.CameraCapture(scene, Camera("self", mode="RENDER", kind="DEPTH"))
    with pytest.raises(ValueError, match="unknown mode"):
        cam_mod.CameraCapture(scene, Camera("self", mode="EEVEE"))


def test_parse_bmp_reads_padded_rows_bottom_up(cam_mod):
    width, height = 3, 2  # 9 bytes a row, padded to 12
    rows = [[(10, 20, 30), (40, 50, 60), (70, 80, 90)], [(1, 2, 3), (4, 5, 6), (7, 8, 9)]]  # top row first, RGB
    body = b""
    for row in reversed(rows):  # BMP stores the bottom row first, as BGR
        body += b"".join(bytes((b, g, r)) for r, g, b in row) + b"\0\0\0"
    header = b"BM" + (54 + len(body)).to_bytes(4, "little") + b"\0\0\0\0" + (54).to_bytes(4, "little")
    info = (40).to_bytes(4, "little") + width.to_bytes(4, "little") + height.to_bytes(4, "little")
    info += (1).to_bytes(2, "little") + (24).to_bytes(2, "little") + b"\0" * 24
    img = cam_mod.parse_bmp(header + info + body)
    np.testing.assert_array_equal(img, np.array(rows, np.uint8))
