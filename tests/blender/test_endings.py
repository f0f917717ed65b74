"""Every way a session ends restores the designer's scene and keeps what was learned (issue 11, point 7).

A randomised, counted suite: a random example (small), a random entry point (the Train and Play
operators' modal loops, ``Session.run``, headless training, the gymnasium wrapper, bake) and a
random way of ending (normal end, Stop, an exception in a learning update / sensor / actuator, a
custom property deleted, an object renamed or deleted, the Brain renamed, a reward float32 cannot
hold, a file load, a save, undo, Ctrl-C), faults injected by monkeypatching the running session.
After each case: the scene is restored bit-exactly (transforms, custom properties, rigid-body flags,
frame; rigid bodies show the designer's pose at their frame), no session is left running, the
Brain's stored model is the last good one or unchanged, and there is one line saying how it ended.
CI runs a short form from a fixed seed; the slow form runs 150 cases.
"""

from __future__ import annotations

import dataclasses
import importlib
import random
import tempfile
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import bpy
import numpy as np
import pytest

from devtools import boot

M = boot.MODULE
EXAMPLES = importlib.import_module(M + ".examples").EXAMPLES
S = importlib.import_module(M + ".core.specs")
A = importlib.import_module(M + ".env.academy")
behaviours = importlib.import_module(M + ".env.behaviours")
sessions = importlib.import_module(M + ".env.sessions")
session_mod = importlib.import_module(M + ".env.session")
headless = importlib.import_module(M + ".drivers.headless")
gym_mod = importlib.import_module(M + ".drivers.gym")
bake_mod = importlib.import_module(M + ".bake")
run_ops = importlib.import_module(M + ".operators.run")
persistence = importlib.import_module(M + ".training.persistence")
Session = session_mod.Session
STATE_KEY = importlib.import_module(M + ".env.brain_store").STATE_KEY

AGENT_OBJECT = {"balance_ball": "Platform", "grid_world": "Agent", "evacuation": "Evacuee"}
TRAINING_ENTRIES = ("train_op", "session_run", "headless")
ENTRIES = ("train_op", "play_op", "session_run", "headless", "gym", "bake")
FUNCTION_FAULTS = ("sensor_error", "actuator_error", "nonfinite_reward", "keyboard_interrupt")
SCENE_FAULTS = ("prop_deleted", "object_renamed", "object_deleted")
ENDINGS = {
    "train_op": ("normal", "stop", "update_error", *FUNCTION_FAULTS, *SCENE_FAULTS, "brain_renamed", "file_load")
    + ("save", "undo"),
    "play_op": ("normal", "stop", *FUNCTION_FAULTS, *SCENE_FAULTS, "file_load", "save"),
    "session_run": ("normal", "stop", "update_error", *FUNCTION_FAULTS, *SCENE_FAULTS, "brain_renamed")
    + ("file_load", "save", "undo"),
    "headless": ("normal", "update_error", *FUNCTION_FAULTS, *SCENE_FAULTS, "brain_renamed", "save"),
    "gym": ("normal", "stop", *FUNCTION_FAULTS, *SCENE_FAULTS),
    "bake": ("normal", *FUNCTION_FAULTS),
}
ALL_CASES = [(e, entry, end) for e in AGENT_OBJECT for entry in ENTRIES for end in ENDINGS[entry]]

pytestmark = pytest.mark.lts


# -- the designer's scene ------------------------------------------------------------------


def build(example: str, rng: random.Random):
    """A small example scene whose agents also add to a custom property every frame (["probe"])."""
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = EXAMPLES[example].build(bpy.context.scene, agents=2, use_nodes=False)
    brain = scene.academy.brains[0]
    brain.ppo.num_steps, brain.ppo.num_epochs, brain.ppo.minibatch_size = 8, 1, 8  # an update every 16 steps
    brain.dqn.learning_starts, brain.dqn.batch_size = 8, 8
    scene.academy.max_steps = 12
    probe = S.Write(S.SELF, '["probe"]', S.Const((0.25,)), mode="ADD", low=-1e6, high=1e6)
    for obj in scene.objects:
        if obj.academy_agent.enabled:
            obj["probe"] = 1.0 + rng.random()
            spec = behaviours.behaviour_for(obj)
            behaviours.set_behaviour(obj, dataclasses.replace(spec, writes=spec.writes + (probe,)))
    return scene


def give_model(scene) -> None:
    """Train for a moment, so Play, the Brain's inference and bake have a model to run."""
    session = Session(scene, training=True, steps=8).start()
    session.run()
    session.finish()


def world_state(scene) -> dict:
    """Every object (by session_uid): name, exact transform, custom properties, rigid-body flags,
    evaluated world matrix; and the scene's frame and rigid-body cache range."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    objects = {}
    for obj in scene.objects:
        props = {
            k: (tuple(v) if hasattr(v, "__len__") and not isinstance(v, str) else v)
            for k, v in obj.items()
            if k not in obj.bl_rna.properties
        }
        rb = obj.rigid_body
        objects[obj.session_uid] = {
            "name": obj.name,
            "basis": (
                tuple(obj.location),
                obj.rotation_mode,
                tuple(obj.rotation_euler),
                tuple(obj.rotation_quaternion),
                tuple(obj.scale),
            ),
            "props": props,
            "rigid": None if rb is None else (rb.kinematic, rb.enabled),
            "world": np.array(obj.evaluated_get(depsgraph).matrix_world),
        }
    world = scene.rigidbody_world
    return {
        "objects": objects,
        "frame": (scene.frame_current, scene.frame_subframe, scene.frame_start, scene.frame_end),
        "cache": None if world is None else (world.point_cache.frame_start, world.point_cache.frame_end),
    }


def differences(before: dict, after: dict, expect: dict) -> list[str]:
    """What differs between two :func:`world_state` s, allowing for what the fault changed on purpose.

    ``expect``: ``deleted`` (session_uids), ``renamed`` ({uid: new name}), ``props_gone`` ({uid: key}).
    """
    out = []
    if before["frame"] != after["frame"]:
        out.append(f"frame {before['frame']} -> {after['frame']}")
    if before["cache"] != after["cache"]:
        out.append(f"rigid-body cache {before['cache']} -> {after['cache']}")
    for uid, b in before["objects"].items():
        a = after["objects"].get(uid)
        if uid in expect.get("deleted", ()):
            if a is not None:
                out.append(f"{b['name']}: should be deleted")
            continue
        if a is None:
            out.append(f"{b['name']}: gone")
            continue
        name = expect.get("renamed", {}).get(uid, b["name"])
        if a["name"] != name:
            out.append(f"{b['name']}: named {a['name']}")
        for key in ("basis", "rigid"):
            if a[key] != b[key]:
                out.append(f"{b['name']}: {key} {b[key]} -> {a[key]}")
        props = dict(b["props"])
        gone = expect.get("props_gone", {}).get(uid)
        if gone is not None:
            props.pop(gone, None)
        if a["props"] != props:
            out.append(f"{b['name']}: custom properties {props} -> {a['props']}")
        err = float(np.abs(a["world"] - b["world"]).max())
        if err > 1e-5:
            out.append(f"{b['name']}: evaluated pose off by {err:.3g}")
    for uid, a in after["objects"].items():
        if uid not in before["objects"]:
            out.append(f"{a['name']}: new object")
    return out


def by_name(state: dict) -> dict:
    """``state`` with objects keyed by name (to compare with a file loaded again)."""
    return {**state, "objects": {o["name"]: o for o in state["objects"].values()}}


def model_problem(before: bytes | None, after: bytes | None, must_change: bool) -> str | None:
    """None if the stored model is unchanged or a readable model with finite weights (changed if ``must_change``)."""
    if after == before and not must_change:
        return None
    if not after:
        return f"no model stored ({len(after or b'')} bytes)"
    if must_change and after == before:
        return "the model was not stored"
    try:
        _header, arrays = persistence.unpack_state(bytes(after))
    except Exception as exc:
        return f"the stored model cannot be read: {exc}"
    for key, value in arrays.items():
        if np.issubdtype(np.asarray(value).dtype, np.floating) and not np.isfinite(value).all():
            return f"the stored model has non-finite {key}"
    return None


# -- operators without a window --------------------------------------------------------------


class FakeOperator:
    """Runs an operator's methods outside Blender's window manager, recording what it reports."""

    def __init__(self, cls):
        self.cls = cls
        self.reports: list[tuple[str, str]] = []
        self._timer = None
        self._last_stats = 0.0

    def report(self, levels, message):
        self.reports.append((next(iter(levels)), message))

    def __getattr__(self, name):  # the operator's own methods, bound to this stand-in
        attr = getattr(self.cls, name)
        return attr.__get__(self) if callable(attr) else attr


def ui_context(scene):
    return SimpleNamespace(scene=scene, window_manager=None, workspace=None, screen=None, window=None)


TIMER = SimpleNamespace(type="TIMER", value="NOTHING")


# -- faults ----------------------------------------------------------------------------------


class Fault:
    """Injects ``ending`` into the running session at step ``at`` of its driver loop."""

    def __init__(self, ending: str, scene, at: int, rng: random.Random):
        self.ending, self.scene_name, self.at, self.rng = ending, scene.name, at, rng
        self.fired = False
        self.expect: dict = {}
        self.names: list[str] = []  # what the message must name
        self.saved: Path | None = None
        self.loaded_state: dict | None = None

    def session(self):
        active = sessions.active_sessions()
        return active[0] if active else None

    def __call__(self, step: int) -> None:
        if self.fired or step < self.at:
            return
        session = self.session()
        if session is None:
            return
        self.fired = True
        scene = bpy.data.scenes[self.scene_name]
        academy = session.academy
        state = next(iter(academy.brains.values()))
        c = state.groups[0].compiled
        agent = c.agent_names[0]
        if self.ending == "update_error":

            def broken(*_args, **_kwargs):
                raise RuntimeError("injected fault in the learning update")

            state.runner.update_chunk = broken
            self.names = [state.name, "learning update"]
        elif self.ending == "sensor_error":

            def broken_sensor(ctx):
                raise RuntimeError("injected sensor fault")

            c.observe_fn = broken_sensor
            self.names = ["injected sensor fault"]
        elif self.ending == "actuator_error":

            def broken_write(*_args, **_kwargs):
                raise RuntimeError("injected actuator fault")

            c.writes[0].apply = broken_write
            self.names = ["injected actuator fault"]
        elif self.ending == "keyboard_interrupt":

            def interrupt(ctx):
                raise KeyboardInterrupt

            c.observe_fn = interrupt
        elif self.ending == "nonfinite_reward":
            fn, weight = c.reward_fns[0]

            def huge(ctx, fn=fn):
                out = np.array(fn(ctx), dtype=np.float64)
                out[0] = 1e39  # finite in float64, infinite in float32
                return out

            c.reward_fns[0] = (huge, weight)
            self.names = [agent, "1e+39"]
        elif self.ending == "prop_deleted":
            obj = scene.objects[agent]
            self.expect = {"props_gone": {obj.session_uid: "probe"}}
            del obj["probe"]
            self.names = [agent, "probe"]
        elif self.ending == "object_renamed":
            obj = scene.objects[agent]
            obj.name = agent + " renamed"
            self.expect = {"renamed": {obj.session_uid: obj.name}}
        elif self.ending == "object_deleted":
            others = [o for o in c.objects if o.name != agent] or list(c.objects)
            obj = self.rng.choice(others)
            self.expect = {"deleted": {obj.session_uid}}
            self.names = [obj.name]
            bpy.data.objects.remove(obj)
        elif self.ending == "brain_renamed":
            scene.academy.brains[state.name].name = "Renamed Brain"
        elif self.ending == "save":
            self.saved = Path(tempfile.mkdtemp(prefix="academy-endings-")) / "saved.blend"
            bpy.ops.wm.save_as_mainfile(filepath=str(self.saved), copy=True)
        elif self.ending == "undo":
            bpy.ops.ed.undo_push(message="during training")
            bpy.ops.ed.undo()
        elif self.ending == "file_load":

            def check(*_args):  # runs after the add-on's load_pre handler ended the session
                self.loaded_state = world_state(bpy.data.scenes[self.scene_name])
                self.loaded_sessions = sessions.active_sessions()

            bpy.app.handlers.load_pre.append(check)  # loading clears it (it is not persistent)
            bpy.ops.wm.read_homefile(use_empty=True)
        elif self.ending == "stop":
            pass  # the driver stops
        elif self.ending != "normal":
            raise AssertionError(self.ending)


# -- entry points ----------------------------------------------------------------------------


def with_train_callbacks(op: FakeOperator, session) -> None:
    """What Train's invoke does besides starting the modal loop: its callbacks (no target) hear the run."""
    op.stop_at_target = False
    op._hooks = op._callbacks(session)
    op._hooks.start(session)


def drive_modal(cls, scene, fault: Fault, training: bool, monkeypatch) -> str:
    # one frame or update slice per timer event, whatever the machine's speed: the fault's moment
    # must not depend on the wall clock
    monkeypatch.setattr(run_ops, "TICK_BUDGET_S", 0.0)
    session = Session(scene, training=training, steps=160 if training else 0).start()
    op = FakeOperator(cls)
    op._scene_name, op._run = scene.name, session
    session.modal_owned = True
    context = ui_context(scene)
    if training:
        with_train_callbacks(op, session)
    for step in range(100_000):
        fault(step)
        if fault.ending == "file_load" and fault.fired:
            op.modal(ui_context(None), TIMER)  # the next event finds the session ended by the load
            break
        if fault.ending == "stop" and fault.fired:
            stop = FakeOperator(run_ops.ACADEMY_OT_stop)
            stop.execute(context)
            assert "restored" in stop.reports[-1][1], stop.reports
        if not training and not session.stopped:
            scene.frame_set(scene.frame_current + 1)  # the timeline plays
        if op.modal(context, TIMER) == {"FINISHED"}:
            break
        if not training and step >= 60:  # Play runs until stopped
            op.modal(context, SimpleNamespace(type="ESC", value="PRESS"))
            break
    assert op.reports, "the operator reported nothing"
    return op.reports[-1][1]


def drive(entry: str, scene, fault: Fault, monkeypatch) -> str:
    """Run ``entry`` with ``fault``; return its one-line message (an error's, or how it ended)."""
    brain_name = scene.academy.brains[0].name
    if entry == "train_op":
        return drive_modal(run_ops.ACADEMY_OT_train, scene, fault, training=True, monkeypatch=monkeypatch)
    if entry == "play_op":
        return drive_modal(run_ops.ACADEMY_OT_play, scene, fault, training=False, monkeypatch=monkeypatch)
    if entry == "session_run":
        session = Session(scene, training=True, steps=160).start()
        count = iter(range(10**6))

        def progress(s):
            fault(next(count))
            if fault.ending == "stop" and fault.fired and not s.stopped:
                stop = FakeOperator(run_ops.ACADEMY_OT_stop)
                stop.execute(ui_context(scene))
                raise StopIteration(stop.reports[-1][1])

        try:
            session.run(progress, interval_s=0.0)
        except StopIteration as stopped:
            return str(stopped.value)
        except (A.AcademyError, KeyboardInterrupt) as exc:
            return str(exc) or session.message
        session.finish()  # what Stop or the end of a script does
        return session.message
    if entry == "headless":
        original = Session.tick
        count = iter(range(10**6))

        def tick(self, *args, **kwargs):
            fault(next(count))
            return original(self, *args, **kwargs)

        monkeypatch.setattr(Session, "tick", tick)
        out = tempfile.mkdtemp(prefix="academy-endings-")
        try:
            result = headless.train(scene, out, steps=160, progress=False, tensorboard=False)
        except A.AcademyError as exc:
            return str(exc)
        return "interrupted" if result.interrupted else "trained"
    if entry == "gym":
        env = gym_mod.make_env(scene, brain_name)
        env.reset(seed=1)
        try:
            for step in range(120):
                fault(step)
                if fault.ending == "stop" and fault.fired:
                    break
                env.step(env.action_space.sample())
        except (A.AcademyError, KeyboardInterrupt) as exc:
            return str(exc) or "interrupted"
        finally:
            env.close()
        return "closed"
    if entry == "bake":
        count = iter(range(10**6))

        def hook(*_args):
            fault(next(count))

        bpy.app.handlers.frame_change_pre.append(hook)
        try:
            bake_mod.bake(scene, brain_name, frame_start=scene.frame_current, frame_end=scene.frame_current + 40)
        except (bake_mod.BakeError, KeyboardInterrupt) as exc:
            return str(exc) or "interrupted"
        finally:
            bpy.app.handlers.frame_change_pre.remove(hook)
        return "baked"
    raise AssertionError(entry)


# -- one case, and the suite -----------------------------------------------------------------


def run_case(example: str, entry: str, ending: str, seed: int, monkeypatch) -> list[str]:
    """Run one case; return what went wrong (empty: it passed)."""
    rng = random.Random(seed)
    scene = build(example, rng)
    if entry in ("play_op", "bake"):
        give_model(scene)
    for frame in range(scene.frame_start, scene.frame_start + rng.randint(1, 12)):
        scene.frame_set(frame)  # the designer is somewhere on the timeline, their physics cached
    bpy.ops.ed.undo_push(message="the designer's scene")
    before = world_state(scene)
    brain_uid = scene.academy.brains[0].uid
    model_before = scene.academy.brains[0].get(STATE_KEY)
    model_before = None if model_before is None else bytes(model_before)
    fault = Fault(ending, scene, at=rng.randint(1, 4), rng=rng)
    problems = []
    try:
        message = drive(entry, scene, fault, monkeypatch)
    except Exception as exc:  # an entry point let an unexpected error out
        return [f"raised {type(exc).__name__}: {exc}"]
    if sessions.active_sessions():
        problems.append("a session is still running")
        sessions.stop_all_sessions()
    if not fault.fired and ending != "normal":
        problems.append("the fault never fired")
    if not message or "\n" in message:
        problems.append(f"not one line: {message!r}")
    for name in fault.names:
        if name not in message:
            problems.append(f"the message does not name {name!r}: {message!r}")
    if ending == "file_load":
        if fault.loaded_state is None:
            return problems + ["the load handler did not run"]
        if fault.loaded_sessions:
            problems.append("a session was still running when the file was replaced")
        return problems + differences(before, fault.loaded_state, fault.expect)
    scene = bpy.data.scenes[fault.scene_name]
    if entry == "bake":  # a bake adds its take, which animates the scene: compare with the takes muted
        with bake_mod.takes_muted(scene):
            after = world_state(scene)
    else:
        after = world_state(scene)
    problems += differences(before, after, fault.expect)
    brain = next((b for b in scene.academy.brains if b.uid == brain_uid), scene.academy.brains[0])
    model_after = brain.get(STATE_KEY)
    model_after = None if model_after is None else bytes(model_after)
    renamed_training = ending == "brain_renamed" and entry in TRAINING_ENTRIES
    trouble = model_problem(model_before, model_after, must_change=renamed_training)
    if trouble:
        problems.append(trouble)
    if entry in ("play_op", "gym", "bake") and model_after != model_before:
        problems.append("a run that does not learn changed the stored model")
    if fault.saved is not None:  # the file saved mid-run holds the designer's scene, not the run's
        bpy.ops.wm.open_mainfile(filepath=str(fault.saved))
        saved = by_name(world_state(bpy.data.scenes[fault.scene_name]))  # a loaded file has new session_uids
        problems += [f"saved file: {d}" for d in differences(by_name(before), saved, {}) if "evaluated pose" not in d]
    return problems


def run_suite(cases: int, seed: int, monkeypatch) -> Counter:
    rng = random.Random(seed)
    outcomes: Counter = Counter()
    failures = []
    for i in range(cases):
        ending = rng.choice(sorted({end for ends in ENDINGS.values() for end in ends}))  # each ending as often
        entry = rng.choice([e for e in ENTRIES if ending in ENDINGS[e]])
        example = rng.choice(sorted(AGENT_OBJECT))
        with monkeypatch.context() as mp:
            problems = run_case(example, entry, ending, seed * 1000 + i, mp)
        outcomes["passed" if not problems else "failed"] += 1
        outcomes[ending] += 1
        if problems:
            failures.append(f"case {i} {example}/{entry}/{ending}: {'; '.join(problems)}")
    print(f"\nendings suite: {outcomes['passed']} of {cases} passed; by ending: {dict(outcomes)}")
    assert not failures, "\n".join(failures)
    return outcomes


def test_randomised_endings_short(monkeypatch):
    import torch

    torch.set_num_threads(1)
    outcomes = run_suite(40, seed=11, monkeypatch=monkeypatch)
    assert outcomes["passed"] == 40


@pytest.mark.slow
def test_randomised_endings_long(monkeypatch):
    import torch

    torch.set_num_threads(1)
    outcomes = run_suite(150, seed=7, monkeypatch=monkeypatch)
    assert outcomes["passed"] == 150


# -- the points of issue 11.7, one by one --------------------------------------------------------


def _train_scene(agents=2):
    import torch

    torch.set_num_threads(1)
    return build("balance_ball", random.Random(0))


def test_an_exception_in_a_learning_update_under_train_ends_it_and_train_is_enabled_again():
    scene = _train_scene()
    before = world_state(scene)
    session = Session(scene, training=True, steps=10_000).start()
    op = FakeOperator(run_ops.ACADEMY_OT_train)
    op._scene_name, op._run = scene.name, session
    with_train_callbacks(op, session)
    context = ui_context(scene)
    while session.agent_steps < 40:  # past the first learning update: there is something to keep
        assert op.modal(context, TIMER) == {"RUNNING_MODAL"}
    state = session.academy.brains["3DBall"]

    def broken(*_args):
        raise RuntimeError("boom")

    state.runner.update_chunk = broken
    for _ in range(200):
        if op.modal(context, TIMER) == {"FINISHED"}:
            break
    level, message = op.reports[-1]
    assert level == "ERROR" and "Brain '3DBall': the learning update failed (RuntimeError: boom)" in message
    assert "what was learned is kept; the scene is restored" in message and "\n" not in message
    assert sessions.active_sessions() == ()
    assert run_ops._why_not_train(SimpleNamespace(scene=scene)) is None  # Train is enabled again
    assert differences(before, world_state(scene), {}) == []
    assert model_problem(None, bytes(scene.academy.brains[0][STATE_KEY]), must_change=True) is None


def test_stop_after_a_written_property_was_deleted_restores_the_rest_and_says_what_was_gone():
    scene = _train_scene()
    before = world_state(scene)
    session = Session(scene, training=True, steps=10_000).start()
    session.tick(0.05)
    platform = scene.objects["Platform.001"]
    del platform["probe"]
    stop = FakeOperator(run_ops.ACADEMY_OT_stop)
    stop.execute(ui_context(scene))
    level, message = stop.reports[-1]
    assert "the scene is restored except the custom property [\"probe\"] of 'Platform.001', which was gone" in message
    assert level == "INFO" and sessions.active_sessions() == ()
    expect = {"props_gone": {platform.session_uid: "probe"}}
    assert differences(before, world_state(scene), expect) == []


def test_an_object_renamed_mid_run_is_still_restored():
    scene = _train_scene()
    before = world_state(scene)
    session = Session(scene, training=True, steps=10_000).start()
    session.tick(0.05)
    ball = scene.objects["Ball.000"]
    ball.name = "Ball renamed"
    session.tick(0.1)  # episodes reset the renamed ball too
    assert session.error is None
    session.finish()
    assert differences(before, world_state(scene), {"renamed": {ball.session_uid: "Ball renamed"}}) == []


def test_a_brain_renamed_mid_run_gets_the_learned_model():
    scene = _train_scene()
    session = Session(scene, training=True, steps=10_000).start()
    session.tick(0.1)
    scene.academy.brains[0].name = "Renamed"
    session.tick(0.1)
    session.finish()
    brain = scene.academy.brains["Renamed"]
    assert brain.trained_steps > 0 and session.message.startswith("Training stopped; what was learned is kept")
    assert model_problem(None, bytes(brain.get(STATE_KEY, b"")), must_change=True) is None


def _with_terms(scene, **changes):
    for obj in scene.objects:
        if obj.academy_agent.enabled:
            spec = behaviours.behaviour_for(obj)
            extra = {k: getattr(spec, k) + v for k, v in changes.items()}
            behaviours.set_behaviour(obj, dataclasses.replace(spec, **extra))
            obj["bonus"], obj["big"], obj["src"], obj["out"] = 0.0, 0.0, 0.0, 0.0


@pytest.mark.parametrize(
    "changes, poke, message",
    [
        (
            dict(rewards=(S.Reward(S.Property(S.SELF, '["bonus"]'), name="Bonus"),)),
            ("bonus", 1e39),
            r"Agent 'Platform.001': reward 'Bonus' is too large for the learner .* \(1e\+39\)",
        ),
        (
            dict(observations=(S.Property(S.SELF, '["big"]'),)),
            ("big", -1e39),
            r"Agent 'Platform.001': the observation \(component 9\) is too large .* \(-1e\+39\); "
            r"it comes from observation 5 \(Property\)",
        ),
        (
            dict(writes=(S.Write(S.SELF, '["out"]', S.Property(S.SELF, '["src"]')),)),
            ("src", float("nan")),
            r"Agent 'Platform.001': action write to self \[\"out\"\] got a value that is not a number \(\[nan\]\)",
        ),
    ],
    ids=["reward", "observation", "action"],
)
def test_values_float32_cannot_hold_are_caught_where_they_enter(changes, poke, message):
    scene = _train_scene()
    _with_terms(scene, **changes)
    session = Session(scene, training=True, steps=10_000).start()
    while session.agent_steps < 40:  # past the first learning update
        session.tick(0.05)
    scene.objects["Platform.001"][poke[0]] = poke[1]
    with pytest.raises(A.AcademyError, match=message):
        session.run()
    assert sessions.active_sessions() == ()
    assert model_problem(None, bytes(scene.academy.brains[0][STATE_KEY]), must_change=True) is None


def test_rigid_bodies_show_the_designers_pose_at_their_frame_after_training():
    import torch

    torch.set_num_threads(1)
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = EXAMPLES["balance_ball"].build(bpy.context.scene, agents=2)
    for frame in range(1, 31):
        scene.frame_set(frame)  # the designer played their own simulation to frame 30
    depsgraph = bpy.context.evaluated_depsgraph_get()
    bodies = [o for o in scene.objects if o.rigid_body is not None]
    before = {o.name: np.array(o.evaluated_get(depsgraph).matrix_world) for o in bodies}
    session = Session(scene, training=True, steps=600).start()
    session.run()
    session.finish()
    depsgraph = bpy.context.evaluated_depsgraph_get()
    assert scene.frame_current == 30
    for o in bodies:
        np.testing.assert_allclose(np.array(o.evaluated_get(depsgraph).matrix_world), before[o.name], atol=1e-5)


def test_an_error_in_a_progress_callback_ends_the_session_too():
    scene = _train_scene()
    before = world_state(scene)
    session = Session(scene, training=True, steps=10_000).start()

    def progress(s):
        if s.agent_steps > 20:
            raise ValueError("the progress bar broke")

    with pytest.raises(A.AcademyError, match=r"Brain '3DBall': an unexpected error \(ValueError: the progress bar"):
        session.run(progress, interval_s=0.0)
    assert sessions.active_sessions() == () and session.stored
    assert differences(before, world_state(scene), {}) == []
