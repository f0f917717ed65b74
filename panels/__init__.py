"""Panels and lists: draw code only."""

import bpy

from . import curves, monitor
from .academy import (
    ACADEMY_PT_academy,
    ACADEMY_PT_brain,
    ACADEMY_PT_brain_learning,
    ACADEMY_PT_brain_model,
    ACADEMY_PT_brain_network,
    ACADEMY_PT_brain_player,
    ACADEMY_PT_brain_self_play,
    ACADEMY_PT_curriculum,
    ACADEMY_PT_reset_parameters,
    ACADEMY_UL_brains,
    ACADEMY_UL_lessons,
    ACADEMY_UL_player_keys,
    ACADEMY_UL_reset_parameters,
)
from .agent import ACADEMY_PT_agent, ACADEMY_UL_agent_objects
from .demos import ACADEMY_PT_brain_demos, ACADEMY_UL_demos
from .menus import ACADEMY_MT_examples, draw_file_new
from .node_editor import ACADEMY_PT_behaviour_tree
from .viewport import ACADEMY_PT_viewport

CLASSES = (
    ACADEMY_UL_brains,
    ACADEMY_UL_reset_parameters,
    ACADEMY_UL_lessons,
    ACADEMY_UL_player_keys,
    ACADEMY_UL_agent_objects,
    ACADEMY_UL_demos,
    ACADEMY_PT_academy,
    ACADEMY_PT_reset_parameters,
    ACADEMY_PT_curriculum,
    ACADEMY_PT_brain,
    ACADEMY_PT_brain_learning,
    ACADEMY_PT_brain_network,
    ACADEMY_PT_brain_model,
    ACADEMY_PT_brain_self_play,
    ACADEMY_PT_brain_player,
    ACADEMY_PT_brain_demos,
    ACADEMY_PT_agent,
    ACADEMY_PT_viewport,
    ACADEMY_MT_examples,
    ACADEMY_PT_behaviour_tree,
)


HANDLERS = (("load_post", monitor.on_load_post),)


def post_register() -> None:
    curves.register_previews()
    monitor.register_property()
    bpy.types.TOPBAR_MT_file_new.append(draw_file_new)


def pre_unregister() -> None:
    bpy.types.TOPBAR_MT_file_new.remove(draw_file_new)
    curves.unregister_previews()
    monitor.unregister_property()
