"""Add and remove items of the Academy's lists: reset parameters, lessons and their values, Agent
Objects, Player keys.

Every list is a collection plus the index of its selected item; one pair of operator classes is
made per list by :func:`list_operators`, so adding, naming, selecting and removing work the same
everywhere (the Brain list's own operators use :func:`unique_name` too).
"""

from __future__ import annotations

from collections.abc import Callable

import bpy


def unique_name(collection, base: str) -> str:
    """``base``, or ``base.001``, ``base.002``... whichever no item of ``collection`` has yet."""
    taken = {item.name for item in collection}
    if base not in taken:
        return base
    stem = base.rsplit(".", 1)[0] if base[-4:-3] == "." and base[-3:].isdigit() else base
    n = 1
    while f"{stem}.{n:03d}" in taken:
        n += 1
    return f"{stem}.{n:03d}"


def list_operators(
    name: str,
    owner: Callable,
    collection: str,
    active: str,
    base: str | None,
    no_owner: str,
    empty: str,
    add_doc: str,
    remove_doc: str,
    label: str,
):
    """Add and Remove operators for ``owner(context).<collection>`` with selection ``<active>``.

    ``owner`` returns the struct holding the list, or None (``no_owner`` says why then); ``base``
    names new items uniquely (None: leave unnamed); ``empty`` explains a disabled Remove.
    """

    def poll_owner(cls, context):
        if owner(context) is None:
            cls.poll_message_set(no_owner)
            return False
        return True

    def add(self, context):
        holder = owner(context)
        items = getattr(holder, collection)
        item = items.add()
        if base is not None:
            item.name = unique_name([i for i in items if i != item], base)
        setattr(holder, active, len(items) - 1)
        return {"FINISHED"}

    def poll_remove(cls, context):
        holder = owner(context)
        if holder is None:
            cls.poll_message_set(no_owner)
            return False
        if not len(getattr(holder, collection)):
            cls.poll_message_set(empty)
            return False
        return True

    def remove(self, context):
        holder = owner(context)
        items = getattr(holder, collection)
        index = min(getattr(holder, active), len(items) - 1)
        items.remove(index)
        setattr(holder, active, max(0, min(index, len(items) - 1)))
        return {"FINISHED"}

    options = {"REGISTER", "UNDO"}
    adder = type(
        f"ACADEMY_OT_{name}_add",
        (bpy.types.Operator,),
        {
            "__doc__": add_doc,
            "bl_idname": f"academy.{name}_add",
            "bl_label": f"Add {label}",
            "bl_options": options,
            "poll": classmethod(poll_owner),
            "execute": add,
        },  # fmt: skip
    )
    remover = type(
        f"ACADEMY_OT_{name}_remove",
        (bpy.types.Operator,),
        {
            "__doc__": remove_doc,
            "bl_idname": f"academy.{name}_remove",
            "bl_label": f"Remove {label}",
            "bl_options": options,
            "poll": classmethod(poll_remove),
            "execute": remove,
        },  # fmt: skip
    )
    return adder, remover


def _academy(context):
    return context.scene.academy


def _agent(context):
    return context.object.academy_agent if context.object is not None else None


def _selected_brain(context):
    return context.scene.academy.active_brain


ACADEMY_OT_reset_parameter_add, ACADEMY_OT_reset_parameter_remove = list_operators(
    "reset_parameter", _academy, "reset_parameters", "active_reset_parameter", "parameter",
    "No scene", "There are no reset parameters",
    "Add a reset parameter: a value drawn again at every episode reset", "Remove the selected reset parameter",
    "Reset Parameter",
)  # fmt: skip
ACADEMY_OT_lesson_add, ACADEMY_OT_lesson_remove = list_operators(
    "lesson", _academy, "lessons", "active_lesson", "Lesson",
    "No scene", "There are no lessons",
    "Add a lesson to the curriculum (after the others)", "Remove the selected lesson",
    "Lesson",
)  # fmt: skip


def _selected_lesson(context):
    academy = context.scene.academy
    return academy.lessons[academy.active_lesson] if 0 <= academy.active_lesson < len(academy.lessons) else None


ACADEMY_OT_lesson_value_add, ACADEMY_OT_lesson_value_remove = list_operators(
    "lesson_value", _selected_lesson, "values", "active_lesson_value", None,
    "No lesson is selected", "The lesson sets no reset parameters",
    "Set a reset parameter in the selected lesson (name it as the Academy's reset parameter)",
    "Remove the selected value from the lesson",
    "Lesson Value",
)  # fmt: skip
ACADEMY_OT_agent_object_add, ACADEMY_OT_agent_object_remove = list_operators(
    "agent_object", _agent, "objects", "active_object_index", "Target",
    "No active object", "This agent has no Agent Objects",
    "Link an object to this agent under a name its behaviour uses (e.g. its ball)", "Remove the selected Agent Object",
    "Agent Object",
)  # fmt: skip
ACADEMY_OT_player_key_add, ACADEMY_OT_player_key_remove = list_operators(
    "player_key", _selected_brain, "player_keys", "active_player_key", None,
    "No Brain is selected", "The Brain has no key bindings",
    "Bind a key to an action of the selected Player Brain", "Remove the selected key binding",
    "Key",
)  # fmt: skip
