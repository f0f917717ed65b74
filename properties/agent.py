"""The Agent settings on an Object."""

import bpy


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
        name="Max Steps",
        description="Decisions before this agent's episode ends (0: use the Academy's Max Steps)",
        default=0,
        min=0,
    )
    reset_on_done: bpy.props.BoolProperty(
        name="Reset on Done",
        description="Reset this agent when its episode ends; otherwise it waits for the Academy reset",
        default=True,
    )
