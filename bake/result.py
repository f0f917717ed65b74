"""What a bake reports (:class:`BakeResult`) and the error it raises (:class:`BakeError`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["BakeError", "BakeResult"]


class BakeError(RuntimeError):
    """A bake cannot run as asked. The message names the Brain, object or setting."""


@dataclass
class BakeResult:
    """What one bake wrote. ``matrices``: the recorded world matrices (frames, 4, 4) of every moved object."""

    take: str
    action: str
    brain: str
    seed: int
    frame_start: int
    frame_end: int
    objects: list[str] = field(default_factory=list)  # objects given transform keys
    properties: list[str] = field(default_factory=list)  # property channels keyed, "datablock: path[index]"
    followers: list[str] = field(default_factory=list)  # moved, reproduced by what they follow (no keys)
    keys: int = 0
    fcurves: int = 0
    rollout_seconds: float = 0.0
    write_seconds: float = 0.0
    verify_seconds: float = 0.0
    max_error: float | None = None  # largest world-matrix difference on replaying the take (if verified)
    mismatched: list[str] = field(default_factory=list)  # moved objects the replay does not reproduce
    warnings: list[str] = field(default_factory=list)
    matrices: dict[str, np.ndarray] = field(default_factory=dict)
