"""Add one of the example scenes (built from nothing by the scripts in ``examples/``)."""

import bpy

from ..examples import EXAMPLES


def _items(self, context):
    return [
        (key, key.replace("_", " ").title(), (module.__doc__ or "").strip().splitlines()[0])
        for key, module in EXAMPLES.items()
    ]


class ACADEMY_OT_add_example(bpy.types.Operator):
    """Add an Agent Academy example as a new scene, ready to Train or Play"""

    bl_idname = "academy.add_example"
    bl_label = "Add Example"
    bl_options = {"REGISTER", "UNDO"}

    example: bpy.props.EnumProperty(name="Example", description="Which example scene to add", items=_items)

    def execute(self, context):
        module = EXAMPLES[self.example]
        scene = bpy.data.scenes.new(self.example.replace("_", " ").title())
        module.build(scene)
        if context.window is not None:
            context.window.scene = scene
        self.report({"INFO"}, f"Added the example scene '{scene.name}'")
        return {"FINISHED"}
