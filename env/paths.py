"""Resolve data paths on Blender objects once, then read and write them cheaply every step."""

from __future__ import annotations

import re
from dataclasses import dataclass

_KEY = re.compile(r"""\[\s*(["'])(?P<key>.*?)\1\s*\]$""")
_INDEX = re.compile(r"\[\s*(?P<index>\d+)\s*\]$")


class PathError(ValueError):
    """A data path does not resolve on an object."""


@dataclass
class Accessor:
    """Reads and writes one property of one Blender struct (resolved from a data path).

    ``owner`` is the struct holding the property, ``attr`` its RNA name or custom-property key,
    ``index`` a component of an array property (-1: the whole value).
    """

    owner: object
    attr: str
    custom: bool
    index: int
    size: int
    cast: type = float  # the property's scalar type: writes are converted to it
    scalar: bool = False  # a single number (not an array, not one component of one)
    readonly: bool = False  # Blender refuses writes to it (``users``, ``dimensions`` of an empty, ...)

    def get(self) -> tuple[float, ...]:
        value = self.owner[self.attr] if self.custom else getattr(self.owner, self.attr)
        if self.index >= 0:
            return (float(value[self.index]),)
        if self.scalar:
            return (float(value),)
        return tuple(float(v) for v in value)

    def set(self, values) -> None:
        """Write ``values`` (a sequence of ``size`` numbers), converted to the property's type."""
        cast = self.cast
        if self.index >= 0:
            array = self.owner[self.attr] if self.custom else getattr(self.owner, self.attr)
            array[self.index] = _convert(cast, values[0])
        elif self.scalar:
            if self.custom:
                self.owner[self.attr] = _convert(cast, values[0])
            else:
                setattr(self.owner, self.attr, _convert(cast, values[0]))
        elif self.custom:
            self.owner[self.attr] = [_convert(cast, v) for v in values]
        else:
            setattr(self.owner, self.attr, tuple(_convert(cast, v) for v in values))

    def raw(self):
        """The current value as stored (for snapshots): a number, a tuple, or a string."""
        value = self.owner[self.attr] if self.custom else getattr(self.owner, self.attr)
        if self.index >= 0:
            return value[self.index]
        if hasattr(value, "__len__") and not isinstance(value, str):
            return tuple(value)
        return value

    def describe(self) -> str | None:
        """What this property is, for messages (``custom property ["hp"] of 'Cube'``); None if its object is gone."""
        try:
            owner = self.owner.id_data.name
        except (ReferenceError, AttributeError):
            return None
        part = f"[{self.index}]" if self.index >= 0 else ""
        if self.custom:
            return f"custom property [\"{self.attr}\"]{part} of '{owner}'"
        return f"property '{self.attr}{part}' of '{owner}'"

    def restore(self, raw) -> None:
        if self.index >= 0:
            array = self.owner[self.attr] if self.custom else getattr(self.owner, self.attr)
            array[self.index] = raw
        elif self.custom:
            self.owner[self.attr] = list(raw) if isinstance(raw, tuple) else raw
        else:
            setattr(self.owner, self.attr, raw)


def _convert(cast: type, value: float):
    if cast is float:
        return float(value)
    if cast is bool:
        return bool(value >= 0.5)
    return int(round(value))


def _scalar_type(value) -> type:
    first = value[0] if hasattr(value, "__len__") and len(value) else value
    if isinstance(first, bool):
        return bool
    return int if isinstance(first, int) else float


def resolve(id_data, path: str, index: int = -1) -> Accessor:
    """Resolve ``path`` on ``id_data`` (an Object) into an :class:`Accessor`.

    Accepts RNA paths (``location``, ``modifiers["Wave"].height``, ``pose.bones["Arm"].rotation_euler``,
    ``data.shape_keys.key_blocks["Smile"].value``), custom properties (``["hp"]``, ``modifiers["GN"]["Socket_2"]``)
    and a trailing component (``location[2]``). Raises :class:`PathError` with the reason.
    """
    path = path.strip()
    if not path:
        raise PathError("the data path is empty")
    m = _INDEX.search(path)
    if m and not _KEY.search(path):
        if index >= 0:
            raise PathError(f"'{path}' has an index and index={index} was given too")
        index = int(m.group("index"))
        path = path[: m.start()]
    key = _KEY.search(path)
    if key:
        owner_path, attr, custom = path[: key.start()], key.group("key"), True
    else:
        owner_path, _, attr = path.rpartition(".")
        custom = False
    try:
        owner = id_data.path_resolve(owner_path) if owner_path else id_data
    except ValueError:
        raise PathError(f"'{owner_path}' does not exist on '{id_data.name}'") from None
    if custom:
        try:
            value = owner[attr]
        except (KeyError, TypeError):
            raise PathError(f"'{id_data.name}' has no custom property {path}") from None
    else:
        if not hasattr(owner, "bl_rna") or attr not in owner.bl_rna.properties:
            raise PathError(f"'{attr}' is not a property of {_describe(owner)} on '{id_data.name}'")
        value = getattr(owner, attr)
    if isinstance(value, str) or not _numeric(value):
        raise PathError(f"'{path}' on '{id_data.name}' is not a number or a vector of numbers")
    length = len(value) if hasattr(value, "__len__") else 0
    if index >= 0:
        if index >= length:
            raise PathError(f"'{path}' on '{id_data.name}' has {length} components; index {index} is out of range")
        size = 1
    else:
        size = max(1, length)
    readonly = not custom and owner.bl_rna.properties[attr].is_readonly
    return Accessor(owner, attr, custom, index, size, _scalar_type(value), index < 0 and length == 0, readonly)


def check_writable(acc: Accessor, path: str, id_data) -> None:
    """Raise :class:`PathError` when Blender does not let anything write ``acc``."""
    if acc.readonly:
        raise PathError(f"'{path}' on '{id_data.name}' is read-only in Blender: nothing can write it")


def _numeric(value) -> bool:
    if isinstance(value, bool | int | float):
        return True
    try:
        return all(isinstance(v, bool | int | float) for v in value)
    except TypeError:
        return False


def _describe(owner) -> str:
    rna = getattr(owner, "bl_rna", None)
    return f"{rna.identifier}" if rna is not None else type(owner).__name__
