"""Run configuration files: ``./academy train --config RUN.toml`` and ``./academy config FILE.blend``.

A run file sets the Academy's and each Brain's settings before training, as ``mlagents-learn``'s
YAML does::

    [academy]
    seed = 0
    training_steps = 200000

    [brains.3DBall]
    algorithm = "PPO"

    [brains.3DBall.ppo]
    learning_rate = 3e-4

``[[academy.lessons]]`` tables (``name``, ``measure``, ``threshold``, ``min_length``, ``brain``,
``values = { gap = 1.0, speed = { min = 0.5, max = 1.5 } }``), in order, replace the scene's
curriculum lessons.

Every key is checked before any is applied: an unknown Brain, an unknown key, a wrong type or a
value out of its range is one :class:`RunConfigError` naming the file, the table and the key. The
ranges are the Blender properties' own (``training.config.RANGES`` for the algorithms' fields).
:func:`write_config` writes the settings a scene has now, so that training with that file changes
nothing. :func:`run_record` is what ``summary.json`` records of a run (hyper-parameters, seed,
versions).
"""

from __future__ import annotations

import math
import os
import re
import sys
import tomllib
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from ..core.limits import Range, SettingsError, check_range

#: Academy settings a run file may set (others are scene design, not run settings)
ACADEMY_KEYS = ("seed", "training_steps", "decision_period", "max_steps")
#: Brain settings a run file may set besides its algorithms' tables
BRAIN_KEYS = ("brain_type", "algorithm", "deterministic")
ALGORITHM_TABLES = ("ppo", "dqn", "sac")
#: a Brain's ``[brains.NAME.self_play]`` table (its ELO is a read-out, not a setting)
SELF_PLAY_KEYS = ("enabled", "snapshot_every", "window", "play_against_latest_ratio", "swap_steps", "team_change",
                  "initial_elo")  # fmt: skip


class RunConfigError(ValueError):
    """A run file that cannot be applied; the message names the file, the table and the key."""


def _where(path: str | os.PathLike, table: str, key: str | None = None) -> str:
    return f"{path}: [{table}]" + (f" {key}" if key is not None else "")


def _check_value(group, key: str, value: Any, where: Callable[[str], str]) -> Any:
    """``value`` as ``group``'s property ``key`` takes it; raises :class:`RunConfigError` unless it fits."""
    prop = group.bl_rna.properties.get(key)
    if prop is None or key in {"name", "rna_type", "uid"} or prop.type in {"POINTER", "COLLECTION"}:
        raise RunConfigError(f"{where(key)}: {_unknown(key, _settable(group))}")
    if prop.type == "BOOLEAN":
        if not isinstance(value, bool):
            raise RunConfigError(f"{where(key)}: expected true or false, got {value!r}")
        return value
    if prop.type in {"INT", "FLOAT"}:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RunConfigError(f"{where(key)}: expected a number, got {value!r}")
        if prop.type == "INT" and not isinstance(value, int):
            raise RunConfigError(f"{where(key)}: expected a whole number, got {value!r}")
        from ..training.config import RANGES

        generated = group.bl_rna.identifier.endswith(("PPOSettings", "DQNSettings", "SACSettings"))
        allowed = RANGES.get(key) if generated else None
        try:
            check_range(where(key), value, allowed or Range(prop.hard_min, prop.hard_max))
        except SettingsError as exc:
            raise RunConfigError(str(exc)) from None
        return value
    if prop.type == "ENUM":
        choices = [item.identifier for item in prop.enum_items]
        if not isinstance(value, str):
            raise RunConfigError(f"{where(key)}: expected one of {', '.join(choices)}, got {value!r}")
        # the drop-downs' words are upper case (PPO, TRAINING) or lower case (linear): either is accepted
        match = [c for c in choices if c.lower() == value.lower()]
        if not match:
            raise RunConfigError(f"{where(key)}: {value!r} is not one of {', '.join(choices)}")
        return match[0]
    if not isinstance(value, str):
        raise RunConfigError(f"{where(key)}: expected a string, got {value!r}")
    return value


def _unknown(key: str, known: Iterable[str]) -> str:
    """ "unknown key", with the nearest known key when one is close (a typo), else the known keys."""
    import difflib

    known = list(known)
    close = difflib.get_close_matches(key, known, n=1)
    return f"unknown key; did you mean {close[0]}?" if close else f"unknown key (known: {', '.join(known)})"


def _settable(group) -> list[str]:
    return [
        p.identifier
        for p in group.bl_rna.properties
        if p.identifier not in {"name", "rna_type", "uid"}
        and p.type not in {"POINTER", "COLLECTION"}
        and not p.is_readonly
    ]


def read_config(path: str | os.PathLike) -> dict[str, Any]:
    """The parsed run file; raises :class:`RunConfigError` when it is missing or not TOML."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise RunConfigError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise RunConfigError(f"{path}: not a valid TOML file: {exc}") from None


def apply_config(scene, path: str | os.PathLike, data: dict[str, Any] | None = None) -> list[str]:
    """Set ``scene``'s Academy and Brain settings from run file ``path`` (``data``: already parsed).

    Checks every key first and sets nothing if one is wrong (:class:`RunConfigError`). Returns the
    settings set, as ``table.key`` lines.
    """
    data = read_config(path) if data is None else data
    academy = scene.academy
    changes: list[tuple[Any, str, Any]] = []  # (property group, key, value), applied once all are checked
    for top, table in data.items():
        if top not in ("academy", "brains"):
            raise RunConfigError(f"{path}: unknown table [{top}] (known: [academy], [brains.NAME])")
        if not isinstance(table, dict):
            raise RunConfigError(f"{path}: {top} must be a table ([{top}])")
    lessons = None
    for key, value in data.get("academy", {}).items():
        where = partial(_where, path, "academy")
        if key == "lessons":  # [[academy.lessons]]: the curriculum
            lessons = check_lessons(path, value)
            continue
        if key not in ACADEMY_KEYS or isinstance(value, dict):
            raise RunConfigError(f"{where(key)}: {_unknown(key, ACADEMY_KEYS)}")
        changes.append((academy, key, _check_value(academy, key, value, where)))
    for name, table in data.get("brains", {}).items():
        brain = academy.brains.get(name)
        label = f"brains.{_key(name)}"
        if brain is None:
            names = ", ".join(b.name for b in academy.brains) or "none"
            raise RunConfigError(f"{_where(path, label)}: no Brain named '{name}' in scene '{scene.name}' "
                                 f"(Brains: {names})")  # fmt: skip
        if not isinstance(table, dict):
            raise RunConfigError(f"{path}: brains.{_key(name)} must be a table ([{label}])")
        for key, value in table.items():
            if key in ALGORITHM_TABLES:
                group = getattr(brain, key)
                sub = f"{label}.{key}"
                if not isinstance(value, dict):
                    raise RunConfigError(f"{_where(path, label, key)}: must be a table ([{sub}])")
                for k, v in value.items():
                    if isinstance(v, dict):
                        raise RunConfigError(f"{_where(path, sub, k)}: unknown table")
                    changes.append((group, k, _check_value(group, k, v, partial(_where, path, sub))))
            elif key == "self_play":
                sub = f"{label}.self_play"
                if not isinstance(value, dict):
                    raise RunConfigError(f"{_where(path, label, key)}: must be a table ([{sub}])")
                for k, v in value.items():
                    if k not in SELF_PLAY_KEYS or isinstance(v, dict):
                        raise RunConfigError(f"{_where(path, sub, k)}: {_unknown(k, SELF_PLAY_KEYS)}")
                    changes.append(
                        (brain.self_play, k, _check_value(brain.self_play, k, v, partial(_where, path, sub)))
                    )
            elif key in BRAIN_KEYS:
                changes.append((brain, key, _check_value(brain, key, value, partial(_where, path, label))))
            else:
                known = (*BRAIN_KEYS, *ALGORITHM_TABLES, "self_play")
                raise RunConfigError(f"{_where(path, label, key)}: {_unknown(key, known)}")
    before = [(group, key, getattr(group, key)) for group, key, _value in changes]
    for group, key, value in changes:
        setattr(group, key, value)
    for brain in academy.brains:  # what a combination of values breaks (each was in range alone)
        try:
            brain.check()
        except SettingsError as exc:
            for group, key, value in reversed(before):
                setattr(group, key, value)
            raise RunConfigError(f"{path}: {exc}") from None
    if lessons is not None:
        apply_lessons(academy, lessons)
    return [f"{getattr(g, 'name', '') or 'academy'}.{k}" for g, k, _v in changes] + (
        ["academy.lessons"] if lessons is not None else []
    )


_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _key(name: str) -> str:
    """A TOML key: bare when it can be, else a quoted string."""
    return name if _BARE.fullmatch(name) else _string(name)


def _string(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out + ['"'])


def _float32(value: float) -> str:
    """The shortest decimal that reads back as the same float32 (Blender stores float properties so)."""
    import numpy as np

    target = np.float32(value)
    for digits in range(1, 10):
        text = repr(float(f"{value:.{digits}g}"))  # repr: "10.0", "0.0003", "1e-05", each a TOML float
        if np.float32(float(text)) == target:
            return text
    return repr(value)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        assert math.isfinite(value), value  # a checked scene holds finite numbers only
        return _float32(value)
    return _string(str(value))


def _table(group, keys: Iterable[str]) -> list[str]:
    return [f"{k} = {_value(getattr(group, k))}" for k in keys]


def config_text(scene) -> str:
    """``scene``'s run settings as a run file: the Academy's and every Brain's (its algorithm's table)."""
    from ..compat import extension_version

    academy = scene.academy
    lines = [
        f"# Agent Academy {extension_version()} run settings of scene {scene.name!r}: "
        "./academy train FILE.blend --config THIS.toml",
        "",
        "[academy]",
        *_table(academy, ACADEMY_KEYS),
    ]
    for brain in academy.brains:
        algo = brain.algorithm.lower()
        label = f"brains.{_key(brain.name)}"
        lines += ["", f"[{label}]", *_table(brain, BRAIN_KEYS), "", f"[{label}.{algo}]"]
        group = getattr(brain, algo)
        lines += _table(group, [f.name for f in _fields(group)])
        lines += ["", f"[{label}.self_play]", *_table(brain.self_play, SELF_PLAY_KEYS)]
    lines += lessons_text(academy)
    return "\n".join(lines) + "\n"


def _fields(group):
    import dataclasses

    return dataclasses.fields(group.config_class)


def write_config(scene, path: str | os.PathLike) -> Path:
    """Write :func:`config_text` of ``scene`` to ``path`` (atomically); returns the path."""
    from ..core.files import write_atomic

    path = Path(path)
    write_atomic(path, config_text(scene).encode())
    return path


# -- the curriculum: [[academy.lessons]] --------------------------------------------------

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


def versions() -> dict[str, str | None]:
    """The versions a run ran with: the extension, Blender, PyTorch, numpy, Python."""
    import bpy
    import numpy

    from ..compat import extension_version, torch_version

    return {
        "agent_academy": extension_version(),
        "blender": bpy.app.version_string,
        "torch": torch_version(),
        "numpy": numpy.__version__,
        "python": sys.version.split()[0],
    }


def run_record(scene, trained: Iterable[str], seed: int | None, config: str | os.PathLike | None = None) -> dict:
    """What ``summary.json`` records of a run besides its numbers: the seed, the versions, the run
    file (if any) and each trained Brain's algorithm and hyper-parameters."""
    brains = {}
    for name in trained:
        brain = scene.academy.brains[name]
        settings = brain.config().to_dict()
        # float32 as Blender stores them, written as the decimals the run file and the UI show
        settings = {k: float(_float32(v)) if isinstance(v, float) else v for k, v in settings.items()}
        brains[name] = {"algorithm": brain.algorithm, **settings}
        if brain.self_play.enabled:
            brains[name]["self_play"] = {k: getattr(brain.self_play, k) for k in SELF_PLAY_KEYS[1:]}
    record: dict[str, Any] = {
        "seed": scene.academy.seed if seed is None else seed,
        "versions": versions(),
        "hyperparameters": brains,
    }
    if config is not None:
        record["config"] = str(config)
    return record
