"""Bake: run a Brain for a frame range and keep what it did as keyframes (a take in the NLA)."""

import bpy

from ..bake import BakeError, bake_takes
from ..env.academy import AcademyError
from ..env.brain_store import has_model
from .run import brains_with_agents


def _bakeable(scene) -> list[str]:
    """Brains with agents that can decide without learning: Heuristic, or with a trained model."""
    out = []
    for name in brains_with_agents(scene):
        brain = scene.academy.brains[name]
        if brain.brain_type == "HEURISTIC" or (brain.brain_type in {"TRAINING", "INFERENCE"} and has_model(brain)):
            out.append(name)
    return out


def _brain_items(self, context):
    names = _bakeable(context.scene) if context is not None else []
    return [(n, n, f"Bake what Brain '{n}' does") for n in names] or [("NONE", "No Brain can bake", "")]


class ACADEMY_OT_bake(bpy.types.Operator):
    """Run a trained or Heuristic Brain over a frame range and bake what moved into keyframes (one NLA take per seed)"""

    bl_idname = "academy.bake"
    bl_label = "Bake"
    bl_options = {"REGISTER", "UNDO"}

    brain: bpy.props.EnumProperty(name="Brain", description="The Brain whose behaviour to bake", items=_brain_items)
    frame_start: bpy.props.IntProperty(name="Start", description="First frame of the take", default=1, min=0)
    frame_end: bpy.props.IntProperty(name="End", description="Last frame of the take", default=250, min=0)
    seed: bpy.props.IntProperty(name="Seed", description="Seed of the first take", default=0, min=0)
    takes: bpy.props.IntProperty(
        name="Takes", description="How many takes (one per seed: Seed, Seed+1, ...)", default=1, min=1, soft_max=8
    )
    every: bpy.props.IntProperty(
        name="Key Every", description="Keyframe every Nth frame (1: every frame)", default=1, min=1, soft_max=10
    )
    tolerance: bpy.props.FloatProperty(
        name="Simplify",
        description="Drop keys that linear interpolation reproduces within this tolerance (0: keep all)",
        default=0.0,
        min=0.0,
        precision=4,
    )
    from_reset: bpy.props.BoolProperty(
        name="Start from Reset",
        description="Start like a new episode (randomisation applied); off: from the scene as it is now",
        default=True,
    )
    selected_only: bpy.props.BoolProperty(
        name="Selected Only", description="Bake only the selected objects", default=False
    )

    @classmethod
    def poll(cls, context):
        if not _bakeable(context.scene):
            cls.poll_message_set("No Brain can bake: train one, import a model, or use a Heuristic Brain with agents")
            return False
        return True

    def invoke(self, context, event):
        scene = context.scene
        self.frame_start, self.frame_end = scene.frame_start, scene.frame_end
        return context.window_manager.invoke_props_dialog(self)

    def execute(self, context):
        scene = context.scene
        if self.brain == "NONE":
            self.report({"ERROR"}, "No Brain can bake")
            return {"CANCELLED"}
        if self.frame_end <= self.frame_start:
            self.report({"ERROR"}, f"End ({self.frame_end}) must come after Start ({self.frame_start})")
            return {"CANCELLED"}
        objects = [o.name for o in context.selected_objects] if self.selected_only else None
        try:
            results = bake_takes(
                scene,
                self.brain,
                self.frame_start,
                self.frame_end,
                seeds=range(self.seed, self.seed + self.takes),
                every=self.every,
                tolerance=self.tolerance,
                objects=objects,
                from_reset=self.from_reset,
            )
        except (AcademyError, BakeError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        for r in results:
            for warning in r.warnings:
                self.report({"WARNING"}, f"{r.take}: {warning}")
        keys = sum(r.keys for r in results)
        names = ", ".join(r.take for r in results)
        self.report({"INFO"}, f"Baked {len(results)} take(s) ({names}): {keys:,} keys")
        return {"FINISHED"}
