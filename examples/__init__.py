"""Example scenes, each built from an empty file by a script (no binary .blend in the repository)."""

from . import balance_ball, cue_memory, evacuation, grid_world, switch_goal, tennis

EXAMPLES = {
    "balance_ball": balance_ball,
    "grid_world": grid_world,
    "evacuation": evacuation,
    "switch_goal": switch_goal,
    "tennis": tennis,
    "cue_memory": cue_memory,
}
