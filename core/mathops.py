"""The element-wise operations of the behaviour spec's Unary, Binary and Compare expressions (no bpy).

Each table maps an operation name (``Unary.func``, ``Binary.func``, ``Compare.func``; the
compiler handles EQUAL and NOT_EQUAL itself, with their epsilon) to a numpy function. Division
by zero gives 0, as Blender's Math node; the logic operations take any non-zero value as true
and return 0.0 or 1.0.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["BINARY", "COMPARE", "UNARY"]

UNARY: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "NEGATE": np.negative,
    "ABSOLUTE": np.abs,
    "SQRT": lambda x: np.sqrt(np.maximum(x, 0.0)),
    "SINE": np.sin,
    "COSINE": np.cos,
    "TANGENT": np.tan,
    "EXPONENT": np.exp,
    "LOGARITHM": lambda x: np.log(np.maximum(x, 1e-30)),
    "FLOOR": np.floor,
    "CEIL": np.ceil,
    "ROUND": np.round,
    "SIGN": np.sign,
    "NOT": lambda x: (x == 0.0).astype(np.float64),
}
BINARY: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "ADD": np.add,
    "SUBTRACT": np.subtract,
    "MULTIPLY": np.multiply,
    "DIVIDE": lambda a, b: np.divide(a, np.where(b == 0.0, np.inf, b)),  # x/0 = 0, as Blender's Math node
    "POWER": lambda a, b: np.power(np.abs(a), b) * np.where(a < 0, np.where(b % 2 == 1, -1.0, 1.0), 1.0),
    "MINIMUM": np.minimum,
    "MAXIMUM": np.maximum,
    "MODULO": lambda a, b: np.fmod(a, np.where(b == 0.0, np.inf, b)),
    "ARCTAN2": np.arctan2,
    "AND": lambda a, b: ((a != 0) & (b != 0)).astype(np.float64),
    "OR": lambda a, b: ((a != 0) | (b != 0)).astype(np.float64),
    "XOR": lambda a, b: ((a != 0) ^ (b != 0)).astype(np.float64),
}
COMPARE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "LESS_THAN": np.less,
    "LESS_EQUAL": np.less_equal,
    "GREATER_THAN": np.greater,
    "GREATER_EQUAL": np.greater_equal,
}
