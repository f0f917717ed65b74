"""Every node property and every node output changes what an agent does: each is set two ways in a
small scene and the run (observations, images, rewards, episode ends, what the agent's object and
properties show) must differ. ``test_controls.py`` checks this table covers everything registered."""

from __future__ import annotations

import importlib
import math

import bpy
import numpy as np
import pytest

from devtools import boot

M = boot.MODULE
nodes = importlib.import_module(M + ".nodes")
S = importlib.import_module(M + ".core.specs")
A = importlib.import_module(M + ".env.academy")
Session = importlib.import_module(M + ".env.session").Session

pytestmark = pytest.mark.lts

FRAMES = 4


class Probe:
    """A one-agent scene and a tree whose agent walks +X by its action (a Heuristic Brain, 0.5 a frame)."""

    def __init__(self):
        bpy.ops.wm.read_homefile(use_empty=True)
        scene = self.scene = bpy.context.scene
        scene.render.fps = 24
        scene.render.engine = "BLENDER_WORKBENCH"
        academy = scene.academy
        for name, value in (("speed", 0.7), ("size", 0.2)):
            p = academy.reset_parameters.add()
            p.name, p.value = name, value
        brain = academy.brains.add()
        brain.name, brain.brain_type = "B", "HEURISTIC"
        self.agent = agent = bpy.data.objects.new("Agent", bpy.data.meshes.new("m"))
        agent.rotation_euler.z = 0.5
        agent["hp"], agent["hp2"], agent["v"] = 0.5, 0.25, [1.0, 2.0]
        self.material = bpy.data.materials.new("Skin")
        agent.data.materials.append(self.material)
        self.target = bpy.data.objects.new("Target", None)
        self.target.location = (3.0, 4.0, 0.0)
        cam = bpy.data.cameras.new("Cam")
        self.cam = bpy.data.objects.new("Cam", cam)
        self.cam.location = (0.0, 1.0, 0.3)  # the wall fills the lower middle of its view
        self.cam.rotation_euler = (math.radians(88), 0.0, 0.0)
        for obj in (agent, self.target, self.cam):
            scene.collection.objects.link(obj)
        bpy.ops.mesh.primitive_cube_add(size=2.0, location=(0.0, 5.0, 0.0))
        wall = bpy.context.object
        wall.name, wall.scale, wall["academy_tag"] = "Wall", (10.0, 0.5, 0.25), "wall"
        self.wall = wall
        settings = agent.academy_agent
        settings.enabled, settings.brain = True, "B"
        for slot_name, obj in (("Target", self.target), ("Cam", self.cam)):
            slot = settings.objects.add()
            slot.name, slot.object = slot_name, obj
        tree = self.tree = bpy.data.node_groups.new("Probe", "AcademyNodeTree")
        settings.behaviour_tree = tree
        self.self_node = self.new("AcademySelfNode")
        self.observe = self.new("AcademyObserveNode")
        self.action = self.new("AcademyContinuousActionNode", size=1)
        self.heuristic = self.new("AcademyHeuristicActionNode", size=1)
        self.heuristic.inputs[0].default_value = 0.5
        self.move = self.new("AcademySetTransformNode", axis="X", mode="ADD")
        self.link(self.action.outputs["Action 1"], self.move.inputs["Value"])
        self.link(self.self_node.outputs[0], self.move.inputs["Object"])
        self._observed = 0

    def new(self, idname: str, **props):
        node = self.tree.nodes.new(idname)
        for key, value in props.items():
            setattr(node, key, value)
        return node

    def link(self, out, into):
        self.tree.links.new(out, into)

    def rotation(self, mode="EULER"):
        tf = self.new("AcademyTransformNode", rotation_mode=mode)
        self.link(self.self_node.outputs[0], tf.inputs["Object"])
        return tf.outputs["Rotation"]

    def slot(self, name="Target"):
        return self.new("AcademyObjectNode", slot=name).outputs[0]

    def location(self, obj_socket=None):
        tf = self.new("AcademyTransformNode")
        self.link(obj_socket or self.self_node.outputs[0], tf.inputs["Object"])
        return tf.outputs["Location"]

    def watch(self, socket) -> None:
        """Make ``socket`` part of the observation."""
        self.link(socket, self.observe.inputs[0])
        self._observed += 1

    def run(self):
        """What the run shows, comparable with ``same``; an error message if it cannot run."""
        if not self._observed:
            self.watch(self.location())
        try:
            session = Session(self.scene, training=False, steps=0).start()
        except Exception as exc:  # noqa: BLE001 - a setting that makes the tree invalid is a different outcome
            return f"error: {exc}"
        state = session.brain("B")
        frames = []
        for _ in range(FRAMES):
            self.scene.frame_set(self.scene.frame_current + 1)
            obs = state.last_obs
            agent = self.agent
            frames.append(
                (
                    {k: np.array(v) for k, v in obs.items()} if isinstance(obs, dict) else np.array(obs),
                    state.rewards.copy(),
                    state.terminated.copy(),
                    state.truncated.copy(),
                    state.success.copy(),
                    tuple(agent.location),
                    tuple(agent.rotation_euler),
                    tuple(agent.scale),
                    tuple(agent.color),
                    (agent["hp"], agent["hp2"]),
                    tuple(self.material.diffuse_color),
                    np.array(state.last_actions),
                )
            )
        error = session.error
        session.finish(store=False)
        return f"error: {error}" if error is not None else frames


def same(a, b) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    for fa, fb in zip(a, b, strict=True):
        for x, y in zip(fa, fb, strict=True):
            if isinstance(x, dict):
                if x.keys() != y.keys() or not all(np.array_equal(x[k], y[k]) for k in x):
                    return False
            elif np.shape(x) != np.shape(y) or not np.array_equal(x, y):
                return False
    return True


# -- the probes: key -> (setup(probe, value), value A, value B) -------------------------------------


def _object(p, v):
    v = {k: bpy.data.objects[x] if k == "object" else x for k, x in v.items()}
    p.watch(p.location(p.new("AcademyObjectNode", **v).outputs[0]))


def _property(p, v):
    node = p.new("AcademyPropertyNode", **v)
    p.link(p.self_node.outputs[0], node.inputs["Object"])
    p.watch(node.outputs[0])


def _transform(p, v):
    node = p.new("AcademyTransformNode", rotation_mode=v)
    p.link(p.self_node.outputs[0], node.inputs["Object"])
    p.watch(node.outputs["Rotation"])


def _direction(p, v):
    node = p.new("AcademyDistanceNode", local=v)
    p.link(p.self_node.outputs[0], node.inputs["From"])
    p.link(p.slot(), node.inputs["To"])
    p.watch(node.outputs["Direction"])


def _rays(p, v):
    node = p.new("AcademyRayPerceptionNode", rays=3, angle=30.0, length=10.0, tags="wall")
    for key, value in v.items():
        setattr(node, key, value)
    p.link(p.self_node.outputs[0], node.inputs["Object"])
    p.watch(node.outputs[0])
    p.agent.rotation_euler.z = 0.0


def _camera(p, v):
    node = p.new("AcademyCameraNode", mode="FAST", kind="COLOR", width=32, height=24)
    for key, value in v.items():
        setattr(node, key, value)
    p.link(p.slot("Cam"), node.inputs["Camera"])
    p.watch(node.outputs[0])


def _reset_parameter(p, v):
    p.watch(p.new("AcademyResetParameterNode", parameter=v).outputs[0])


def _random(p, v):
    first = p.new("AcademyRandomNode", **{"low": 0.0, "high": 1.0, "size": 1, **v})
    second = p.new("AcademyRandomNode", low=first.low, high=first.high, size=first.size)
    p.watch(first.outputs[0])
    p.watch(second.outputs[0])  # with one stream, the same numbers as the first


def _value(p, v):
    p.watch(p.new("AcademyValueNode", value=v).outputs[0])


def _math(p, idname, props, inputs, out=0):
    node = p.new(idname, **props)
    for name, value in inputs.items():
        node.inputs[name].default_value = value
    p.watch(node.outputs[out])
    return node


def _select(p, v):
    node = p.new("AcademySelectNode", count=v)
    node.inputs["Index"].default_value = 2.0
    for i in range(3):
        node.inputs[f"Option {i}"].default_value = 10.0 + i
    p.watch(node.outputs[0])


def _continuous(p, v):
    for key, value in v.items():
        setattr(p.action, key, value)
    p.heuristic.size = p.action.size


def _discrete(p, v):
    p.tree.nodes.remove(p.action)
    act = p.new("AcademyDiscreteActionNode", branches=v)
    p.heuristic.inputs[0].default_value = 2.0
    pick = p.new("AcademySelectNode", count=3)
    for i in range(3):
        pick.inputs[f"Option {i}"].default_value = float(i)
    p.link(act.outputs[0], pick.inputs["Index"])
    p.link(pick.outputs[0], p.move.inputs["Value"])


def _reward(p, v):
    p.new("AcademyRewardNode", weight=v)


def _end(p, v):
    end = p.new("AcademyEndEpisodeNode", **v)
    step = p.new("AcademyStepInfoNode")
    cmp = p.new("AcademyCompareNode", operation="GREATER_EQUAL")
    cmp.inputs["B"].default_value = 2.0
    p.link(step.outputs["Step"], cmp.inputs["A"])
    p.link(cmp.outputs[0], end.inputs["Condition"])


def _heuristic(p, v):
    p.heuristic.size = v


def _write(idname, base):
    """An output node writing the Step number (it changes every decision) with ``base`` settings."""

    def setup(p, v):
        node = p.new(idname, **{**base, **v})
        p.link(p.self_node.outputs[0], node.inputs["Object"])
        step = p.new("AcademyStepInfoNode")
        scale = p.new("AcademyMathNode", operation="MULTIPLY")
        scale.inputs["B"].default_value = 3.0
        p.link(step.outputs["Step"], scale.inputs["A"])
        p.link(scale.outputs[0], node.inputs["Value"])

    return setup


_SETPROP = {"path": '["hp"]', "index": -1}
_SETTF = {"channel": "LOCATION", "axis": "Z"}


def _look_at(p, v):
    node = p.new("AcademyLookAtNode", **v)
    p.link(p.self_node.outputs[0], node.inputs["Object"])
    p.link(p.slot(), node.inputs["Target"])


def _colour(p, v):
    node = p.new("AcademySetColourNode", **v)
    p.link(p.self_node.outputs[0], node.inputs["Object"])
    step = p.new("AcademyStepInfoNode")
    combine = p.new("AcademyCombineNode", count=3)
    p.link(step.outputs["Progress"], combine.inputs[0])
    p.link(combine.outputs[0], node.inputs["Colour"])
    p.agent.academy_agent.max_steps = 8


def _group(p, v):
    group = nodes.group.new_group_tree(f"G{v}")
    group.interface.new_socket("Result", in_out="OUTPUT", socket_type="AcademySocketFloat")
    const = group.nodes.new("AcademyValueNode")
    const.value = v
    group.links.new(const.outputs[0], group.nodes["Group Output"].inputs[0])
    node = p.new("AcademyGroupNode")
    node.node_tree = group
    nodes.group.sync_sockets(node)
    p.watch(node.outputs[0])


def _tree_revision(p, v):
    """The tree's revision marks edits: a running Academy notices a bump (and says so)."""
    p.watch(p.location())
    session = Session(p.scene, training=False, steps=0).start()
    if v:
        p.tree.bump()
    notice = session.notice
    session.finish(store=False)
    return notice


def _socket_float(p, v):
    reward = p.new("AcademyRewardNode")
    reward.inputs["Value"].default_value = v


def _socket_vector(p, v):
    _math(p, "AcademyVectorMathNode", {"operation": "ADD"}, {"A": v})


def _socket_bool(p, v):
    _math(p, "AcademyBooleanNode", {"operation": "OR"}, {"A": v})


def _other_agents(p):
    """Two more agents (of a second Brain "C"): Rival on team 1 at (-4, 2, 0), Mate on team 0 at (6, -3, 0)."""
    brain = p.scene.academy.brains.add()
    brain.name, brain.brain_type = "C", "HEURISTIC"
    spec = S.Behaviour(observations=(S.Location(),), actions=S.ContinuousActions(1), heuristic=S.Const((0.0,)))
    for name, team, loc in (("Rival", 1, (-4.0, 2.0, 0.0)), ("Mate", 0, (6.0, -3.0, 0.0))):
        obj = bpy.data.objects.new(name, None)
        p.scene.collection.objects.link(obj)
        obj.location = loc
        settings = obj.academy_agent
        settings.enabled, settings.brain, settings.team = True, "C", team
        A.set_behaviour(obj, spec)


def _other_agent(p, v):
    _other_agents(p)
    p.watch(p.location(p.new("AcademyOtherAgentNode", mode=v).outputs[0]))


def _teammate(p, team=0):
    """A second agent of Brain "B" (same tree) on ``team``, with hp 0.25."""
    mate = bpy.data.objects.new("Mate", bpy.data.meshes.new("m2"))
    p.scene.collection.objects.link(mate)
    mate["hp"], mate["hp2"], mate["v"] = 0.25, 0.25, [1.0, 2.0]
    settings = mate.academy_agent
    settings.enabled, settings.brain, settings.team, settings.behaviour_tree = True, "B", team, p.tree
    for slot_name, obj in (("Target", p.target), ("Cam", p.cam)):
        slot = settings.objects.add()
        slot.name, slot.object = slot_name, obj
    return mate


def _group_reward(p, v):
    _teammate(p)
    node = p.new("AcademyGroupRewardNode", **v)
    hp = p.new("AcademyPropertyNode", path='["hp"]')
    p.link(p.self_node.outputs[0], hp.inputs["Object"])
    p.link(hp.outputs[0], node.inputs["Value"])


NODE_PROPERTIES = {
    "AcademyObjectNode.source": (
        _object,
        {"source": "SLOT", "slot": "Target", "object": "Wall"},
        {"source": "OBJECT", "slot": "Target", "object": "Wall"},
    ),
    "AcademyObjectNode.slot": (_object, {"slot": "Target"}, {"slot": "Cam"}),
    "AcademyObjectNode.object": (
        _object,
        {"source": "OBJECT", "object": "Target"},
        {"source": "OBJECT", "object": "Wall"},
    ),
    "AcademyPropertyNode.path": (_property, {"path": "location", "index": 0}, {"path": "scale", "index": 0}),
    "AcademyPropertyNode.index": (_property, {"path": "location", "index": 0}, {"path": "location", "index": 2}),
    "AcademyPropertyNode.size": (_property, {"path": '["v"]', "size": 2}, {"path": '["v"]', "size": 1}),
    "AcademyTransformNode.rotation_mode": (_transform, "EULER", "QUATERNION"),
    "AcademyDistanceNode.local": (_direction, False, True),
    "AcademyRayPerceptionNode.rays": (_rays, {"rays": 3}, {"rays": 5}),
    "AcademyRayPerceptionNode.angle": (_rays, {"angle": 30.0}, {"angle": 120.0}),
    "AcademyRayPerceptionNode.length": (_rays, {"length": 10.0}, {"length": 20.0}),
    "AcademyRayPerceptionNode.tags": (_rays, {"tags": "wall"}, {"tags": ""}),
    "AcademyRayPerceptionNode.forward": (_rays, {"forward": "Y"}, {"forward": "X"}),
    "AcademyRayPerceptionNode.offset": (_rays, {"offset": 0.0}, {"offset": 0.5}),
    "AcademyCameraNode.mode": (_camera, {"mode": "FAST"}, {"mode": "RENDER"}),
    "AcademyCameraNode.kind": (_camera, {"kind": "COLOR"}, {"kind": "DEPTH"}),
    "AcademyCameraNode.width": (_camera, {"width": 32}, {"width": 24}),
    "AcademyCameraNode.height": (_camera, {"height": 24}, {"height": 32}),
    "AcademyCameraNode.grayscale": (_camera, {"grayscale": False}, {"grayscale": True}),
    "AcademyResetParameterNode.parameter": (_reset_parameter, "speed", "size"),
    "AcademyRandomNode.low": (_random, {"low": 0.0}, {"low": 0.5}),
    "AcademyRandomNode.high": (_random, {"high": 1.0}, {"high": 2.0}),
    "AcademyRandomNode.size": (_random, {"size": 1}, {"size": 2}),
    "AcademyRandomNode.stream": (_random, {"stream": 0}, {"stream": 1}),
    "AcademyValueNode.value": (_value, 1.0, 2.0),
    "AcademyMathNode.operation": (
        lambda p, v: _math(p, "AcademyMathNode", {"operation": v}, {"A": 2.0, "B": 3.0}),
        "ADD",
        "MULTIPLY",
    ),
    "AcademyVectorMathNode.operation": (
        lambda p, v: _math(p, "AcademyVectorMathNode", {"operation": v}, {"A": (1.0, 2.0, 3.0), "B": (1.0, 1.0, 1.0)}),
        "ADD",
        "SUBTRACT",
    ),
    "AcademyCompareNode.operation": (
        lambda p, v: _math(p, "AcademyCompareNode", {"operation": v}, {"A": 1.0, "B": 2.0}),
        "LESS_THAN",
        "GREATER_THAN",
    ),
    "AcademyCompareNode.epsilon": (
        lambda p, v: _math(p, "AcademyCompareNode", {"operation": "EQUAL", "epsilon": v}, {"A": 1.0, "B": 1.05}),
        1e-6,
        0.1,
    ),
    "AcademyBooleanNode.operation": (
        lambda p, v: _math(p, "AcademyBooleanNode", {"operation": v}, {"A": True, "B": False}),
        "AND",
        "OR",
    ),
    "AcademyClampNode.low": (lambda p, v: _math(p, "AcademyClampNode", {"low": v}, {"Value": 0.5}), 0.0, 0.8),
    "AcademyClampNode.high": (lambda p, v: _math(p, "AcademyClampNode", {"high": v}, {"Value": 0.5}), 1.0, 0.2),
    **{
        f"AcademyMapRangeNode.{prop}": (
            lambda p, v, prop=prop: _math(p, "AcademyMapRangeNode", {prop: v}, {"Value": 0.5}),
            a,
            b,
        )
        for prop, a, b in (
            ("from_low", 0.0, 0.2),
            ("from_high", 1.0, 2.0),
            ("to_low", 0.0, -1.0),
            ("to_high", 1.0, 3.0),
        )
    },
    "AcademyMapRangeNode.clamp": (
        lambda p, v: _math(p, "AcademyMapRangeNode", {"clamp": v}, {"Value": 2.0}),
        True,
        False,
    ),
    "AcademyCombineNode.count": (lambda p, v: _math(p, "AcademyCombineNode", {"count": v}, {}), 3, 2),
    "AcademySelectNode.count": (_select, 3, 2),
    "AcademyContinuousActionNode.size": (_continuous, {"size": 1}, {"size": 2}),  # the Brain decides 2 numbers
    "AcademyContinuousActionNode.low": (_continuous, {"low": -1.0}, {"low": 0.6}),
    "AcademyContinuousActionNode.high": (_continuous, {"high": 1.0}, {"high": 0.3}),
    "AcademyDiscreteActionNode.branches": (_discrete, "Move: Left, Stay, Right", "Move: Left, Right"),
    "AcademyRewardNode.weight": (_reward, 1.0, 2.0),
    "AcademyOtherAgentNode.mode": (_other_agent, "OTHER_TEAM", "SAME_TEAM"),
    "AcademyGroupRewardNode.weight": (_group_reward, {"weight": 1.0}, {"weight": 2.0}),
    "AcademyGroupRewardNode.combine": (_group_reward, {"combine": "SUM"}, {"combine": "MAX"}),
    "AcademyEndEpisodeNode.success": (_end, {"success": False}, {"success": True}),
    "AcademyEndEpisodeNode.reward": (_end, {"reward": 0.0}, {"reward": 1.0}),
    "AcademyHeuristicActionNode.size": (_heuristic, 1, 2),
    **{
        f"{idname}.{prop}": (_write(idname, base), a, b)
        for idname, base in (("AcademySetPropertyNode", _SETPROP), ("AcademySetTransformNode", _SETTF))
        for prop, a, b in (
            ("when", {"when": "FRAME"}, {"when": "RESET"}),
            ("mode", {"mode": "SET"}, {"mode": "ADD"}),
            ("use_clamp", {"use_clamp": False}, {"use_clamp": True}),
            ("low", {"use_clamp": True, "low": -1.0}, {"use_clamp": True, "low": 1.0}),
            ("high", {"use_clamp": True, "high": 1.0}, {"use_clamp": True, "high": 2.0}),
        )
    },
    "AcademySetPropertyNode.path": (_write("AcademySetPropertyNode", _SETPROP), {}, {"path": '["hp2"]'}),
    "AcademySetPropertyNode.index": (
        _write("AcademySetPropertyNode", _SETPROP),
        {"path": "location", "index": 1},
        {"path": "location", "index": 2},
    ),
    "AcademySetTransformNode.channel": (_write("AcademySetTransformNode", _SETTF), {}, {"channel": "SCALE"}),
    "AcademySetTransformNode.axis": (_write("AcademySetTransformNode", _SETTF), {}, {"axis": "Y"}),
    "AcademyLookAtNode.when": (_look_at, {"when": "FRAME"}, {"when": "RESET"}),
    "AcademyLookAtNode.track": (_look_at, {"track": "Y"}, {"track": "-Z"}),
    "AcademySetColourNode.when": (_colour, {"when": "FRAME"}, {"when": "RESET"}),
    "AcademySetColourNode.target": (_colour, {"target": "OBJECT"}, {"target": "MATERIAL"}),
    "AcademyGroupNode.node_tree": (_group, 1.0, 2.0),
    "AcademyNodeTree.revision": (_tree_revision, False, True),
    "AcademySocketFloat.default_value": (_socket_float, 1.0, 2.0),
    "AcademySocketVector.default_value": (_socket_vector, (0.0, 0.0, 0.0), (1.0, 2.0, 3.0)),
    "AcademySocketBool.default_value": (_socket_bool, False, True),
}


def _watch_output(idname, output, props=None, via=None, inputs=None, vary=None):
    """Observe ``output`` of a new ``idname`` node; ``vary(probe, node, value)`` sets the two ways."""

    def setup(p, v):
        node = p.new(idname, **(props or {}))
        for name, value in (inputs or {}).items():
            if hasattr(value, "is_output"):
                p.link(value, node.inputs[name])
            elif callable(value):
                p.link(value(p), node.inputs[name])
            else:
                node.inputs[name].default_value = value
        for socket in node.inputs:
            if socket.bl_idname == "AcademySocketObject" and not socket.is_linked and socket.name != "Relative To":
                p.link(p.self_node.outputs[0], socket)
        vary(p, node, v)
        out = node.outputs[output]
        p.watch(via(p, out) if via else out)

    return setup


def _rotate(p, node, v):
    p.agent.rotation_euler.z = v


def _spin(p, node, v):
    """The agent also turns about Z by its action every frame, at speed ``v``."""
    turn = p.new("AcademySetTransformNode", channel="ROTATION", axis="Z", mode="ADD")
    p.link(p.self_node.outputs[0], turn.inputs["Object"])
    p.link(p.action.outputs["Action 1"], turn.inputs["Value"])
    _speed(p, node, v)


def _hp(p, node, v):
    p.agent["hp"] = v


def _speed(p, node, v):
    p.heuristic.inputs[0].default_value = v


def _max_steps(p, node, v):
    p.agent.academy_agent.max_steps = v


def _default(name):
    def vary(p, node, v):
        node.inputs[name].default_value = v

    return vary


def _action_output(output):
    def setup(p, v):
        p.move.inputs["Value"].default_value = 0.0
        for link in list(p.move.inputs["Value"].links):
            p.tree.links.remove(link)
        if v:
            p.link(p.action.outputs[output], p.move.inputs["Value"])

    return setup


def _discrete_output(p, v):
    _discrete(p, "Move: Left, Stay, Right")
    if not v:
        for link in list(p.move.inputs["Value"].links):
            p.tree.links.remove(link)


NODE_OUTPUTS = {
    # Self is the agent: _watch_output links Self into the Transform, so its location follows the agent
    "AcademySelfNode.Self": (_watch_output("AcademyTransformNode", "Location", vary=_speed), 0.5, 0.25),
    "AcademyObjectNode.Object": (lambda p, v: p.watch(p.location(p.slot(v))), "Target", "Cam"),
    "AcademyPropertyNode.Value": (
        _watch_output("AcademyPropertyNode", "Value", {"path": '["hp"]'}, vary=_hp),
        0.5,
        0.75,
    ),
    "AcademyTransformNode.Location": (_watch_output("AcademyTransformNode", "Location", vary=_speed), 0.5, 0.25),
    "AcademyTransformNode.Rotation": (_watch_output("AcademyTransformNode", "Rotation", vary=_rotate), 0.5, 0.25),
    "AcademyVelocityNode.Linear": (_watch_output("AcademyVelocityNode", "Linear", vary=_speed), 0.5, 0.25),
    "AcademyVelocityNode.Angular": (
        _watch_output("AcademyVelocityNode", "Angular", vary=_spin),
        0.5,
        0.25,
    ),
    "AcademyDistanceNode.Distance": (
        _watch_output("AcademyDistanceNode", "Distance", inputs={"To": lambda p: p.slot()}, vary=_speed),
        0.5,
        0.25,
    ),
    "AcademyDistanceNode.Direction": (
        _watch_output("AcademyDistanceNode", "Direction", inputs={"To": lambda p: p.slot()}, vary=_speed),
        0.5,
        0.25,
    ),
    "AcademyRayPerceptionNode.Rays": (
        _watch_output("AcademyRayPerceptionNode", "Rays", {"tags": "wall"}, vary=_rotate),
        0.0,
        1.5,
    ),
    "AcademyCameraNode.Image": (
        _watch_output(
            "AcademyCameraNode",
            "Image",
            {"width": 8, "height": 6},
            inputs={"Camera": lambda p: p.slot("Cam")},
            vary=lambda p, n, v: setattr(p.wall, "location", v),
        ),  # fmt: skip
        (0.0, 5.0, 0.0),
        (30.0, 5.0, 0.0),
    ),
    "AcademyStepInfoNode.Step": (_watch_output("AcademyStepInfoNode", "Step", vary=_max_steps), 0, 2),
    "AcademyStepInfoNode.Episode": (_watch_output("AcademyStepInfoNode", "Episode", vary=_max_steps), 0, 2),
    "AcademyStepInfoNode.Progress": (_watch_output("AcademyStepInfoNode", "Progress", vary=_max_steps), 8, 16),
    "AcademyResetParameterNode.Value": (
        _watch_output(
            "AcademyResetParameterNode",
            "Value",
            {"parameter": "speed"},
            vary=lambda p, n, v: setattr(p.scene.academy.reset_parameters["speed"], "value", v),
        ),  # fmt: skip
        0.7,
        0.9,
    ),
    "AcademyRandomNode.Value": (
        _watch_output("AcademyRandomNode", "Value", vary=lambda p, n, v: setattr(p.scene.academy, "seed", v)),
        0,
        1,
    ),
    "AcademyValueNode.Value": (
        _watch_output("AcademyValueNode", "Value", vary=lambda p, n, v: setattr(n, "value", v)),
        1.0,
        2.0,
    ),
    "AcademyMathNode.Value": (_watch_output("AcademyMathNode", "Value", vary=_default("A")), 1.0, 2.0),
    "AcademyVectorMathNode.Result": (
        _watch_output("AcademyVectorMathNode", "Result", vary=_default("A")),
        (1.0, 0.0, 0.0),
        (2.0, 0.0, 0.0),
    ),
    "AcademyCompareNode.Result": (_watch_output("AcademyCompareNode", "Result", vary=_default("A")), -1.0, 1.0),
    "AcademyBooleanNode.Result": (
        _watch_output("AcademyBooleanNode", "Result", {"operation": "OR"}, vary=_default("A")),
        False,
        True,
    ),
    "AcademyClampNode.Result": (_watch_output("AcademyClampNode", "Result", vary=_default("Value")), 0.25, 0.5),
    "AcademyMapRangeNode.Result": (_watch_output("AcademyMapRangeNode", "Result", vary=_default("Value")), 0.25, 0.5),
    "AcademySwitchNode.Output": (
        _watch_output("AcademySwitchNode", "Output", inputs={"True": 1.0}, vary=_default("Switch")),
        False,
        True,
    ),
    **{
        f"AcademySeparateNode.{axis}": (
            _watch_output(
                "AcademySeparateNode",
                axis,
                inputs={"Vector": lambda p: p.location()},
                vary=lambda p, n, v, i=i: setattr(
                    p.agent, "location", tuple(v if j == i % 3 else 0.0 for j in range(3))
                ),
            ),  # fmt: skip
            1.0,
            2.0,
        )
        for i, axis in enumerate("XYZ")
    },
    "AcademySeparateNode.W": (
        _watch_output(
            "AcademySeparateNode",
            "W",
            inputs={"Vector": lambda p: p.rotation("QUATERNION")},
            vary=_rotate,
        ),  # fmt: skip
        0.5,
        1.0,
    ),
    "AcademyCombineNode.Vector": (_watch_output("AcademyCombineNode", "Vector", vary=_default("X")), 1.0, 2.0),
    "AcademySelectNode.Value": (
        _watch_output("AcademySelectNode", "Value", inputs={"Option 1": 5.0}, vary=_default("Index")),
        0.0,
        1.0,
    ),
    "AcademyTeamNode.Team": (
        _watch_output("AcademyTeamNode", "Team", vary=lambda p, n, v: setattr(p.agent.academy_agent, "team", v)),
        0,
        1,
    ),
    "AcademyTeamNode.Team Size": (
        _watch_output("AcademyTeamNode", "Team Size", vary=lambda p, n, v: _teammate(p, team=v)),
        0,
        1,
    ),
    "AcademyOtherAgentNode.Agent": (
        _watch_output(
            "AcademyDistanceNode",
            "Distance",
            inputs={"To": lambda p: (_other_agents(p), p.new("AcademyOtherAgentNode").outputs[0])[1]},
            vary=lambda p, n, v: setattr(bpy.data.objects["Rival"], "location", v),
        ),  # fmt: skip
        (-4.0, 2.0, 0.0),
        (9.0, 1.0, 0.0),
    ),
    "AcademyChangedNode.Change": (
        _watch_output("AcademyChangedNode", "Change", inputs={"Value": lambda p: p.location()}, vary=_speed),
        0.5,
        0.25,
    ),
    "AcademyContinuousActionNode.Actions": (_action_output("Actions"), False, True),
    "AcademyContinuousActionNode.Action *": (_action_output("Action 1"), False, True),
    "AcademyDiscreteActionNode.branch_*": (_discrete_output, False, True),
}


def _dynamic(identifier: str) -> str:
    """Outputs a node makes per setting (Action 1, 2, …; one per branch) are one control."""
    if identifier.startswith("Action ") and identifier[7:].isdigit():
        return "Action *"
    if identifier.startswith("branch_"):
        return "branch_*"
    return identifier


@pytest.mark.parametrize("key", sorted(NODE_PROPERTIES))
def test_node_property_changes_what_the_agent_does(key):
    setup, a, b = NODE_PROPERTIES[key]
    outcomes = []
    for value in (a, b):
        probe = Probe()
        result = setup(probe, value)
        outcomes.append(result if isinstance(result, str) else probe.run())
    assert not same(*outcomes), f"{key}: {a!r} and {b!r} give the same run"
    assert not all(isinstance(o, str) and o.startswith("error") for o in outcomes), outcomes


@pytest.mark.parametrize("key", sorted(NODE_OUTPUTS))
def test_node_output_carries_its_value_into_the_behaviour(key):
    setup, a, b = NODE_OUTPUTS[key]
    outcomes = []
    for value in (a, b):
        probe = Probe()
        setup(probe, value)
        outcomes.append(probe.run())
    assert not any(isinstance(o, str) for o in outcomes), outcomes
    assert not same(*outcomes), f"{key}: the run does not depend on it"
