"""Agent Academy's scripting API: build an Academy, Brains, Agents and behaviour trees; train, play, evaluate.

Scripts run with the extension registered (``./academy run SCRIPT.py``, ``blender -c agent_academy run
SCRIPT.py``, or inside Blender) import it as ``agent_academy.api``::

    import bpy
    from agent_academy import api

    scene = bpy.context.scene
    api.brain(scene, "Seeker", algorithm="DQN", learning_rate=5e-4)
    tree = api.behaviour_tree("Seek")
    me = tree.node("AcademyTransformNode")
    tree.link(me, "Location", tree.node("AcademyObserveNode"), "Observations")
    ...
    api.agent(bpy.data.objects["Cube"], "Seeker", tree.tree)
    print(api.train(scene, steps=20_000))

Node type names, properties and sockets: ``docs/nodes/reference.md``. Everything here is also
reachable through the panels; nothing here is needed by the panels.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import bpy

from .core.names import TREE_IDNAME
from .env.callbacks import Callback, TargetReached
from .env.session import Session
from .examples.trees import TreeBuilder

__all__ = [
    "Callback",
    "Session",
    "TargetReached",
    "TreeBuilder",
    "agent",
    "behaviour_tree",
    "brain",
    "reset_parameter",
    "train",
    "play",
]


def brain(scene: bpy.types.Scene, name: str, brain_type: str = "TRAINING", algorithm: str = "PPO", **settings: Any):
    """Add (or update) the Brain ``name`` of ``scene``'s Academy; ``settings`` go to its PPO, DQN or SAC group.

    ``brain_type``: TRAINING, INFERENCE, HEURISTIC or PLAYER. A setting the algorithm does not have is
    refused naming it (so a typo never goes unnoticed).
    """
    b = scene.academy.brains.get(name) or scene.academy.brains.add()
    b.name, b.brain_type, b.algorithm = name, brain_type, algorithm
    group = b.algorithm_settings()
    for key, value in settings.items():
        if key not in group.bl_rna.properties or key in {"rna_type", "name"}:
            raise ValueError(f"Brain '{name}': {algorithm} has no setting '{key}'")
        setattr(group, key, value)
    return b


def agent(obj: bpy.types.Object, brain: str, tree: bpy.types.NodeTree | None = None, **objects: bpy.types.Object):
    """Make ``obj`` an agent of Brain ``brain`` with behaviour ``tree``; ``objects`` fill its Agent Object slots."""
    settings = obj.academy_agent
    settings.enabled, settings.brain = True, brain
    if tree is not None:
        settings.behaviour_tree = tree
    for slot, target in objects.items():
        entry = settings.objects.get(slot) or settings.objects.add()
        entry.name, entry.object = slot, target
    return settings


def reset_parameter(scene: bpy.types.Scene, name: str, minimum: float, maximum: float | None = None):
    """A reset parameter: fixed at ``minimum``, or drawn uniformly in [minimum, maximum] at every reset."""
    p = scene.academy.reset_parameters.get(name) or scene.academy.reset_parameters.add()
    p.name = name
    if maximum is None:
        p.mode, p.value = "FIXED", minimum
    else:
        p.mode, p.minimum, p.maximum = "UNIFORM", minimum, maximum
    return p


def behaviour_tree(name: str) -> TreeBuilder:
    """A new, empty Agent Behaviour tree, wrapped in a :class:`TreeBuilder` (``.tree`` is the tree)."""
    return TreeBuilder(bpy.data.node_groups.new(name, TREE_IDNAME))


def train(
    scene: bpy.types.Scene,
    steps: int | None = None,
    callbacks: Iterable[Callback] = (),
    targets: dict[str | None, float] | None = None,
) -> dict:
    """Train the scene's Training Brains for ``steps`` agent steps (default: the Academy's Training
    Steps), store what they learned, restore the scene; return the run's numbers.

    ``callbacks``: :class:`Callback` objects called as the run goes (one returning False stops it
    early, keeping what was learned). ``targets``: mean episode reward per Brain name (``None``:
    every Training Brain) whose reaching calls ``on_target``."""
    session = Session(scene, training=True, steps=steps, targets=targets).start()
    session.run(callbacks)
    session.finish(store=True)
    return _numbers(session)


def play(scene: bpy.types.Scene, steps: int) -> dict:
    """Run the scene's Brains without learning for ``steps`` agent steps; restore the scene; return the numbers."""
    session = Session(scene, training=False, steps=steps).start()
    session.run()
    session.finish(store=False)
    return _numbers(session)


def _numbers(session: Session) -> dict:
    """The run's totals and each Brain's own mean episode reward (``mean_reward``: {Brain: mean})."""
    return {
        "agent_steps": session.agent_steps,
        "episodes": session.episodes,
        "mean_reward": {name: stats.mean_return for name, stats in session.stats.items()},
    }
