"""The Agent settings on an Object."""

import bpy

from ..core.names import TREE_IDNAME


class AgentObject(bpy.types.PropertyGroup):
    """An object this agent uses, under a name its behaviour refers to (e.g. its ball)."""

    # ``name`` (from PropertyGroup) is the slot name the behaviour uses: ``slot:NAME``.
    object: bpy.props.PointerProperty(
        type=bpy.types.Object,
        name="Object",
        description="The object this agent's behaviour means by the slot name",
    )


class AgentSettings(bpy.types.PropertyGroup):
    """Links an object to a Brain; the object becomes a learning agent."""

    enabled: bpy.props.BoolProperty(
        name="Agent",
        description="Make this object an agent driven by a Brain of the scene's Academy",
        default=False,
    )
    brain: bpy.props.StringProperty(
        name="Brain",
        description="Name of the Brain (in the scene's Academy) that decides this agent's actions",
    )
    max_steps: bpy.props.IntProperty(
        name="Max Episode Steps",
        description="Decisions before this agent's episode ends (0: the Academy's Max Episode Steps)",
        default=0,
        min=0,
    )
    team: bpy.props.IntProperty(
        name="Team",
        description="The team this agent plays for: Group Reward nodes reward every agent of a team (of one "
        "Brain) together, the Team node reads it, Other Agent finds the nearest agent of another team or the same "
        "team",
        default=0,
        min=0,
    )
    objects: bpy.props.CollectionProperty(
        type=AgentObject,
        name="Agent Objects",
        description="Objects this agent's behaviour refers to by name (its ball, its target, its camera)",
    )
    active_object_index: bpy.props.IntProperty(
        name="Active Agent Object", description="The Agent Object selected in the list", default=0, min=0
    )
    behaviour_json: bpy.props.StringProperty(
        name="Behaviour Spec",
        description="The agent's behaviour as a spec built by a script (used when no behaviour tree is set)",
        options={"HIDDEN"},
    )
    behaviour_tree: bpy.props.PointerProperty(
        type=bpy.types.NodeTree,
        name="Behaviour",
        description="The behaviour node tree (Agent Behaviour editor) that says what this agent observes, how it "
        "acts, what it is rewarded for and when its episode ends; agents can share one tree",
        poll=lambda self, tree: tree.bl_idname == TREE_IDNAME,
    )
    reset_on_done: bpy.props.BoolProperty(
        name="Reset on Done",
        description="Start this agent's next episode as soon as one ends. Off: a done agent waits (takes no "
        "actions, gives no learning data) until every agent with Reset on Done off waits, or the timeline jumps; "
        "then the Academy resets them together",
        default=True,
    )
