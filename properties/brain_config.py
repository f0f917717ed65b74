"""The Brain's algorithm settings, generated from the learning configs in ``training.config``.

Each dataclass field becomes a Blender property with the field's docstring as its tooltip and its
range from ``training.config.RANGES`` as min/max, so the UI, the .blend and the learner never
disagree about names, types, defaults or ranges. A .blend can still carry any value (ID properties
are written from Python, old files): ``to_config`` checks them all again.
"""

import dataclasses

import bpy

from ..training.config import RANGES, DQNConfig, PPOConfig, SACConfig, field_docs, field_label

# Fields whose values are a fixed set of words become drop-downs. ``training.config`` checks the
# same sets; tests/blender/test_env_academy.py builds a config from every choice to keep them in step.
CHOICES: dict[str, tuple[str, ...]] = {
    "lr_schedule": ("constant", "linear"),
    "clip_schedule": ("constant", "linear"),
    "activation": ("tanh", "relu"),
    "vis_encoder": ("auto", "small", "compact", "nature"),
    "continuous_dist": ("clipped", "squashed"),
    "loss": ("huber", "mse"),
}


def _prop_for(f: dataclasses.Field, doc: str):
    name, default = field_label(f.name), f.default
    description = doc or name
    if f.type in ("bool", bool):
        return bpy.props.BoolProperty(name=name, description=description, default=default)
    if f.type in ("int", int):
        allowed = RANGES[f.name]
        return bpy.props.IntProperty(
            name=name, description=description, default=default, min=int(allowed.ui_min), max=int(allowed.high)
        )
    if f.type in ("float", float):
        allowed = RANGES[f.name]
        return bpy.props.FloatProperty(
            name=name, description=description, default=default, precision=6, step=1, min=allowed.ui_min,
            max=allowed.high,
        )  # fmt: skip
    if f.name in CHOICES:
        items = tuple((c, c.title(), f"{description}: {c}") for c in CHOICES[f.name])
        return bpy.props.EnumProperty(name=name, description=description, items=items, default=default)
    return bpy.props.StringProperty(name=name, description=description, default=default)


def _make_group(config_cls, class_name: str):
    docs = field_docs(config_cls)
    annotations = {f.name: _prop_for(f, docs.get(f.name, "")) for f in dataclasses.fields(config_cls)}

    def to_config(self):
        return config_cls(**{name: getattr(self, name) for name in annotations})

    def from_config(self, config) -> None:
        for name in annotations:
            setattr(self, name, getattr(config, name))

    return type(
        class_name,
        (bpy.types.PropertyGroup,),
        {
            "__annotations__": annotations,
            "__doc__": (config_cls.__doc__ or "").strip().splitlines()[0],
            "to_config": to_config,
            "from_config": from_config,
            "config_class": config_cls,
        },
    )


PPOSettings = _make_group(PPOConfig, "AcademyPPOSettings")
DQNSettings = _make_group(DQNConfig, "AcademyDQNSettings")
SACSettings = _make_group(SACConfig, "AcademySACSettings")
