"""A discrete scene no example resembles, for checking that a Brain's defaults learn (issue 11.3).

Each agent (a plain mesh object) walks on a plane in steps of half a unit — stay, +X, −X, +Y,
−Y — toward a target placed at random at every reset, which it observes relative to itself. It
pays 0.01 per decision and gets +1 on reaching the target; an episode lasts at most 40 decisions.
Walking straight there returns about 0.93 on average; a random walk returns below 0.
"""

from __future__ import annotations

import importlib

import bpy

from devtools import boot

S = importlib.import_module(boot.MODULE + ".core.specs")
academy_mod = importlib.import_module(boot.MODULE + ".env.academy")

STEP = 0.5
HALF = 3.0
MAX_DECISIONS = 40


def behaviour() -> S.Behaviour:
    me, target = S.SELF, "slot:Target"
    choice = S.Action(0)
    zero, step = S.as_expr(0.0), S.as_expr(STEP)
    dx = S.Select(choice, (zero, step, S.as_expr(-STEP), zero, zero))
    dy = S.Select(choice, (zero, zero, zero, step, S.as_expr(-STEP)))
    reached = S.Compare("LESS_THAN", S.Distance(me, target), S.as_expr(0.6))
    return S.Behaviour(
        name="Seek",
        observations=(S.Location(target, relative_to=me),),
        actions=S.DiscreteActions((("Stay", "East", "West", "North", "South"),)),
        writes=(
            S.Write(me, "location", dx, index=0, mode="ADD", low=-HALF - 1, high=HALF + 1),
            S.Write(me, "location", dy, index=1, mode="ADD", low=-HALF - 1, high=HALF + 1),
        ),
        rewards=(S.Reward(S.as_expr(-0.01), name="Hurry"),),
        ends=(S.End(reached, reward=1.0, success=True, name="Reached"),),
        on_reset=(
            S.Write(me, "location", S.Random(-HALF, HALF, stream=1), index=0),
            S.Write(me, "location", S.Random(-HALF, HALF, stream=2), index=1),
            S.Write(target, "location", S.Random(-HALF, HALF, stream=3), index=0),
            S.Write(target, "location", S.Random(-HALF, HALF, stream=4), index=1),
        ),
    )


def build(agents: int = 16, algorithm: str = "DQN", seed: int = 0) -> bpy.types.Scene:
    """A new file holding the Seek scene: ``agents`` agents on one Brain with default settings."""
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    academy = scene.academy
    academy.seed = seed
    brain = academy.brains.add()
    brain.name = "Seek"
    brain.algorithm = algorithm
    spec = behaviour()
    for i in range(agents):
        # each agent on its own plane far from the others, so nothing it observes is another's
        offset = 20.0 * i
        walker = bpy.data.objects.new(f"Walker.{i:03d}", bpy.data.meshes.new(f"Walker.{i:03d}"))
        target = bpy.data.objects.new(f"Target.{i:03d}", bpy.data.meshes.new(f"Target.{i:03d}"))
        for obj in (walker, target):
            scene.collection.objects.link(obj)
        walker.delta_location = target.delta_location = (offset, 0.0, 0.0)
        agent = walker.academy_agent
        agent.enabled = True
        agent.brain = "Seek"
        agent.max_steps = MAX_DECISIONS
        slot = agent.objects.add()
        slot.name, slot.object = "Target", target
        academy_mod.set_behaviour(walker, spec)
    return scene
