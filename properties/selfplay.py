"""A Brain's Self-Play settings (ML-Agents' ghost trainer) and its ELO rating."""

import bpy

from ..core.elo import INITIAL_ELO


class SelfPlaySettings(bpy.types.PropertyGroup):
    """Train against frozen past snapshots of this Brain: agents are split by their Team"""

    enabled: bpy.props.BoolProperty(
        name="Self-Play",
        description="The agents of one Team learn while the other Teams' agents act with a frozen snapshot of "
        "this Brain from earlier in training (as ML-Agents' self-play); needs agents on two Teams or more",
        default=False,
    )
    snapshot_every: bpy.props.IntProperty(
        name="Snapshot Every",
        description="Learning-team agent steps between snapshots of the learner taken into the window "
        "(ML-Agents' save_steps)",
        default=20_000,
        min=1,
    )
    window: bpy.props.IntProperty(
        name="Window",
        description="Snapshots kept to play against; the oldest leaves when a new one is taken",
        default=10,
        min=1,
        max=1000,
    )
    play_against_latest_ratio: bpy.props.FloatProperty(
        name="Play Against Latest Ratio",
        description="At each swap, the chance the opponent is the latest snapshot; otherwise one of the window "
        "at random",
        default=0.5,
        min=0.0,
        max=1.0,
        subtype="FACTOR",
    )
    swap_steps: bpy.props.IntProperty(
        name="Swap Steps",
        description="Learning-team agent steps between drawing a new opponent from the window",
        default=2_000,
        min=1,
    )
    team_change: bpy.props.IntProperty(
        name="Team Change",
        description="Learning-team agent steps before the next Team becomes the learning one (in Team order)",
        default=100_000,
        min=1,
    )
    initial_elo: bpy.props.FloatProperty(
        name="Initial ELO",
        description="The rating a Brain trained from scratch starts with",
        default=INITIAL_ELO,
        min=0.0,
        max=100_000.0,
    )
    elo: bpy.props.FloatProperty(
        name="ELO",
        description="The Brain's rating after its last self-play training: +16 x (score - expected) per match "
        "against the snapshot it played, the side with the higher episode return winning",
        default=INITIAL_ELO,
    )
