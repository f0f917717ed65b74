"""Controls that change behaviour: Reset on Done, the Step Info node's Episode output, labels."""

import importlib

import bpy
import numpy as np
import pytest

from devtools import boot

M = boot.MODULE
S = importlib.import_module(M + ".env.specs")
A = importlib.import_module(M + ".env.academy")
Session = importlib.import_module(M + ".env.session").Session

pytestmark = pytest.mark.lts


def _walkers(max_steps=(3, 6), reset_on_done=(True, True), observations=None, ends=()):
    """Agents that walk +1 along X every frame (a Heuristic Brain, decision period 1); agent i's
    episode lasts ``max_steps[i]`` decisions. Observation: location X, Step, Episode."""
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    brain = scene.academy.brains.add()
    brain.name, brain.brain_type = "B", "HEURISTIC"
    spec = S.Behaviour(
        observations=observations
        or (S.Property(S.SELF, "location", index=0), S.StepInfo("STEP"), S.StepInfo("EPISODE")),
        actions=S.ContinuousActions(1, -10.0, 10.0),
        writes=(S.Write(S.SELF, "location", S.Action(0), index=0, mode="ADD"),),
        ends=tuple(ends),
        heuristic=S.Const((1.0,)),
    )
    agents = []
    for i, (steps, reset) in enumerate(zip(max_steps, reset_on_done, strict=True)):
        obj = bpy.data.objects.new(f"A{i + 1}", None)
        scene.collection.objects.link(obj)
        obj.location.y = float(i)
        settings = obj.academy_agent
        settings.enabled, settings.brain, settings.max_steps, settings.reset_on_done = True, "B", steps, reset
        A.set_behaviour(obj, spec)
        agents.append(obj)
    return scene, agents


def _run(scene, decisions):
    """Observations at each decision (decisions+1, agents, 3), the learner's ``active`` per decision, the end flags."""
    session = Session(scene, training=True, steps=0).start()
    state = session.academy.brains["B"]
    seen = []

    def observe(rewards, terminated, truncated, next_obs, final_obs, active=None):
        seen.append((None if active is None else np.asarray(active).copy(), terminated | truncated))

    state.runner.observe = observe
    obs = [state.last_obs.copy()]
    for _ in range(decisions):
        scene.frame_set(scene.frame_current + 1)
        obs.append(state.last_obs.copy())
    assert session.academy.error is None, session.academy.error
    episodes = session.academy.episodes
    session.finish()
    return np.array(obs), seen, episodes


def test_reset_on_done_off_a_done_agent_waits_until_every_such_agent_is_done():
    scene, (a1, a2) = _walkers(max_steps=(3, 6), reset_on_done=(False, False))
    obs, seen, episodes = _run(scene, 13)
    x1, x2 = obs[:, 0, 0], obs[:, 1, 0]
    # A1 walks 3 steps and stands still (its actuator does not write) while A2 walks on to 6
    np.testing.assert_allclose(x1[:7], [0, 1, 2, 3, 3, 3, 0])
    np.testing.assert_allclose(x2[:7], [0, 1, 2, 3, 4, 5, 0])
    # at decision 6 every agent waits: the Academy resets both together; they walk again, A1 waits again
    np.testing.assert_allclose(x1[7:14], [1, 2, 3, 3, 3, 0, 1])
    np.testing.assert_allclose(x2[7:14], [1, 2, 3, 4, 5, 0, 1])
    # the Step counter of a waiting agent stands still
    np.testing.assert_allclose(obs[:7, 0, 1], [0, 1, 2, 3, 3, 3, 0])
    # the learner: decision 3 (A1's last, real) is active, 4..6 are not for A1; A2 active throughout
    actives = [a for a, _ in seen]
    assert actives[0] is None and actives[1] is None and actives[2] is None  # decisions 1-3: everyone acts
    for d in (4, 5, 6):
        np.testing.assert_array_equal(actives[d - 1], [False, True])
    assert actives[6] is None  # decision 7: both acted since the Academy reset
    assert seen[2][1].tolist() == [True, False] and seen[5][1].tolist() == [False, True]
    assert episodes == 4  # each agent ended two episodes; waiting adds none


def test_reset_on_done_on_resets_each_agent_by_itself():
    scene, _ = _walkers(max_steps=(3, 6), reset_on_done=(True, True))
    obs, seen, episodes = _run(scene, 7)
    np.testing.assert_allclose(obs[:, 0, 0], [0, 1, 2, 0, 1, 2, 0, 1])
    np.testing.assert_allclose(obs[:, 1, 0], [0, 1, 2, 3, 4, 5, 0, 1])
    assert all(a is None for a, _ in seen)  # no row is ever inactive
    assert episodes == 3


def test_agents_that_reset_themselves_do_not_hold_up_the_academy_reset():
    scene, _ = _walkers(max_steps=(2, 3, 5), reset_on_done=(True, False, False))
    obs, _seen, _ = _run(scene, 6)
    np.testing.assert_allclose(obs[:, 0, 0], [0, 1, 0, 1, 0, 1, 0])  # resets itself every 2
    np.testing.assert_allclose(obs[:, 1, 0], [0, 1, 2, 3, 3, 0, 1])  # waits from 3 to 5
    np.testing.assert_allclose(obs[:, 2, 0], [0, 1, 2, 3, 4, 0, 1])


def test_a_timeline_jump_resets_waiting_agents():
    scene, _ = _walkers(max_steps=(2, 50), reset_on_done=(False, False))
    session = Session(scene, training=False, steps=0).start()
    state = session.academy.brains["B"]
    for _ in range(4):
        scene.frame_set(scene.frame_current + 1)
    assert state.waiting.tolist() == [True, False]
    assert state.last_obs[0, 0] == 2.0
    scene.frame_set(scene.frame_start)  # a jump: the Academy-wide reset
    assert state.waiting.tolist() == [False, False]
    scene.frame_set(scene.frame_current + 1)
    np.testing.assert_allclose(state.last_obs[:, 0], [1.0, 1.0])  # both walk again
    assert session.academy.error is None
    session.finish()


def test_step_info_episode_counts_the_episodes_this_agent_ended():
    scene, _ = _walkers(max_steps=(2, 3), reset_on_done=(True, True))
    obs, _seen, _ = _run(scene, 7)
    # A1 ends at decisions 2, 4, 6; A2 at 3, 6. The count rises on the first observation of the next episode
    np.testing.assert_allclose(obs[:, 0, 2], [0, 0, 1, 1, 2, 2, 3, 3])
    np.testing.assert_allclose(obs[:, 1, 2], [0, 0, 0, 1, 1, 1, 2, 2])


def test_step_info_episode_counts_a_timeline_jump_once_and_a_wait_once():
    scene, _ = _walkers(max_steps=(2, 50), reset_on_done=(False, False))
    session = Session(scene, training=False, steps=0).start()
    state = session.academy.brains["B"]
    for _ in range(4):
        scene.frame_set(scene.frame_current + 1)
    assert state.last_obs[:, 2].tolist() == [1.0, 0.0]  # A1 ended once and waits
    scene.frame_set(scene.frame_start)  # cuts A2's episode; A1's had already ended
    assert state.last_obs[:, 2].tolist() == [1.0, 1.0]
    session.finish()


def test_a_training_brain_learns_only_from_the_steps_agents_acted():
    scene, _ = _walkers(max_steps=(2, 5), reset_on_done=(False, False))
    brain = scene.academy.brains["B"]
    brain.brain_type = "TRAINING"
    brain.ppo.num_steps, brain.ppo.minibatch_size = 8, 8
    session = Session(scene, training=True, steps=0).start()
    session.academy.split_updates = False  # frame_set drives it: updates run inside the decision
    learner = session.academy.brains["B"].runner.learner
    seen = []
    observe = learner.observe

    def spy(*args, active=None, **kwargs):
        seen.append(None if active is None else np.asarray(active).tolist())
        return observe(*args, active=active, **kwargs)

    learner.observe = spy
    for _ in range(20):  # two rollouts of 8 and their updates
        scene.frame_set(scene.frame_current + 1)
    assert session.academy.error is None, session.academy.error
    session.finish()
    assert seen[2:5] == [[False, True]] * 3  # A1 waits from decision 3 until A2's end at 5
    assert seen[0] is None and seen[5] is None
    assert session.academy.agent_steps == 40 - 4 * 3  # A1 waits 3 decisions of every 5: no steps


# -- labels ---------------------------------------------------------------------------------------


SAME_MEANING = [
    {"AcademySettings.max_steps", "AgentSettings.max_steps"},  # the Agent's overrides the Academy's
]


def test_no_two_settings_share_a_label_with_different_meanings(academy):
    """PPO and DQN settings generated from the same config field mean the same; ``name`` is Blender's."""
    by_label: dict[str, set[str]] = {}
    for cls in academy.properties.CLASSES:
        for prop in cls.bl_rna.properties:
            if prop.identifier in ("rna_type", "name"):
                continue
            owner = "Algorithm" if cls.__name__ in ("AcademyPPOSettings", "AcademyDQNSettings") else cls.__name__
            by_label.setdefault(prop.name, set()).add(f"{owner}.{prop.identifier}")
    clashes = {label: ids for label, ids in by_label.items() if len(ids) > 1 and ids not in SAME_MEANING}
    assert not clashes
    assert bpy.types.Scene.bl_rna.properties["academy"].fixed_type.properties["max_steps"].name == "Max Episode Steps"
