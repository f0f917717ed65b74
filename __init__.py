# SPDX-License-Identifier: GPL-3.0-or-later
"""Agent Academy: train learning agents inside a Blender scene.

This module does registration only. Each package exports ``CLASSES`` (registered in order,
PropertyGroups first) and may export ``HANDLERS`` (``(handler_list_name, function)`` pairs),
``post_register()`` and ``pre_unregister()`` for what is not a class (pointer properties on
Blender types, node menus). Errors raise; a failed registration is rolled back first so Blender
is left as it was.
"""

import bpy

from . import cli, env, nodes, operators, panels, properties

# PropertyGroups first: operators, panels and nodes refer to them.
PACKAGES = (properties, nodes, operators, panels, env)

CLI_COMMAND_ID = "agent_academy"
_cli_handle = None


def all_classes() -> list[type]:
    """Every class this extension registers, in registration order."""
    return [cls for pkg in PACKAGES for cls in pkg.CLASSES]


def all_handlers() -> list[tuple[str, object]]:
    """Every ``(bpy.app.handlers list name, function)`` pair this extension appends."""
    return [pair for pkg in PACKAGES for pair in getattr(pkg, "HANDLERS", ())]


def register() -> None:
    global _cli_handle
    done: list = []
    try:
        for pkg in PACKAGES:
            for cls in pkg.CLASSES:
                bpy.utils.register_class(cls)
                done.append(("class", cls))
            if hasattr(pkg, "post_register"):
                pkg.post_register()
                done.append(("pkg", pkg))
        for name, fn in all_handlers():
            getattr(bpy.app.handlers, name).append(fn)
            done.append(("handler", (name, fn)))
        _cli_handle = bpy.utils.register_cli_command(CLI_COMMAND_ID, cli.blender_cli)
    except BaseException:
        _undo(done)
        raise


def unregister() -> None:
    global _cli_handle
    if _cli_handle is not None:
        bpy.utils.unregister_cli_command(_cli_handle)
        _cli_handle = None
    done: list = []
    for pkg in PACKAGES:
        done.extend(("class", cls) for cls in pkg.CLASSES)
        if hasattr(pkg, "post_register"):
            done.append(("pkg", pkg))
    done.extend(("handler", pair) for pair in all_handlers())
    env.stop_all_sessions()
    _undo(done)


def _undo(done: list) -> None:
    """Reverse a (possibly partial) registration, newest first."""
    for kind, item in reversed(done):
        if kind == "handler":
            name, fn = item
            handlers = getattr(bpy.app.handlers, name)
            if fn in handlers:
                handlers.remove(fn)
        elif kind == "pkg":
            item.pre_unregister()
        elif getattr(item, "is_registered", False):
            bpy.utils.unregister_class(item)
