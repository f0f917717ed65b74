"""The Agent Monitor: an overlay above each running agent in the 3D Viewport (ML-Agents' Agent Monitor).

Above every agent of a running Train or Play session it shows a value bar (green for a positive
value estimate, red for a negative one, its length the value over the largest seen so far, at
least 1), the agent's Brain, the reward of its running episode and its last action. The sidebar's
Agent Monitor toggle (``WindowManager.academy_show_monitor``) adds the draw handler; off, the
handler is removed, so the viewport pays nothing.

The drawing is split from Blender's context: :func:`layout` is a pure function from records and a
projector to rectangles and labels, :func:`draw_monitor` draws them with ``gpu`` and ``blf`` into
whatever framebuffer is bound (a viewport region, or an offscreen buffer in the tests).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass

import bpy
from bpy.app.handlers import persistent

from ..env import sessions
from ..env.monitor import AgentRecord, collect

Colour = tuple[float, float, float, float]
Projector = Callable[[tuple[float, float, float]], "Sequence[float] | None"]

POSITIVE: Colour = (0.15, 0.85, 0.25, 1.0)
NEGATIVE: Colour = (0.9, 0.15, 0.15, 1.0)
BAR_FRAME: Colour = (0.05, 0.05, 0.05, 0.8)
BACKDROP: Colour = (0.0, 0.0, 0.0, 0.45)
TEXT: Colour = (1.0, 1.0, 1.0, 1.0)

WIDTH = 120  # px at UI scale 1: the monitor's width, and the full length of the value bar
BAR_HEIGHT = 6
LINE = 14  # px between text lines
FONT_SIZE = 11
GAP = 10  # px between the agent's projected top and the monitor

PROPERTY = "academy_show_monitor"


@dataclass(frozen=True)
class Rect:
    """A filled rectangle in region pixels (origin bottom left)."""

    x0: float
    y0: float
    x1: float
    y1: float
    colour: Colour


@dataclass(frozen=True)
class Label:
    """A line of text; ``x, y`` is its baseline start in region pixels."""

    x: float
    y: float
    text: str
    colour: Colour
    size: float


def value_scale(scales: MutableMapping[str, float], brain: str, value: float | None) -> float:
    """The full length of ``brain``'s value bar: 1, or the largest absolute value seen since (kept in ``scales``)."""
    scale = max(scales.get(brain, 1.0), abs(value) if value is not None and math.isfinite(value) else 0.0)
    scales[brain] = scale
    return scale


def value_bar(value: float, scale: float, x: float, y: float, width: float, height: float) -> tuple[Rect, Rect]:
    """The bar frame and its fill for ``value``: the fill starts at the left, ``|value| / scale`` of
    ``width`` long (clamped to [0, 1]), green when ``value`` is positive or zero, red when negative."""
    fraction = min(abs(value) / scale, 1.0) if scale > 0 and math.isfinite(value) else 0.0
    frame = Rect(x, y, x + width, y + height, BAR_FRAME)
    fill = Rect(x, y, x + width * fraction, y + height, POSITIVE if value >= 0 else NEGATIVE)
    return frame, fill


def layout(
    records: Iterable[AgentRecord],
    projector: Projector,
    scales: MutableMapping[str, float] | None = None,
    ui_scale: float = 1.0,
) -> list[Rect | Label]:
    """What to draw for ``records``: per agent, a backdrop, the value bar (when it has a value) and
    its Brain, episode reward and last action, just above ``projector(record.location)``.

    ``projector`` maps a world point to region pixels, or None when it is not in view (that agent is
    skipped). ``scales`` keeps each Brain's bar length between calls (see :func:`value_scale`).
    """
    scales = {} if scales is None else scales
    width, line, bar_h, gap = WIDTH * ui_scale, LINE * ui_scale, BAR_HEIGHT * ui_scale, GAP * ui_scale
    pad = 3 * ui_scale
    shapes: list[Rect | Label] = []
    for record in records:
        scale = value_scale(scales, record.brain, record.value)
        point = projector(record.location)
        if point is None:
            continue
        left, bottom = point[0] - width / 2, point[1] + gap
        lines = (f"Action {record.action}", f"Reward {record.reward:.2f}", record.brain)
        top = bottom + pad + line * len(lines) + (bar_h + pad if record.value is not None else 0.0)
        shapes.append(Rect(left - pad, bottom, left + width + pad, top + pad, BACKDROP))
        for i, text in enumerate(lines):
            shapes.append(Label(left, bottom + pad + line * i + 0.2 * line, text, TEXT, FONT_SIZE * ui_scale))
        if record.value is not None:
            shapes.extend(value_bar(record.value, scale, left, top - bar_h, width, bar_h))
    return shapes


def draw_shapes(shapes: Sequence[Rect | Label]) -> None:
    """Draw ``shapes`` with ``gpu`` (rectangles, one batch per colour, in order) and ``blf`` (labels)
    into the bound framebuffer, in the current matrices' pixel space."""
    import blf
    import gpu
    from gpu_extras.batch import batch_for_shader

    if not shapes:
        return
    shader = gpu.shader.from_builtin("UNIFORM_COLOR")
    gpu.state.blend_set("ALPHA")
    try:
        # consecutive rectangles of one colour share a batch; the order (backdrop, frame, fill) is kept
        run: list[Rect] = []
        for shape in [*shapes, None]:
            if isinstance(shape, Rect) and (not run or run[-1].colour == shape.colour):
                run.append(shape)
                continue
            if run:
                _draw_rects(shader, batch_for_shader, run)
                run = []
            if isinstance(shape, Rect):
                run.append(shape)
        font = 0
        for shape in shapes:
            if isinstance(shape, Label):
                blf.size(font, shape.size)
                blf.color(font, *shape.colour)
                blf.position(font, shape.x, shape.y, 0)
                blf.draw(font, shape.text)
    finally:
        gpu.state.blend_set("NONE")


def _draw_rects(shader, batch_for_shader, rects: list[Rect]) -> None:
    pos, indices = [], []
    for r in rects:
        i = len(pos)
        pos.extend(((r.x0, r.y0), (r.x1, r.y0), (r.x1, r.y1), (r.x0, r.y1)))
        indices.extend(((i, i + 1, i + 2), (i, i + 2, i + 3)))
    batch = batch_for_shader(shader, "TRIS", {"pos": pos}, indices=indices)
    shader.bind()
    shader.uniform_float("color", rects[0].colour)
    batch.draw(shader)


def draw_monitor(
    records: Iterable[AgentRecord],
    projector: Projector,
    scales: MutableMapping[str, float] | None = None,
    ui_scale: float = 1.0,
) -> list[Rect | Label]:
    """Draw the monitor of ``records`` (see :func:`layout`) into the bound framebuffer; return what was drawn."""
    shapes = layout(records, projector, scales, ui_scale)
    draw_shapes(shapes)
    return shapes


# -- the viewport draw handler ----------------------------------------------------------------
_handle = None
_scales: dict[str, tuple[int, dict[str, float]]] = {}  # scene name -> (id of its session, bar lengths)


def enabled() -> bool:
    """The draw handler is installed (the toggle is on)."""
    return _handle is not None


def draw_viewport(context) -> list[Rect | Label]:
    """Draw the monitor of ``context.scene``'s running session over ``context.region`` (the draw
    handler's work); return what was drawn. Nothing when the toggle is off or no session runs."""
    scene, region, rv3d = context.scene, context.region, context.region_data
    if scene is None or region is None or rv3d is None or not getattr(context.window_manager, PROPERTY, False):
        return []
    session = sessions.session_for(scene.name)
    if session is None:
        _scales.pop(scene.name, None)
        return []
    from bpy_extras.view3d_utils import location_3d_to_region_2d

    try:
        records = collect(session, scene)
    except Exception:  # the overlay is for display: a session in an odd state must not break the viewport
        return []
    kept = _scales.get(scene.name)
    if kept is None or kept[0] != id(session):  # a new run: bars start again from 1
        kept = _scales[scene.name] = (id(session), {})
    return draw_monitor(
        records,
        lambda p: location_3d_to_region_2d(region, rv3d, p),
        kept[1],
        context.preferences.system.ui_scale or context.preferences.view.ui_scale,  # the first has the display's DPI
    )


def _draw_callback() -> None:
    draw_viewport(bpy.context)


def enable() -> None:
    """Install the draw handler (once)."""
    global _handle
    if _handle is None:
        _handle = bpy.types.SpaceView3D.draw_handler_add(_draw_callback, (), "WINDOW", "POST_PIXEL")
    _redraw()


def disable() -> None:
    """Remove the draw handler, if installed."""
    global _handle
    if _handle is not None:
        bpy.types.SpaceView3D.draw_handler_remove(_handle, "WINDOW")
        _handle = None
        _redraw()
    _scales.clear()


def sync(wm=None) -> None:
    """Install or remove the draw handler to match the toggle of ``wm`` (the first window manager)."""
    if wm is None:
        try:
            wm = bpy.data.window_managers[0] if len(bpy.data.window_managers) else None
        except AttributeError:  # registering at Blender's start: no data yet (load_post syncs later)
            wm = None
    if wm is not None and getattr(wm, PROPERTY, False):
        enable()
    else:
        disable()


def _on_toggle(wm, _context) -> None:
    sync(wm)


def _redraw() -> None:
    for wm in getattr(bpy.data, "window_managers", ()):
        for window in wm.windows:
            for area in window.screen.areas:
                if area.type == "VIEW_3D":
                    area.tag_redraw()


@persistent
def on_load_post(*_args) -> None:
    """A loaded file brings its own window manager: follow its toggle."""
    sync()


def register_property() -> None:
    """Attach the toggle to the window manager (not saved in the .blend: a viewing choice of this Blender)."""
    setattr(
        bpy.types.WindowManager,
        PROPERTY,
        bpy.props.BoolProperty(
            name="Agent Monitor",
            description=(
                "Show above each running agent in the 3D Viewport its Brain, the reward of its episode so far, "
                "a value bar (green positive, red negative; PPO Training Brains) and its last action"
            ),
            default=False,
            update=_on_toggle,
        ),
    )
    sync()


def unregister_property() -> None:
    """Remove the draw handler and the toggle."""
    disable()
    if hasattr(bpy.types.WindowManager, PROPERTY):
        delattr(bpy.types.WindowManager, PROPERTY)
