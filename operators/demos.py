"""A Brain's Demonstrations: remove, export, import, and Pretrain from Demonstrations."""

import bpy
from bpy_extras.io_utils import ExportHelper, ImportHelper

from ..env import demos
from ..env.brain_store import BrainError


def _brain(context):
    return context.scene.academy.active_brain


def _entry(brain):
    items = brain.demos.items
    return items[min(brain.demos.active_index, len(items) - 1)] if len(items) else None


def _poll_entry(cls, context) -> bool:
    brain = _brain(context)
    if brain is None:
        cls.poll_message_set("No Brain is selected")
        return False
    if _entry(brain) is None:
        cls.poll_message_set(f"Brain '{brain.name}' has no demonstrations (Record Demonstrations, then Play)")
        return False
    return True


class ACADEMY_OT_demo_remove(bpy.types.Operator):
    """Delete the selected recording from the Brain's Demonstrations"""

    bl_idname = "academy.demo_remove"
    bl_label = "Remove Demonstration"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return _poll_entry(cls, context)

    def execute(self, context):
        brain = _brain(context)
        items, index = brain.demos.items, min(brain.demos.active_index, len(brain.demos.items) - 1)
        items.remove(index)
        brain.demos.active_index = max(0, min(index, len(items) - 1))
        return {"FINISHED"}


class ACADEMY_OT_demo_export(bpy.types.Operator, ExportHelper):
    """Save the selected recording to a file (.npz arrays and a JSON header, no pickle) to import elsewhere"""

    bl_idname = "academy.demo_export"
    bl_label = "Export Demonstration"
    bl_options = {"REGISTER"}
    filename_ext = ".npz"
    filter_glob: bpy.props.StringProperty(default="*.npz", options={"HIDDEN"})

    @classmethod
    def poll(cls, context):
        return _poll_entry(cls, context)

    def execute(self, context):
        brain = _brain(context)
        try:
            path = demos.export_entry(brain, _entry(brain), self.filepath)
        except (BrainError, OSError) as exc:
            self.report({"ERROR"}, f"Brain '{brain.name}': could not export: {exc}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Exported demonstration '{_entry(brain).name}' to {path}")
        return {"FINISHED"}


class ACADEMY_OT_demo_import(bpy.types.Operator, ImportHelper):
    """Add the demonstrations in a file (exported from a Brain) to the selected Brain's Demonstrations"""

    bl_idname = "academy.demo_import"
    bl_label = "Import Demonstration"
    bl_options = {"REGISTER", "UNDO"}
    filename_ext = ".npz"
    filter_glob: bpy.props.StringProperty(default="*.npz", options={"HIDDEN"})

    @classmethod
    def poll(cls, context):
        if _brain(context) is None:
            cls.poll_message_set("No Brain is selected")
            return False
        return True

    def execute(self, context):
        brain = _brain(context)
        try:
            entry = demos.import_file(brain, self.filepath)
        except BrainError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        except OSError as exc:
            self.report({"ERROR"}, f"Brain '{brain.name}': could not read {self.filepath}: {exc}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Brain '{brain.name}': added '{entry.name}' ({entry.steps:,} steps)")
        return {"FINISHED"}


class ACADEMY_OT_pretrain(bpy.types.Operator):
    """Behaviour cloning: teach the selected Brain's policy to repeat its demonstrated actions (Pretrain Epochs \
passes), starting from its model if it has one; Train then goes on from there"""

    bl_idname = "academy.pretrain"
    bl_label = "Pretrain from Demonstrations"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        if not _poll_entry(cls, context):
            return False
        if _brain(context).brain_type != "TRAINING":
            cls.poll_message_set("Only a Training Brain learns from demonstrations")
            return False
        return True

    def execute(self, context):
        brain = _brain(context)
        try:
            stats = demos.pretrain_brain(context.scene, brain)
        except (BrainError, ImportError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        if "bc_agreement" in stats:
            said = f"repeats {stats['bc_agreement']:.0%} of the demonstrated actions"
        else:
            said = f"is {stats['bc_action_error']:.3f} from the demonstrated actions on average"
        self.report({"INFO"}, f"Brain '{brain.name}' pretrained: its policy {said}")
        return {"FINISHED"}
