"""The behaviour node tree: sockets, nodes, compiling into specs, validation, groups, parity with Python specs."""

import importlib

import bpy
import numpy as np
import pytest

from devtools import boot

M = boot.MODULE
S = importlib.import_module(M + ".core.specs")
bb = importlib.import_module(M + ".examples.balance_ball")
nodes = importlib.import_module(M + ".nodes")
Session = importlib.import_module(M + ".env.session").Session

pytestmark = pytest.mark.lts


def balance_ball(agents=2, use_nodes=True, brain_type="HEURISTIC"):
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bb.build(bpy.context.scene, agents=agents, use_nodes=use_nodes)
    scene.academy.brains[0].brain_type = brain_type
    return scene


def test_balance_ball_tree_compiles_to_the_python_spec():
    scene = balance_ball()
    tree = bpy.data.node_groups["Balance Ball"]
    compiled = nodes.compiled(tree).behaviour
    python = bb.behaviour()
    for part in ("observations", "actions", "writes", "rewards", "ends", "on_reset", "heuristic", "cameras"):
        assert getattr(compiled, part) == getattr(python, part), part
    assert compiled == python
    platforms = [o for o in scene.objects if o.academy_agent.enabled]
    assert all(p.academy_agent.behaviour_tree == tree for p in platforms)


def _run(scene, frames, training=False, steps=0):
    """Observations, rewards and actions of every decision for ``frames`` frames."""
    session = Session(scene, training=training, steps=steps).start()
    state = session.brain(bb.BRAIN)
    obs, acts, returns = [state.last_obs.copy()], [state.last_actions.copy()], []
    for _ in range(frames):
        scene.frame_set(scene.frame_current + 1)
        if scene.frame_current % bb.DECISION_PERIOD == 1:
            obs.append(state.last_obs.copy())
            acts.append(state.last_actions.copy())
            returns.append(state.stats.episode_return.copy())
    assert session.error is None, session.error
    session.finish(store=False)
    return np.array(obs), np.array(acts), np.array(returns)


def test_nodes_and_python_specs_step_alike():
    """Step for step: the node-built Balance Ball observes, acts and is rewarded as the Python-built one."""
    runs = []
    for use_nodes in (True, False):
        scene = balance_ball(agents=3, use_nodes=use_nodes)
        scene.academy.max_steps = 20  # several resets (random tilts and ball offsets) in the run
        runs.append(_run(scene, 300))
    for ours, theirs in zip(runs[0], runs[1], strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert runs[0][0].shape[1] == 3 and runs[0][0].shape[2] == 8


def test_training_from_the_tree_learns_exactly_as_from_the_python_spec():
    """Same seed, same specs: the learning curves of a short PPO run are identical."""
    import torch

    torch.set_num_threads(1)
    results = []
    for use_nodes in (True, False):
        scene = balance_ball(agents=4, use_nodes=use_nodes, brain_type="TRAINING")
        session = Session(scene, training=True, steps=3000).start()
        session.run()
        (stats,) = session.stats.values()
        results.append((list(stats.curve), stats.mean_return, session.agent_steps))
        session.finish(store=False)
    assert results[0] == results[1]
    assert len(results[0][0]) >= 2


# -- validation -----------------------------------------------------------------------------------


def _tree(name="T"):
    """A small valid tree: observe Self's location, one continuous action, reward 1."""
    tree = bpy.data.node_groups.new(name, "AcademyNodeTree")
    tf = tree.nodes.new("AcademyTransformNode")
    obs = tree.nodes.new("AcademyObserveNode")
    tree.links.new(tf.outputs["Location"], obs.inputs[0])
    act = tree.nodes.new("AcademyContinuousActionNode")
    act.size = 1
    tree.nodes.new("AcademyRewardNode")
    return tree


def _agent_scene(tree, agents=1):
    scene = bpy.context.scene
    brain = scene.academy.brains.add()
    brain.name, brain.brain_type = "B", "HEURISTIC"
    out = []
    for i in range(agents):
        obj = bpy.data.objects.new(f"Agent{i}", bpy.data.meshes.new("m"))
        scene.collection.objects.link(obj)
        obj.academy_agent.enabled, obj.academy_agent.brain = True, "B"
        obj.academy_agent.behaviour_tree = tree
        out.append(obj)
    return scene, out


def _error(tree, scene=None):
    errors = nodes.validate(tree, scene)
    assert errors, "expected a problem"
    return errors[0]


def test_a_valid_tree_compiles_and_shows_its_size():
    tree = _tree()
    behaviour = nodes.compiled(tree).behaviour
    assert behaviour.observations == (S.Location(S.SELF),)
    assert behaviour.actions == S.ContinuousActions(1, -1.0, 1.0)
    assert nodes.validate(tree) == []
    assert nodes.base.NOTES[(tree.name, "Observe")] == "Size: 3"


def test_type_mismatch_marks_the_node_and_blocks_training():
    tree = _tree()
    math = tree.nodes.new("AcademyMathNode")
    reward = tree.nodes["Reward"]
    tree.links.new(tree.nodes.new("AcademySelfNode").outputs[0], math.inputs["A"])
    tree.links.new(math.outputs[0], reward.inputs[0])
    node, message = _error(tree)
    assert node == "Math" and "takes a number" in message and "gives an object" in message
    assert math.use_custom_color and tuple(math.color) == pytest.approx(nodes.checks.ERROR_COLOUR)
    scene, (agent,) = _agent_scene(tree)
    with pytest.raises(S.SpecError, match=r"Agent 'Agent0'.*node 'Math': input 'A' takes a number"):
        importlib.import_module(M + ".env.behaviours").behaviour_for(agent)
    # fixing it clears the mark
    tree.links.remove(math.inputs["A"].links[0])
    assert nodes.validate(tree) == []
    assert not math.use_custom_color and nodes.tree_errors(tree) == []


def test_cycles_unlinked_required_inputs_and_duplicate_actions_name_the_node():
    tree = _tree()
    a, b = tree.nodes.new("AcademyMathNode"), tree.nodes.new("AcademyMathNode")
    tree.links.new(a.outputs[0], b.inputs[0])
    tree.links.new(b.outputs[0], a.inputs[0])
    tree.links.new(b.outputs[0], tree.nodes["Reward"].inputs[0])
    node, message = _error(tree)
    assert node in ("Math", "Math.001") and "cycle" in message
    tree.nodes.remove(a)
    tree.nodes.new("AcademyEndEpisodeNode")
    assert _error(tree) == ("End Episode", "input 'Condition' needs a link")
    tree.nodes.remove(tree.nodes["End Episode"])
    tree.nodes.new("AcademyContinuousActionNode")  # a Discrete Action would make hybrid actions (test_hybrid_actions)
    node, message = _error(tree)
    assert node == "Continuous Action.001" and "one action node of each kind" in message


def test_unresolvable_property_paths_are_checked_against_the_agents():
    tree = _tree()
    prop = tree.nodes.new("AcademyPropertyNode")
    prop.path = '["hp"]'
    tree.links.new(prop.outputs[0], tree.nodes["Observe"].inputs[0])
    scene, (agent,) = _agent_scene(tree)
    node, message = _error(tree, scene)
    assert node == "Property" and "Agent0" in message and "hp" in message
    agent["hp"] = 3.0
    assert nodes.validate(tree, scene) == []
    prop.path = "location"
    node, message = _error(tree, scene)
    assert node == "Property" and "set Size to 3" in message


def test_observe_size_must_match_the_brains_trained_model_and_other_trees():
    persistence = importlib.import_module(M + ".training.persistence")
    tree = _tree()
    scene, (agent,) = _agent_scene(tree)
    header = {"version": 1, "obs_space": {"kind": "box", "shape": [5], "low": "-inf", "high": "inf"}}
    scene.academy.brains["B"]["academy_state"] = persistence.pack_state(header, {})
    node, message = _error(tree, scene)
    assert node == "Observe" and "3 values" in message and "5 values" in message
    del scene.academy.brains["B"]["academy_state"]
    other = _tree("Other")
    tf = other.nodes["Transform"]
    other.links.new(tf.outputs["Rotation"], other.nodes["Observe"].inputs[0])
    second = bpy.data.objects.new("Agent1", None)
    scene.collection.objects.link(second)
    second.academy_agent.enabled, second.academy_agent.brain = True, "B"
    second.academy_agent.behaviour_tree = other
    node, message = _error(tree, scene)
    assert node == "Observe" and "disagree" in message and "'Other'" in message


def test_revision_changes_on_edits_not_on_marking():
    tree = _tree()
    r0 = nodes.revision(tree)
    tree.nodes["Continuous Action"].size = 2
    r1 = nodes.revision(tree)
    assert r1 != r0
    tree.links.new(tree.nodes.new("AcademySelfNode").outputs[0], tree.nodes.new("AcademyMathNode").inputs[0])
    r2 = nodes.revision(tree)
    assert r2 != r1
    nodes.validate(tree)  # marks the Math node red
    assert nodes.revision(tree) == r2
    # the cache follows the revision
    first = nodes.compiled(tree)
    assert nodes.compiled(tree) is first
    tree.nodes["Reward"].weight = 2.0
    assert nodes.compiled(tree) is not first and nodes.compiled(tree).behaviour.rewards[0].weight == 2.0


# -- layout nodes and groups ----------------------------------------------------------------------


def test_reroutes_frames_and_muted_nodes():
    tree = _tree()
    before = nodes.compiled(tree).behaviour
    obs = tree.nodes["Observe"]
    tf = tree.nodes["Transform"]
    tree.links.remove(obs.inputs[0].links[0])
    reroute = tree.nodes.new("NodeReroute")
    tree.links.new(tf.outputs["Location"], reroute.inputs[0])
    tree.links.new(reroute.outputs[0], obs.inputs[0])
    frame = tree.nodes.new("NodeFrame")
    tf.parent = frame
    assert nodes.compiled(tree).behaviour == before
    # a muted Math passes A through
    math = tree.nodes.new("AcademyMathNode")
    math.operation = "NEGATE"
    tree.links.new(reroute.outputs[0], math.inputs[0])
    tree.links.remove(obs.inputs[0].links[0])
    tree.links.new(math.outputs[0], obs.inputs[0])
    assert nodes.compiled(tree).behaviour.observations == (S.Unary("NEGATE", S.Location(S.SELF)),)
    math.mute = True
    tree.update_tag()
    tree.bump()
    assert nodes.compiled(tree).behaviour == before


def test_node_groups_compile_in_place():
    group = nodes.group.new_group_tree("Double")
    group.interface.new_socket("Value", in_out="INPUT", socket_type="AcademySocketFloat")
    group.interface.new_socket("Result", in_out="OUTPUT", socket_type="AcademySocketFloat")
    gin, gout = group.nodes["Group Input"], group.nodes["Group Output"]
    mul = group.nodes.new("AcademyMathNode")
    mul.operation = "MULTIPLY"
    mul.inputs["B"].default_value = 2.0
    group.links.new(gin.outputs[0], mul.inputs["A"])
    group.links.new(mul.outputs[0], gout.inputs[0])
    tree = _tree()
    node = tree.nodes.new("AcademyGroupNode")
    node.node_tree = group
    nodes.group.sync_sockets(node)
    assert [s.name for s in node.inputs] == ["Value"] and [s.name for s in node.outputs] == ["Result"]
    tree.links.new(tree.nodes["Transform"].outputs["Location"], node.inputs[0])
    tree.links.new(node.outputs[0], tree.nodes["Observe"].inputs[0])
    obs = nodes.compiled(tree).behaviour.observations
    assert obs[1] == S.Binary("MULTIPLY", S.Location(S.SELF), S.Const((2.0,)))
    # an error inside the group names the path and marks the group node too
    group.links.new(group.nodes.new("AcademySelfNode").outputs[0], mul.inputs["B"])
    node_path, message = _error(tree)
    assert node_path == "Group > Math" and "takes a number" in message
    assert nodes.base.ERRORS[(tree.name, "Group")].startswith("inside:")
    assert nodes.base.ERRORS[(group.name, "Math")]


def test_nodes_have_tooltips_and_menus():
    classes = nodes.NODES + (nodes.group.AcademyGroupNode,)
    for cls in classes:
        assert (
            cls.bl_description
            and cls.bl_description == bpy.types.Node.bl_rna_get_subclass_py(cls.bl_idname).bl_description
        )
    import nodeitems_utils

    assert nodes.menu.MENU_ID in nodeitems_utils._node_categories
    listed = {item.nodetype for cat in nodes.menu.categories()[:4] for item in cat.items(None)}
    assert listed == {cls.bl_idname for cls in nodes.NODES}


# -- outputs --------------------------------------------------------------------------------------


def _run_tree(tree, agent_setup=None, frames=6, brain_type="HEURISTIC"):
    scene, (agent,) = _agent_scene(tree)
    scene.academy.brains["B"].brain_type = brain_type
    if agent_setup:
        agent_setup(scene, agent)
    session = Session(scene, training=False, steps=0).start()
    for _ in range(frames):
        scene.frame_set(scene.frame_current + 1)
    assert session.error is None, session.error
    state = {"rot": tuple(agent.rotation_euler), "color": tuple(agent.color), "loc": tuple(agent.location)}
    session.finish(store=False)
    return state, agent


def test_look_at_and_set_colour_write_what_they_say():
    tree = _tree()
    target = tree.nodes.new("AcademyObjectNode")
    target.source = "OBJECT"
    look = tree.nodes.new("AcademyLookAtNode")
    colour = tree.nodes.new("AcademySetColourNode")
    colour.inputs["Colour"].default_value = (0.0, 1.0, 0.0)
    heuristic = tree.nodes.new("AcademyHeuristicActionNode")
    heuristic.size = 1

    def setup(scene, agent):
        goal = bpy.data.objects.new("Goal", None)
        scene.collection.objects.link(goal)
        goal.location = (3.0, 3.0, 3.0 * 2**0.5)  # 45° up, 45° to the left of +Y
        target.object = goal
        tree.links.new(target.outputs[0], look.inputs["Target"])

    state, agent = _run_tree(tree, setup)
    assert state["rot"] == pytest.approx((np.pi / 4, 0.0, -np.pi / 4), abs=1e-5)
    assert state["color"] == pytest.approx((0.0, 1.0, 0.0, 1.0))
    assert tuple(agent.color) == pytest.approx((1.0, 1.0, 1.0, 1.0))  # restored after the run
    assert tuple(agent.rotation_euler) == pytest.approx((0.0, 0.0, 0.0))


def test_discrete_actions_select_values_and_move_the_agent():
    tree = _tree()
    tree.nodes.remove(tree.nodes["Continuous Action"])
    act = tree.nodes.new("AcademyDiscreteActionNode")
    act.branches = "Move: Left, Stay, Right"
    assert [s.name for s in act.outputs] == ["Move"]
    select = tree.nodes.new("AcademySelectNode")
    for i, v in enumerate((-1.0, 0.0, 1.0)):
        select.inputs[f"Option {i}"].default_value = v
    move = tree.nodes.new("AcademySetTransformNode")
    move.axis, move.mode = "X", "ADD"
    tree.links.new(act.outputs["Move"], select.inputs["Index"])
    tree.links.new(select.outputs[0], move.inputs["Value"])
    heuristic = tree.nodes.new("AcademyHeuristicActionNode")
    heuristic.size = 1
    heuristic.inputs[0].default_value = 2.0  # always Right
    behaviour = nodes.compiled(tree).behaviour
    assert behaviour.actions == S.DiscreteActions((("Left", "Stay", "Right"),))
    assert behaviour.writes[0] == S.Write(S.SELF, "location", S.Select(S.Action(0), tuple(
        S.Const((v,)) for v in (-1.0, 0.0, 1.0))), 0, "ADD")  # fmt: skip
    state, _ = _run_tree(tree, frames=4)
    assert state["loc"][0] == pytest.approx(4.0)  # +1 before each of 4 frames


def test_on_reset_writes_and_sinks_inside_groups():
    group = nodes.group.new_group_tree("Bonus")
    reward = group.nodes.new("AcademyRewardNode")
    reward.weight = 0.5
    tree = _tree()
    tree.nodes.new("AcademyGroupNode").node_tree = group
    rnd = tree.nodes.new("AcademyRandomNode")
    write = tree.nodes.new("AcademySetTransformNode")
    write.when, write.axis = "RESET", "Z"
    tree.links.new(rnd.outputs[0], write.inputs["Value"])
    b = nodes.compiled(tree).behaviour
    assert [r.weight for r in b.rewards] == [1.0, 0.5]
    assert b.on_reset == (S.Write(S.SELF, "location", S.Random(0.0, 1.0), 2),) and b.writes == ()
    # the action cannot feed a reset write
    tree.links.new(tree.nodes["Continuous Action"].outputs["Action 1"], write.inputs["Value"])
    assert _error(tree) == ("Set Transform", "an On Reset write cannot use the action")


def test_group_nodes_follow_their_interface_and_cannot_contain_themselves():
    group = nodes.group.new_group_tree("G")
    tree = _tree()
    node = tree.nodes.new("AcademyGroupNode")
    node.node_tree = group
    assert len(node.inputs) == 0
    group.interface.new_socket("Speed", in_out="INPUT", socket_type="AcademySocketFloat")
    group.interface.new_socket("Where", in_out="INPUT", socket_type="AcademySocketObject")
    group.update_tag()
    group.update()  # Blender calls this after interface edits in the UI
    assert [(s.name, s.bl_idname) for s in node.inputs] == [
        ("Speed", "AcademySocketFloat"),
        ("Where", "AcademySocketObject"),
    ]
    # a group cannot contain itself: the picker offers no such tree, and a script that does it anyway gets an error
    inner = group.nodes.new("AcademyGroupNode")
    assert not nodes.group._poll_tree(inner, group) and not nodes.group._poll_tree(inner, tree)
    inner.node_tree = group
    tree.links.new(node.outputs[0], tree.nodes["Observe"].inputs[0]) if node.outputs else None
    node_path, message = _error(tree)
    assert node_path == "Group > Group" and "contains itself" in message


# -- drawing --------------------------------------------------------------------------------------


def test_every_node_and_the_sidebar_draw():
    from types import SimpleNamespace

    from recording_layout import RecordingLayout, _check_prop, draw_panel

    class Layout(RecordingLayout):
        def _child(self, *args, **kwargs):
            return Layout(self.log)

        row = column = box = split = _child

        def template_ID(self, data, property, new="", **kwargs):
            _check_prop(data, property)
            if new:
                self.operator(new)
            self.log.append(("template_ID", property))

    scene = balance_ball(agents=2)
    tree = bpy.data.node_groups["Balance Ball"]
    for cls in (*nodes.NODES, nodes.group.AcademyGroupNode):
        tree.nodes.new(cls.bl_idname)
    nodes.validate(tree, scene)  # errors (the extra nodes) and notes are drawn too
    context = SimpleNamespace(scene=scene)
    for node in tree.nodes:
        if hasattr(node, "draw_buttons"):
            layout = Layout()
            node.draw_buttons(context, layout)
            if hasattr(node, "draw_label"):
                assert node.draw_label()
        for socket in list(node.inputs) + list(node.outputs):
            if hasattr(socket, "draw"):
                socket.draw(context, Layout(), node, socket.name)
                assert len(socket.draw_color(context, node)) == 4
    assert nodes.tree_errors(tree)
    assert ("label", "Size: ?") in _drawn(Layout, tree.nodes["Observe"], context)  # the tree does not compile
    panel = importlib.import_module(M + ".panels.node_editor").ACADEMY_PT_behaviour_tree
    space = SimpleNamespace(tree_type="AcademyNodeTree", edit_tree=tree, node_tree=tree)
    log = draw_panel(panel, SimpleNamespace(scene=scene, space_data=space))
    assert any(entry[0] == "label" and "2 agents use this tree" in entry[1] for entry in log)
    assert any(entry[0] == "label" and entry[1].endswith(":") for entry in log)  # a node with a problem
    # a valid tree shows what it compiles to
    fresh = bb.behaviour_tree("Fresh")
    nodes.validate(fresh, scene)
    space = SimpleNamespace(tree_type="AcademyNodeTree", edit_tree=fresh, node_tree=fresh)
    log = draw_panel(panel, SimpleNamespace(scene=scene, space_data=space))
    assert ("label", "Observations: 8") in log and ("label", "No problems") in log
    assert ("label", "Size: 8") in _drawn(Layout, fresh.nodes["Observe"], context)


def _drawn(layout_cls, node, context):
    layout = layout_cls()
    node.draw_buttons(context, layout)
    return layout.log


def test_a_running_academy_notices_tree_edits():
    scene = balance_ball(agents=2)
    session = Session(scene, training=False, steps=0).start()
    scene.frame_set(scene.frame_current + 1)
    assert session.edited_behaviours == []
    bpy.data.node_groups["Balance Ball"].nodes["Balanced"].weight = 2.0
    assert sorted(session.edited_behaviours) == ["Platform.000", "Platform.001"]
    session.finish(store=False)


def test_the_tree_survives_save_and_load(tmp_path):
    balance_ball(agents=2)
    nodes.validate(bpy.data.node_groups["Balance Ball"], bpy.context.scene)
    path = str(tmp_path / "bb.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path)
    bpy.ops.wm.open_mainfile(filepath=path)
    assert nodes.base.ERRORS == {} and nodes.base.NOTES == {}  # load_post forgot the old file's state
    tree = bpy.data.node_groups["Balance Ball"]
    assert nodes.compiled(tree).behaviour == bb.behaviour()  # exact numbers are saved with the nodes
    platform = bpy.data.objects["Platform.001"]
    assert platform.academy_agent.behaviour_tree == tree


def test_make_group_moves_nodes_into_a_group_and_compiles_the_same():
    balance_ball(agents=2)
    tree = bpy.data.node_groups["Balance Ball"]
    before = nodes.compiled(tree).behaviour
    fell = ["Below", "Abs X", "Off X", "Abs Y", "Off Y", "Off XY", "Fell"]
    node = nodes.group.make_group(tree, [tree.nodes[n] for n in fell], "Fell?")
    assert not any(n in tree.nodes for n in fell)
    assert sorted(s.name for s in node.inputs) == ["X", "Y", "Z"]  # Offset XYZ's three outputs
    assert [s.name for s in node.outputs] == ["Result"]
    assert nodes.compiled(tree).behaviour == before == bb.behaviour()
    # sinks move too: group the reward and its inputs
    node2 = nodes.group.make_group(tree, [tree.nodes[n] for n in ("Kept", "Per Decision", "Balanced")], "Reward")
    assert len(node2.outputs) == 0 and nodes.compiled(tree).behaviour == before
    # and back
    nodes.group.ungroup(tree, node2)
    nodes.group.ungroup(tree, tree.nodes[node.name])
    assert not any(n.bl_idname == "AcademyGroupNode" for n in tree.nodes)
    assert nodes.compiled(tree).behaviour == before


def test_grouping_keeps_the_observation_order():
    balance_ball(agents=2)
    tree = bpy.data.node_groups["Balance Ball"]
    before = nodes.compiled(tree).behaviour
    for names in (["Tilt"], ["Ball Velocity"], ["Observe"], ["Offset", "Observe"]):
        node = nodes.group.make_group(tree, [tree.nodes[n] for n in names], "G")
        assert nodes.compiled(tree).behaviour == before, names
        nodes.group.ungroup(tree, node)
        assert nodes.compiled(tree).behaviour == before, names
        for n in tree.nodes:  # copies may come back as "Tilt.001": give them their names again
            if n.name.endswith(".001") and n.name[:-4] in names:
                n.name = n.name[:-4]


def test_make_group_with_a_reroute_leading_out_keeps_the_link():
    """A reroute's socket is Blender's own type: the group output takes the kind of what it feeds."""
    tree = _tree()
    tf, observe = tree.nodes["Transform"], tree.nodes["Observe"]
    before = nodes.compiled(tree).behaviour
    reroute = tree.nodes.new("NodeReroute")
    for link in list(observe.inputs[0].links):
        tree.links.remove(link)
    tree.links.new(tf.outputs["Location"], reroute.inputs[0])
    tree.links.new(reroute.outputs[0], observe.inputs[0])
    group_node = nodes.group.make_group(tree, [tf, reroute], "Routed")
    assert [s.bl_idname for s in group_node.outputs] == ["AcademySocketVector"]  # what Location gives
    assert nodes.compiled(tree).behaviour == before


def test_warnings_name_an_unlinked_write_value_and_an_action_that_feeds_nothing():
    """They compile and train, but the agent is broken: the nodes say so (not errors: training may go on)."""
    tree = _tree()
    act = tree.nodes["Continuous Action"]
    act.size = 2
    write = tree.nodes.new("AcademySetTransformNode")
    tree.links.new(act.outputs["Action 1"], write.inputs["Value"])
    assert nodes.validate(tree) == []
    assert nodes.tree_warnings(tree) == [
        ("Continuous Action", "Action 2 feeds nothing: the Brain would learn choices that change nothing")
    ]
    tree.links.new(act.outputs["Action 2"], tree.nodes["Reward"].inputs[0])  # read by the reward: used
    other = tree.nodes.new("AcademySetPropertyNode")
    other.name, other.path = "Stuck", '["speed"]'
    nodes.validate(tree)
    assert nodes.tree_warnings(tree) == [("Stuck", "Value is not linked: it writes the same number every time")]
    other.when = "RESET"  # a constant on reset is what randomisation-free resets do: no warning
    nodes.validate(tree)
    assert nodes.tree_warnings(tree) == []
    scene, _agents = _agent_scene(tree)
    other.when = "FRAME"
    assert nodes.scene_warnings(scene) == [
        f"tree '{tree.name}': node 'Stuck': Value is not linked: it writes the same number every time"
    ]


def test_a_write_to_a_read_only_property_is_marked_on_its_node():
    tree = _tree()
    write = tree.nodes.new("AcademySetPropertyNode")
    write.name, write.path = "Users", "users"
    tree.links.new(tree.nodes["Continuous Action"].outputs["Action 1"], write.inputs["Value"])
    scene, _agents = _agent_scene(tree)
    why = "on agent 'Agent0': 'users' on 'Agent0' is read-only in Blender: nothing can write it"
    assert _error(tree, scene) == ("Users", why)
