"""Evacuation, the fire-fighter example of the Armory DRLA thread: leave the room, avoid fire and furniture.

Each agent is a character in its own 10 × 10 room. It walks forward or back and turns left or
right (two discrete branches), sees with ray perception (9 rays over 180°, tags: wall, furniture,
fire, exit) and knows the direction of the exit sign relative to itself. Reaching the exit gives
+1 (success); walking into fire −1 and into furniture −0.5 end the episode (failure); every
decision costs −0.003 and walking towards the exit earns 0.1 per metre. At each reset the start,
the exit, two fires and two pieces of furniture are placed at random, so every room is new.
"""

from __future__ import annotations

import math

import bpy

from ..env import specs as S
from ..env.behaviours import set_behaviour

BRAIN = "Evacuation"
ROOM = 10.0
SPACING = 16.0
MAX_STEPS = 250
FPS = 24
STEP = 0.3  # metres per decision
TURN = math.radians(20.0)  # per decision
TAGS = ("wall", "furniture", "fire", "exit")
HAZARDS = (("Fire", 2, 0.8, "fire"), ("Furniture", 2, 0.6, "furniture"))


def behaviour() -> S.Behaviour:
    """The Evacuation behaviour as a spec (the node tree builds the same)."""
    me = S.SELF
    heading = S.Property(me, "rotation_euler", index=2)
    move = S.Select(S.Action(0), (S.as_expr(0.0), S.as_expr(STEP), S.as_expr(-STEP * 0.5)))  # stay/forward/back
    turn = S.Select(S.Action(1), (S.as_expr(0.0), S.as_expr(TURN), S.as_expr(-TURN)))  # none/left/right
    inside = ROOM / 2 - 0.4
    ends = [S.End(S.Compare("LESS_THAN", S.Distance(me, "slot:Exit"), S.as_expr(0.9)), 1.0, True, "Exit")]
    stream = 10
    resets = [
        S.Write(me, "location", S.Random(-3.5, 3.5, stream=1), index=0),
        S.Write(me, "location", S.as_expr(-3.5), index=1),
        S.Write(me, "rotation_euler", S.Random(-1.2, 1.2, stream=2), index=2),
        S.Write("slot:Exit", "location", S.Random(-3.5, 3.5, stream=3), index=0),
    ]
    for name, count, radius, _tag in HAZARDS:
        for k in range(count):
            slot = f"slot:{name}{k + 1}"
            penalty = -1.0 if name == "Fire" else -0.5
            hit = S.Compare("LESS_THAN", S.Distance(me, slot), S.as_expr(radius + 0.3))
            ends.append(S.End(hit, penalty, False, f"{name} {k + 1}"))
            resets.append(S.Write(slot, "location", S.Random(-4.0, 4.0, stream=stream), index=0))
            resets.append(S.Write(slot, "location", S.Random(-1.5, 2.0, stream=stream + 1), index=1))
            stream += 2
    return S.Behaviour(
        name="Evacuation",
        observations=(
            S.RayPerception(me, rays=9, angle=180.0, length=12.0, tags=TAGS, forward="Y", offset=0.5),
            S.Direction(me, "slot:Exit", local=True),
            S.Distance(me, "slot:Exit") * (1.0 / ROOM),
        ),
        actions=S.DiscreteActions((("Stay", "Forward", "Back"), ("Straight", "Left", "Right"))),
        writes=(
            S.Write(me, "location", -S.Unary("SINE", heading) * move, index=0, mode="ADD", low=-inside, high=inside),
            S.Write(me, "location", S.Unary("COSINE", heading) * move, index=1, mode="ADD", low=-inside, high=inside),
            S.Write(me, "rotation_euler", turn, index=2, mode="ADD"),
        ),
        rewards=(
            S.Reward(S.as_expr(-0.003), name="Hurry"),
            # metres walked towards the exit this decision (velocity · direction × frame time), a small
            # guide that makes standing still worse than exploring
            S.Reward(S.VectorMath("DOT", S.Velocity(me), S.Direction(me, "slot:Exit")) * (0.1 / FPS), name="Progress"),
        ),
        ends=tuple(ends),
        on_reset=tuple(resets),
    )


def _material(name: str, rgba) -> bpy.types.Material:
    mat = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    mat.diffuse_color = rgba
    return mat


def _box(name: str, sx: float, sy: float, sz: float, rgba) -> bpy.types.Mesh:
    mesh = bpy.data.meshes.new(name)
    x, y = sx / 2, sy / 2
    verts = [(a, b, c) for a in (-x, x) for b in (-y, y) for c in (0.0, sz)]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    mesh.from_pydata(verts, [], faces)
    mesh.materials.append(_material(name, rgba))
    return mesh


def build(scene: bpy.types.Scene | None = None, agents: int = 8) -> bpy.types.Scene:
    """Build Evacuation into ``scene`` (default: a new scene)."""
    if scene is None:
        scene = bpy.data.scenes.new("Evacuation")
    scene.frame_start, scene.frame_end, scene.frame_current = 1, 500, 1
    scene.render.fps, scene.render.fps_base = FPS, 1.0
    collection = bpy.data.collections.new("Evacuation")
    scene.collection.children.link(collection)
    half = ROOM / 2
    meshes = {
        "Floor": _box("Evacuation Floor", ROOM, ROOM, 0.05, (0.35, 0.33, 0.3, 1.0)),
        "WallX": _box("Evacuation Wall X", ROOM, 0.2, 1.5, (0.8, 0.8, 0.78, 1.0)),
        "WallY": _box("Evacuation Wall Y", 0.2, ROOM, 1.5, (0.8, 0.8, 0.78, 1.0)),
        "Exit": _box("Evacuation Exit", 1.2, 0.3, 2.0, (0.1, 0.9, 0.3, 1.0)),
        "Fire": _box("Evacuation Fire", 1.6, 1.6, 1.0, (1.0, 0.3, 0.05, 1.0)),
        "Furniture": _box("Evacuation Furniture", 1.2, 1.2, 0.8, (0.45, 0.3, 0.15, 1.0)),
        "Agent": _box("Evacuation Agent", 0.5, 0.5, 1.0, (0.2, 0.4, 1.0, 1.0)),
    }

    academy = scene.academy
    academy.decision_period = 1
    academy.max_steps = MAX_STEPS
    brain = academy.brains.get(BRAIN) or academy.brains.add()
    brain.name, brain.brain_type, brain.algorithm = BRAIN, "TRAINING", "PPO"
    ppo = brain.ppo
    ppo.learning_rate, ppo.num_steps, ppo.minibatch_size, ppo.num_epochs = 3e-4, 128, 256, 4
    ppo.gamma, ppo.gae_lambda, ppo.ent_coef = 0.99, 0.95, 0.01
    ppo.hidden_units, ppo.num_layers, ppo.normalize_obs, ppo.max_steps = 128, 2, False, 300_000
    academy.training_steps = 200_000

    spec = behaviour()
    for i in range(agents):
        floor = bpy.data.objects.new(f"Room.{i:03d}", meshes["Floor"])
        floor.location = (i * SPACING, 0.0, 0.0)
        collection.objects.link(floor)

        def child(name, mesh, location, tag=None, *, room=floor, index=i):
            obj = bpy.data.objects.new(f"{name}.{index:03d}", meshes[mesh])
            obj.parent = room
            obj.location = location
            if tag:
                obj["academy_tag"] = tag
            collection.objects.link(obj)
            return obj

        child("Wall North", "WallX", (0.0, half, 0.0), "wall")
        child("Wall South", "WallX", (0.0, -half, 0.0), "wall")
        child("Wall East", "WallY", (half, 0.0, 0.0), "wall")
        child("Wall West", "WallY", (-half, 0.0, 0.0), "wall")
        exit_sign = child("Exit", "Exit", (0.0, half - 0.3, 0.0), "exit")
        slots = {"Exit": exit_sign}
        for name, count, _radius, tag in HAZARDS:
            for k in range(count):
                slots[f"{name}{k + 1}"] = child(f"{name} {k + 1}", name, (2.0 * k - 1.0, 0.0, 0.0), tag)
        person = child("Evacuee", "Agent", (0.0, -3.5, 0.0))
        agent = person.academy_agent
        agent.enabled, agent.brain = True, BRAIN
        for slot_name, obj in slots.items():
            slot = agent.objects.add()
            slot.name, slot.object = slot_name, obj
        set_behaviour(person, spec)
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    camera.location = (SPACING * (agents - 1) / 2, -SPACING * 1.6, SPACING * 1.4)
    camera.rotation_euler = (math.radians(50), 0.0, 0.0)
    collection.objects.link(camera)
    scene.camera = camera
    return scene
