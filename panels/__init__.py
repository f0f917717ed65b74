"""Panels and lists: draw code only."""

from .academy import ACADEMY_PT_academy, ACADEMY_PT_brain, ACADEMY_UL_brains
from .agent import ACADEMY_PT_agent

CLASSES = (ACADEMY_UL_brains, ACADEMY_PT_academy, ACADEMY_PT_brain, ACADEMY_PT_agent)
