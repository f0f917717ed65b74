"""Session callbacks (issue 13.1): one set of hooks serves the command line, scripts and the Train operator."""

import importlib
import types

import bpy
import pytest

from devtools import boot

M = boot.MODULE
cb = importlib.import_module(M + ".env.callbacks")
Session = importlib.import_module(M + ".env.session").Session
headless = importlib.import_module(M + ".drivers.headless")
bb = importlib.import_module(M + ".examples.balance_ball")

pytestmark = pytest.mark.lts


def balance_ball(agents: int = 4):
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bb.build(bpy.context.scene, agents=agents)
    scene.academy.max_steps = 20  # short episodes: the reward window fills within a short run
    return scene


def scene_state():
    bpy.context.view_layer.update()
    state = {"frame": bpy.context.scene.frame_current}
    for obj in bpy.data.objects:
        state[obj.name] = tuple(round(v, 5) for row in obj.matrix_world for v in row)
    return state


class Recorder(cb.Callback):
    """Writes down every hook; ``stop_at``: (hook, nth call) whose answer is False."""

    def __init__(self, stop_at=(None, 0)):
        self.calls, self.stop_at = [], stop_at

    def _answer(self, hook):
        n = sum(1 for c in self.calls if c[0] == hook)
        return False if self.stop_at == (hook, n) else None

    def on_start(self, session):
        self.calls.append(("start", session.agent_steps))

    def on_progress(self, session):
        self.calls.append(("progress", session.agent_steps))
        return self._answer("progress")

    def on_checkpoint(self, session, tag):
        self.calls.append(("checkpoint", tag))

    def on_target(self, session, brain, value):
        self.calls.append(("target", brain, value))
        return self._answer("target")

    def on_stop(self, session, reason):
        self.calls.append(("stop", reason, session.stopped))

    def hooks(self):
        return [c[0] for c in self.calls]


# -- the hooks' timing, on a stand-in session (no scene, a virtual clock) -------------------


class FakeSession:
    def __init__(self):
        self.now, self.agent_steps, self.done, self.stop_requested = 0.0, 0, False, False
        self.update_pending, self.error, self.started_at, self.stopped = False, None, 0.0, False
        self.stats = {"A": types.SimpleNamespace(target=1.0, reached_at=None)}

    def clock(self):
        return self.now


def test_progress_waits_its_interval_and_checkpoints_wait_for_a_pending_update():
    s, rec = FakeSession(), Recorder()
    hooks = cb.CallbackList([rec], interval_s=1.0, checkpoint_every=100)
    hooks.start(s)
    for now, steps, pending in [(0.1, 50, False), (0.5, 100, True), (0.9, 120, False), (1.2, 150, False)]:
        s.now, s.agent_steps, s.update_pending = now, steps, pending
        assert hooks.after_tick(s, True) is None
    # the first progress at once, the next a second later; the checkpoint once the update completed
    assert rec.calls == [("start", 0), ("progress", 50), ("checkpoint", "120"), ("progress", 150)]
    assert hooks.next_checkpoint == 200
    s.done = True
    assert hooks.after_tick(s, False) == cb.DONE
    hooks.end(s, cb.DONE)
    hooks.end(s, cb.DONE)  # only the first end counts
    assert rec.calls[-2:] == [("checkpoint", "final"), ("stop", "done", False)]


def test_a_target_is_said_once_and_false_stops_and_an_error_writes_no_checkpoint():
    s, rec = FakeSession(), Recorder(stop_at=("target", 1))
    hooks = cb.CallbackList([rec], interval_s=1e9, checkpoint_every=100)
    assert hooks.after_tick(s, True) is None
    s.stats["A"].reached_at = types.SimpleNamespace(mean_return=1.5, steps=10, time=0.0)
    assert hooks.after_tick(s, True) == cb.TARGET  # the Recorder answers its first target with False
    assert hooks.after_tick(s, True) is None  # said once
    assert [c for c in rec.calls if c[0] == "target"] == [("target", "A", 1.5)]
    s.stop_requested = True
    assert hooks.after_tick(s, True) == cb.STOPPED
    hooks.end(s, cb.ERROR)
    assert rec.calls[-1] == ("stop", "error", False)
    assert "checkpoint" not in rec.hooks()


# -- in a real run -------------------------------------------------------------------------


def test_each_hook_is_called_in_a_short_headless_train(tmp_path):
    balance_ball()
    rec = Recorder()
    result = headless.train(
        bpy.context.scene, tmp_path, steps=600, checkpoint_every=200, target_reward=-1000.0,
        progress=False, tensorboard=False, callbacks=[rec],
    )  # fmt: skip
    hooks = rec.hooks()
    assert hooks[0] == "start" and hooks[-1] == "stop" and "progress" in hooks
    assert rec.calls[-1] == ("stop", "done", False)  # before the session is finished: what was learned is there
    tags = [c[1] for c in rec.calls if c[0] == "checkpoint"]
    assert tags[-1] == "final" and len(tags) >= 3 and all(t.isdigit() for t in tags[:-1])
    assert [int(t) for t in tags[:-1]] == sorted(int(t) for t in tags[:-1])
    # the command line's own checkpoint writer heard the same hooks
    assert [p.name.rsplit("-", 1)[1] for p in result.checkpoints] == [f"{t}.academy" for t in tags]
    ((_, brain, value),) = [c for c in rec.calls if c[0] == "target"]
    mine = result.summary["brains"][bb.BRAIN]
    assert brain == bb.BRAIN and value >= -1000 and mine["steps_to_target"] is not None
    assert result.summary["stopped_at_target"] is False


@pytest.mark.parametrize("hook", ["progress", "target"])
def test_false_stops_the_run_at_the_next_hook_scene_restored_model_kept(hook):
    scene = balance_ball()
    before = scene_state()
    rec, after = Recorder(stop_at=(hook, 1)), Recorder()
    session = Session(scene, training=True, steps=100_000, targets={None: -1000.0})
    reason = session.run([rec, after], interval_s=0.0, checkpoint_every=1_000_000)
    assert reason == (cb.CALLBACK if hook == "progress" else cb.TARGET)
    assert session.stopped and session.stored and session.agent_steps < 100_000
    assert scene_state() == before
    assert scene.academy.brains[bb.BRAIN].get("academy_state")  # the model is kept
    # the later callback did not hear the hook that stopped the run; both heard the end
    assert after.hooks().count(hook) == rec.hooks().count(hook) - 1
    assert rec.calls[-2:] == [("checkpoint", "final"), ("stop", reason, False)]
    assert after.calls[-1] == ("stop", reason, False)


def test_a_stop_request_ends_the_run_as_interrupted(tmp_path):
    """What Ctrl-C in the terminal (and Stop) does: the run ends between ticks, its checkpoint says so."""
    scene = balance_ball()

    class Stop(cb.Callback):
        def on_progress(self, session):
            if session.agent_steps >= 100:
                session.stop_requested = True

    rec = Recorder()
    session = Session(scene, training=True, steps=100_000)
    assert session.run([Stop(), rec], interval_s=0.0, checkpoint_every=1_000_000) == cb.STOPPED
    assert session.stopped and session.stored
    assert rec.calls[-2:] == [("checkpoint", "interrupted"), ("stop", "stopped", False)]


def test_an_error_in_a_callback_ends_the_session_and_says_so_once():
    scene = balance_ball()
    before = scene_state()

    class Broken(cb.Callback):
        def on_progress(self, session):
            raise ValueError("broken callback")

    rec = Recorder()
    session = Session(scene, training=True, steps=100_000)
    with pytest.raises(Exception, match="broken callback"):
        session.run([rec, Broken()], checkpoint_every=1_000_000)
    assert session.stopped and scene_state() == before
    assert rec.hooks().count("stop") == 1 and rec.calls[-1][:2] == ("stop", "error")
    assert "checkpoint" not in rec.hooks()


def test_a_callback_failing_as_the_run_ends_is_reported_on_the_error_that_ended_it():
    """What ended the run is raised; a callback's own failure in on_stop is not swallowed but noted on it."""
    scene = balance_ball()

    class BrokenTwice(cb.Callback):
        def on_progress(self, session):
            raise ValueError("broken callback")

        def on_stop(self, session, reason):
            raise RuntimeError("the stop hook broke as well")

    session = Session(scene, training=True, steps=100_000)
    with pytest.raises(Exception, match="broken callback") as info:
        session.run([BrokenTwice()], checkpoint_every=1_000_000)
    notes = getattr(info.value, "__notes__", [])
    assert any("RuntimeError: the stop hook broke as well" in n for n in notes), notes


def test_the_command_line_and_the_train_operator_share_the_target_logic(tmp_path, monkeypatch):
    said = []
    real = cb.TargetReached.on_target

    def spy(self, session, brain, value):
        answer = real(self, session, brain, value)
        said.append((self.message(session, brain), answer))
        return answer

    monkeypatch.setattr(cb.TargetReached, "on_target", spy)
    balance_ball()
    result = headless.train(
        bpy.context.scene, tmp_path, steps=100_000, target_reward=-1000.0, stop_at_target=True,
        progress=False, tensorboard=False,
    )  # fmt: skip
    assert result.summary["stopped_at_target"] and result.summary["agent_steps"] < 100_000
    ((cli_line, cli_answer),) = said
    assert cli_line.startswith("reached mean reward ") and cli_line.endswith("; stopping (--stop-at-target)")
    assert cli_answer is False

    scene = balance_ball()
    assert bpy.ops.academy.train(steps=100_000, use_target=True, target_reward=-1000.0, stop_at_target=True) == {
        "FINISHED"
    }
    ((ui_line, ui_answer),) = said[1:]
    assert ui_line.startswith("reached mean reward ") and ui_line.endswith("; stopping") and ui_answer is False
    assert scene.academy.brains[bb.BRAIN].trained_steps < 100_000
    assert cli_line.split(" (target")[1].split(" after")[0] == ui_line.split(" (target")[1].split(" after")[0]

    # without Stop at Target the operator only says it, and trains to the end
    said.clear()
    scene = balance_ball()
    assert bpy.ops.academy.train(steps=300, use_target=True, target_reward=-1000.0) == {"FINISHED"}
    assert [answer for _line, answer in said] == [True]
    assert scene.academy.brains[bb.BRAIN].trained_steps >= 300
