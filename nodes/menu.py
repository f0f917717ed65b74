"""The Add menu of the behaviour editor, by category (``nodeitems_utils``: Blender 4.5 and 5.0)."""

from __future__ import annotations

import bpy
import nodeitems_utils
from nodeitems_utils import NodeCategory, NodeItem

from .base import TREE

MENU_ID = "ACADEMY_NODES"


class AcademyCategory(NodeCategory):
    @classmethod
    def poll(cls, context):
        return getattr(context.space_data, "tree_type", "") == TREE


def _group_items(context):
    if context is None:
        return
    yield NodeItem("AcademyGroupNode", label="Group")
    space = getattr(context, "space_data", None)
    edit = getattr(space, "edit_tree", None)
    for tree in bpy.data.node_groups:
        if tree.bl_idname == TREE and tree != edit and any(n.bl_idname == "NodeGroupInput" for n in tree.nodes):
            yield NodeItem(
                "AcademyGroupNode", label=tree.name, settings={"node_tree": f"bpy.data.node_groups[{tree.name!r}]"}
            )


def categories() -> list[NodeCategory]:
    return [
        AcademyCategory(
            "ACADEMY_INPUT",
            "Input",
            items=[
                NodeItem(i)
                for i in (
                    "AcademySelfNode",
                    "AcademyObjectNode",
                    "AcademyPropertyNode",
                    "AcademyTransformNode",
                    "AcademyVelocityNode",
                    "AcademyDistanceNode",
                    "AcademyRayPerceptionNode",
                    "AcademyCameraNode",
                    "AcademyStepInfoNode",
                    "AcademyTrainingProgressNode",
                    "AcademyResetParameterNode",
                    "AcademyRandomNode",
                    "AcademyValueNode",
                    "AcademyTeamNode",
                    "AcademyOtherAgentNode",
                )  # fmt: skip
            ],
        ),
        AcademyCategory(
            "ACADEMY_MATH",
            "Math",
            items=[
                NodeItem(i)
                for i in (
                    "AcademyMathNode",
                    "AcademyVectorMathNode",
                    "AcademyCompareNode",
                    "AcademyBooleanNode",
                    "AcademyClampNode",
                    "AcademyMapRangeNode",
                    "AcademySwitchNode",
                    "AcademySeparateNode",
                    "AcademyCombineNode",
                    "AcademySelectNode",
                    "AcademyChangedNode",
                )  # fmt: skip
            ],
        ),
        AcademyCategory(
            "ACADEMY_AGENT",
            "Agent",
            items=[
                NodeItem(i)
                for i in (
                    "AcademyObserveNode",
                    "AcademyContinuousActionNode",
                    "AcademyDiscreteActionNode",
                    "AcademyRewardNode",
                    "AcademyGroupRewardNode",
                    "AcademyEndEpisodeNode",
                    "AcademyHeuristicActionNode",
                )  # fmt: skip
            ],
        ),
        AcademyCategory(
            "ACADEMY_OUTPUT",
            "Output",
            items=[
                NodeItem(i)
                for i in (
                    "AcademySetPropertyNode",
                    "AcademySetTransformNode",
                    "AcademyLookAtNode",
                    "AcademySetColourNode",
                    "AcademyActionMaskNode",
                )
            ],
        ),
        AcademyCategory("ACADEMY_GROUP", "Group", items=_group_items),
        AcademyCategory("ACADEMY_LAYOUT", "Layout", items=[NodeItem("NodeFrame"), NodeItem("NodeReroute")]),
    ]


def register() -> None:
    if MENU_ID in nodeitems_utils._node_categories:  # a failed earlier registration
        nodeitems_utils.unregister_node_categories(MENU_ID)
    nodeitems_utils.register_node_categories(MENU_ID, categories())


def unregister() -> None:
    if MENU_ID in nodeitems_utils._node_categories:
        nodeitems_utils.unregister_node_categories(MENU_ID)
