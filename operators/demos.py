"""A Brain's Demonstrations: remove, export, import, read from keyframes, and Pretrain from Demonstrations."""

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


class ACADEMY_OT_demos_from_keyframes(bpy.types.Operator):
    """Play the agents' existing animation (keys or a baked take) through their behaviour and add what it \
demonstrates to the selected Brain's Demonstrations: the observations, rewards and episode ends of each decision, \
and the action that reproduces each change (inferred from the actuators; their reconstruction error is reported)"""

    bl_idname = "academy.demos_from_keyframes"
    bl_label = "Demonstrations from Keyframes"
    bl_options = {"REGISTER", "UNDO"}

    frame_start: bpy.props.IntProperty(
        name="Start", description="First frame to read (with End 0: the scene's range)", default=1, min=0
    )
    frame_end: bpy.props.IntProperty(
        name="End", description="Last frame to read (0: the scene's end)", default=0, min=0
    )
    selected_only: bpy.props.BoolProperty(
        name="Selected Agents Only", description="Read only the selected agents of the Brain (else all)", default=True
    )
    take: bpy.props.StringProperty(
        name="Take", description="Play only this baked take (the others muted meanwhile); empty: the animation as it is"
    )

    @classmethod
    def poll(cls, context):
        if _brain(context) is None:
            cls.poll_message_set("No Brain is selected")
            return False
        return True

    def invoke(self, context, event):
        self.frame_start, self.frame_end = context.scene.frame_start, context.scene.frame_end
        return context.window_manager.invoke_props_dialog(self)

    def execute(self, context):
        from ..env.keyframe_demos import add_from_keyframes

        brain, scene = _brain(context), context.scene
        agents = None
        if self.selected_only:
            agents = [
                o.name
                for o in context.selected_objects
                if o.academy_agent.enabled and o.academy_agent.brain == brain.name
            ]
            if not agents:
                self.report({"ERROR"}, f"Brain '{brain.name}': none of its agents is selected")
                return {"CANCELLED"}
        start = self.frame_start if self.frame_end else scene.frame_start
        end = self.frame_end or scene.frame_end
        try:
            entry, read = add_from_keyframes(scene, brain, start, end, agents=agents, take=self.take or None)
        except BrainError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        worst = max(read.errors.values(), default=0.0)
        self.report({"INFO"}, f"Brain '{brain.name}': added '{entry.name}' ({entry.steps:,} decisions, "
                    f"{entry.episodes} episodes; largest actuator RMS error {worst:.3g})")  # fmt: skip
        for line in read.summary().splitlines()[1:]:
            self.report({"WARNING"} if "no action reproduces" in line else {"INFO"}, line)
        return {"FINISHED"}
