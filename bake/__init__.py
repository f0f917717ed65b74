"""Bake what a Brain does into keyframes: each bake is a named *take*, an Action placed in the NLA.

A bake runs the Brain for a frame range through the one stepping path (a :class:`Session` that
does not learn), records the evaluated world matrix of every object after every frame and every
property the actuators wrote, restores the scene exactly, then writes what moved as keyframes:

- objects whose own transform changed (agents, active rigid bodies, anything the actuators or
  resets moved) get location / rotation (in their ``rotation_mode``) / scale keys, decomposed
  from the recorded world matrix through their parent and ``matrix_parent_inverse`` (and delta
  transforms). Objects that moved only because something they follow moved (children, objects
  with constraints or drivers, objects with their own animation) are *followers*: their own set-up
  reproduces the motion once the objects they follow are baked, so they get no keys;
- rigid bodies among the keyed objects get ``rigid_body.kinematic`` ("Animated") keyed on for the
  baked range (their own setting one frame before and after), so physics follows the keys there,
  as Blender's "Bake to Keyframes" would, without taking them out of the rigid-body world;
- properties written by actuators (custom properties, modifier settings, shape keys ...) are keyed
  on the datablock that owns them.

A take is one slotted Action (one slot per animated datablock) and, on every datablock it
animates, one NLA track named after the take holding one strip (Replace, influence 1, Hold). New
takes go on top; re-baking a take replaces its Action and keeps its tracks' places. The designer's
active Actions, their keys and other NLA tracks are never touched.

Nothing here is needed to play a take back: it is ordinary animation.

The stages, one module each: ``record`` (the rollout, recorded frame by frame), ``plan`` (what
moved by itself and gets keys, decomposed into its own channels), ``write`` (the Action, its
F-curves and NLA tracks, and the verification replay); ``result`` holds :class:`BakeResult` and
:class:`BakeError`. The takes already in the file are ``env/takes.py`` (re-exported here).
"""

from __future__ import annotations

import math

from ..core.simplify import keep_mask
from ..env import sessions, timeline
from ..env.takes import (
    TakeInfo,
    _take_actions,
    default_take_name,
    mute_takes,
    remove_take,
    takes,
    takes_muted,
    unmute_takes,
)
from .plan import _plan, decompose
from .record import _record
from .result import BakeError, BakeResult
from .write import _verify, _write_take

__all__ = [
    "BakeError",
    "BakeResult",
    "TakeInfo",
    "bake",
    "bake_takes",
    "decompose",
    "mute_takes",
    "remove_take",
    "default_take_name",
    "keep_mask",
    "takes",
    "takes_muted",
    "unmute_takes",
]


def bake(
    scene,
    brain_name: str,
    frame_start: int | None = None,
    frame_end: int | None = None,
    seed: int = 0,
    every: int = 1,
    tolerance: float = 0.0,
    objects=None,
    from_reset: bool = True,
    take_name: str | None = None,
    verify: bool = True,
) -> BakeResult:
    """Run Brain ``brain_name`` from ``frame_start`` (default: the current frame) to ``frame_end``
    (default: the scene's end) with ``seed`` and bake what moved into the take ``take_name``
    (default: "<brain> seed <seed> <start>-<end>"), replacing a take of that name.

    ``every``: key every Nth frame (and the last); ``tolerance``: then drop keys that linear
    interpolation reproduces within it (units of each channel: scene units, radians, scale).
    ``objects``: bake only these objects (names or objects); default every object that moved.
    ``from_reset``: start like a new episode (reset randomisation applied, seeded); False starts
    from the scene as it is. ``verify``: replay the take and report the largest difference from
    the rollout (``max_error``) and the objects it does not reproduce (``mismatched``).

    Training Brains run greedily from their stored model, without learning. The scene is restored
    exactly; only the take's Action and NLA tracks are added.
    """
    academy = getattr(scene, "academy", None)
    if academy is None:
        raise BakeError("Agent Academy is not enabled: the scene has no Academy")
    brain = academy.brains.get(brain_name)
    if brain is None:
        names = ", ".join(b.name for b in academy.brains) or "none"
        raise BakeError(f"No Brain named '{brain_name}' in the scene's Academy (Brains: {names})")
    a = scene.frame_current if frame_start is None else int(frame_start)
    b = scene.frame_end if frame_end is None else int(frame_end)
    if b <= a:
        raise BakeError(f"The frame range {a}-{b} is empty: the end frame must come after the start frame")
    if every < 1:
        raise BakeError("Key every Nth frame needs N ≥ 1")
    if tolerance < 0 or not math.isfinite(tolerance):
        raise BakeError("The simplification tolerance must be a finite number ≥ 0")
    for s in sessions.active_sessions():
        if s.scene_name == scene.name:
            raise BakeError(f"Scene '{scene.name}' has a running Academy session: stop it (Train / Play) to bake")
    only = None
    if objects is not None:
        only = set()
        for o in objects:
            name = o if isinstance(o, str) else o.name
            if scene.objects.get(name) is None:
                raise BakeError(f"Object '{name}' is not in scene '{scene.name}'")
            only.add(name)
    name = take_name or default_take_name(brain_name, seed, a, b)
    result = BakeResult(take=name, action="", brain=brain_name, seed=int(seed), frame_start=a, frame_end=b)
    take_actions = {act for act, _m in _take_actions(scene)}
    with takes_muted(scene):
        rec = _record(scene, brain_name, a, b, int(seed), from_reset)
        channels, kinematic = _plan(scene, rec, only, take_actions, result)
    result.rollout_seconds = rec.seconds
    meta = {
        "scene": scene.name,
        "take": name,
        "brain": brain_name,
        "seed": int(seed),
        "frame_start": a,
        "frame_end": b,
        "every": int(every),
        "tolerance": float(tolerance),
        "from_reset": bool(from_reset),
        "objects": result.objects,
    }
    _write_take(scene, rec, channels, kinematic, name, meta, int(every), float(tolerance), result)
    index = {n: i for i, n in enumerate(rec.names)}
    moved = sorted(set(result.objects) | set(result.followers))
    result.matrices = {n: rec.world[:, index[n]].copy() for n in moved}
    if verify and moved:
        with takes_muted(scene, keep=(name,)):  # the take alone, as if soloed
            _verify(scene, rec, moved, result)
    else:
        timeline.go_to(scene, scene.frame_current, scene.frame_subframe)
    return result


def bake_takes(scene, brain_name: str, frame_start=None, frame_end=None, seeds=(0,), **options) -> list[BakeResult]:
    """One take per seed (see :func:`bake`); ``take_name`` if given gets " seed N" appended."""
    base = options.pop("take_name", None)
    out = []
    for seed in seeds:
        name = None if base is None else f"{base} seed {seed}"
        out.append(bake(scene, brain_name, frame_start, frame_end, seed=seed, take_name=name, **options))
    return out
