"""Export, import and forget a Brain's trained model."""

import bpy
from bpy_extras.io_utils import ExportHelper, ImportHelper

from ..env.brain_io import BrainIOError, export_brain, import_brain
from ..env.brain_store import forget_model, has_model


def _poll_trained(cls, context) -> bool:
    brain = context.scene.academy.active_brain
    if brain is None:
        cls.poll_message_set("No Brain is selected")
        return False
    if not has_model(brain):
        cls.poll_message_set(f"Brain '{brain.name}' has no trained model yet (train it or import one)")
        return False
    return True


EXTENSIONS = {"CHECKPOINT": ".academy", "ONNX": ".onnx", "SB3": ".zip"}


class ACADEMY_OT_brain_export(bpy.types.Operator, ExportHelper):
    """Save the selected Brain's trained model: a checkpoint (to resume or import later), ONNX (to run elsewhere) \
or a Stable-Baselines3 PPO .zip"""

    bl_idname = "academy.brain_export"
    bl_label = "Export Brain"
    bl_options = {"REGISTER"}

    filename_ext = ".academy"
    filter_glob: bpy.props.StringProperty(default="*.academy;*.onnx;*.zip", options={"HIDDEN"})
    format: bpy.props.EnumProperty(
        name="Format",
        description="What to write",
        items=(
            ("CHECKPOINT", "Checkpoint", "The full training state (.academy): import it into a Brain or resume"),
            ("ONNX", "ONNX", "The acting policy (.onnx) for other runtimes; needs PyTorch and onnx"),
            (
                "SB3",
                "Stable-Baselines3",
                "A Stable-Baselines3 PPO model (.zip) that acts as this PPO Brain; needs stable-baselines3",
            ),
        ),
        default="CHECKPOINT",
    )
    convention: bpy.props.EnumProperty(
        name="Convention",
        description="Whose loader the ONNX file's input and output names follow (ONNX only)",
        items=(
            (
                "ACADEMY",
                "Agent Academy",
                "Inputs named after the observations (images height x width x channels); outputs action "
                "and policy_output",
            ),
            (
                "MLAGENTS",
                "ML-Agents",
                "Unity ML-Agents' inference engine: inputs obs_0, obs_1, ... (images channels first, 0..1) "
                "and action_masks; outputs version_number, memory_size and the action tensors",
            ),
            (
                "GODOT",
                "Godot RL Agents",
                "The Godot RL Agents plugin: flat float inputs per observation and state_ins; outputs output "
                "(logits or action means in -1..1) and state_outs",
            ),
        ),
        default="ACADEMY",
    )

    @classmethod
    def poll(cls, context):
        return _poll_trained(cls, context)

    def check(self, context):
        self.filename_ext = EXTENSIONS[self.format]
        return super().check(context)

    def draw(self, context):
        self.layout.prop(self, "format")
        if self.format == "ONNX":  # a checkpoint has no convention
            self.layout.prop(self, "convention")

    def execute(self, context):
        brain = context.scene.academy.active_brain
        try:
            path = export_brain(brain, self.filepath, self.format, self.convention.lower())
        except BrainIOError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        except OSError as exc:  # the disk: no permission, full, or the file did not read back
            self.report({"ERROR"}, f"Brain '{brain.name}': could not export to {self.filepath}: {exc}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Exported Brain '{brain.name}' to {path}")
        return {"FINISHED"}


class ACADEMY_OT_brain_import(bpy.types.Operator, ImportHelper):
    """Load a checkpoint (.academy) or a Stable-Baselines3 PPO model (.zip) into the selected Brain; its shapes \
must match the Brain's agents"""

    bl_idname = "academy.brain_import"
    bl_label = "Import Brain"
    bl_options = {"REGISTER", "UNDO"}

    filename_ext = ".academy"
    filter_glob: bpy.props.StringProperty(default="*.academy;*.zip", options={"HIDDEN"})
    format: bpy.props.EnumProperty(
        name="Format",
        description="What the file is",
        items=(
            ("CHECKPOINT", "Checkpoint", "A checkpoint (.academy) exported from a Brain"),
            (
                "SB3",
                "Stable-Baselines3",
                "A Stable-Baselines3 PPO MlpPolicy model (.zip), read as data; the Brain's PPO settings become "
                "its hyper-parameters",
            ),
        ),
        default="CHECKPOINT",
    )

    @classmethod
    def poll(cls, context):
        if context.scene.academy.active_brain is None:
            cls.poll_message_set("No Brain is selected")
            return False
        return True

    def execute(self, context):
        brain = context.scene.academy.active_brain
        try:
            header = import_brain(context.scene, brain, self.filepath, self.format)
        except BrainIOError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        except OSError as exc:
            self.report({"ERROR"}, f"Brain '{brain.name}': could not read {self.filepath}: {exc}")
            return {"CANCELLED"}
        self.report(
            {"INFO"}, f"Brain '{brain.name}' now has a model trained {int(header.get('total_steps', 0)):,} steps"
        )
        return {"FINISHED"}


class ACADEMY_OT_brain_forget(bpy.types.Operator):
    """Delete the selected Brain's trained model, so the next Train starts from scratch"""

    bl_idname = "academy.brain_forget"
    bl_label = "Reset Model"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return _poll_trained(cls, context)

    def invoke(self, context, event):
        return context.window_manager.invoke_confirm(self, event)

    def execute(self, context):
        brain = context.scene.academy.active_brain
        forget_model(brain)
        self.report({"INFO"}, f"Brain '{brain.name}' will train from scratch")
        return {"FINISHED"}
