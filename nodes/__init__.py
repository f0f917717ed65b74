"""The behaviour node tree: editor type, sockets, nodes by category, and the compiler into behaviour specs.

Public API for the rest of the add-on:

- ``compiled(tree)`` → :class:`compile.Compiled` (``.behaviour`` is a ``core.specs.Behaviour``),
  cached per tree revision; raises :class:`NodeError` naming the node at fault.
- ``validate(tree, scene)`` → [(node, message)]: compiles, checks the agents using the tree, marks
  the nodes at fault in the editor.
- ``revision(tree)`` → a tuple that changes whenever the tree or a group in it is edited: a running
  Academy compares it with the one it started with to notice live edits.
- ``behaviour_source(obj)`` and ``agent_revision(obj)``: registered with ``env.behaviours`` while
  the add-on is enabled (the Academy asks them for an agent's behaviour and its edit state).
"""

import bpy

from ..env import behaviours
from . import agent, group, input, math, menu, output
from .base import ERRORS, NOTES, WARNINGS, NodeError, set_value
from .checks import (
    behaviour_provenance,
    behaviour_source,
    clear_cache,
    compiled,
    revision,
    scene_warnings,
    tree_errors,
    tree_warnings,
    validate,
)
from .compile import Compiled, compile_tree
from .sockets import SOCKETS
from .tree import AcademyNodeTree, _schedule_validation

NODES = input.CLASSES + math.CLASSES + agent.CLASSES + output.CLASSES

CLASSES = (AcademyNodeTree, *SOCKETS, *NODES, *group.CLASSES)


@bpy.app.handlers.persistent
def on_load_post(*_args) -> None:
    """A new file: forget what was compiled and shown for the old one; check the new file's trees."""
    clear_cache()
    ERRORS.clear()
    NOTES.clear()
    WARNINGS.clear()
    _schedule_validation()


HANDLERS = (("load_post", on_load_post),)


def agent_revision(obj):
    """``env.behaviours`` revision: (tree name, revisions of the tree and its groups), or None."""
    tree = getattr(getattr(obj, "academy_agent", None), "behaviour_tree", None)
    return None if tree is None else (tree.name, revision(tree))


def post_register() -> None:
    menu.register()
    group.register_keymaps()
    behaviours.register_source(behaviour_source)
    behaviours.register_revision(agent_revision)
    behaviours.register_provenance(behaviour_provenance)


def pre_unregister() -> None:
    behaviours.unregister_provenance(behaviour_provenance)
    behaviours.unregister_revision(agent_revision)
    behaviours.unregister_source(behaviour_source)
    group.unregister_keymaps()
    menu.unregister()
    clear_cache()
    ERRORS.clear()
    NOTES.clear()
    WARNINGS.clear()


__all__ = [
    "CLASSES",
    "Compiled",
    "NodeError",
    "behaviour_provenance",
    "behaviour_source",
    "compile_tree",
    "compiled",
    "revision",
    "set_value",
    "scene_warnings",
    "tree_errors",
    "tree_warnings",
    "validate",
]
