"""Architecture facts shared by the torch networks and the numpy policy (no torch import)."""

from __future__ import annotations

from .spaces import Image

__all__ = ["CNN_LAYERS", "MIN_IMAGE_SIZE", "cnn_kind"]

# (out_channels, kernel, stride) per conv layer
CNN_LAYERS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "compact": ((16, 8, 4), (32, 4, 2)),  # ML-Agents "simple" encoder
    "nature": ((32, 8, 4), (64, 4, 2), (64, 3, 1)),  # Mnih et al. 2015
}
MIN_IMAGE_SIZE = {"compact": 20, "nature": 36}


def cnn_kind(space: Image, choice: str) -> str:
    """Resolve the encoder choice ('auto' picks Nature CNN from 64 px up, else compact)."""
    if choice == "auto":
        return "nature" if min(space.height, space.width) >= 64 else "compact"
    return choice
