"""Agent nodes: what the agent observes, which actions it has, its rewards and when its episode ends."""

from __future__ import annotations

import bpy

from ..core import specs as S
from .base import NOTES, AcademyNode, NodeError, exact, touch


class AcademyObserveNode(AcademyNode, bpy.types.Node):
    """Everything linked here becomes the agent's observation, in link order (top to bottom): numbers
    join the observation vector, camera images become image observations. The size is shown on the node"""

    bl_idname = "AcademyObserveNode"
    bl_label = "Observe"
    bl_icon = "HIDE_OFF"
    is_sink = True

    def init(self, context):
        self.add_input("OBSERVATION", "Observations", use_multi_input=True)

    def draw_options(self, context, layout):
        if not NOTES.get((self.id_data.name, self.name)):
            layout.label(text="Size: ?")

    def emit(self, ins, parts):
        if not ins["Observations"]:
            raise NodeError(self.name, "nothing is linked: link what the agent observes")
        for value in ins["Observations"]:
            if isinstance(value, S.Camera):
                parts.cameras.append(value)
            elif any(isinstance(e, S.Action) for e in S.walk(value)):
                raise NodeError(self.name, "an observation cannot read the chosen action")
            else:
                parts.observations.append(value)


def _sync_continuous(self, context=None):
    outputs = self.outputs
    want = ["Actions"] + [f"Action {i + 1}" for i in range(self.size)]
    while len(outputs) > len(want):
        outputs.remove(outputs[-1])
    for name in want[len(outputs) :]:
        self.add_output("ACTION", name)
    touch(self, context)


class AcademyContinuousActionNode(AcademyNode, bpy.types.Node):
    """The agent's continuous actions: Size numbers in [Min, Max] the Brain chooses every decision.
    Wire them into Output nodes to move things. With a Discrete Action node in the same tree the
    agent has both (hybrid actions)"""

    bl_idname = "AcademyContinuousActionNode"
    bl_label = "Continuous Action"
    bl_icon = "CON_ACTION"
    is_sink = True

    size: bpy.props.IntProperty(
        name="Size", description="Number of continuous actions", default=2, min=1, max=32, update=_sync_continuous
    )
    low: bpy.props.FloatProperty(name="Min", description="Lowest action value", default=-1.0, update=touch)
    high: bpy.props.FloatProperty(name="Max", description="Highest action value", default=1.0, update=touch)

    def init(self, context):
        _sync_continuous(self)

    def draw_options(self, context, layout):
        layout.prop(self, "size")
        row = layout.row(align=True)
        row.prop(self, "low")
        row.prop(self, "high")

    def build(self, ins):
        out = {"Actions": S.Action(0, self.size)}
        out.update({f"Action {i + 1}": S.Action(i) for i in range(self.size)})
        return out

    def emit(self, ins, parts):
        if exact(self, "low") >= exact(self, "high"):
            raise NodeError(self.name, "Min must be below Max")
        parts.set_actions(S.ContinuousActions(self.size, exact(self, "low"), exact(self, "high")), self.name)


def parse_branches(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """``"Move: Left, Stay, Right; Jump: No, Yes"`` → [("Move", ("Left", "Stay", "Right")), ...]."""
    out = []
    for i, part in enumerate(p for p in text.split(";") if p.strip()):
        name, sep, choices = part.partition(":")
        if not sep:
            name, choices = f"Branch {i + 1}", part
        out.append((name.strip() or f"Branch {i + 1}", tuple(c.strip() for c in choices.split(",") if c.strip())))
    return out


def _sync_discrete(self, context=None):
    branches = parse_branches(self.branches)
    outputs = self.outputs
    while len(outputs) > len(branches):
        outputs.remove(outputs[-1])
    for i, (name, _) in enumerate(branches):
        if i < len(outputs):
            outputs[i].name = name
        else:
            self.add_output("ACTION", name, identifier=f"branch_{i}")
    touch(self, context)


def _continuous_offset(node) -> int:
    """The Action slot of a Discrete Action node's first branch: after the continuous actions of a
    Continuous Action node in the same tree (hybrid actions), else 0."""
    sizes = [n.size for n in node.id_data.nodes if n.bl_idname == "AcademyContinuousActionNode" and not n.mute]
    return sizes[0] if len(sizes) == 1 else 0


class AcademyDiscreteActionNode(AcademyNode, bpy.types.Node):
    """The agent's discrete actions: one or more branches, each a choice among named options
    (written "Move: Left, Stay, Right; Jump: No, Yes"). Each branch's output is the chosen index.
    With a Continuous Action node in the same tree the agent has both (hybrid actions)"""

    bl_idname = "AcademyDiscreteActionNode"
    bl_label = "Discrete Action"
    bl_icon = "OPTIONS"
    is_sink = True

    branches: bpy.props.StringProperty(
        name="Branches",
        description='Branches and their choices: "Name: Choice, Choice; Name: Choice, Choice"',
        default="Move: Left, Stay, Right",
        update=_sync_discrete,
    )

    def init(self, context):
        _sync_discrete(self)

    def draw_options(self, context, layout):
        layout.prop(self, "branches", text="")
        col = layout.column(align=True)
        for name, choices in parse_branches(self.branches):
            col.label(text=f"{name}: {' · '.join(f'{i} {c}' for i, c in enumerate(choices))}", icon="DOT")

    def build(self, ins):
        offset = _continuous_offset(self)
        return {s.identifier: S.Action(offset + i) for i, s in enumerate(self.outputs)}

    def emit(self, ins, parts):
        branches = parse_branches(self.branches)
        if not branches:
            raise NodeError(self.name, 'add at least one branch ("Name: Choice, Choice")')
        for name, choices in branches:
            if not choices:
                raise NodeError(self.name, f"branch '{name}' has no choices")
        parts.set_actions(S.DiscreteActions(tuple(c for _, c in branches)), self.name)
        parts.branch_names = [name for name, _ in branches]
        parts.discrete_offset = _continuous_offset(self)


class AcademyRewardNode(AcademyNode, bpy.types.Node):
    """Adds Value × Weight to the agent's reward at every decision. Use several for several terms;
    the node's label names the term"""

    bl_idname = "AcademyRewardNode"
    bl_label = "Reward"
    bl_icon = "SOLO_ON"
    is_sink = True

    weight: bpy.props.FloatProperty(name="Weight", description="Multiplies the value", default=1.0, update=touch)

    def init(self, context):
        self.add_input("FLOAT", "Value", 1.0)

    def draw_options(self, context, layout):
        layout.prop(self, "weight")

    def emit(self, ins, parts):
        parts.rewards.append((self.name, S.Reward(ins["Value"], exact(self, "weight"), self.label or self.name)))


COMBINE_ITEMS = [
    ("SUM", "Sum", "The team's reward is the sum of what each of its agents computes (each agent's own part)"),
    ("MEAN", "Mean", "The team's reward is the mean of what its agents compute"),
    ("MAX", "Max", "The team's reward is the largest of what its agents compute (an event they all see, once)"),
]


class AcademyGroupRewardNode(AcademyNode, bpy.types.Node):
    """Rewards the agent's whole team (the agents of its Brain with the same Team) at every decision: the
    team's agents' Values combined (Sum, Mean or Max) × Weight go to each of them. A teammate whose episode
    ended and who waits is credited apart (see the docs)"""

    bl_idname = "AcademyGroupRewardNode"
    bl_label = "Group Reward"
    bl_icon = "COMMUNITY"
    is_sink = True

    weight: bpy.props.FloatProperty(name="Weight", description="Multiplies the team's reward", default=1.0,
                                    update=touch)  # fmt: skip
    combine: bpy.props.EnumProperty(
        name="Combine", description="How the team's agents' values make the team's reward", items=COMBINE_ITEMS,
        default="MAX", update=touch,
    )  # fmt: skip

    def init(self, context):
        self.add_input("FLOAT", "Value", 1.0)

    def draw_options(self, context, layout):
        layout.prop(self, "combine", text="")
        layout.prop(self, "weight")

    def emit(self, ins, parts):
        name = self.label or self.name
        parts.group_rewards.append((self.name, S.GroupReward(ins["Value"], exact(self, "weight"), self.combine, name)))


class AcademyEndEpisodeNode(AcademyNode, bpy.types.Node):
    """Ends the agent's episode when Condition is true, as a success or a failure, adding Reward once"""

    bl_idname = "AcademyEndEpisodeNode"
    bl_label = "End Episode"
    bl_icon = "CANCEL"
    is_sink = True
    required = ("Condition",)

    success: bpy.props.BoolProperty(
        name="Success", description="The episode ends in success (else failure)", default=False, update=touch
    )
    reward: bpy.props.FloatProperty(name="Reward", description="Added when the episode ends", update=touch)

    def init(self, context):
        self.add_input("BOOL", "Condition", False)

    def draw_options(self, context, layout):
        layout.prop(self, "success")
        layout.prop(self, "reward")

    def emit(self, ins, parts):
        end = S.End(ins["Condition"], exact(self, "reward"), self.success, self.label or self.name)
        parts.ends.append((self.name, end))


def _sync_heuristic(self, context=None):
    for i, socket in enumerate(self.inputs):
        socket.hide = i >= self.size
    touch(self, context)


class AcademyHeuristicActionNode(AcademyNode, bpy.types.Node):
    """For Heuristic Brains: the graph computes the action itself (one input per continuous action or
    per discrete branch, the choice index)"""

    bl_idname = "AcademyHeuristicActionNode"
    bl_label = "Heuristic Action"
    bl_icon = "USER"
    is_sink = True
    MAX = 16

    size: bpy.props.IntProperty(
        name="Size", description="Number of action values (as many as the actions)", default=2, min=1, max=16,
        update=_sync_heuristic,
    )  # fmt: skip

    def init(self, context):
        for i in range(self.MAX):
            self.add_input("FLOAT", f"Action {i + 1}", 0.0).hide = i >= self.size

    def draw_options(self, context, layout):
        layout.prop(self, "size")

    def emit(self, ins, parts):
        items = tuple(ins[s.identifier] for s in list(self.inputs)[: self.size])
        for e in items:
            if any(isinstance(x, S.Action) for x in S.walk(e)):
                raise NodeError(self.name, "the heuristic cannot read the chosen action")
        parts.set_heuristic(items[0] if len(items) == 1 else S.Concat(items), self.name)


CLASSES = (
    AcademyObserveNode,
    AcademyContinuousActionNode,
    AcademyDiscreteActionNode,
    AcademyRewardNode,
    AcademyEndEpisodeNode,
    AcademyHeuristicActionNode,
    AcademyGroupRewardNode,
)
