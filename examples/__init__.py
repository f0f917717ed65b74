"""Example scenes, each built from an empty file by a script (no binary .blend in the repository)."""

from . import balance_ball

EXAMPLES = {"balance_ball": balance_ball}
