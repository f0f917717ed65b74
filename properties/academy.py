"""The Academy (one per scene) and the Brains it holds."""

import functools
import math

import bpy

from ..core.limits import Range, SettingsError, check_range
from .brain_config import DQNSettings, PPOSettings
from .demos import BrainDemos

BRAIN_TYPES = (
    ("TRAINING", "Training", "Learns in-process from its agents' experience", "PLAY", 0),
    ("INFERENCE", "Inference", "Runs a trained model without learning", "FORWARD", 1),
    ("HEURISTIC", "Heuristic", "Decides with the behaviour tree's Heuristic Action nodes", "NODETREE", 2),
    ("PLAYER", "Player", "Follows the keyboard in the 3D Viewport", "EVENT_SPACEKEY", 3),
)

ALGORITHMS = (
    ("PPO", "PPO", "Proximal Policy Optimisation: discrete or continuous actions (the default)", 0),
    ("DQN", "DQN", "Deep Q-Network, as in the Armory DRLA nodes: discrete actions only", 1),
)


# Numeric properties that are not settings: list selections and read-outs of the last training run.
NOT_SETTINGS = frozenset({"active_brain_index", "active_reset_parameter", "active_player_key", "active_object_index",
                          "mean_reward", "trained_steps"})  # fmt: skip


def check_numbers(group, label: str, props=None) -> None:
    """Check every number of ``group`` (or only ``props``) against its property's own min/max, and that
    it is finite.

    The property definitions are the ranges: the UI cannot leave them, but a .blend can carry any value
    (ID properties written from Python, old files). Raises :class:`SettingsError` "``label`` Name is ...".
    """
    for prop in group.bl_rna.properties if props is None else props:
        if (
            prop.type in {"INT", "FLOAT"}
            and not getattr(prop, "array_length", 0)
            and prop.identifier not in NOT_SETTINGS
        ):
            allowed = Range(prop.hard_min, prop.hard_max)
            check_range(f"{label}{prop.name}", getattr(group, prop.identifier), allowed)


def _keep_minimum_below(self, context) -> None:
    if self.maximum < self.minimum:
        self.maximum = self.minimum


def _keep_maximum_above(self, context) -> None:
    if self.minimum > self.maximum:
        self.minimum = self.maximum


class ResetParameter(bpy.types.PropertyGroup):
    """A named value that is fixed or drawn at random at each episode reset."""

    # ``name`` comes from PropertyGroup and is the key behaviour trees refer to.
    mode: bpy.props.EnumProperty(
        name="Mode",
        description="How the value is chosen at each episode reset",
        items=(
            ("FIXED", "Fixed", "Always the same value"),
            ("UNIFORM", "Uniform", "Drawn uniformly between Minimum and Maximum at every reset"),
        ),
        default="FIXED",
    )
    value: bpy.props.FloatProperty(name="Fixed Value", description="The value in Fixed mode", default=0.0)
    # Raising Minimum above Maximum raises Maximum with it (and the other way round), as Blender's frame range does.
    minimum: bpy.props.FloatProperty(
        name="Minimum", description="Lower bound in Uniform mode", default=0.0, update=_keep_minimum_below
    )
    maximum: bpy.props.FloatProperty(
        name="Maximum", description="Upper bound in Uniform mode", default=1.0, update=_keep_maximum_above
    )

    def check(self) -> None:
        """Raise :class:`SettingsError` naming this parameter if a value is not finite or Minimum > Maximum."""
        check_numbers(self, f"Academy: reset parameter '{self.name}': ")
        if self.mode == "UNIFORM" and self.minimum > self.maximum:
            raise SettingsError(
                f"Academy: reset parameter '{self.name}' has Minimum {self.minimum:g} above its Maximum "
                f"{self.maximum:g}; Uniform draws between them"
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

    def config(self):
        """The learning config (``training.config``) of the selected algorithm.

        Raises :class:`SettingsError` naming this Brain and the setting when a value is out of its range.
        """
        try:
            return (self.ppo if self.algorithm == "PPO" else self.dqn).to_config()
        except ValueError as exc:
            raise SettingsError(f"Brain '{self.name}': {exc}") from None

    def check(self) -> None:
        """Raise :class:`SettingsError` naming this Brain if one of its settings is out of its range."""
        check_numbers(self, f"Brain '{self.name}': ")
        for key in self.player_keys:
            check_numbers(key, f"Brain '{self.name}': key {key.key}: ")
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
    reset_parameters: bpy.props.CollectionProperty(
        type=ResetParameter,
        name="Reset Parameters",
        description="Named values chosen again at each episode reset",
    )
    active_reset_parameter: bpy.props.IntProperty(
        name="Active Reset Parameter", description="The reset parameter selected in the list", default=0, min=0
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
