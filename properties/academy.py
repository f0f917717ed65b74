"""The Academy (one per scene) and the Brains it holds."""

import functools
import math

import bpy

from ..core.limits import Range, SettingsError, check_range
from .brain_config import DQNSettings, PPOSettings, SACSettings
from .curriculum import Lesson
from .demos import BrainDemos
from .reset_parameter import NOT_SETTINGS, ResetParameter, check_numbers
from .selfplay import SelfPlaySettings

__all__ = ["NOT_SETTINGS", "AcademySettings", "BrainSettings", "PlayerKey", "ResetParameter", "check_numbers"]

BRAIN_TYPES = (
    ("TRAINING", "Training", "Learns in-process from its agents' experience", "PLAY", 0),
    ("INFERENCE", "Inference", "Runs a trained model without learning", "FORWARD", 1),
    ("HEURISTIC", "Heuristic", "Decides with the behaviour tree's Heuristic Action nodes", "NODETREE", 2),
    ("PLAYER", "Player", "Follows the keyboard in the 3D Viewport", "EVENT_SPACEKEY", 3),
)

ALGORITHMS = (
    ("PPO", "PPO", "Proximal Policy Optimisation: discrete or continuous actions (the default)", 0),
    ("DQN", "DQN", "Deep Q-Network, as in the Armory DRLA nodes: discrete actions only", 1),
    ("SAC", "SAC", "Soft Actor-Critic: continuous actions only, far fewer agent steps than PPO", 2),
)


def _event_type_items():
    """Every keyboard/mouse event type Blender knows, for Player key bindings."""
    import bpy as _bpy

    items = []
    for i, item in enumerate(_bpy.types.Event.bl_rna.properties["type"].enum_items):
        if item.identifier in {"NONE"} or item.identifier.startswith(("TIMER", "NDOF", "ACTIONZONE", "TRACKPAD")):
            continue
        items.append((item.identifier, item.name, item.description, i))
    return items


EVENT_TYPES = _event_type_items()


class PlayerKey(bpy.types.PropertyGroup):
    """A key of a Player Brain: while held, it sets a discrete choice or pushes a continuous axis."""

    key: bpy.props.EnumProperty(
        name="Key",
        description="The key (held in the 3D Viewport while playing)",
        items=EVENT_TYPES,
        default="W",
    )
    action: bpy.props.IntProperty(
        name="Action",
        description="Which action: the discrete branch, or the continuous axis (0 is the first)",
        default=0,
        min=0,
    )
    value: bpy.props.FloatProperty(
        name="Action Value",
        description="Discrete: the choice taken while the key is held. Continuous: added to the axis while held",
        default=1.0,
    )


class BrainSettings(bpy.types.PropertyGroup):
    """A policy shared by any number of agents."""

    # ``name`` comes from PropertyGroup; agents refer to their Brain by it.
    brain_type: bpy.props.EnumProperty(
        name="Type",
        description="How this Brain decides its agents' actions",
        items=BRAIN_TYPES,
        default="TRAINING",
    )
    algorithm: bpy.props.EnumProperty(
        name="Algorithm",
        description="The learning algorithm a Training Brain uses",
        items=ALGORITHMS,
        default="PPO",
    )
    deterministic: bpy.props.BoolProperty(
        name="Deterministic",
        description="Play, Bake and evaluation take the discrete action the policy rates highest instead of "
        "sampling it as in training (as ML-Agents' deterministic inference). Off: a policy that is still unsure "
        "does not repeat one move against a wall forever. Continuous actions always take the policy's mean, "
        "DQN its best-valued action",
        default=False,
    )
    ppo: bpy.props.PointerProperty(type=PPOSettings, name="PPO", description="PPO hyper-parameters")
    dqn: bpy.props.PointerProperty(type=DQNSettings, name="DQN", description="DQN hyper-parameters")
    self_play: bpy.props.PointerProperty(
        type=SelfPlaySettings, name="Self-Play Settings", description="Training against past snapshots of this Brain"
    )
    sac: bpy.props.PointerProperty(type=SACSettings, name="SAC", description="SAC hyper-parameters")
    uid: bpy.props.StringProperty(
        name="Identifier",
        description="Stable identifier of this Brain's trained state (internal)",
        options={"HIDDEN"},
    )
    trained_steps: bpy.props.IntProperty(
        name="Trained Steps",
        description="Agent steps this Brain's stored model has been trained for (0: untrained)",
        default=0,
        min=0,
    )
    mean_reward: bpy.props.FloatProperty(
        name="Mean Reward",
        description="Mean episode reward of the last finished training episodes",
        default=0.0,
    )

    player_keys: bpy.props.CollectionProperty(
        type=PlayerKey,
        name="Player Keys",
        description="Keys a Player Brain follows in the 3D Viewport",
    )
    active_player_key: bpy.props.IntProperty(name="Active Key", description="The selected key binding", min=0)
    demos: bpy.props.PointerProperty(
        type=BrainDemos, name="Demonstrations and Cloning", description="Recorded play and behaviour cloning from it"
    )

    def algorithm_settings(self):
        """The settings group of the selected algorithm (``ppo``, ``dqn`` or ``sac``)."""
        return getattr(self, self.algorithm.lower())

    def config(self):
        """The learning config (``training.config``) of the selected algorithm.

        Raises :class:`SettingsError` naming this Brain and the setting when a value is out of its range.
        """
        try:
            return self.algorithm_settings().to_config()
        except ValueError as exc:
            raise SettingsError(f"Brain '{self.name}': {exc}") from None

    def check(self) -> None:
        """Raise :class:`SettingsError` naming this Brain if one of its settings is out of its range."""
        check_numbers(self, f"Brain '{self.name}': ")
        for key in self.player_keys:
            check_numbers(key, f"Brain '{self.name}': key {key.key}: ")
        check_numbers(self.self_play, f"Brain '{self.name}': Self-Play ")
        self.demos.check(self.name)
        self.config()


class AcademySettings(bpy.types.PropertyGroup):
    """Scene-wide settings shared by every agent: timing, episodes, seed, Brains."""

    decision_period: bpy.props.IntProperty(
        name="Decision Period",
        description="Frames between decisions; agents repeat their last action in between",
        default=1,
        min=1,
        max=10_000,
        soft_max=20,
    )
    max_steps: bpy.props.IntProperty(
        name="Max Episode Steps",
        description="Decisions before an agent's episode ends, for agents that set no Max Episode Steps of their "
        "own (0: no limit)",
        default=0,
        min=0,
    )
    seed: bpy.props.IntProperty(
        name="Seed",
        description="Seed for the random numbers of training, resets and randomisation",
        default=0,
        min=0,
    )
    training_steps: bpy.props.IntProperty(
        name="Training Steps",
        description="How many agent steps Train runs before it stops by itself (at least 1)",
        default=200_000,
        min=1,
    )
    workers: bpy.props.IntProperty(
        name="Workers",
        description="Headless Blender processes that collect experience for Train, each running the whole "
        "scene (0 or 1: train in this Blender, as before). Two or more leave this Blender responsive; PPO "
        "Brains only",
        default=0,
        min=0,
        soft_max=64,
    )
    ray_address: bpy.props.StringProperty(
        name="Ray Address",
        description="With two or more Workers: run them on this Ray cluster ('auto' or HOST:PORT; "
        "needs the ray package). Empty: processes on this computer",
        default="",
    )
    reset_parameters: bpy.props.CollectionProperty(
        type=ResetParameter,
        name="Reset Parameters",
        description="Named values chosen again at each episode reset",
    )
    active_reset_parameter: bpy.props.IntProperty(
        name="Active Reset Parameter", description="The reset parameter selected in the list", default=0, min=0
    )
    lessons: bpy.props.CollectionProperty(
        type=Lesson,
        name="Lessons",
        description="The curriculum: lessons in order, each setting reset parameters until it is complete",
    )
    active_lesson: bpy.props.IntProperty(name="Active Lesson", description="The lesson selected in the list", min=0)
    current_lesson: bpy.props.IntProperty(
        name="Current Lesson", description="The lesson the running (or last) training run is in", min=0
    )
    brains: bpy.props.CollectionProperty(
        type=BrainSettings,
        name="Brains",
        description="The policies of this scene's agents",
    )
    active_brain_index: bpy.props.IntProperty(
        name="Active Brain",
        description="The Brain shown in the panels",
        default=0,
        min=0,
    )

    @property
    def active_brain(self):
        """The Brain selected in the list, or None (no Brains, or the selection is out of range)."""
        if 0 <= self.active_brain_index < len(self.brains):
            return self.brains[self.active_brain_index]
        return None

    def check(self, scene) -> None:
        """Check every setting again before the scene runs: the Academy's, its reset parameters', every
        Brain's (the selected algorithm's), every enabled agent's of ``scene`` and their behaviour nodes'.

        Raises :class:`SettingsError` with one line naming the Academy, Brain, Agent or parameter, the
        setting, its value and its range.
        """
        check_numbers(self, "Academy: ")
        for parameter in self.reset_parameters:
            parameter.check()
        for lesson in self.lessons:
            lesson.check()
        for brain in self.brains:
            brain.check()
        checked: set[str] = set()
        for obj in scene.objects:
            if obj.academy_agent.enabled:
                check_numbers(obj.academy_agent, f"Agent '{obj.name}': ")
                tree = obj.academy_agent.behaviour_tree
                if tree is not None and tree.name not in checked:
                    _check_tree(tree, f"Agent '{obj.name}': tree '{tree.name}': ", checked)


@functools.cache
def _own_names(cls) -> frozenset[str]:
    return frozenset().union(*(vars(c).get("__annotations__", {}) for c in cls.__mro__))


def _own_numbers(owner):
    """The properties a node or socket class defines itself (not Blender's own, like its location)."""
    own = _own_names(type(owner))
    return [p for p in owner.bl_rna.properties if p.identifier in own] if own else []


def _check_tree(tree, label: str, seen: set) -> None:
    """Check the numbers of every node of ``tree`` (and of the groups inside) against their properties' ranges."""
    seen.add(tree.name)
    for node in tree.nodes:
        where = f"{label}node '{node.name}': "
        check_numbers(node, where, _own_numbers(node))
        for socket in node.inputs:
            if not socket.is_linked and socket.enabled and hasattr(socket, "default_value") and _own_numbers(socket):
                values = socket.default_value
                for value in values if hasattr(values, "__len__") else (values,):
                    if isinstance(value, float):
                        check_range(f"{where}input '{socket.name}'", value, Range(-math.inf, math.inf))
        inner = getattr(node, "node_tree", None)
        if inner is not None and inner.name not in seen:
            _check_tree(inner, f"{label}group '{inner.name}': ", seen)
