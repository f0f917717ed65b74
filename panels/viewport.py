"""3D Viewport sidebar → Academy: the everyday controls and live statistics."""

import bpy

from ..env import sessions
from . import curves, monitor


def _operator_exists(idname: str) -> bool:
    group, _, name = idname.partition(".")
    try:
        getattr(getattr(bpy.ops, group), name).get_rna_type()
    except KeyError:
        return False
    return True


class ACADEMY_PT_viewport(bpy.types.Panel):
    """Train, stop, play and bake this scene's agents, and watch them learn"""

    bl_label = "Agent Academy"
    bl_idname = "ACADEMY_PT_viewport"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Academy"

    def draw(self, context):
        layout = self.layout
        scene = context.scene
        session = sessions.session_for(scene.name)
        row = layout.row(align=True)
        row.scale_y = 1.4
        row.operator("academy.train", icon="PLAY", text="Train")
        row.operator("academy.play", icon="FORWARD", text="Play")
        row.operator("academy.stop", icon="SNAP_FACE", text="Stop")
        if _operator_exists("academy.bake"):
            layout.operator("academy.bake", icon="ACTION", text="Bake")
        layout.operator_menu_enum("academy.add_example", "example", text="Add Example", icon="ADD")
        layout.prop(context.window_manager, monitor.PROPERTY, icon="HIDE_OFF")

        box = layout.box()
        if session is not None:
            box.label(text="Training" if session.training else "Playing", icon="TIME")
            notice = session.notice
            if notice:
                box.label(text=notice, icon="INFO")
            col = box.column(align=True)
            col.label(text=f"Agent steps: {session.agent_steps:,}")
            # the active Brain's own numbers when it runs, else the first running Brain's
            selected = scene.academy.active_brain
            active = selected.name if selected is not None else ""
            brain_name = active if active in session.stats else next(iter(session.stats), "")
            stats = session.stats[brain_name]
            if len(session.stats) > 1:
                col.label(text=f"Brain '{brain_name}'", icon="OUTLINER_DATA_GP_LAYER")
            col.label(text=f"Episodes: {stats.episodes:,}")
            col.label(text=f"Mean reward: {'–' if not stats.recent_returns else f'{stats.mean_return:.2f}'}")
            curve = stats.curve
        else:
            brain = scene.academy.active_brain
            if brain is None:
                box.label(text="No Brain yet (Scene Properties → Academy)", icon="INFO")
                return
            box.label(text=f"Brain '{brain.name}'", icon="OUTLINER_DATA_GP_LAYER")
            col = box.column(align=True)
            col.label(text=f"Trained steps: {brain.trained_steps:,}")
            col.label(text=f"Mean reward: {brain.mean_reward:.2f}")
            curve = curves.stored_curve(brain)
            brain_name = brain.name
        picture = curves.preview(scene.name, brain_name, curve)
        if picture is not None and picture.icon_id:
            box.template_icon(icon_value=picture.icon_id, scale=6.0)
            box.label(text="Mean reward (blue) and episode length (orange) over agent steps")
        elif picture is not None:
            box.label(text=f"Learning curve: {len(curve)} points", icon="GRAPH")
