"""PropertyGroups: the Academy on the Scene, its Brains, and the Agent on an Object."""

import bpy

from .academy import AcademySettings, BrainSettings, PlayerKey, ResetParameter
from .agent import AgentObject, AgentSettings
from .brain_config import DQNSettings, PPOSettings, SACSettings
from .curriculum import Lesson
from .demos import BrainDemos, DemoEntry
from .preferences import AcademyPreferences
from .selfplay import SelfPlaySettings

CLASSES = (
    PPOSettings,
    DQNSettings,
    SelfPlaySettings,
    SACSettings,
    ResetParameter,
    Lesson,
    PlayerKey,
    DemoEntry,
    BrainDemos,
    BrainSettings,
    AcademySettings,
    AgentObject,
    AgentSettings,
    AcademyPreferences,
)

# (Blender type, attribute name, PropertyGroup, UI name, description)
ATTACHMENTS = (
    (
        bpy.types.Scene,
        "academy",
        AcademySettings,
        "Academy",
        "Agent Academy settings of this scene: decision period, episode length, seed and Brains",
    ),
    (
        bpy.types.Object,
        "academy_agent",
        AgentSettings,
        "Academy Agent",
        "Makes this object a learning agent driven by one of the scene's Brains",
    ),
)


def post_register() -> None:
    """Attach the PropertyGroups to Blender's types."""
    for owner, attr, group, name, description in ATTACHMENTS:
        setattr(owner, attr, bpy.props.PointerProperty(type=group, name=name, description=description))


def pre_unregister() -> None:
    """Remove what :func:`post_register` attached."""
    for owner, attr, *_ in reversed(ATTACHMENTS):
        if hasattr(owner, attr):
            delattr(owner, attr)
