"""Scene properties → Academy: settings, reset parameters, the Brain list and the selected Brain."""

import textwrap

import bpy

from ..env.brain_store import has_model
from ..training.config import NETWORK_FIELDS

BRAIN_ICONS = {"TRAINING": "PLAY", "INFERENCE": "FORWARD", "HEURISTIC": "NODETREE", "PLAYER": "EVENT_SPACEKEY"}

# Hyper-parameters grouped for reading (the network's fields from training.config); others are "Learning".
NORMALISATION_FIELDS = ("normalize_obs", "obs_clip", "normalize_reward", "reward_clip", "normalize_advantage")


def algorithm_settings(brain):
    return brain.algorithm_settings()


def learning_fields(settings) -> list[str]:
    names = [p.identifier for p in settings.bl_rna.properties if p.identifier not in {"rna_type", "name"}]
    return [n for n in names if n not in NETWORK_FIELDS and n not in NORMALISATION_FIELDS]


class ACADEMY_UL_brains(bpy.types.UIList):
    """The Brains of the scene's Academy"""

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index):
        row = layout.row(align=True)
        row.prop(item, "name", text="", emboss=False, icon=BRAIN_ICONS.get(item.brain_type, "DOT"))
        row.label(text=item.bl_rna.properties["brain_type"].enum_items[item.brain_type].name)
        row.label(text="", icon="CHECKMARK" if has_model(item) else "BLANK1")


class ACADEMY_UL_reset_parameters(bpy.types.UIList):
    """Values drawn again at every episode reset"""

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index):
        row = layout.row(align=True)
        row.prop(item, "name", text="", emboss=False)
        row.prop(item, "mode", text="")
        if item.mode == "UNIFORM":
            row.prop(item, "minimum", text="Min")
            row.prop(item, "maximum", text="Max")
        else:
            row.prop(item, "value", text="")


class _AcademyPanel:
    bl_space_type = "PROPERTIES"
    bl_region_type = "WINDOW"
    bl_context = "scene"


class ACADEMY_PT_academy(_AcademyPanel, bpy.types.Panel):
    """Agent Academy settings of this scene"""

    bl_label = "Academy"
    bl_idname = "ACADEMY_PT_academy"

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        academy = context.scene.academy
        from ..env.handlers import LOAD_PROBLEMS

        problem = LOAD_PROBLEMS.get(context.scene.name)
        if problem:  # found when the file was loaded; checked again here until it is fixed
            problem = _still_wrong(context.scene)
        if problem:
            box = layout.box()
            box.alert = True
            for i, line in enumerate(textwrap.wrap(problem, 60)):
                box.label(text=line, icon="ERROR" if i == 0 else "BLANK1")
        col = layout.column()
        col.prop(academy, "decision_period")
        col.prop(academy, "max_steps")
        col.prop(academy, "seed")
        col.prop(academy, "training_steps")
        col.prop(academy, "workers")
        if academy.workers >= 2:
            col.prop(academy, "ray_address")

        layout.use_property_split = False
        layout.label(text="Brains")
        row = layout.row()
        row.template_list("ACADEMY_UL_brains", "", academy, "brains", academy, "active_brain_index", rows=3)
        col = row.column(align=True)
        col.operator("academy.brain_add", icon="ADD", text="")
        col.operator("academy.brain_remove", icon="REMOVE", text="")
        col.separator()
        col.operator("academy.brain_duplicate", icon="DUPLICATE", text="")


def _still_wrong(scene) -> str | None:
    """The scene's settings problem found on load, if it still holds (forgotten once fixed)."""
    from ..core.limits import SettingsError
    from ..env.handlers import LOAD_PROBLEMS

    try:
        scene.academy.check(scene)
    except SettingsError as exc:
        LOAD_PROBLEMS[scene.name] = str(exc)
        return str(exc)
    LOAD_PROBLEMS.pop(scene.name, None)
    return None


class ACADEMY_PT_reset_parameters(_AcademyPanel, bpy.types.Panel):
    """Named values drawn again at every episode reset (randomisation)"""

    bl_label = "Reset Parameters"
    bl_idname = "ACADEMY_PT_reset_parameters"
    bl_parent_id = "ACADEMY_PT_academy"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        academy = context.scene.academy
        row = self.layout.row()
        row.template_list(
            "ACADEMY_UL_reset_parameters", "", academy, "reset_parameters", academy, "active_reset_parameter", rows=2
        )
        col = row.column(align=True)
        col.operator("academy.reset_parameter_add", icon="ADD", text="")
        col.operator("academy.reset_parameter_remove", icon="REMOVE", text="")


class ACADEMY_UL_lessons(bpy.types.UIList):
    """The curriculum's lessons, in order; the current one is marked"""

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index):
        current = index == data.current_lesson
        row = layout.row(align=True)
        row.prop(item, "name", text="", emboss=False, icon="PLAY" if current else "DOT")
        last = index == len(data.lessons) - 1
        row.label(text="last" if last else f"{item.measure.title()} ≥ {item.threshold:g}")


class ACADEMY_PT_curriculum(_AcademyPanel, bpy.types.Panel):
    """Lessons that set reset parameters until their completion criterion holds"""

    bl_label = "Curriculum"
    bl_idname = "ACADEMY_PT_curriculum"
    bl_parent_id = "ACADEMY_PT_academy"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        academy = context.scene.academy
        row = layout.row()
        row.template_list("ACADEMY_UL_lessons", "", academy, "lessons", academy, "active_lesson", rows=2)
        col = row.column(align=True)
        col.operator("academy.lesson_add", icon="ADD", text="")
        col.operator("academy.lesson_remove", icon="REMOVE", text="")
        if not academy.lessons:
            return
        current = academy.lessons[min(academy.current_lesson, len(academy.lessons) - 1)]
        layout.label(text=f"Current lesson: {current.name} ({academy.current_lesson + 1} of {len(academy.lessons)})")
        if not 0 <= academy.active_lesson < len(academy.lessons):
            return
        lesson = academy.lessons[academy.active_lesson]
        col = layout.column()
        col.use_property_split = True
        col.prop(lesson, "measure")
        col.prop(lesson, "threshold")
        col.prop(lesson, "min_length")
        col.prop_search(lesson, "brain", academy, "brains")
        row = layout.row()
        row.template_list("ACADEMY_UL_reset_parameters", "lesson", lesson, "values", lesson, "active_lesson_value",
                          rows=2)  # fmt: skip
        col = row.column(align=True)
        col.operator("academy.lesson_value_add", icon="ADD", text="")
        col.operator("academy.lesson_value_remove", icon="REMOVE", text="")


class ACADEMY_PT_brain(_AcademyPanel, bpy.types.Panel):
    """Settings of the Brain selected in the list"""

    bl_label = "Brain"
    bl_idname = "ACADEMY_PT_brain"
    bl_parent_id = "ACADEMY_PT_academy"

    @classmethod
    def poll(cls, context):
        return context.scene.academy.active_brain is not None

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        brain = context.scene.academy.active_brain
        layout.prop(brain, "brain_type")
        row = layout.row()
        row.active = brain.brain_type == "TRAINING"
        row.prop(brain, "algorithm")
        if brain.brain_type in {"TRAINING", "INFERENCE"}:
            layout.prop(brain, "deterministic")  # how Play, Bake and evaluation act
        if brain.brain_type == "TRAINING" and brain.self_play.enabled:
            layout.label(text=f"Self-play ELO {brain.self_play.elo:.1f}", icon="SOLO_ON")
        if has_model(brain):
            layout.label(
                text=f"Trained {brain.trained_steps:,} steps · mean reward {brain.mean_reward:.2f}", icon="CHECKMARK"
            )
        elif brain.brain_type == "INFERENCE":
            layout.label(text="No trained model: train it or import one", icon="ERROR")
        else:
            layout.label(text="Untrained", icon="INFO")


class _BrainSubPanel(_AcademyPanel):
    bl_parent_id = "ACADEMY_PT_brain"

    @classmethod
    def poll(cls, context):
        brain = context.scene.academy.active_brain
        return brain is not None and brain.brain_type in cls.brain_types

    brain_types = {"TRAINING"}


class ACADEMY_PT_brain_learning(_BrainSubPanel, bpy.types.Panel):
    """How the Brain learns: rollout, optimiser and algorithm settings"""

    bl_label = "Learning"
    bl_idname = "ACADEMY_PT_brain_learning"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        settings = algorithm_settings(context.scene.academy.active_brain)
        col = layout.column()
        for name in learning_fields(settings):
            col.prop(settings, name)


class ACADEMY_PT_brain_network(_BrainSubPanel, bpy.types.Panel):
    """The Brain's neural network and input normalisation"""

    bl_label = "Network"
    bl_idname = "ACADEMY_PT_brain_network"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        settings = algorithm_settings(context.scene.academy.active_brain)
        col = layout.column()
        for name in NETWORK_FIELDS + NORMALISATION_FIELDS:
            if name in settings.bl_rna.properties:
                col.prop(settings, name)


class ACADEMY_PT_brain_model(_BrainSubPanel, bpy.types.Panel):
    """The Brain's trained model: status, export, import, reset"""

    bl_label = "Model"
    bl_idname = "ACADEMY_PT_brain_model"
    brain_types = {"TRAINING", "INFERENCE"}

    def draw(self, context):
        layout = self.layout
        brain = context.scene.academy.active_brain
        col = layout.column(align=True)
        col.label(text=f"Trained steps: {brain.trained_steps:,}")
        col.label(text=f"Mean reward: {brain.mean_reward:.3f}")
        row = layout.row(align=True)
        row.operator("academy.brain_export", icon="EXPORT", text="Export")
        row.operator("academy.brain_import", icon="IMPORT", text="Import")
        row.operator("academy.brain_forget", icon="TRASH", text="Reset")


class ACADEMY_PT_brain_self_play(_BrainSubPanel, bpy.types.Panel):
    """Training against frozen past snapshots of this Brain, and its ELO rating"""

    bl_label = "Self-Play"
    bl_idname = "ACADEMY_PT_brain_self_play"
    bl_options = {"DEFAULT_CLOSED"}

    def draw_header(self, context):
        self.layout.prop(context.scene.academy.active_brain.self_play, "enabled", text="")

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        settings = context.scene.academy.active_brain.self_play
        layout.label(text=f"ELO {settings.elo:.1f}", icon="SOLO_ON")
        col = layout.column()
        col.active = settings.enabled
        for name in ("snapshot_every", "window", "play_against_latest_ratio", "swap_steps", "team_change"):
            col.prop(settings, name)
        col.prop(settings, "initial_elo")


class ACADEMY_UL_player_keys(bpy.types.UIList):
    """Keys a Player Brain follows"""

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index):
        row = layout.row(align=True)
        row.prop(item, "key", text="", event=True)
        row.prop(item, "action", text="Action")
        row.prop(item, "value", text="Value")


class ACADEMY_PT_brain_player(_BrainSubPanel, bpy.types.Panel):
    """Keys the agents of a Player Brain follow while Play runs (hover the 3D Viewport)"""

    bl_label = "Player Keys"
    bl_idname = "ACADEMY_PT_brain_player"
    brain_types = {"PLAYER"}

    def draw(self, context):
        brain = context.scene.academy.active_brain
        row = self.layout.row()
        row.template_list("ACADEMY_UL_player_keys", "", brain, "player_keys", brain, "active_player_key", rows=3)
        col = row.column(align=True)
        col.operator("academy.player_key_add", icon="ADD", text="")
        col.operator("academy.player_key_remove", icon="REMOVE", text="")
        self.layout.label(text="Discrete: Value is the choice. Continuous: Value is added to the axis.")
