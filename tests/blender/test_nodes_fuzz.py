"""Fuzz: hundreds of random and malformed behaviour trees either compile or fail on a named node.

Random nodes with random settings, random links (of any kind, into any input), missing links,
cycles, bad data paths, groups and reroutes. Each tree is compiled and validated against an agent;
the ones that compile also run a few frames. None may raise anything but a node-named error,
and the scene must be as it was afterwards. Seeded, so every run builds the same trees.
"""

import importlib
import os
import random
import time

import bpy
import pytest

from devtools import boot

M = boot.MODULE
S = importlib.import_module(M + ".core.specs")
nodes = importlib.import_module(M + ".nodes")
behaviours = importlib.import_module(M + ".env.behaviours")
Session = importlib.import_module(M + ".env.session").Session

pytestmark = pytest.mark.lts

TREES = 500
PATHS = ["location", "rotation_euler", "scale[2]", '["hp"]', "location[1]", "nope", "", 'modifiers["X"].y', "color"]


def _scene():
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    brain = scene.academy.brains.add()
    brain.name, brain.brain_type = "B", "HEURISTIC"
    agent = bpy.data.objects.new("Agent", bpy.data.meshes.new("m"))
    ball = bpy.data.objects.new("Ball", None)
    for obj in (agent, ball):
        scene.collection.objects.link(obj)
    agent["hp"] = 1.0
    agent.academy_agent.enabled, agent.academy_agent.brain = True, "B"
    slot = agent.academy_agent.objects.add()
    slot.name, slot.object = "Ball", ball
    return scene, agent


def _state(scene):
    bpy.context.view_layer.update()
    out = {"frame": scene.frame_current, "objects": sorted(o.name for o in bpy.data.objects)}
    for obj in scene.objects:
        out[obj.name] = (
            tuple(round(v, 6) for v in obj.matrix_world.col[3]),
            tuple(round(v, 6) for v in obj.rotation_euler),
            tuple(round(v, 6) for v in obj.scale),
            tuple(round(v, 6) for v in obj.color),
            obj.get("hp"),
        )
    return out


def _randomise(rng, node, group_trees):
    for prop in node.bl_rna.properties:
        ident = prop.identifier
        if prop.is_readonly or ident in ("name", "label", "location", "width", "height", "color", "mute"):
            continue
        if not prop.is_runtime and ident != "node_tree":
            continue
        if ident == "node_tree":
            if group_trees and rng.random() < 0.8:
                node.node_tree = rng.choice(group_trees)
                nodes.group.sync_sockets(node)
            continue
        try:
            if prop.type == "ENUM":
                setattr(node, ident, rng.choice([item.identifier for item in prop.enum_items]))
            elif prop.type == "INT":
                low, high = max(prop.hard_min, -2), min(prop.hard_max, 6)
                setattr(node, ident, rng.randint(low, high))
            elif prop.type == "FLOAT" and not prop.is_array:
                setattr(node, ident, rng.choice([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0]))
            elif prop.type == "BOOLEAN" and not prop.is_array:
                setattr(node, ident, rng.random() < 0.5)
            elif prop.type == "STRING":
                if ident == "path":
                    value = rng.choice(PATHS)
                elif ident == "slot":
                    value = rng.choice(["Ball", "Ball", "Missing", ""])
                elif ident == "branches":
                    value = rng.choice(["Move: Left, Right", "A: x; B: y, z", "", "Empty:"])
                else:
                    value = rng.choice(["", "hp", "a, b"])
                setattr(node, ident, value)
            elif prop.type == "POINTER" and ident == "object":
                node.object = rng.choice([None, *bpy.data.objects])
        except (TypeError, ValueError):
            pass


def _random_tree(rng, index, group_trees):
    tree = bpy.data.node_groups.new(f"Fuzz{index}", "AcademyNodeTree")
    kinds = [cls.bl_idname for cls in nodes.NODES] + ["NodeReroute", "NodeFrame"]
    if group_trees:
        kinds.append("AcademyGroupNode")
    sinks = ["AcademyObserveNode", "AcademyContinuousActionNode", "AcademyDiscreteActionNode", "AcademyRewardNode"]
    chosen = [rng.choice(kinds) for _ in range(rng.randint(1, 12))]
    if rng.random() < 0.7:
        chosen += rng.sample(sinks, rng.randint(1, 4))
    if rng.random() < 0.4:  # start from a valid skeleton, so random additions also get to run
        tf = tree.nodes.new("AcademyTransformNode")
        obs = tree.nodes.new("AcademyObserveNode")
        tree.links.new(tf.outputs[rng.randint(0, 1)], obs.inputs[0])
        tree.nodes.new("AcademyContinuousActionNode")
        tree.nodes.new("AcademyRewardNode")
        chosen = [c for c in chosen if c not in sinks]
    for idname in chosen:
        node = tree.nodes.new(idname)
        _randomise(rng, node, group_trees)
        if hasattr(node, "low") and hasattr(node, "high") and rng.random() < 0.8:
            node.low, node.high = -1.0, 1.0
    all_nodes = list(tree.nodes)
    outs = [s for n in all_nodes for s in n.outputs if s.enabled]
    ins = [s for n in all_nodes for s in n.inputs if s.enabled]
    for _ in range(rng.randint(0, 3 * len(all_nodes))):
        if not outs or not ins:
            break
        a, b = rng.choice(outs), rng.choice(ins)
        if a.node == b.node and rng.random() < 0.7:
            continue
        try:
            tree.links.new(a, b)
        except RuntimeError:
            pass
    if rng.random() < 0.2 and tree.links:  # a muted node or link now and then
        rng.choice(list(tree.links)).is_muted = True
    if rng.random() < 0.2:
        rng.choice(all_nodes).mute = True
    return tree


def _group_trees(rng):
    """Two small groups, one of them broken."""
    out = []
    for i in range(2):
        g = nodes.group.new_group_tree(f"FuzzGroup{i}")
        g.interface.new_socket("In", in_out="INPUT", socket_type="AcademySocketFloat")
        g.interface.new_socket("Out", in_out="OUTPUT", socket_type="AcademySocketFloat")
        math = g.nodes.new("AcademyMathNode")
        g.links.new(g.nodes["Group Input"].outputs[0], math.inputs[0])
        g.links.new(math.outputs[0], g.nodes["Group Output"].inputs[0])
        if i == 1:
            g.links.new(g.nodes.new("AcademySelfNode").outputs[0], math.inputs[1])
        out.append(g)
    return out


def _compiles_or_names_a_node(tree):
    names = {n.name for n in tree.nodes} | {tree.name}
    for n in tree.nodes:
        if getattr(n, "node_tree", None):
            names |= {f"{n.name} > {m.name}" for m in n.node_tree.nodes}
            for m in n.node_tree.nodes:
                if getattr(m, "node_tree", None):
                    names |= {f"{n.name} > {m.name} > {k.name}" for k in m.node_tree.nodes}
    try:
        nodes.compiled(tree)
    except nodes.NodeError as exc:
        assert exc.node in names, str(exc)
        assert "internal error" not in exc.message, str(exc)


def test_random_trees_compile_or_name_the_node():
    rng = random.Random(1234)
    scene, agent = _scene()
    groups = _group_trees(rng)
    before = _state(scene)
    start = time.perf_counter()
    outcomes = {"compiled": 0, "error": 0, "ran": 0, "grouped": 0}
    for i in range(TREES):
        tree = _random_tree(rng, i, groups)
        names = {n.name for n in tree.nodes} | {tree.name}
        for n in tree.nodes:
            if getattr(n, "node_tree", None):
                names |= {f"{n.name} > {m.name}" for m in n.node_tree.nodes}
        try:
            nodes.compiled(tree)
        except nodes.NodeError as exc:
            assert exc.node in names, (i, str(exc))
            assert exc.message and "internal error" not in exc.message, (i, str(exc))
            outcomes["error"] += 1
        else:
            outcomes["compiled"] += 1
        errors = nodes.validate(tree, scene)
        assert all(node in names or node == "" for node, _ in errors), (i, errors)
        agent.academy_agent.behaviour_tree = tree
        try:
            behaviour = behaviours.behaviour_for(agent)
        except S.SpecError as exc:
            assert "node '" in str(exc) or "tree '" in str(exc), str(exc)
            if os.environ.get("FUZZ_DEBUG"):
                print(exc)
        else:
            # it compiled: it must also run (or refuse with a message) and leave the scene as it was
            scene.academy.brains["B"].brain_type = "HEURISTIC" if behaviour.heuristic is not None else "PLAYER"
            try:
                session = Session(scene, training=False, steps=0).start()
            except Exception as exc:  # the Academy refuses with a message naming the agent
                assert "Agent" in str(exc) or "Brain" in str(exc), (i, repr(exc))
                if os.environ.get("FUZZ_DEBUG"):
                    print("refused", exc)
            else:
                for _ in range(6):
                    scene.frame_set(scene.frame_current + 1)
                session.finish(store=False)
                outcomes["ran"] += 1
            assert behaviour.actions is not None
        agent.academy_agent.behaviour_tree = None
        if rng.random() < 0.25 and len(tree.nodes) > 1:  # group some nodes, then ungroup them again
            picked = rng.sample(list(tree.nodes), rng.randint(1, len(tree.nodes)))
            group_node = nodes.group.make_group(tree, picked, f"Made{i}")
            _compiles_or_names_a_node(tree)
            if rng.random() < 0.5:
                nodes.group.ungroup(tree, group_node)
                _compiles_or_names_a_node(tree)
            outcomes["grouped"] += 1
        assert _state(scene) == before, i
        bpy.data.node_groups.remove(tree)
    print(outcomes, f"{time.perf_counter() - start:.1f} s")  # speed: bench/bench_compile.py, not here
    assert outcomes["error"] > TREES // 4 and outcomes["compiled"] > 10 and outcomes["ran"] > 5, outcomes
