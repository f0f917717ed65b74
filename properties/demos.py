"""A Brain's demonstrations (recorded play) and its behaviour-cloning settings.

Each entry of the list holds its recording as a bytes ID property (``env.demos.DEMO_KEY``, the
safe format of ``training.demos``, written through ``env.brain_store.write_bytes``); the numbers
beside it are for the list only and are set from the recording when it is stored.
"""

import bpy

from ..core.limits import SettingsError


class DemoEntry(bpy.types.PropertyGroup):
    """One recording stored in the Brain (its data is the entry's ``academy_demo`` property)."""

    episodes: bpy.props.IntProperty(name="Episodes", description="Episodes that ended while recording", min=0)
    steps: bpy.props.IntProperty(name="Steps", description="Decisions recorded (over every agent)", min=0)
    mean_return: bpy.props.FloatProperty(
        name="Mean Return", description="Mean reward summed over each ended episode of the recording"
    )


class BrainDemos(bpy.types.PropertyGroup):
    """Recording demonstrations and learning from them (behaviour cloning)."""

    record: bpy.props.BoolProperty(
        name="Record Demonstrations",
        description="While Play runs, record every decision of this Brain's agents (what they observed, what they "
        "did, the rewards, the episode ends); when Play stops the recording is added to the Brain's "
        "Demonstrations. Records a Heuristic or Player Brain, or a trained Brain acting",
        default=False,
    )
    items: bpy.props.CollectionProperty(type=DemoEntry, name="Demonstrations", description="Recorded play")
    active_index: bpy.props.IntProperty(name="Active Demonstration", description="The selected recording", min=0)
    bc_strength: bpy.props.FloatProperty(
        name="Behavioral Cloning Strength",
        description="While a PPO Brain trains, after each update it also learns to repeat the demonstrated actions, "
        "with this multiple of its learning rate (ML-Agents' behavioral_cloning strength). 0: off",
        default=0.0,
        min=0.0,
        soft_max=1.0,
    )
    bc_steps: bpy.props.IntProperty(
        name="Behavioral Cloning Steps",
        description="Agent steps of training over which the cloning strength decays linearly to nothing, so the "
        "Brain can surpass its teacher (0: it stays for the whole run)",
        default=0,
        min=0,
    )
    bc_batch_size: bpy.props.IntProperty(
        name="Behavioral Cloning Batch Size",
        description="Demonstrated decisions per gradient step of behaviour cloning (during training and Pretrain)",
        default=512,
        min=1,
        soft_max=4096,
    )
    pretrain_epochs: bpy.props.IntProperty(
        name="Pretrain Epochs",
        description="Passes over the demonstrations that Pretrain from Demonstrations makes",
        default=50,
        min=1,
        soft_max=500,
    )

    def check(self, brain_name: str) -> None:
        """:class:`SettingsError` naming the Brain and the setting when a value from the .blend is out of range."""
        for prop, low in (("bc_strength", 0.0), ("bc_steps", 0), ("bc_batch_size", 1), ("pretrain_epochs", 1)):
            value = getattr(self, prop)
            if not value >= low or value != value:
                label = self.bl_rna.properties[prop].name
                raise SettingsError(f"Brain '{brain_name}': {label} is {value}, it must be at least {low}")
