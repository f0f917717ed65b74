"""The settings fuzz (issue 12.2): every number of the Academy, the Agent, the Brain (PPO and DQN), the
reset parameters and the behaviour nodes set to edge values, then Train.

Values are written as ID properties (``group["gamma"] = 5.0``), the way a crafted or old .blend carries
them: past the properties' min/max. Each Train either runs or is refused with one line that names the
setting (or its node); never a raw exception, never a hang: a virtual clock makes every tick a fixed
number of frames or update slices, and a trial runs a fixed number of ticks. The counts are printed
(tried / refused cleanly / ran / anything else). The CI variant tries every value outside a setting's
range, every one inside it at float32's edge (refused at once) and a seeded sample of the other
values inside it (new settings change which); the slow variant tries them all.

Also here: the one-place re-validation (a bad value saved in a file is refused on Train after reload,
by the Session and by ``./academy train``), the reset parameter's Minimum <= Maximum, and the limits
that the node UI and Python specs share.
"""

import importlib
import math
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter

import bpy
import pytest
from recording_layout import draw_panel

from devtools import boot

M = boot.MODULE
S = importlib.import_module(M + ".core.specs")
A = importlib.import_module(M + ".env.academy")
Session = importlib.import_module(M + ".env.session").Session
bb = importlib.import_module(M + ".examples.balance_ball")
grid = importlib.import_module(M + ".examples.grid_world")
config = importlib.import_module(M + ".training.config")
nodes_mod = importlib.import_module(M + ".nodes")
store = importlib.import_module(M + ".env.brain_store")

pytestmark = pytest.mark.lts

VERBOSE = bool(os.environ.get("ACADEMY_FUZZ_VERBOSE"))
TICKS = 12  # ticks per trial: at 5 frames or update slices each, a few decisions and one PPO update
NOT_SETTINGS = importlib.import_module(M + ".properties.academy").NOT_SETTINGS


class VirtualClock:
    """Each reading is 10 ms later: a tick of 50 ms is 5 iterations, whatever the machine."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 0.01
        return self.now


def _ppo_scene():
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bb.build(bpy.context.scene, agents=2)
    brain = scene.academy.brains[0]
    brain.brain_type = "TRAINING"
    brain.ppo.num_steps, brain.ppo.minibatch_size, brain.ppo.num_epochs = 8, 8, 1
    key = brain.player_keys.add()
    key.key, key.action, key.value = "W", 0, 1.0
    param = scene.academy.reset_parameters.add()
    param.name, param.mode = "Speed", "UNIFORM"
    tree = next(o.academy_agent.behaviour_tree for o in scene.objects if o.academy_agent.enabled)
    _add_sensors(tree)
    return scene


def _add_sensors(tree):
    """Feed the Observe node from the sensor and math nodes the example lacks (each with numbers to fuzz)."""
    nodes, links = tree.nodes, tree.links
    observe = next(n for n in nodes if n.bl_idname == "AcademyObserveNode")
    made = {idname: nodes.new(idname) for idname in (
        "AcademyRayPerceptionNode", "AcademyPropertyNode", "AcademyClampNode", "AcademyMapRangeNode",
        "AcademyValueNode", "AcademyStepInfoNode", "AcademyResetParameterNode",
    )}  # fmt: skip
    made["AcademyPropertyNode"].path = "location"
    made["AcademyPropertyNode"].index = 2
    made["AcademyResetParameterNode"].parameter = "Speed"
    links.new(made["AcademyRayPerceptionNode"].outputs[0], observe.inputs[0])
    links.new(made["AcademyPropertyNode"].outputs[0], made["AcademyClampNode"].inputs[0])
    links.new(made["AcademyClampNode"].outputs[0], made["AcademyMapRangeNode"].inputs[0])
    for name in ("AcademyMapRangeNode", "AcademyValueNode", "AcademyStepInfoNode", "AcademyResetParameterNode"):
        links.new(made[name].outputs[0], observe.inputs[0])


def _dqn_scene():
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = grid.build(bpy.context.scene, agents=2, algorithm="DQN")
    dqn = scene.academy.brains[0].dqn
    dqn.buffer_size, dqn.learning_starts, dqn.batch_size, dqn.cnn_features = 64, 4, 4, 16
    return scene


def _own_numbers(owner):
    """The Int/Float settings an Academy property group, node or socket defines (not Blender's own)."""
    if isinstance(owner, bpy.types.Node | bpy.types.NodeSocket):
        own = set().union(*(vars(c).get("__annotations__", {}) for c in type(owner).__mro__))
    else:
        own = None
    for prop in owner.bl_rna.properties:
        if prop.type not in {"INT", "FLOAT"} or prop.is_readonly or getattr(prop, "array_length", 0):
            continue
        if prop.identifier in NOT_SETTINGS or (own is not None and prop.identifier not in own):
            continue
        yield prop


def _edges(prop):
    """min, max, 0, -1, huge, and for floats NaN and infinity; each tagged inside / outside its range."""
    lo, hi = prop.hard_min, prop.hard_max
    if prop.type == "INT":
        values = [lo, hi, 0, -1, 2**31 - 1]
    else:
        values = [lo, hi, 0.0, -1.0, 1e30, -1e30, math.nan, math.inf]
    out = []
    for v in values:
        if v not in out or (isinstance(v, float) and math.isnan(v)):
            out.append(v)
    return [(v, lo <= v <= hi and math.isfinite(v)) for v in out]


def _targets(scene):
    """(path to find the owner again, label the error must name) for every number of the scene."""
    academy = scene.academy
    agent = next(o for o in scene.objects if o.academy_agent.enabled)
    brain = academy.brains[0]
    owners = [
        (lambda s: s.academy, ["academy"]),
        (lambda s: next(o for o in s.objects if o.academy_agent.enabled).academy_agent, [agent.name]),
        (lambda s: s.academy.brains[0].ppo if s.academy.brains[0].algorithm == "PPO" else s.academy.brains[0].dqn,
         [brain.name]),
    ]  # fmt: skip
    if brain.player_keys:
        owners.append((lambda s: s.academy.brains[0].player_keys[0], [brain.name]))
    if academy.reset_parameters:
        owners.append((lambda s: s.academy.reset_parameters[0], [academy.reset_parameters[0].name]))
    tree = agent.academy_agent.behaviour_tree
    for node in sorted(tree.nodes, key=lambda n: n.name):
        owners.append((lambda s, t=tree.name, n=node.name: bpy.data.node_groups[t].nodes[n], [node.name]))
        for i, socket in enumerate(node.inputs):
            if not socket.is_linked and socket.enabled and not socket.hide:
                owners.append(
                    (lambda s, t=tree.name, n=node.name, i=i: bpy.data.node_groups[t].nodes[n].inputs[i], [node.name])
                )
    for find, names in owners:
        for prop in _own_numbers(find(scene)):
            for value, inside in _edges(prop):
                yield find, names, prop, value, inside


def _train(scene):
    """Train briefly; return ("ran" | "refused", message). Other exceptions propagate to the caller."""
    nodes_mod.clear_cache()  # as after loading a file: ID property writes do not mark the trees edited
    try:
        session = Session(scene, training=True)
        session.clock = VirtualClock()
        session.start()
        for _ in range(TICKS):
            if not session.tick(0.05):
                break
        message = "" if session.error is None else str(session.error)
        session.finish(store=False)
        return ("refused", message) if message else ("ran", "")
    except A.AcademyError as exc:
        return "refused", str(exc)


def _write(owner, name, value):
    """Write past the property's min/max, as an ID property the way a .blend stores it; return an undo.

    Blender 5.0 keeps registered properties apart from custom ones (``bl_system_properties_get``);
    4.5 keeps both in ``owner[...]``.
    """
    store = owner.bl_system_properties_get(do_create=True) if hasattr(owner, "bl_system_properties_get") else owner
    before = store.get(name)
    if isinstance(before, int) and isinstance(value, float):  # a name RNA shares with Blender's own (Node.width)
        if not math.isfinite(value):
            return None
        value = int(max(-(2**31), min(2**31 - 1, value)))
    store[name] = value

    def undo(again):
        store = again.bl_system_properties_get(do_create=True) if hasattr(again, "bl_system_properties_get") else again
        if before is None:
            del store[name]
        else:
            store[name] = before

    return undo


def _fuzz(build, sample: int | None, seed: int = 0):
    scene = build()
    cases = list(_targets(scene))
    if sample is not None:
        # values at float32's edge are refused at once (not finite in float32): keep them all and
        # sample among the ordinary ones, so the sample is not spent on instant refusals
        inside = [c for c in cases if c[4] and abs(c[3]) < 1e38]
        keep = set(map(id, random.Random(seed).sample(inside, min(sample, len(inside)))))
        cases = [c for c in cases if not c[4] or abs(c[3]) >= 1e38 or id(c) in keep]
    counts, odd = Counter(), []
    for find, names, prop, value, _inside in cases:
        owner = find(scene)
        what = f"{names[0]} {prop.identifier}={value!r}"
        restore = _write(owner, prop.identifier, value)
        if restore is None:
            continue
        started = time.perf_counter()
        try:
            outcome, message = _train(scene)
        except Exception as exc:  # a raw exception: what the fuzz looks for
            outcome, message = "raw", f"{type(exc).__name__}: {exc}"
        finally:
            restore(find(scene))
            for brain in scene.academy.brains:  # a refused run keeps what it learned: start the next one fresh
                store.clear_state(brain)
        counts["tried"] += 1
        if VERBOSE:
            where = " (inside)" if _inside else ""
            print(f"{time.perf_counter() - started:6.2f} s {what}{where}: {outcome}: {message[:120]}")
        text = message.lower()
        setting = [prop.name, prop.identifier.replace("_", " ")]
        if isinstance(owner, bpy.types.NodeSocket):
            setting.append(owner.name)
        if isinstance(owner, bpy.types.Node | bpy.types.NodeSocket):
            # the node at fault, the one downstream that the value breaks, or the Brain it does not suit
            # (a camera of 32x1 pixels is too small for the Brain's CNN)
            named = "node '" in text or any(f"brain '{b.name.lower()}'" in text for b in scene.academy.brains)
        else:
            named = names[0].lower() in text and any(word.lower() in text for word in setting)
        if outcome == "refused" and "\n" not in message and named:
            counts["refused cleanly"] += 1
        elif outcome == "ran":
            counts["ran"] += 1
        else:
            counts["anything else"] += 1
            odd.append(f"{what}: {outcome}: {message}")
    return counts, odd


def _report(label, counts, odd):
    keys = ("tried", "refused cleanly", "ran", "anything else")
    print(f"\nsettings fuzz ({label}): " + ", ".join(f"{k} {counts[k]}" for k in keys))
    for line in odd:
        print("  ", line)


@pytest.mark.parametrize("build", [_ppo_scene, _dqn_scene], ids=["ppo", "dqn"])
def test_settings_fuzz(build):
    counts, odd = _fuzz(build, sample=8)
    _report(build.__name__.strip("_"), counts, odd)
    assert counts["tried"] > 100 and counts["refused cleanly"] > 50 and counts["ran"] > 3, counts
    assert not odd, "\n".join(odd)


@pytest.mark.slow
@pytest.mark.parametrize("build", [_ppo_scene, _dqn_scene], ids=["ppo", "dqn"])
def test_settings_fuzz_every_value(build):
    counts, odd = _fuzz(build, sample=None)
    _report(build.__name__.strip("_") + ", every value", counts, odd)
    assert not odd, "\n".join(odd)


# -- checked again when a file is loaded -------------------------------------------------------


def _system(owner):
    return owner.bl_system_properties_get(do_create=True) if hasattr(owner, "bl_system_properties_get") else owner


BAD_IN_FILE = [
    (lambda s: s.academy.brains[0].ppo.__setitem__("gamma", 5.0), r"Brain '3DBall': PPO Gamma is 5; it must be 0 to 1"),
    (lambda s: s.academy.__setitem__("decision_period", -3), r"Academy: Decision Period is -3; it must be 1 to 10000"),
    (lambda s: s.academy.__setitem__("training_steps", 0), r"Academy: Training Steps is 0; it must be at least 1"),
    (
        lambda s: s.academy.reset_parameters[0].__setitem__("minimum", 2.0),
        r"Academy: reset parameter 'Speed' has Minimum 2 above its Maximum 1; Uniform draws between them",
    ),
    (
        lambda s: _system(bpy.data.node_groups["Balance Ball"].nodes["Ray Perception"]).__setitem__("rays", 200_000),
        r"Agent 'Platform.000': tree 'Balance Ball': node 'Ray Perception': Rays is 200000; it must be 1 to 64",
    ),
]


def _labels(panel) -> str:
    return " ".join(entry[1] for entry in draw_panel(panel, bpy.context) if entry[0] == "label")


def test_the_academy_panel_shows_a_bad_value_from_the_file_until_it_is_fixed(tmp_path):
    scene = _ppo_scene()
    BAD_IN_FILE[0][0](scene)  # gamma 5
    path = tmp_path / "spoilt.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    bpy.ops.wm.open_mainfile(filepath=str(path))
    panel = importlib.import_module(boot.MODULE + ".panels.academy").ACADEMY_PT_academy
    assert "PPO Gamma is 5; it must be 0 to 1" in _labels(panel)
    bpy.context.scene.academy.brains[0].ppo.gamma = 0.99
    assert "Gamma" not in _labels(panel)
    assert importlib.import_module(boot.MODULE + ".env.handlers").LOAD_PROBLEMS == {}


@pytest.mark.parametrize("spoil, message", BAD_IN_FILE, ids=["gamma", "period", "steps", "reset", "rays"])
def test_a_bad_value_saved_in_a_file_is_refused_when_it_is_trained_after_loading(tmp_path, spoil, message):
    scene = _ppo_scene()
    handlers = importlib.import_module(boot.MODULE + ".env.handlers")
    good = tmp_path / "good.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(good))
    bpy.ops.wm.open_mainfile(filepath=str(good))
    assert handlers.LOAD_PROBLEMS == {}
    scene = bpy.context.scene
    spoil(scene)
    path = tmp_path / "spoilt.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.wm.open_mainfile(filepath=str(path))
    scene = bpy.context.scene
    assert re.fullmatch(message, handlers.LOAD_PROBLEMS[scene.name])  # said as soon as the file is open
    panel = importlib.import_module(boot.MODULE + ".panels.academy").ACADEMY_PT_academy
    assert handlers.LOAD_PROBLEMS[scene.name] in _labels(panel)
    frame, objects = scene.frame_current, {o.name: tuple(o.matrix_world.col[3]) for o in scene.objects}
    with pytest.raises(A.AcademyError, match=f"^{message}$"):
        Session(scene, training=True)
    assert scene.frame_current == frame
    assert objects == {o.name: tuple(o.matrix_world.col[3]) for o in scene.objects}


@pytest.mark.parametrize("spoil, message", [BAD_IN_FILE[0], BAD_IN_FILE[2]], ids=["gamma", "steps"])
def test_academy_train_refuses_a_bad_value_in_the_file_in_one_line(tmp_path, spoil, message):
    """``./academy train`` on a file whose Training Steps is 0 ran forever, writing a checkpoint every decision."""
    scene = _ppo_scene()
    spoil(scene)
    path = tmp_path / "spoilt.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(boot.ROOT / "devtools" / "academy.py"), "train", str(path), "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == f"academy train: error: {message}".replace("\\", "")
    assert "Traceback" not in proc.stderr
    assert not (out / "checkpoints").exists() or not any((out / "checkpoints").iterdir())


# -- the reset parameter's range --------------------------------------------------------------


def test_the_ui_keeps_a_reset_parameters_minimum_at_most_its_maximum():
    param = bpy.context.scene.academy.reset_parameters.add()
    param.mode, param.minimum, param.maximum = "UNIFORM", 0.0, 1.0
    param.minimum = 3.0  # raising Minimum past Maximum raises Maximum with it
    assert (param.minimum, param.maximum) == (3.0, 3.0)
    param.maximum = -2.0  # and lowering Maximum past Minimum lowers Minimum
    assert (param.minimum, param.maximum) == (-2.0, -2.0)
    param.maximum = 5.0
    assert (param.minimum, param.maximum) == (-2.0, 5.0)


# -- one limit everywhere ---------------------------------------------------------------------


def test_the_ray_and_image_limits_are_the_node_uis_and_the_specs():
    tree = bpy.data.node_groups.new("T", "AcademyNodeTree")
    rays = tree.nodes.new("AcademyRayPerceptionNode").bl_rna.properties["rays"]
    assert rays.hard_max == config.LIMITS["rays"] == 64
    # the Camera node's width/height share their names with Node's own (listed first): take the node's ints
    camera = {p.identifier: p for p in tree.nodes.new("AcademyCameraNode").bl_rna.properties if p.type == "INT"}
    assert camera["width"].hard_max == camera["height"].hard_max == config.LIMITS["image_size"]
    S.RayPerception(rays=64)
    with pytest.raises(S.SpecError, match="^ray perception: rays is 200000; it must be 1 to 64$"):
        S.RayPerception(rays=200_000)
    with pytest.raises(S.SpecError, match="camera slot:Eye: width is 5000; it must be 1 to 1024"):
        S.Camera("slot:Eye", 5000, 84)


def test_a_python_spec_over_the_limits_is_refused_before_anything_is_compiled(monkeypatch):
    """A script's spec (or one stored on an agent) with 200,000 rays or a 300M-number observation."""
    scene = _ppo_scene()
    agent = next(o for o in scene.objects if o.academy_agent.enabled)
    compiler = importlib.import_module(M + ".env.compiler")
    monkeypatch.setattr(compiler, "CompiledBehaviour", lambda *a, **k: pytest.fail("compiled before the check"))
    good = bb.behaviour()
    with pytest.raises(S.SpecError, match="observes 300,023,808 numbers, more than the limit of 65,536"):
        A.set_behaviour(agent, S.Behaviour(observations=(S.Property(path="location", size_=65_536),) * 4578,
                                           actions=good.actions))  # fmt: skip
    with pytest.raises(S.SpecError, match="property location: size is 300000000; it must be 1 to 65536"):
        S.Property(path="location", size_=300_000_000)
    text = good.to_json().replace('"op":"location"', '"op":"rays","rays":200000', 1)
    agent.academy_agent.behaviour_tree = None
    agent.academy_agent.behaviour_json = text
    with pytest.raises(
        A.AcademyError, match="^Agent 'Platform.000': ray perception: rays is 200000; it must be 1 to 64$"
    ):
        Session(scene, training=True)
