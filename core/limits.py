"""Size limits and the ranges numeric settings may take, and the error that names what is out of them.

Shared by the learners' configs (``training.config``), the behaviour specs (``core.specs``) and the
Brain's Blender properties: a setting or size is checked where it is made, before anything is
allocated, and the message names the setting, its value and what is allowed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["FLOAT32_MAX", "LIMITS", "MiB", "Range", "SettingsError", "check_range"]


class SettingsError(ValueError):
    """A setting is outside its range or a size is over its limit; the message names the setting,
    its value and what is allowed (the caller adds the Brain, Agent or node)."""


MiB = 1 << 20

LIMITS: dict[str, int] = {
    "observation_size": 65_536,
    "rays": 64,
    "image_size": 1024,
    "action_size": 1024,
    "hidden_units": 4096,
    "num_layers": 16,
    "cnn_features": 4096,
    "buffer_size": 10_000_000,
    "model_bytes": 512 * MiB,
    "buffer_bytes": 8192 * MiB,
    "batch_bytes": 2048 * MiB,
}
"""Size limits, checked before anything is allocated (the scene's specs, the configs, ``arch.check_sizes``).

Far above any sane scene and far below what exhausts a machine: ``observation_size`` numbers in one
agent's vector observation; ``rays`` of one Ray Perception (the node's own maximum too);
``image_size`` pixels of a camera image's width and height; ``action_size`` continuous actions, or
discrete branches, or choices of one branch; ``hidden_units``, ``num_layers``, ``cnn_features`` and
``buffer_size`` of a Brain's config; ``model_bytes`` of the network's float32 parameters (estimated
from the config and the spaces: a stored ``hidden_units`` of 6000 over a large observation is refused
before it is built); ``buffer_bytes`` of the PPO rollout or DQN replay memory (steps x agents x
observation bytes); ``batch_bytes`` of one gradient step's inputs and activations (PPO minibatch or
DQN batch x the floats each sample passes through the networks).
"""


_NO_BOUND = 2**31 - 1  # Blender's int properties end there; its floats much further
FLOAT32_MAX = 3.4028234663852886e38


@dataclass(frozen=True)
class Range:
    """The values a numeric setting may take: ``low`` to ``high``; ``low`` itself excluded when ``low_open``."""

    low: float
    high: float
    low_open: bool = False

    def contains(self, value: float) -> bool:
        """Whether ``value`` is allowed: never NaN or infinite, nor float32's largest magnitude (Blender stores
        an infinity typed into a float field as that, and nothing computed from it stays finite)."""
        if not math.isfinite(value) or abs(value) >= FLOAT32_MAX:
            return False
        return (value > self.low if self.low_open else value >= self.low) and value <= self.high

    def describe(self) -> str:
        """The range in words: "0 to 1", "more than 0 and at most 10", "at least 1" (int32's ends are no bound)."""
        low, high = _number(self.low), _number(self.high)
        if self.low <= -_NO_BOUND:
            return "a finite number" if self.high >= _NO_BOUND else f"a finite number up to {high}"
        if self.high >= _NO_BOUND:
            return f"more than {low}" if self.low_open else f"at least {low}"
        return f"more than {low} and at most {high}" if self.low_open else f"{low} to {high}"

    @property
    def ui_min(self) -> float:
        """The lowest value a Blender property may hold (above ``low`` when it is excluded, also in float32)."""
        return self.low + max(abs(self.low) * 1e-6, 1e-30) if self.low_open else self.low


def _number(value: float) -> str:
    if isinstance(value, int) or (math.isfinite(value) and value.is_integer() and abs(value) < 1e15):
        return str(int(value))
    return f"{value:g}"


def check_range(label: str, value: Any, allowed: Range) -> None:
    """Raise :class:`SettingsError` "``label`` is ``value``; it must be ``range``" unless ``value`` is allowed."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not allowed.contains(value):
        shown = _number(value) if isinstance(value, int | float) and not isinstance(value, bool) else repr(value)
        raise SettingsError(f"{label} is {shown}; it must be {allowed.describe()}")
