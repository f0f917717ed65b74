"""A stand-in for ``bpy.types.UILayout`` that records what a panel draws and checks it exists.

Panels draw only in a UI; in background mode we call their ``draw`` with this layout instead.
Every ``prop``/``prop_search``/``template_list`` is checked against the RNA of the data it names,
and every ``operator`` against the registered operators, so a typo fails the test.
"""

from __future__ import annotations

import bpy


class RecordingLayout:
    def __init__(self, log: list | None = None):
        self.log: list[tuple] = [] if log is None else log
        self.use_property_split = False
        self.use_property_decorate = True
        self.enabled = True
        self.active = True
        self.alert = False
        self.scale_y = 1.0

    # containers
    def _child(self, *args, **kwargs) -> RecordingLayout:
        return RecordingLayout(self.log)

    row = column = box = split = column_flow = grid_flow = _child

    def panel(self, idname, default_closed=False):
        return RecordingLayout(self.log), RecordingLayout(self.log)

    # leaves
    def template_icon(self, icon_value=0, scale=1.0):
        assert icon_value > 0, "template_icon without an icon"
        self.log.append(("template_icon", icon_value))

    def label(self, text="", icon="NONE", **kwargs):
        self.log.append(("label", text))

    def separator(self, **kwargs):
        self.log.append(("separator",))

    def prop(self, data, property, **kwargs):
        _check_prop(data, property)
        self.log.append(("prop", type(data).__name__, property))

    def prop_search(self, data, property, search_data, search_property, **kwargs):
        _check_prop(data, property)
        _check_prop(search_data, search_property)
        self.log.append(("prop_search", type(data).__name__, property))

    def template_list(self, listtype_name, list_id, dataptr, propname, active_dataptr, active_propname, **kwargs):
        assert hasattr(bpy.types, listtype_name), f"UIList {listtype_name} is not registered"
        _check_prop(dataptr, propname)
        _check_prop(active_dataptr, active_propname)
        self.log.append(("template_list", listtype_name, propname))

    def operator_menu_enum(self, operator, property, **kwargs):
        props = self.operator(operator)
        assert property in props._rna.properties, f"{operator} has no property {property}"
        return props

    def menu(self, menu, **kwargs):
        assert hasattr(bpy.types, menu), f"menu {menu} is not registered"
        self.log.append(("menu", menu))

    def operator(self, operator, **kwargs):
        group, _, name = operator.partition(".")
        try:
            rna = getattr(getattr(bpy.ops, group), name).get_rna_type()  # hasattr(bpy.ops.x, y) is always True
        except KeyError:
            raise AssertionError(f"operator {operator} does not exist") from None
        self.log.append(("operator", operator))
        return _OperatorProperties(rna)


class _OperatorProperties:
    """What ``layout.operator`` returns: setting a property checks the operator has it."""

    def __init__(self, rna):
        object.__setattr__(self, "_rna", rna)

    def __setattr__(self, name, value):
        assert name in self._rna.properties, f"operator has no property {name}"
        object.__setattr__(self, name, value)


def _check_prop(data, prop: str) -> None:
    assert data is not None, f"drawing property {prop!r} of None"
    assert prop in data.bl_rna.properties, f"{type(data).__name__} has no property {prop!r}"


class _PanelProxy:
    """Stands in for the panel instance: ``draw`` only uses ``self.layout``."""

    def __init__(self, layout):
        self.layout = layout


def draw_panel(panel_class, context) -> list[tuple]:
    """Run ``panel_class``'s poll, header and body draw against a recording layout; return the log."""
    layout = RecordingLayout()
    if hasattr(panel_class, "poll") and not panel_class.poll(context):
        return [("poll-false",)]
    proxy = _PanelProxy(layout)
    if hasattr(panel_class, "draw_header"):
        panel_class.draw_header(proxy, context)
    panel_class.draw(proxy, context)
    return layout.log
