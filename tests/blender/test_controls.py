"""Every control does what it says: Reset on Done, the Step Info node's Episode output, labels that
mean one thing, and the audit (every registered property and node output has a test showing its effect)."""

import importlib

import bpy
import numpy as np
import pytest

from devtools import boot

M = boot.MODULE
S = importlib.import_module(M + ".core.specs")
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
    assert session.error is None, session.error
    episodes = session.episodes
    session.finish()
    return np.array(obs), seen, episodes


def test_reset_on_done_off_a_done_agent_waits_for_the_academy_reset():
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
    state = session.brain("B")
    for _ in range(4):
        scene.frame_set(scene.frame_current + 1)
    assert state.waiting.tolist() == [True, False]
    assert state.last_obs[0, 0] == 2.0
    scene.frame_set(scene.frame_start)  # a jump: the Academy-wide reset
    assert state.waiting.tolist() == [False, False]
    scene.frame_set(scene.frame_current + 1)
    np.testing.assert_allclose(state.last_obs[:, 0], [1.0, 1.0])  # both walk again
    assert session.error is None
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
    state = session.brain("B")
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
    learner = session.brain("B").learner
    seen = []
    observe = learner.observe

    def spy(*args, active=None, **kwargs):
        seen.append(None if active is None else np.asarray(active).tolist())
        return observe(*args, active=active, **kwargs)

    learner.observe = spy
    for _ in range(20):  # two rollouts of 8 and their updates
        scene.frame_set(scene.frame_current + 1)
    assert session.error is None, session.error
    session.finish()
    assert seen[2:5] == [[False, True]] * 3  # A1 waits from decision 3 until A2's end at 5
    assert seen[0] is None and seen[5] is None
    assert session.agent_steps == 40 - 4 * 3  # A1 waits 3 decisions of every 5: no steps


# -- labels ---------------------------------------------------------------------------------------


SAME_MEANING = [
    {"AcademySettings.max_steps", "AgentSettings.max_steps"},  # the Agent's overrides the Academy's
]


def test_no_two_settings_share_a_label_with_different_meanings(academy):
    """PPO, DQN and SAC settings generated from the same config field mean the same; ``name`` is Blender's."""
    by_label: dict[str, set[str]] = {}
    for cls in academy.properties.CLASSES:
        for prop in cls.bl_rna.properties:
            if prop.identifier in ("rna_type", "name"):
                continue
            owner = "Algorithm" if cls.__name__ in GENERATED else cls.__name__
            by_label.setdefault(prop.name, set()).add(f"{owner}.{prop.identifier}")
    clashes = {label: ids for label, ids in by_label.items() if len(ids) > 1 and ids not in SAME_MEANING}
    assert not clashes
    assert bpy.types.Scene.bl_rna.properties["academy"].fixed_type.properties["max_steps"].name == "Max Episode Steps"


# -- every setting changes behaviour -------------------------------------------------------------
#
# SETTINGS: "Class.property" -> (setup(scene, agents, value), value A, value B). The scene is
# _walkers() (two agents of Brain "B"); a setup may return a result of its own (compared instead
# of the run). Each must give two different results.


def _outcome(scene, frames=6):
    """What a short run shows: the observations, the batch, the steps and episodes (or the error)."""
    try:
        session = Session(scene, training=True, steps=0).start()
    except (A.AcademyError, ValueError) as exc:  # ValueError: BehaviourError
        return f"error: {exc}"
    out = []
    for _ in range(frames):
        scene.frame_set(scene.frame_current + 1)
        out.append({name: np.array(session.brain(name).last_obs).tolist() for name in session.brains})
    out.append((session.agent_steps, session.episodes, session.decisions, sorted(session.brains)))
    session.finish(store=False)
    return out


def _set(path):
    """Set ``path`` (``academy.x``, ``brain.x``, ``agent.x``, ``param.x``) on the walkers' scene."""
    owner, attr = path.split(".")

    def setup(scene, agents, value):
        target = {
            "academy": lambda: scene.academy,
            "brain": lambda: scene.academy.brains["B"],
            "agent": lambda: agents[0].academy_agent,
            "param": lambda: scene.academy.reset_parameters[0],
        }[owner]()
        setattr(target, attr, value)

    return setup


def _observing(observations, then):
    """Walkers that observe ``observations``; ``then`` sets the setting."""

    def setup(scene, agents, value):
        spec = S.Behaviour(
            observations=observations,
            actions=S.ContinuousActions(1, -10.0, 10.0),
            writes=(S.Write(S.SELF, "location", S.Action(0), index=0, mode="ADD"),),
            heuristic=S.Const((1.0,)),
        )
        for obj in agents:
            A.set_behaviour(obj, spec)
        then(scene, agents, value)

    return setup


def _with_param(scene, agents, value):
    p = scene.academy.reset_parameters.add()
    p.name, p.value, p.minimum, p.maximum = "speed", 0.7, 0.0, 1.0
    if value is not None:
        setattr(p, *value)


def _no_max_steps(then):
    def setup(scene, agents, value):
        for obj in agents:
            obj.academy_agent.max_steps = 0
        then(scene, agents, value)

    return setup


def _training_steps(scene, agents, value):
    scene.academy.training_steps = value
    session = Session(scene, training=True).start()  # Train's budget: the Academy's Training Steps
    session.run()
    steps = session.agent_steps
    session.finish(store=False)
    return steps


def _remove_brain(scene, agents, value):
    if value:
        scene.academy.brains.remove(0)


def _rename_brain(scene, agents, value):
    scene.academy.brains["B"].name = value


def _second_brain(scene, agents, value):
    other = scene.academy.brains.add()
    other.name, other.brain_type = "C", "HEURISTIC"
    agents[0].academy_agent.brain = value


def _config(field):
    def setup(scene, agents, value):
        brain = scene.academy.brains["B"]
        algorithm, number = value
        brain.algorithm = algorithm
        if field:
            getattr(brain, field).gamma = number
        config = brain.config()  # what the Academy hands the learner (Academy._build_brain)
        return (type(config).__name__, round(config.gamma, 6))

    return setup


def _slot(field):
    def setup(scene, agents, value):
        for i, obj in enumerate(agents):
            target = bpy.data.objects.new(f"T{i}", None)
            other = bpy.data.objects.new(f"U{i}", None)
            target.location, other.location = (5.0, 0.0, 0.0), (-5.0, 0.0, 0.0)
            scene.collection.objects.link(target)
            scene.collection.objects.link(other)
            slot = obj.academy_agent.objects.add()
            slot.name, slot.object = "Target", target
            if i == 0:
                setattr(slot, field, value if field == "name" else {"T": target, "U": other}[value])

    return _observing((S.Location("slot:Target"),), setup)


def _behaviour_json(scene, agents, value):
    spec = S.Behaviour(
        observations=(S.Property(S.SELF, "location", index=value),),
        actions=S.ContinuousActions(1, -10.0, 10.0),
        writes=(S.Write(S.SELF, "location", S.Action(0), index=0, mode="ADD"),),
        heuristic=S.Const((1.0,)),
    )
    for obj in agents:
        A.set_behaviour(obj, spec)


def _behaviour_tree(scene, agents, value):
    if not value:
        return
    tree = bpy.data.node_groups.new("T", "AcademyNodeTree")
    tf = tree.nodes.new("AcademyTransformNode")
    tree.links.new(tree.nodes.new("AcademySelfNode").outputs[0], tf.inputs["Object"])
    tree.links.new(tf.outputs["Rotation"], tree.nodes.new("AcademyObserveNode").inputs[0])
    tree.nodes.new("AcademyContinuousActionNode").size = 1
    tree.nodes.new("AcademyHeuristicActionNode").size = 1
    for obj in agents:
        obj.academy_agent.behaviour_tree = tree


def _panel_text(attr):
    """The Brain panels show the stored model's trained steps and mean reward."""

    def setup(scene, agents, value):
        from recording_layout import draw_panel

        brain = scene.academy.brains["B"]
        brain.brain_type = "INFERENCE"
        brain[STATE_KEY] = b"model"
        setattr(brain, attr, value)
        panels = importlib.import_module(M + ".panels")
        return [draw_panel(p, bpy.context) for p in (panels.ACADEMY_PT_brain, panels.ACADEMY_PT_brain_model)]

    return setup


def _prefs():
    return bpy.context.preferences.addons[M].preferences


def _pip(attr):
    """The Install PyTorch operator passes these two preferences to ``pip_command`` (operators/setup.py)."""

    def setup(scene, agents, value):
        torch_setup = importlib.import_module(M + ".env.torch_setup")
        prefs = _prefs()
        prefs.torch_variant, prefs.torch_index_url = "CPU", "https://example.invalid/cpu"
        setattr(prefs, attr, value)
        try:
            return torch_setup.pip_command("/tmp/target", prefs.torch_variant, prefs.torch_index_url)
        except ValueError as exc:
            return f"error: {exc}"

    return setup


def _install_status(scene, agents, value):
    from recording_layout import RecordingLayout

    prefs = _prefs()
    prefs.install_status = value

    class Proxy:
        layout = RecordingLayout()

        def __getattr__(self, name):
            return getattr(prefs, name)

    proxy = Proxy()
    type(prefs).draw(proxy, bpy.context)
    return proxy.layout.log


STATE_KEY = importlib.import_module(M + ".core.names").STATE_KEY
RANDOM = (S.Random(0.0, 1.0),)

SETTINGS = {
    "AcademySettings.decision_period": (_set("academy.decision_period"), 1, 2),
    "AcademySettings.max_steps": (_no_max_steps(_set("academy.max_steps")), 0, 2),
    "AcademySettings.seed": (_observing(RANDOM, _set("academy.seed")), 0, 1),
    "AcademySettings.training_steps": (_training_steps, 10, 20),
    "AcademySettings.reset_parameters": (
        _observing((S.ResetParam("speed"),), lambda s, a, v: v and _with_param(s, a, None)),
        False,
        True,
    ),
    "AcademySettings.brains": (_remove_brain, False, True),
    "ResetParameter.name": (_observing((S.ResetParam("speed"),), _with_param), ("name", "speed"), ("name", "other")),
    "ResetParameter.mode": (_observing((S.ResetParam("speed"),), _with_param), ("mode", "FIXED"), ("mode", "UNIFORM")),
    "ResetParameter.value": (_observing((S.ResetParam("speed"),), _with_param), ("value", 0.7), ("value", 0.9)),
    "ResetParameter.minimum": (
        _observing(
            (S.ResetParam("speed"),),
            lambda s, a, v: (_with_param(s, a, ("mode", "UNIFORM")), _set("param.minimum")(s, a, v)),
        ),
        0.0,
        0.5,
    ),  # fmt: skip
    "ResetParameter.maximum": (
        _observing(
            (S.ResetParam("speed"),),
            lambda s, a, v: (_with_param(s, a, ("mode", "UNIFORM")), _set("param.maximum")(s, a, v)),
        ),
        1.0,
        2.0,
    ),  # fmt: skip
    "BrainSettings.name": (_rename_brain, "B", "X"),
    "BrainSettings.brain_type": (_set("brain.brain_type"), "HEURISTIC", "PLAYER"),
    "BrainSettings.algorithm": (_config(None), ("PPO", None), ("DQN", None)),
    "BrainSettings.ppo": (_config("ppo"), ("PPO", 0.99), ("PPO", 0.9)),
    "BrainSettings.dqn": (_config("dqn"), ("DQN", 0.99), ("DQN", 0.9)),
    "BrainSettings.sac": (_config("sac"), ("SAC", 0.99), ("SAC", 0.9)),
    "BrainSettings.trained_steps": (_panel_text("trained_steps"), 0, 1234),
    "BrainSettings.mean_reward": (_panel_text("mean_reward"), 0.0, 1.5),
    "AgentSettings.enabled": (_set("agent.enabled"), True, False),
    "AgentSettings.brain": (_second_brain, "B", "C"),
    "AgentSettings.max_steps": (_set("agent.max_steps"), 3, 0),
    "AgentSettings.team": (_observing((S.Team("TEAM"), S.Team("SIZE")), _set("agent.team")), 0, 2),
    "AgentSettings.behaviour_json": (_behaviour_json, 0, 1),
    "AgentSettings.behaviour_tree": (_behaviour_tree, False, True),
    "AgentSettings.objects": (_slot("name"), "Target", "Missing"),
    "AgentObject.name": (_slot("name"), "Target", "Missing"),
    "AgentObject.object": (_slot("object"), "T", "U"),
    "AcademyPreferences.torch_variant": (_pip("torch_variant"), "CPU", "DEFAULT"),
    "AcademyPreferences.torch_index_url": (_pip("torch_index_url"), "https://example.invalid/cpu", ""),
    "AcademyPreferences.install_status": (_install_status, "", "Installing PyTorch…"),
}


@pytest.mark.parametrize("key", sorted(SETTINGS))
def test_setting_changes_behaviour(key):
    setup, a, b = SETTINGS[key]
    outcomes = []
    for value in (a, b):
        scene, agents = _walkers(max_steps=(3, 5))
        result = setup(scene, agents, value)
        outcomes.append(result if result is not None else _outcome(scene))
    assert outcomes[0] != outcomes[1], f"{key}: {a!r} and {b!r} give the same result"
    assert not all(isinstance(o, str) and o.startswith("error") for o in outcomes), outcomes


# -- Deterministic: how a trained Brain acts in Play, Bake and evaluation ---------------------------


def _played(deterministic: bool, seed: int = 7, decisions: int = 20):
    """A briefly trained PPO Brain of the Seek scene played: the actions taken, and the most probable ones."""
    import seek_scene

    scene = seek_scene.build(agents=8, algorithm="PPO", seed=0)
    session = Session(scene, training=True, steps=200).start()
    session.run()
    session.finish()
    scene.academy.brains["Seek"].deterministic = deterministic
    session = Session(scene, training=False, steps=0, seed=seed).start()
    state = session.academy.brains["Seek"]
    taken, best = [], []
    for _ in range(decisions):
        session.rollout(1)
        taken.append(np.array(state.last_actions))
        best.append(state.runner.policy.policy_output(state.last_obs).argmax(axis=1))
    session.finish(store=False)
    return np.concatenate(taken), np.concatenate(best)


def test_deterministic_takes_the_most_probable_action_else_samples():
    """On: every action is the policy's argmax. Off (the default): sampled as in training, so a
    barely trained policy (near uniform over five moves) often takes another one; the same seed
    samples the same actions."""
    assert (
        not bpy.types.Scene.bl_rna.properties["academy"]
        .fixed_type.properties["brains"]
        .fixed_type.properties["deterministic"]
        .default
    )
    taken, best = _played(True)
    assert (taken == best).all()
    taken, best = _played(False)
    assert (taken != best).mean() > 0.3, (taken != best).mean()
    again, _ = _played(False)
    assert (again == taken).all()
    other, _ = _played(False, seed=8)
    assert (other != taken).any()


def test_continuous_actions_take_the_mean_even_when_not_deterministic():
    """Sampling a Gaussian would only shake a continuous agent (and a bake): its mean is played."""
    factory = importlib.import_module(M + ".training.factory")
    config = importlib.import_module(M + ".training.config")
    sp = importlib.import_module(M + ".training.spaces")
    brains = importlib.import_module(M + ".env.brains")
    obs_space, act_space = sp.Box((3,)), sp.Box((2,), -1.0, 1.0)
    learner = factory.make_learner(config.PPOConfig(log_std_init=0.5), obs_space, act_space, num_agents=4)
    runner = brains.InferenceRunner("B", obs_space, act_space, 4, learner.save_bytes(), deterministic=False)
    obs = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    mean = np.clip(runner.policy.policy_output(obs), -1.0, 1.0)
    np.testing.assert_allclose(runner.decide(obs), mean, rtol=0, atol=1e-6)
    np.testing.assert_allclose(runner.decide(obs), mean, rtol=0, atol=1e-6)


# -- the audit: every registered control is in a table above, or shown by a named test -----------

NAMED = {
    "AgentSettings.reset_on_done": "test_controls::test_reset_on_done_off_a_done_agent_waits_for_the_academy_reset",
    "AcademySettings.active_reset_parameter": "test_ui::test_list_operators",
    "AcademySettings.workers": "test_ui_workers::test_train_with_workers_stores_the_model_in_the_brain",
    "AcademySettings.ray_address": "test_ui_workers::test_the_workers_and_ray_address_settings_reach_the_run",
    "AcademySettings.active_brain_index": "test_registration::test_brain_operators_add_remove_and_duplicate",
    "AgentSettings.active_object_index": "test_ui::test_list_operators",
    "BrainSettings.player_keys": "test_ui::test_player_brain_follows_held_keys",
    "BrainSettings.active_player_key": "test_ui::test_player_brain_follows_held_keys",
    "PlayerKey.key": "test_ui::test_player_brain_follows_held_keys",  # W and S give opposite actions
    "PlayerKey.action": "test_ui::test_player_brain_follows_held_keys",  # D drives the second axis
    "PlayerKey.value": "test_ui::test_player_brain_follows_held_keys",  # +1 and -1
    "BrainSettings.uid": "test_ui::test_undo_does_not_lose_what_was_trained",  # finds the trained state again
    "AcademyStepInfoNode.Episode": "test_controls::test_step_info_episode_counts_the_episodes_this_agent_ended",
    "BrainSettings.deterministic": "test_controls::test_deterministic_takes_the_most_probable_action_else_samples",
    "BrainSettings.self_play": "test_selfplay::test_without_self_play_every_agent_learns",
    "SelfPlaySettings.enabled": "test_selfplay::test_without_self_play_every_agent_learns",
    "SelfPlaySettings.snapshot_every": "test_selfplay::test_window_keeps_the_latest_snapshots_and_swaps_draw_from_it",
    "SelfPlaySettings.window": "test_selfplay::test_window_keeps_the_latest_snapshots_and_swaps_draw_from_it",
    "SelfPlaySettings.swap_steps": "test_selfplay::test_window_keeps_the_latest_snapshots_and_swaps_draw_from_it",
    "SelfPlaySettings.play_against_latest_ratio": "test_selfplay::test_play_against_latest_ratio_picks_the_latest",
    "SelfPlaySettings.team_change": "test_selfplay::test_team_change_rotates_the_learning_team_and_elo_follows_winner",
    "SelfPlaySettings.initial_elo": "test_selfplay::test_initial_elo_is_where_a_new_brain_starts",
    "SelfPlaySettings.elo": "test_selfplay::test_the_elo_is_stored_with_the_brain_and_resumed_with_its_model",
    "AcademyActionMaskNode.branch": "test_action_masks::test_masks_naming_nothing_or_everything_name_their_node",
    "AcademyActionMaskNode.choice": "test_action_masks::test_the_tree_compiles_its_masks_by_branch_and_choice_names",
    "AcademyTrainingProgressNode.Progress": (
        "test_curricula::test_training_progress_reads_the_runs_fraction_and_a_progress_lesson_follows_it"
    ),
    "AcademySettings.lessons": "test_curricula::test_a_lesson_advances_at_its_threshold_after_min_length",
    "AcademySettings.active_lesson": "test_curricula::test_lesson_operators_and_the_curriculum_panel",
    "AcademySettings.current_lesson": (
        "test_curricula::test_training_progress_reads_the_runs_fraction_and_a_progress_lesson_follows_it"
    ),  # where Play starts
    "Lesson.name": "test_curricula::test_lessons_that_name_what_the_academy_lacks_are_refused_by_name",
    "Lesson.values": "test_curricula::test_a_lesson_advances_at_its_threshold_after_min_length",
    "Lesson.active_lesson_value": "test_curricula::test_lesson_operators_and_the_curriculum_panel",
    "Lesson.measure": "test_curricula::test_training_progress_reads_the_runs_fraction_and_a_progress_lesson_follows_it",
    "Lesson.threshold": "test_curricula::test_a_lesson_stays_below_its_threshold_or_min_length",
    "Lesson.min_length": "test_curricula::test_a_lesson_stays_below_its_threshold_or_min_length",
    "Lesson.brain": "test_curricula::test_a_lesson_measures_the_brain_it_names",
    "BrainSettings.demos": "test_demos::test_recording_a_heuristic_brain_keeps_exactly_what_the_session_saw",
    "BrainDemos.record": "test_demos::test_nothing_is_recorded_without_the_toggle",
    "BrainDemos.items": "test_demos::test_stored_demonstrations_survive_save_and_reopen_and_are_verified",
    "BrainDemos.active_index": "test_demos::test_demonstration_operators_remove_export_import_pretrain",
    "BrainDemos.pretrain_epochs": "test_demos::test_pretrain_epochs_and_batch_size_from_the_brain",
    "BrainDemos.bc_batch_size": "test_demos::test_pretrain_epochs_and_batch_size_from_the_brain",
    "BrainDemos.bc_strength": "test_demos::test_bc_during_training_needs_a_strength_and_decays_over_its_steps",
    "BrainDemos.bc_steps": "test_demos::test_bc_during_training_needs_a_strength_and_decays_over_its_steps",
    "DemoEntry.name": "test_demos::test_export_and_import_through_a_file",  # named after the imported file
    "DemoEntry.steps": "test_demos::test_recording_a_heuristic_brain_keeps_exactly_what_the_session_saw",
    "DemoEntry.episodes": "test_demos::test_recording_a_heuristic_brain_keeps_exactly_what_the_session_saw",
    "DemoEntry.mean_return": "test_demos::test_recording_a_heuristic_brain_keeps_exactly_what_the_session_saw",
}
# PropertyGroup's own ``name``, which these groups inherit and nothing draws or reads
EXEMPT = {"AcademySettings.name", "AgentSettings.name", "PlayerKey.name", "SelfPlaySettings.name", "BrainDemos.name"}
# the algorithm settings (their own tests)
GENERATED = {"AcademyPPOSettings", "AcademyDQNSettings", "AcademySACSettings"}


def _declared(cls) -> list[str]:
    """Properties a class of ours declares (through its bases too), as ``bpy.props`` annotations."""
    names = []
    for klass in reversed(cls.__mro__):
        if klass.__module__.startswith(M):
            for name, value in vars(klass).get("__annotations__", {}).items():
                # modules with ``from __future__ import annotations`` keep them as strings
                deferred = type(value).__name__ == "_PropertyDeferred" or str(value).startswith("bpy.props.")
                if deferred and name not in names:
                    names.append(name)
    return names


def registered_controls(academy) -> set[str]:
    """Every property and node output the add-on registers (dynamic outputs as one ``Name *``)."""
    nodes_controls = importlib.import_module("test_nodes_controls")
    keys = set()
    for cls in academy.properties.CLASSES:
        if cls.__name__ in GENERATED:
            continue
        inherited = issubclass(cls, bpy.types.PropertyGroup)
        keys |= {f"{cls.__name__}.{p}" for p in _declared(cls) + (["name"] if inherited else [])}
    node_classes = [c for c in academy.nodes.CLASSES if issubclass(c, bpy.types.Node | bpy.types.NodeTree)]
    node_classes += [c for c in academy.nodes.CLASSES if issubclass(c, bpy.types.NodeSocket)]
    for cls in node_classes:
        keys |= {f"{cls.__name__}.{p}" for p in _declared(cls)}
    tree = bpy.data.node_groups.new("Audit", "AcademyNodeTree")
    for cls in node_classes:
        if issubclass(cls, bpy.types.Node):
            node = tree.nodes.new(cls.bl_idname)
            keys |= {f"{cls.__name__}.{nodes_controls._dynamic(s.identifier)}" for s in node.outputs}
    bpy.data.node_groups.remove(tree)
    return keys


def _tables():
    nodes_controls = importlib.import_module("test_nodes_controls")
    return {
        **{k: "test_controls::test_setting_changes_behaviour" for k in SETTINGS},
        **{
            k: "test_nodes_controls::test_node_property_changes_what_the_agent_does"
            for k in nodes_controls.NODE_PROPERTIES
        },
        **{
            k: "test_nodes_controls::test_node_output_carries_its_value_into_the_behaviour"
            for k in nodes_controls.NODE_OUTPUTS
        },
        **NAMED,
    }


def test_every_control_has_a_behaviour_test(academy):
    """A new property or node output without a test that shows its effect fails here."""
    covered = _tables()
    registered = registered_controls(academy)
    assert not registered - set(covered) - EXEMPT, "controls without a behaviour test"
    assert not set(covered) - registered, "tests of controls that no longer exist"
    for where in set(covered.values()):
        module, name = where.split("::")
        assert callable(getattr(importlib.import_module(module), name, None)), f"{where} does not exist"
    # the counts the audit reports (issue 11): a change here is a change of the table
    print(f"audited {len(registered)} controls; {len(EXEMPT)} exempt; {len(set(covered.values()))} tests")
