"""Operators: thin shells that validate input, call the core and report errors."""

from .bake import ACADEMY_OT_bake
from .brain_io import ACADEMY_OT_brain_export, ACADEMY_OT_brain_forget, ACADEMY_OT_brain_import
from .brains import ACADEMY_OT_brain_add, ACADEMY_OT_brain_duplicate, ACADEMY_OT_brain_remove
from .demos import (
    ACADEMY_OT_demo_export,
    ACADEMY_OT_demo_import,
    ACADEMY_OT_demo_remove,
    ACADEMY_OT_demos_from_keyframes,
    ACADEMY_OT_pretrain,
)
from .examples import ACADEMY_OT_add_example
from .lists import (
    ACADEMY_OT_agent_object_add,
    ACADEMY_OT_agent_object_remove,
    ACADEMY_OT_lesson_add,
    ACADEMY_OT_lesson_remove,
    ACADEMY_OT_lesson_value_add,
    ACADEMY_OT_lesson_value_remove,
    ACADEMY_OT_player_key_add,
    ACADEMY_OT_player_key_remove,
    ACADEMY_OT_reset_parameter_add,
    ACADEMY_OT_reset_parameter_remove,
)
from .run import ACADEMY_OT_play, ACADEMY_OT_stop, ACADEMY_OT_train
from .setup import ACADEMY_OT_install_torch

CLASSES = (
    ACADEMY_OT_brain_add,
    ACADEMY_OT_brain_remove,
    ACADEMY_OT_brain_duplicate,
    ACADEMY_OT_brain_export,
    ACADEMY_OT_brain_import,
    ACADEMY_OT_brain_forget,
    ACADEMY_OT_demo_remove,
    ACADEMY_OT_demo_export,
    ACADEMY_OT_demo_import,
    ACADEMY_OT_demos_from_keyframes,
    ACADEMY_OT_pretrain,
    ACADEMY_OT_reset_parameter_add,
    ACADEMY_OT_reset_parameter_remove,
    ACADEMY_OT_lesson_add,
    ACADEMY_OT_lesson_remove,
    ACADEMY_OT_lesson_value_add,
    ACADEMY_OT_lesson_value_remove,
    ACADEMY_OT_agent_object_add,
    ACADEMY_OT_agent_object_remove,
    ACADEMY_OT_player_key_add,
    ACADEMY_OT_player_key_remove,
    ACADEMY_OT_train,
    ACADEMY_OT_stop,
    ACADEMY_OT_play,
    ACADEMY_OT_install_torch,
    ACADEMY_OT_bake,
    ACADEMY_OT_add_example,
)
