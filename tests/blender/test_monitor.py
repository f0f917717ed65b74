"""The Agent Monitor: records from a running session, the overlay's geometry, and its pixels.

The pixel tests draw into a ``gpu.types.GPUOffScreen``: in background mode the ``gpu`` module needs
a GPU context, which one tiny Workbench render creates (``env.camera.ensure_gpu``; Mesa's llvmpipe
on a machine without a GPU). Where even that fails they skip, saying why.
"""

import importlib
from types import SimpleNamespace

import bpy
import numpy as np
import pytest
from mathutils import Matrix, Vector
from recording_layout import draw_panel

from devtools import boot

M = boot.MODULE
bb = importlib.import_module(M + ".examples.balance_ball")
Session = importlib.import_module(M + ".env.session").Session
env_monitor = importlib.import_module(M + ".env.monitor")
monitor = importlib.import_module(M + ".panels.monitor")
camera = importlib.import_module(M + ".env.camera")
STATE = importlib.import_module(M + ".core.names").STATE_KEY

pytestmark = pytest.mark.lts
W, H = 320, 200


def balance_ball(agents=2):
    bpy.ops.wm.read_homefile(use_empty=True)
    return bb.build(bpy.context.scene, agents=agents)


def record(brain="B", value=None, reward=0.0, location=(0.0, 0.0, 0.0), action="0"):
    return env_monitor.AgentRecord("agent", brain, location, reward, value, action)


@pytest.fixture(scope="module")
def trained_state():
    """A briefly trained Balance Ball Brain (2 agents), as stored bytes."""
    import torch

    torch.set_num_threads(1)
    scene = balance_ball()
    session = Session(scene, training=True, steps=200).start()
    session.run()
    session.finish()
    return bytes(scene.academy.brains[0][STATE])


@pytest.fixture
def gpu_ready():
    try:
        camera.ensure_gpu()
        import gpu

        gpu.types.GPUOffScreen(4, 4).free()
    except Exception as exc:  # a build or machine with no GPU backend at all (not this project's machines)
        pytest.skip(f"gpu offscreen drawing is unavailable here: {exc}")


def render(draw) -> np.ndarray:
    """Call ``draw()`` with an offscreen W×H buffer bound in pixel space; its RGBA pixels, top row first."""
    import gpu

    off = gpu.types.GPUOffScreen(W, H)
    try:
        with off.bind():
            fb = gpu.state.active_framebuffer_get()
            fb.clear(color=(0.0, 0.0, 0.0, 0.0))
            with gpu.matrix.push_pop(), gpu.matrix.push_pop_projection():
                gpu.matrix.load_identity()
                # region pixels (origin bottom left) to clip space, as a POST_PIXEL handler has it
                gpu.matrix.load_projection_matrix(
                    Matrix(((2 / W, 0, 0, -1), (0, 2 / H, 0, -1), (0, 0, -1, 0), (0, 0, 0, 1)))
                )
                draw()
            buf = fb.read_color(0, 0, W, H, 4, 0, "UBYTE")
    finally:
        off.free()
    buf.dimensions = W * H * 4  # a flat buffer: numpy on the 3-D one gets the strides wrong
    return np.frombuffer(buf, np.uint8).reshape(H, W, 4)[::-1].copy()


def green(px: np.ndarray) -> np.ndarray:
    r, g, b = (px[..., i].astype(int) for i in range(3))
    return (g > 150) & (r < 100) & (b < 120)


def red(px: np.ndarray) -> np.ndarray:
    r, g, b = (px[..., i].astype(int) for i in range(3))
    return (r > 150) & (g < 100) & (b < 100)


def in_rect(mask: np.ndarray, rect) -> int:
    """How many of ``mask``'s pixels lie inside ``rect`` (region pixels, origin bottom left)."""
    rows = slice(H - int(np.ceil(rect.y1)), H - int(rect.y0))
    cols = slice(int(rect.x0), int(np.ceil(rect.x1)))
    return int(mask[rows, cols].sum())


# -- geometry (pure) ------------------------------------------------------------------------


def test_value_bar_is_green_or_red_proportional_and_clamped():
    frame, fill = monitor.value_bar(0.5, 1.0, 10, 20, 100, 6)
    assert (frame.x0, frame.x1, frame.y0, frame.y1) == (10, 110, 20, 26)
    assert (fill.x0, fill.x1) == (10, 60) and fill.colour == monitor.POSITIVE
    _, fill = monitor.value_bar(-0.25, 1.0, 10, 20, 100, 6)
    assert (fill.x0, fill.x1) == (10, 35) and fill.colour == monitor.NEGATIVE
    _, fill = monitor.value_bar(-7.0, 2.0, 10, 20, 100, 6)
    assert fill.x1 == 110  # clamped to the full length
    for value in (0.0, float("nan")):
        _, fill = monitor.value_bar(value, 1.0, 10, 20, 100, 6)
        assert fill.x1 == fill.x0


def test_the_bar_length_is_relative_to_the_largest_value_seen_at_least_one():
    scales = {}
    assert monitor.value_scale(scales, "A", 0.3) == 1.0
    assert monitor.value_scale(scales, "A", -4.0) == 4.0
    assert monitor.value_scale(scales, "A", 2.0) == 4.0  # the maximum stays
    assert monitor.value_scale(scales, "B", None) == 1.0  # per Brain
    assert monitor.value_scale(scales, "B", float("inf")) == 1.0
    shapes = monitor.layout([record("A", 2.0)], lambda p: (100, 50), scales)
    fills = [s for s in shapes if isinstance(s, monitor.Rect) and s.colour == monitor.POSITIVE]
    assert len(fills) == 1 and fills[0].x1 - fills[0].x0 == pytest.approx(monitor.WIDTH / 2)


def test_layout_shows_brain_reward_and_action_above_each_agent_in_view():
    records = [
        record("Walker", 0.5, 1.234, (0.0, 0.0, 0.0), "(0.10, -0.50)"),
        record("Hidden", 0.5, 0.0, (9.0, 0.0, 0.0)),
        record("Greedy", None, -2.0, (1.0, 0.0, 0.0), "3"),
    ]
    points = {0.0: (100.0, 40.0), 1.0: (220.0, 40.0)}
    shapes = monitor.layout(records, lambda p: points.get(p[0]), ui_scale=1.0)
    labels = [s for s in shapes if isinstance(s, monitor.Label)]
    texts = [label.text for label in labels]
    assert texts == ["Action (0.10, -0.50)", "Reward 1.23", "Walker", "Action 3", "Reward -2.00", "Greedy"]
    assert all(label.y > 40.0 for label in labels)  # above the agent's projected top
    assert all(abs(label.x + monitor.WIDTH / 2 - 100.0) < 1e-6 for label in labels[:3])
    bars = [s for s in shapes if isinstance(s, monitor.Rect) and s.colour in (monitor.POSITIVE, monitor.NEGATIVE)]
    assert len(bars) == 1 and bars[0].x0 < 100.0 < bars[0].x1 + monitor.WIDTH / 2  # no value: no bar
    assert min(bars[0].y0, bars[0].y1) > max(label.y for label in labels[:3])  # the bar tops the monitor
    twice = monitor.layout(records, lambda p: points.get(p[0]), ui_scale=2.0)
    assert max(s.x1 - s.x0 for s in twice if isinstance(s, monitor.Rect)) > 2 * monitor.WIDTH


def test_actions_read_short():
    fmt = env_monitor.format_action
    assert fmt(None) == "–"
    assert fmt(np.int64(2)) == "2"
    assert fmt(np.array([1, 0], np.int64)) == "(1, 0)"
    assert fmt(np.array([0.123, -0.5], np.float32)) == "(0.12, -0.50)"
    assert fmt(np.arange(6, dtype=np.float32)) == "(0.00, 1.00, 2.00, 3.00, …)"


# -- records from a running session -----------------------------------------------------------


def test_records_carry_each_agents_brain_reward_value_and_last_action():
    import torch

    torch.set_num_threads(1)
    scene = balance_ball()
    assert env_monitor.collect(None, scene) == []
    session = Session(scene, training=True, steps=100).start()
    try:
        session.tick(10.0, until_steps=40)
        records = env_monitor.collect(session, scene)
        view = session.brain("3DBall")
        assert [r.agent for r in records] == ["Platform.000", "Platform.001"]
        assert {r.brain for r in records} == {"3DBall"}
        np.testing.assert_allclose([r.reward for r in records], view.stats.episode_return)
        assert np.any(view.stats.episode_return != 0.0)
        values = view.learner.acting_values
        assert values is not None and values.shape == (2,)
        np.testing.assert_allclose([r.value for r in records], values)
        # the critic's estimate of the observation the agents last decided on
        np.testing.assert_allclose(values, view.learner._values(view.last_obs), rtol=1e-5, atol=1e-6)
        assert [r.action for r in records] == [env_monitor.format_action(a) for a in view.last_actions]
        for r in records:  # the anchor tops the platform
            obj = scene.objects[r.agent]
            assert r.location[2] == pytest.approx(max((obj.matrix_world @ Vector(c)).z for c in obj.bound_box))
    finally:
        session.finish()
    assert env_monitor.collect(session, scene) == []


def test_play_shows_an_inference_brain_without_a_value(trained_state):
    scene = balance_ball()
    brain = scene.academy.brains[0]
    brain[STATE] = trained_state
    brain.brain_type = "INFERENCE"
    assert bpy.ops.academy.play() == {"FINISHED"}
    for _ in range(12):
        scene.frame_set(scene.frame_current + 1)
    records = env_monitor.collect(monitor.sessions.session_for(scene.name), scene)
    assert len(records) == 2 and all(r.value is None for r in records)
    assert all(r.action.startswith("(") for r in records)  # continuous tilt actions
    bpy.ops.academy.stop()


# -- the toggle and the draw handler ----------------------------------------------------------


def test_the_toggle_installs_and_removes_the_draw_handler(academy):
    wm = bpy.context.window_manager
    assert not monitor.enabled()
    log = draw_panel(academy.panels.ACADEMY_PT_viewport, bpy.context)
    assert ("prop", "WindowManager", monitor.PROPERTY) in log
    wm.academy_show_monitor = True
    try:
        assert monitor.enabled()
        bpy.ops.wm.read_homefile(app_template="")  # a new file's window manager has the toggle off
        assert not bpy.context.window_manager.academy_show_monitor and not monitor.enabled()
        bpy.context.window_manager.academy_show_monitor = True
        academy.unregister()
        assert not monitor.enabled() and not hasattr(bpy.types.WindowManager, monitor.PROPERTY)
        academy.register()  # the window manager kept the value: the handler follows it
        assert bpy.context.window_manager.academy_show_monitor and monitor.enabled()
    finally:
        bpy.context.window_manager.academy_show_monitor = False
    assert not monitor.enabled()


# -- pixels -------------------------------------------------------------------------------------


def test_positive_values_draw_green_bars_and_negative_red(gpu_ready):
    records = [record("Up", 0.8, location=(0.0, 0.0, 0.0)), record("Down", -0.6, location=(1.0, 0.0, 0.0))]
    points = {0.0: (80.0, 30.0), 1.0: (240.0, 30.0)}
    shapes = []
    px = render(lambda: shapes.extend(monitor.draw_monitor(records, lambda p: points[p[0]])))
    fills = [s for s in shapes if isinstance(s, monitor.Rect) and s.colour in (monitor.POSITIVE, monitor.NEGATIVE)]
    up, down = fills
    assert up.colour == monitor.POSITIVE and down.colour == monitor.NEGATIVE
    area = lambda r: int(round(r.x1 - r.x0)) * int(round(r.y1 - r.y0))  # noqa: E731
    assert in_rect(green(px), up) >= 0.9 * area(up)
    assert in_rect(red(px), down) >= 0.9 * area(down)
    assert green(px).sum() <= 1.1 * area(up) and red(px).sum() <= 1.1 * area(down)  # nowhere else
    assert in_rect(red(px), up) == 0 and in_rect(green(px), down) == 0
    # the fill is 0.8 and 0.6 of the bar: the rest of each frame is dark
    frame_right = monitor.Rect(up.x1 + 2, up.y0, up.x0 + monitor.WIDTH, up.y1, monitor.BAR_FRAME)
    assert in_rect(green(px), frame_right) == 0
    # the labels are drawn (white text inside the backdrop)
    white = (px[..., :3].astype(int).min(axis=2) > 200).sum()
    assert white > 50


def test_the_viewport_draws_over_each_agent_of_a_running_session_only_with_the_toggle_on(gpu_ready):
    import torch

    torch.set_num_threads(1)
    scene = balance_ball()
    cam = bpy.data.objects.new("View", bpy.data.cameras.new("View"))
    scene.collection.objects.link(cam)
    cam.location = (4.0, -30.0, 8.0)  # both platforms (x 0 and 8) in view, room above them
    target = Vector((4.0, 0.0, 0.0))
    cam.rotation_euler = (target - cam.location).to_track_quat("-Z", "Y").to_euler()
    bpy.context.view_layer.update()
    depsgraph = bpy.context.evaluated_depsgraph_get()
    perspective = cam.calc_matrix_camera(depsgraph, x=W, y=H) @ cam.matrix_world.inverted()
    wm = bpy.context.window_manager
    context = SimpleNamespace(
        scene=scene,
        window_manager=wm,
        region=SimpleNamespace(width=W, height=H),
        region_data=SimpleNamespace(perspective_matrix=perspective),
        preferences=bpy.context.preferences,
    )

    def draw():
        shapes = []
        px = render(lambda: shapes.extend(monitor.draw_viewport(context)))
        return shapes, px

    wm.academy_show_monitor = True
    try:
        shapes, px = draw()
        assert shapes == [] and not px.any()  # no session: nothing
        session = Session(scene, training=True, steps=100).start()
        try:
            session.tick(10.0, until_steps=40)
            learner = session.brain("3DBall").learner
            assert learner.acting_values is not None
            learner.acting_values = np.array([0.7, -0.5], np.float32)  # known values, long bars
            shapes, px = draw()
            fills = [
                s for s in shapes if isinstance(s, monitor.Rect) and s.colour in (monitor.POSITIVE, monitor.NEGATIVE)
            ]
            assert [f.colour for f in fills] == [monitor.POSITIVE, monitor.NEGATIVE]
            from bpy_extras.view3d_utils import location_3d_to_region_2d

            for fill, colour, name in zip(fills, (green, red), ("Platform.000", "Platform.001"), strict=True):
                x, y = location_3d_to_region_2d(
                    context.region, context.region_data, env_monitor.anchor(scene.objects[name])
                )
                assert fill.x0 < x < fill.x0 + monitor.WIDTH and fill.y0 > y  # above the agent
                assert 0 <= fill.x0 and fill.x0 + monitor.WIDTH <= W and fill.y1 <= H  # in the picture
                assert in_rect(colour(px), fill) >= 0.9 * (fill.x1 - fill.x0) * (fill.y1 - fill.y0) - 2 * (
                    fill.x1 - fill.x0
                )
                assert in_rect((red if colour is green else green)(px), fill) == 0
            wm.academy_show_monitor = False
            shapes, px = draw()
            assert shapes == [] and not px.any()  # toggle off: nothing drawn
        finally:
            session.finish()
    finally:
        wm.academy_show_monitor = False
