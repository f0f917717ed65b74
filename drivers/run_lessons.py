"""The curriculum in a run file: ``[[academy.lessons]]`` tables, in order, replace the scene's lessons::

    [[academy.lessons]]
    name = "Near"
    measure = "REWARD"          # or "PROGRESS"
    threshold = 0.8
    min_length = 100
    brain = "3DBall"            # optional: the scene's only Brain
    values = { gap = 1.0, speed = { min = 0.5, max = 1.5 } }

    [[academy.lessons]]
    name = "Far"
    values = { gap = 3.0 }

Checked like every other key (:class:`~.run_config.RunConfigError` naming the file, the lesson and the
key); :func:`lessons_text` writes a scene's lessons back the same way.
"""

from __future__ import annotations

import os
from functools import partial
from typing import Any

from .run_config import RunConfigError, _check_value, _key, _unknown, _value, _where

LESSON_KEYS = ("name", "measure", "threshold", "min_length", "brain", "values")


def check_lessons(path: str | os.PathLike, lessons: Any) -> list[dict[str, Any]]:
    """The run file's lessons, each checked: ``{key: value}`` with ``values`` as ``{name: (mode, value, min, max)}``."""
    from ..properties.curriculum import Lesson

    if not isinstance(lessons, list) or not all(isinstance(t, dict) for t in lessons):
        raise RunConfigError(f"{_where(path, 'academy', 'lessons')}: must be tables ([[academy.lessons]])")
    out = []
    for i, table in enumerate(lessons):
        where = partial(_where, path, f"academy.lessons {i + 1}")
        checked: dict[str, Any] = {"name": f"Lesson {i + 1}", "values": {}}
        for key, value in table.items():
            if key not in LESSON_KEYS:
                raise RunConfigError(f"{where(key)}: {_unknown(key, LESSON_KEYS)}")
            if key == "name":
                if not isinstance(value, str) or not value.strip():
                    raise RunConfigError(f"{where(key)}: expected a name, got {value!r}")
                checked[key] = value
            elif key == "values":
                checked[key] = _values(value, where)
            else:
                checked[key] = _check_value(Lesson, key, value, where)
        out.append(checked)
    return out


def _values(table: Any, where) -> dict[str, tuple[str, float, float, float]]:
    if not isinstance(table, dict):
        raise RunConfigError(f"{where('values')}: expected a table of reset parameter values")
    out = {}
    for name, v in table.items():
        number = (int, float)
        if isinstance(v, number) and not isinstance(v, bool):
            out[name] = ("FIXED", float(v), 0.0, 1.0)
        elif isinstance(v, dict) and set(v) == {"min", "max"} and all(isinstance(x, number) for x in v.values()):
            if v["min"] > v["max"]:
                raise RunConfigError(f"{where('values')}: {name}: min {v['min']:g} is above max {v['max']:g}")
            out[name] = ("UNIFORM", 0.0, float(v["min"]), float(v["max"]))
        else:
            raise RunConfigError(f"{where('values')}: {name}: expected a number or {{ min = …, max = … }}, got {v!r}")
    return out


def apply_lessons(academy, lessons: list[dict[str, Any]]) -> None:
    """Replace ``academy``'s lessons with the checked ``lessons``."""
    academy.lessons.clear()
    for table in lessons:
        lesson = academy.lessons.add()
        for key, value in table.items():
            if key != "values":
                setattr(lesson, key, value)
        for name, (mode, value, low, high) in table["values"].items():
            item = lesson.values.add()
            item.name, item.mode, item.value, item.minimum, item.maximum = name, mode, value, low, high
    academy.active_lesson = academy.current_lesson = 0


def lessons_text(academy) -> list[str]:
    """``academy``'s lessons as run-file lines (none without lessons)."""
    lines: list[str] = []
    for lesson in academy.lessons:
        lines += ["", "[[academy.lessons]]", f"name = {_value(lesson.name)}"]
        lines += [f"{k} = {_value(getattr(lesson, k))}" for k in ("measure", "threshold", "min_length", "brain")]
        parts = []
        for v in lesson.values:
            if v.mode == "UNIFORM":
                parts.append(f"{_key(v.name)} = {{ min = {_value(v.minimum)}, max = {_value(v.maximum)} }}")
            else:
                parts.append(f"{_key(v.name)} = {_value(v.value)}")
        lines.append(f"values = {{ {', '.join(parts)} }}" if parts else "values = {}")
    return lines
