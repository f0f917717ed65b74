"""Teams and the multi-agent nodes (issue 15, points 2-3): the Agent's Team, the Team and Other Agent input
nodes, Changed, and Group Reward (with the credit of a teammate whose episode ended early)."""

from __future__ import annotations

import importlib

import bpy
import numpy as np
import pytest

from devtools import boot

M = boot.MODULE
S = importlib.import_module(M + ".core.specs")
A = importlib.import_module(M + ".env.academy")
nodes = importlib.import_module(M + ".nodes")
Session = importlib.import_module(M + ".env.session").Session

pytestmark = pytest.mark.lts


class Scene:
    """Agents of one Heuristic Brain "B" sharing one tree; decision period 1; each walks +X by its action."""

    def __init__(self, teams=(0, 0, 1), locations=None, speed=0.0):
        bpy.ops.wm.read_homefile(use_empty=True)
        scene = self.scene = bpy.context.scene
        brain = scene.academy.brains.add()
        brain.name, brain.brain_type = "B", "HEURISTIC"
        tree = self.tree = bpy.data.node_groups.new("Team Tree", "AcademyNodeTree")
        self.self_node = self.new("AcademySelfNode")
        self.observe = self.new("AcademyObserveNode")
        self.action = self.new("AcademyContinuousActionNode", size=1)
        heuristic = self.new("AcademyHeuristicActionNode", size=1)
        heuristic.inputs[0].default_value = speed
        move = self.new("AcademySetTransformNode", axis="X", mode="ADD")
        self.link(self.action.outputs["Action 1"], move.inputs["Value"])
        self.link(self.self_node.outputs[0], move.inputs["Object"])
        locations = locations or [(float(i), 0.0, 0.0) for i in range(len(teams))]
        self.agents = []
        for i, (team, loc) in enumerate(zip(teams, locations, strict=True)):
            obj = bpy.data.objects.new(f"A{i + 1}", None)
            scene.collection.objects.link(obj)
            obj.location = loc
            obj["hp"] = 0.25 * (i + 1)
            settings = obj.academy_agent
            settings.enabled, settings.brain, settings.team, settings.behaviour_tree = True, "B", team, tree
            self.agents.append(obj)

    def new(self, idname: str, **props):
        node = self.tree.nodes.new(idname)
        for key, value in props.items():
            setattr(node, key, value)
        return node

    def link(self, out, into):
        self.tree.links.new(out, into)

    def watch(self, socket):
        self.link(socket, self.observe.inputs[0])

    def prop(self, path: str, obj_socket=None):
        node = self.new("AcademyPropertyNode", path=path)
        self.link(obj_socket or self.self_node.outputs[0], node.inputs["Object"])
        return node.outputs[0]

    def run(self, decisions: int, between=None):
        """Per decision: observations, rewards, ends, waiting; ``between(i)`` runs before frame i."""
        session = Session(self.scene, training=False, steps=0).start()
        state = session.brain("B")
        out = [(state.last_obs.copy(), np.zeros(state.n), np.zeros(state.n, bool), state.waiting.copy(), None)]
        for i in range(decisions):
            if between is not None:
                between(i)
            self.scene.frame_set(self.scene.frame_current + 1)
            done = state.terminated | state.truncated
            out.append((state.last_obs.copy(), state.rewards.copy(), done, state.waiting.copy(),
                        (state.group_credit.copy(), state.credit_delivered.copy())))  # fmt: skip
        assert session.error is None, session.error
        session.finish(store=False)
        return out


# -- Team -----------------------------------------------------------------------------------------


def test_team_node_reads_each_agents_team_and_how_many_of_its_brain_share_it():
    s = Scene(teams=(0, 2, 2, 5))
    team = s.new("AcademyTeamNode")
    s.watch(team.outputs["Team"])
    s.watch(team.outputs["Team Size"])
    obs = s.run(1)[-1][0]
    np.testing.assert_array_equal(obs[:, 0], [0, 2, 2, 5])
    np.testing.assert_array_equal(obs[:, 1], [1, 2, 2, 1])


def test_team_size_counts_only_the_agents_of_the_same_brain():
    s = Scene(teams=(1, 1))
    other = s.scene.academy.brains.add()
    other.name, other.brain_type = "C", "HEURISTIC"
    s.agents[1].academy_agent.brain = "C"
    team = s.new("AcademyTeamNode")
    s.watch(team.outputs["Team Size"])
    session = Session(s.scene, training=False, steps=0).start()
    assert session.brain("B").last_obs[:, 0].tolist() == [1.0]
    session.finish(store=False)


# -- Changed --------------------------------------------------------------------------------------


def _score_scene(max_steps=0, period=1):
    """A score that rises by Step mod 3 at every frame (so it stays still one decision in three), observed
    with its Changed; "score increased" (Changed > 0) is the reward."""
    s = Scene(teams=(0,))
    s.scene.academy.decision_period = period
    s.agents[0]["score"] = 10.0
    s.agents[0].academy_agent.max_steps = max_steps
    step = s.new("AcademyStepInfoNode")
    mod = s.new("AcademyMathNode", operation="MODULO")
    mod.inputs["B"].default_value = 3.0
    s.link(step.outputs["Step"], mod.inputs["A"])
    add = s.new("AcademySetPropertyNode", path='["score"]', mode="ADD")
    s.link(s.self_node.outputs[0], add.inputs["Object"])
    s.link(mod.outputs[0], add.inputs["Value"])
    score = s.prop('["score"]')
    changed = s.new("AcademyChangedNode")
    s.link(score, changed.inputs["Value"])
    up = s.new("AcademyCompareNode", operation="GREATER_THAN")
    s.link(changed.outputs[0], up.inputs["A"])
    reward = s.new("AcademyRewardNode")
    s.link(up.outputs[0], reward.inputs["Value"])
    s.watch(score)
    s.watch(changed.outputs[0])
    return s


def test_changed_is_the_change_since_the_last_decision_and_score_increased_rewards():
    run = _score_scene().run(7)
    scores = np.array([obs[0, 0] for obs, *_ in run])
    changes = np.array([obs[0, 1] for obs, *_ in run])
    rewards = np.array([r[0] for _, r, *_ in run])
    assert changes[0] == 0.0  # the first decision has nothing to compare with
    np.testing.assert_allclose(changes[1:], np.diff(scores))
    assert (changes[1:] > 0).any() and (changes[1:] == 0).any()  # it rises, and sometimes stands still
    np.testing.assert_array_equal(rewards[1:], (changes[1:] > 0).astype(float))


def test_changed_measures_over_the_whole_decision_period():
    run = _score_scene(period=3).run(12)
    decisions = run[3::3]  # frames 3, 6, 9, 12 are decisions
    scores = np.array([run[0][0][0, 0]] + [obs[0, 0] for obs, *_ in decisions])
    changes = np.array([obs[0, 1] for obs, *_ in decisions])
    np.testing.assert_allclose(changes, np.diff(scores))
    assert (changes > 1).any()  # more than one frame's rise


def test_changed_starts_from_zero_at_every_episode():
    run = _score_scene(max_steps=3).run(8)
    scores = np.array([obs[0, 0] for obs, *_ in run])
    changes = np.array([obs[0, 1] for obs, *_ in run])
    dones = [d[0] for _, _, d, *_ in run]
    assert dones[3] and dones[6]
    assert scores[3] == 10.0 and scores[6] == 10.0  # the reset put the score back
    for t in range(1, len(run)):
        expected = 0.0 if dones[t] else scores[t] - scores[t - 1]  # not the drop the reset made
        assert changes[t] == pytest.approx(expected), t


def test_changed_of_a_vector_is_element_by_element():
    s = Scene(teams=(0,), speed=0.5)
    tf = s.new("AcademyTransformNode")
    s.link(s.self_node.outputs[0], tf.inputs["Object"])
    changed = s.new("AcademyChangedNode")
    s.link(tf.outputs["Location"], changed.inputs["Value"])
    s.watch(changed.outputs[0])
    run = s.run(3)
    np.testing.assert_allclose(run[-1][0][0], [0.5, 0.0, 0.0])


def test_changed_in_a_spec_round_trips_through_json():
    spec = S.Behaviour(
        observations=(S.Changed(S.Property(S.SELF, '["score"]')), S.Team("SIZE")),
        actions=S.ContinuousActions(1),
        group_rewards=(S.GroupReward(S.Const((1.0,)), 0.5, "MEAN", "goal"),),
    )
    assert S.Behaviour.from_json(spec.to_json()) == spec
    with pytest.raises(S.SpecError, match="combine"):
        S.GroupReward(S.Const((1.0,)), combine="MEDIAN")


# -- Other Agent ------------------------------------------------------------------------------------


def _nearest(locations, teams, i, mode):
    best, dist = None, np.inf
    for j, (loc, team) in enumerate(zip(locations, teams, strict=True)):
        if j == i or (mode == "OTHER_TEAM" and team == teams[i]) or (mode == "SAME_TEAM" and team != teams[i]):
            continue
        d = np.linalg.norm(np.subtract(loc, locations[i]))
        if d < dist:
            best, dist = j, d
    return best


@pytest.mark.parametrize("mode", ["OTHER_TEAM", "SAME_TEAM", "ANY"])
def test_other_agent_is_the_nearest_agent_of_the_chosen_kind_at_every_decision(mode):
    teams = (0, 0, 1, 1, 0)
    start = [(0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (5.0, 0.0, 0.0), (9.0, 0.0, 0.0), (12.0, 0.0, 0.0)]
    s = Scene(teams=teams, locations=start)
    other = s.new("AcademyOtherAgentNode", mode=mode)
    tf = s.new("AcademyTransformNode")
    s.link(other.outputs[0], tf.inputs["Object"])
    dist = s.new("AcademyDistanceNode")
    s.link(other.outputs[0], dist.inputs["To"])
    s.watch(tf.outputs["Location"])
    s.watch(dist.outputs["Distance"])
    s.watch(s.prop('["hp"]', other.outputs[0]))
    moves = {1: (3, (-2.0, 0.0, 0.0)), 2: (1, (20.0, 0.0, 0.0))}  # the nearest changes as they move
    positions = [list(start)]  # at each decision
    for i in range(4):
        positions.append(list(positions[-1]))
        if i in moves:
            positions[-1][moves[i][0]] = moves[i][1]

    def between(i):
        if i in moves:
            s.agents[moves[i][0]].location = moves[i][1]

    run = s.run(4, between)
    picks = set()
    for t, (obs, *_) in enumerate(run):
        for i in range(5):
            j = _nearest(positions[t], teams, i, mode)
            picks.add((i, j))
            np.testing.assert_allclose(obs[i, :3], positions[t][j], err_msg=f"decision {t} agent {i}")
            assert obs[i, 3] == pytest.approx(np.linalg.norm(np.subtract(positions[t][j], positions[t][i])))
            assert obs[i, 4] == pytest.approx(0.25 * (j + 1))  # its property, not the agent's own
    assert len(picks) > 5  # some agent's pick changed during the run


def test_other_agent_velocity_follows_the_picked_agent():
    s = Scene(teams=(0, 1), locations=[(0.0, 0.0, 0.0), (3.0, 0.0, 0.0)], speed=0.5)
    s.agents[1].academy_agent.behaviour_tree = None
    A.set_behaviour(
        s.agents[1],
        S.Behaviour(
            observations=(S.Location(),),
            actions=S.ContinuousActions(1, -10.0, 10.0),
            writes=(S.Write(S.SELF, "location", S.Action(0), index=1, mode="ADD"),),
            heuristic=S.Const((2.0,)),
        ),
    )
    s.agents[1].academy_agent.brain = "C"
    brain = s.scene.academy.brains.add()
    brain.name, brain.brain_type = "C", "HEURISTIC"
    vel = s.new("AcademyVelocityNode")
    s.link(s.new("AcademyOtherAgentNode").outputs[0], vel.inputs["Object"])
    s.watch(vel.outputs["Linear"])
    run = s.run(3)
    fps = s.scene.render.fps / s.scene.render.fps_base
    np.testing.assert_allclose(run[-1][0][0], [0.0, 2.0 * fps, 0.0])  # A2 walks +Y at 2 a frame; A1 +X


def test_other_agent_without_a_candidate_is_an_error_naming_the_agent_and_the_node():
    s = Scene(teams=(0, 0))
    other = s.new("AcademyOtherAgentNode", mode="OTHER_TEAM")
    tf = s.new("AcademyTransformNode")
    s.link(other.outputs[0], tf.inputs["Object"])
    s.watch(tf.outputs["Location"])
    problems = nodes.validate(s.tree, s.scene)
    assert any(node == other.name and "another team" in message for node, message in problems), problems
    with pytest.raises(A.AcademyError, match=r"Agent 'A1'.*node 'Other Agent'.*\(team 0\).*on another team"):
        Session(s.scene, training=False, steps=0).start()
    s.agents[1].academy_agent.team = 3
    assert not nodes.validate(s.tree, s.scene)


@pytest.mark.parametrize("into", ["write", "camera", "rays"])
def test_other_agent_cannot_be_written_to_or_carry_a_sensor(into):
    s = Scene(teams=(0, 1))
    s.watch(s.prop('["hp"]'))
    other = s.new("AcademyOtherAgentNode")
    if into == "write":
        node = s.new("AcademySetTransformNode", axis="Y")
        s.link(other.outputs[0], node.inputs["Object"])
        s.link(s.action.outputs[0], node.inputs["Value"])
    else:
        node = s.new("AcademyCameraNode" if into == "camera" else "AcademyRayPerceptionNode")
        s.link(other.outputs[0], node.inputs[0])
        s.watch(node.outputs[0])
    problems = nodes.validate(s.tree, s.scene)
    assert any(name == node.name and "Other Agent" in message for name, message in problems), problems


def test_specs_refuse_writes_cameras_and_rays_on_the_nearest_other_agent():
    base = dict(actions=S.ContinuousActions(1))
    for spec, match in (
        (S.Behaviour(writes=(S.Write("agent:ANY", "location", S.Action(0)),), **base), "write cannot follow"),
        (S.Behaviour(cameras=(S.Camera("agent:ANY"),), **base), "camera cannot"),
        (S.Behaviour(observations=(S.RayPerception("agent:ANY"),), **base), "ray perception cannot"),
        (S.Behaviour(observations=(S.Location("agent:NOPE"),), **base), "must be 'self'"),
    ):
        with pytest.raises(S.SpecError, match=match):
            spec.validate()


# -- Group Reward ---------------------------------------------------------------------------------


def _group_scene(combine="SUM", weight=1.0, teams=(0, 0, 1)):
    s = Scene(teams=teams)
    s.watch(s.prop('["hp"]'))
    group = s.new("AcademyGroupRewardNode", combine=combine, weight=weight)
    s.link(s.prop('["hp"]'), group.inputs["Value"])
    return s


@pytest.mark.parametrize(
    "combine, team0, team1",
    [("SUM", 0.25 + 0.5, 0.75), ("MEAN", (0.25 + 0.5) / 2, 0.75), ("MAX", 0.5, 0.75)],
)
def test_group_reward_goes_to_every_agent_of_the_team(combine, team0, team1):
    s = _group_scene(combine, weight=2.0)
    rewards = s.run(2)[-1][1]
    np.testing.assert_allclose(rewards, [2 * team0, 2 * team0, 2 * team1])


def test_group_reward_adds_to_the_agents_own_rewards_and_stays_in_its_brain():
    s = _group_scene("SUM", teams=(0, 0, 0))
    own = s.new("AcademyRewardNode")
    s.link(s.prop('["hp"]'), own.inputs["Value"])
    other = s.scene.academy.brains.add()
    other.name, other.brain_type = "C", "HEURISTIC"
    s.agents[2].academy_agent.brain = "C"  # same team, another Brain: neither gives nor gets the other's
    rewards = s.run(1)[-1][1]
    np.testing.assert_allclose(rewards, [0.75 + 0.25, 0.75 + 0.5])


def test_a_teammate_done_early_is_credited_with_the_teams_later_reward():
    s = _group_scene("SUM", teams=(0, 0, 1))
    a1, a2, a3 = s.agents
    a1.academy_agent.max_steps, a1.academy_agent.reset_on_done = 2, False
    a2.academy_agent.max_steps, a2.academy_agent.reset_on_done = 5, False
    a3.academy_agent.max_steps, a3.academy_agent.reset_on_done = 5, False
    run = s.run(6)
    rewards = np.array([r for _, r, *_ in run[1:]])
    credit = np.array([c[0] for *_, c in run[1:]])
    delivered = np.array([c[1] for *_, c in run[1:]])
    # decisions 1-2: both teammates play (A1 ends at 2); 3-5: A1 waits, the team is A2 alone
    np.testing.assert_allclose(rewards[:2, :2], [[0.75, 0.75]] * 2)
    np.testing.assert_allclose(rewards[2:5, 0], 0.0)  # a waiting agent gets no reward...
    np.testing.assert_allclose(rewards[2:5, 1], 0.5)
    np.testing.assert_allclose(credit[2:4, 0], [0.5, 1.0])  # ...it is credited with the team's
    np.testing.assert_allclose(credit[:, 1:], 0.0)
    np.testing.assert_allclose(delivered[:4], 0.0)
    # decision 5 ends the others' episodes: the Academy resets everyone, A1's credit (3 × 0.5) is handed over
    assert run[5][3].tolist() == [False, False, False]
    np.testing.assert_allclose(delivered[4], [1.5, 0.0, 0.0])
    np.testing.assert_allclose(credit[4:], 0.0)
    np.testing.assert_allclose(rewards[5, :2], 0.75)  # the team plays together again


def test_group_reward_errors_name_the_node():
    s = _group_scene()
    group = s.tree.nodes["Group Reward"]
    location = s.new("AcademyPropertyNode", path="location", size=3)
    s.link(location.outputs[0], group.inputs["Value"])
    problems = nodes.validate(s.tree, s.scene)
    assert any(name == group.name and "size 3" in message for name, message in problems), problems


def test_a_script_spec_reading_a_missing_other_agent_fails_naming_the_agent():
    s = Scene(teams=(0, 0))
    spec = S.Behaviour(
        observations=(S.Location("agent:OTHER_TEAM"),),
        actions=S.ContinuousActions(1),
        heuristic=S.Const((0.0,)),
    )
    for obj in s.agents:
        obj.academy_agent.behaviour_tree = None
        A.set_behaviour(obj, spec)
    with pytest.raises(A.AcademyError, match=r"Agent 'A1' \(team 0\): .*nearest other agent on another team"):
        Session(s.scene, training=False, steps=0).start()
    s.agents[1].academy_agent.team = 1
    session = Session(s.scene, training=False, steps=0).start()
    np.testing.assert_allclose(session.brain("B").last_obs, [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    session.finish(store=False)
