"""A Brain's observation batch with its camera images, and the final images of the episodes that end.

The Academy captures every camera of a Brain once per decision, after the agents that ended were
reset: those are the next episodes' first images. The final observation of an ended episode must
show where it ended, so the rows that reset are captured once more, before any reset moves
anything (:func:`capture_finals`); a learner bootstrapping a truncated episode from the next
episode's first image would learn that stalling until the time limit pays as well as the goal.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .groups import BrainState

__all__ = ["assemble", "capture", "capture_finals"]


def assemble(state: BrainState, vec: np.ndarray, scene, reuse=None, finals=None):
    """The Brain's observation batch: the vector alone, or a dict with ``camera_i`` images.

    ``reuse``: build final observations from the fresh batch ``reuse``, whose images they share
    except the rows of ``finals`` = (rows, one image array per camera) captured before those rows
    reset."""
    obs_vec = vec.astype(np.float32)
    if not state.cameras:
        return obs_vec
    out = {}
    if state.vector_size:
        out["vector"] = obs_vec
    if reuse is not None:
        for key, value in reuse.items():
            if key != "vector":
                out[key] = value
        if finals is not None:
            rows, images = finals
            for i, part in enumerate(images):
                key = f"camera_{i}"
                out[key] = out[key].copy()
                out[key][rows] = part
        return out
    for i in range(len(state.cameras)):
        out[f"camera_{i}"] = capture(state, i, scene)
    return out


def capture_finals(states: Iterable[BrainState], scene, outcomes: dict, resets: dict) -> dict:
    """Per Brain with cameras: (rows, images per camera) of the agents whose episode ends and that
    reset at this decision, captured before any reset."""
    finals = {}
    for state in states:
        reset = resets.get(state.name)
        if not state.cameras or reset is None:
            continue
        _rewards, ended, truncated, *_ = outcomes[state.name]
        rows = np.flatnonzero((ended | truncated) & reset)
        if len(rows):
            finals[state.name] = (rows, [capture(state, i, scene, rows) for i in range(len(state.cameras))])
    return finals


def capture(state: BrainState, i: int, scene, rows: np.ndarray | None = None) -> np.ndarray:
    """Camera ``i``'s images of every row of the Brain, or of ``rows`` only (in that order)."""
    from .camera import CameraCapture

    while len(state.captures) <= i:
        spec = state.cameras[len(state.captures)]
        # RENDER mode uses the scene's engine, except EEVEE, which needs a GPU: Workbench then
        engine = "BLENDER_WORKBENCH" if scene.render.engine.startswith("BLENDER_EEVEE") else None
        state.captures.append(CameraCapture(scene, spec, engine=engine))
    cap = state.captures[i]
    if rows is not None:
        by_row = {}
        for g in state.groups:
            by_row.update(zip(g.rows.tolist(), g.compiled.camera_objects[i], strict=True))
        return cap.capture(scene, [by_row[int(r)] for r in rows])
    images = None
    for g in state.groups:
        part = cap.capture(scene, g.compiled.camera_objects[i])
        if images is None:
            images = np.zeros((state.n, *part.shape[1:]), dtype=part.dtype)
        images[g.rows] = part
    return images
