"""Add-on preferences: PyTorch status and installation."""

import bpy

from ..env import torch_setup


class AcademyPreferences(bpy.types.AddonPreferences):
    """Agent Academy preferences"""

    bl_idname = torch_setup.extension_package()

    torch_variant: bpy.props.EnumProperty(
        name="Build",
        description="Which PyTorch build to install",
        items=(
            ("DEFAULT", "Standard", "The platform's standard build (CUDA on Linux, CPU on Windows, Metal on macOS)"),
            ("CPU", "CPU only", "A smaller CPU-only build, from the package index given below"),
        ),
        default="DEFAULT",
    )
    torch_index_url: bpy.props.StringProperty(
        name="PyTorch Index URL",
        description="Package index serving CPU-only PyTorch builds (needed for the CPU only build)",
        default="",
    )
    install_status: bpy.props.StringProperty(
        name="Status",
        description="What the last PyTorch installation said",
        default="",
        options={"SKIP_SAVE"},
    )

    def draw(self, context):
        layout = self.layout
        usable, detail = torch_setup.torch_status()
        box = layout.box()
        if usable:
            box.label(text=f"PyTorch {detail} is available: training works", icon="CHECKMARK")
        elif detail == "not installed":
            box.label(text="PyTorch is not installed: Train is unavailable", icon="ERROR")
        else:
            box.label(text=f"PyTorch is installed but does not load ({detail}): Train is unavailable", icon="ERROR")
            box.label(text="Heuristic and Player Brains, playback and baking of trained Brains work without it")
        col = layout.column()
        col.use_property_split = True
        col.prop(self, "torch_variant")
        row = col.row()
        row.active = self.torch_variant == "CPU"
        row.prop(self, "torch_index_url")
        row = layout.row()
        row.operator("academy.install_torch", icon="IMPORT")
        if not bpy.app.online_access:
            layout.label(text="Online access is off (Preferences → System → Network)", icon="INFO")
        if self.install_status:
            layout.label(text=self.install_status, icon="INFO")
        layout.label(text=f"Installs into: {torch_setup.site_dir()}")
