"""Operators: thin shells that validate input, call the core and report errors."""

from .brains import ACADEMY_OT_brain_add, ACADEMY_OT_brain_duplicate, ACADEMY_OT_brain_remove

CLASSES = (ACADEMY_OT_brain_add, ACADEMY_OT_brain_remove, ACADEMY_OT_brain_duplicate)
