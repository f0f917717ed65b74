"""Install PyTorch into the extension's user directory (a modal operator polling a pip worker thread)."""

import bpy

from ..env import torch_setup


def preferences(context):
    return context.preferences.addons[torch_setup.extension_package()].preferences


class ACADEMY_OT_install_torch(bpy.types.Operator):
    """Install PyTorch for Agent Academy with pip (into the extension's user folder; needs online access)"""

    bl_idname = "academy.install_torch"
    bl_label = "Install PyTorch"
    bl_options = {"REGISTER"}

    _installer = None
    _timer = None

    @classmethod
    def poll(cls, context):
        if not bpy.app.online_access:
            cls.poll_message_set("Online access is disabled (Preferences → System → Network → Allow Online Access)")
            return False
        if torch_setup.torch_available():
            cls.poll_message_set("PyTorch is already installed")
            return False
        return True

    def _start(self, context):
        prefs = preferences(context)
        try:
            self._installer = torch_setup.install(prefs.torch_variant, prefs.torch_index_url.strip())
        except (PermissionError, ValueError, OSError) as exc:
            self.report({"ERROR"}, str(exc))
            return False
        prefs.install_status = self._installer.message
        return True

    def execute(self, context):
        if not self._start(context):
            return {"CANCELLED"}
        self._installer.wait()
        return self._finish(context)

    def invoke(self, context, event):
        if context.window is None:
            return self.execute(context)
        if not self._start(context):
            return {"CANCELLED"}
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.25, window=context.window)
        wm.modal_handler_add(self)
        wm.progress_begin(0, 1)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        prefs = preferences(context)
        prefs.install_status = self._installer.message
        context.area.tag_redraw() if context.area else None
        if not self._installer.done:
            return {"RUNNING_MODAL"}
        wm = context.window_manager
        wm.event_timer_remove(self._timer)
        wm.progress_end()
        return self._finish(context)

    def _finish(self, context):
        prefs = preferences(context)
        prefs.install_status = self._installer.message
        torch_setup.add_site_dir()
        torch_setup.torch_available(refresh=True)
        if self._installer.ok:
            self.report({"INFO"}, self._installer.message)
            return {"FINISHED"}
        self.report({"ERROR"}, f"Installing PyTorch failed: {self._installer.message}")
        return {"CANCELLED"}
