"""Trained Brains stored in the .blend: save, compression, undo, append and link; crafted files never run code."""

import importlib
import io
import json
import pickle
import subprocess
import sys
import zipfile

import bpy
import numpy as np
import pytest

from devtools import boot

M = boot.MODULE
A = importlib.import_module(M + ".env.academy")
B = importlib.import_module(M + ".bake")
brains = importlib.import_module(M + ".env.brains")
store = importlib.import_module(M + ".env.brain_store")
persistence = importlib.import_module(M + ".training.persistence")
Session = importlib.import_module(M + ".env.session").Session
bb = importlib.import_module(M + ".examples.balance_ball")

pytestmark = pytest.mark.lts

_TRAINED: dict[str, object] = {}


def balance_ball(agents=2, brain_type="TRAINING"):
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bb.build(bpy.context.scene, agents=agents)
    scene.academy.brains[0].brain_type = brain_type
    return scene


def trained_scene():
    """Balance Ball with a briefly trained Brain (trained once per test session, then restored from bytes)."""
    scene = balance_ball()
    brain = scene.academy.brains["3DBall"]
    if "state" not in _TRAINED:
        import torch

        torch.set_num_threads(1)
        session = Session(scene, training=True, steps=600).start()
        session.run()
        session.finish(store=True)
        _TRAINED.update(state=store.stored_state(brain), steps=brain.trained_steps, reward=brain.mean_reward)
    else:
        brain[store.STATE_KEY] = _TRAINED["state"]
        brain.trained_steps, brain.mean_reward = _TRAINED["steps"], _TRAINED["reward"]
    brain.ppo.hidden_units = 64
    return scene


def runner_for(scene, state):
    obs = brains.observation_space(8, ())
    act = brains.action_space(bb.behaviour().actions)
    return brains.InferenceRunner("3DBall", obs, act, 2, state)


def check(scene):
    """The Brain's state, statistics and config, and the actions its model takes on fixed observations."""
    brain = scene.academy.brains["3DBall"]
    state = store.stored_state(brain)
    obs = np.linspace(-1, 1, 16, dtype=np.float32).reshape(2, 8)
    return (
        state,
        brain.trained_steps,
        round(brain.mean_reward, 6),
        brain.ppo.hidden_units,
        runner_for(scene, state).decide(obs),
    )


def assert_same(a, b):
    assert a[0] == b[0] and a[1:4] == b[1:4]
    np.testing.assert_array_equal(a[4], b[4])


def test_a_trained_brain_survives_save_and_reopen(tmp_path):
    before = check(trained_scene())
    assert before[0] and before[1] >= 600
    info = store.describe_state(bpy.context.scene.academy.brains["3DBall"])
    assert info["algorithm"] == "ppo" and info["bytes"] == len(before[0]) and info["total_steps"] >= 600
    path = tmp_path / "trained.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.wm.open_mainfile(filepath=str(path))
    assert_same(check(bpy.context.scene), before)


def test_a_compressed_file_keeps_the_brain(tmp_path):
    before = check(trained_scene())
    path = tmp_path / "compressed.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path), compress=True)
    head = path.read_bytes()[:4]
    assert head == b"\x28\xb5\x2f\xfd"  # zstd: the file really is compressed
    bpy.ops.wm.open_mainfile(filepath=str(path))
    assert_same(check(bpy.context.scene), before)


def test_undo_brings_the_stored_brain_back():
    scene = trained_scene()
    trained = check(scene)
    bpy.ops.ed.undo_push(message="trained")
    store.clear_state(scene.academy.brains["3DBall"])
    bpy.context.scene.academy.brains["3DBall"].trained_steps = 0
    bpy.ops.ed.undo_push(message="reset the model")
    assert store.stored_state(bpy.context.scene.academy.brains["3DBall"]) is None
    bpy.ops.ed.undo()
    assert_same(check(bpy.context.scene), trained)  # the scene was reloaded from the undo step


@pytest.mark.parametrize("link", [False, True], ids=["append", "link"])
def test_appending_or_linking_the_scene_brings_its_brain(tmp_path, link):
    scene = trained_scene()
    scene.name = "Trained"
    before = check(scene)
    path = tmp_path / "library.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
    bpy.ops.wm.read_homefile(use_empty=True)
    with bpy.data.libraries.load(str(path), link=link) as (src, dst):
        assert "Trained" in src.scenes
        dst.scenes = ["Trained"]
    scene = bpy.data.scenes["Trained"]
    assert (scene.library is not None) is link
    assert_same(check(scene), before)


# -- crafted files --------------------------------------------------------------------------


def _payload_code(marker) -> str:
    return f"open({str(marker)!r}, 'w').write('pwned')"


class _Evil:
    """Unpickling this runs ``code`` (exec is a builtin, so no import of this test is needed)."""

    def __init__(self, code: str):
        self.code = code

    def __reduce__(self):
        return (exec, (self.code,))


def _torch_checkpoint(marker) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save({"model": _Evil(_payload_code(marker))}, buf)
    return buf.getvalue()


def _raw_pickle(marker) -> bytes:
    return pickle.dumps(_Evil(_payload_code(marker)))


def _npz_with_object_array(marker) -> bytes:
    header = {"format": persistence.FORMAT, "version": 1, "algorithm": "ppo"}
    buf = io.BytesIO()
    np.savez(
        buf,
        header=np.frombuffer(json.dumps(header).encode(), np.uint8),
        **{"model/actor.mlp.0.weight": np.array([_Evil(_payload_code(marker))], dtype=object)},
    )
    return buf.getvalue()


def _npz_with_a_pickle_entry(marker) -> bytes:
    good = _npz_with_object_array(marker)
    buf = io.BytesIO(good)
    with zipfile.ZipFile(buf, "a") as zf:
        zf.writestr("data.pkl", _raw_pickle(marker))
    return buf.getvalue()


PAYLOADS = {
    "torch.save": _torch_checkpoint,
    "pickle": _raw_pickle,
    "npz object array": _npz_with_object_array,
    "npz with a pickle": _npz_with_a_pickle_entry,
}


@pytest.mark.parametrize("kind", list(PAYLOADS))
def test_a_malicious_pickle_in_a_brain_is_refused_and_never_runs(tmp_path, kind):
    marker = tmp_path / "pwned.txt"
    payload = PAYLOADS[kind](marker)
    # the payload is live: a naive loader would run it (checked in another process)
    naive = {
        "torch.save": "import torch, io; torch.load(io.BytesIO(data), weights_only=False)",
        "pickle": "import pickle; pickle.loads(data)",
        "npz object array": "import numpy as np, io\n"
        "np.load(io.BytesIO(data), allow_pickle=True)['model/actor.mlp.0.weight']",
        "npz with a pickle": "import pickle, zipfile, io\n"
        "pickle.loads(zipfile.ZipFile(io.BytesIO(data)).read('data.pkl'))",
    }[kind]
    blob = tmp_path / "payload.bin"
    blob.write_bytes(payload)
    proc = subprocess.run([sys.executable, "-c", f"data = open({str(blob)!r}, 'rb').read()\n{naive}"],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert marker.exists(), proc.stderr
    marker.unlink()

    # plant it in a Brain, save the crafted .blend, open it and use the Brain every way we read it
    scene = balance_ball(brain_type="INFERENCE")
    scene.academy.brains["3DBall"][store.STATE_KEY] = payload
    crafted = tmp_path / "crafted.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(crafted))
    bpy.ops.wm.open_mainfile(filepath=str(crafted))
    scene = bpy.context.scene
    brain = scene.academy.brains["3DBall"]
    assert store.stored_state(brain) == payload
    with pytest.raises(brains.BrainError, match=r"Brain '3DBall': its stored model cannot be read: (refusing|not an)"):
        runner_for(scene, store.stored_state(brain))
    with pytest.raises(brains.BrainError, match="Brain '3DBall'.*(refusing|not an)"):
        store.describe_state(brain)
    with pytest.raises(B.BakeError, match="Brain '3DBall'.*(refusing|not an)"):
        B.bake(scene, "3DBall", 1, 10)
    with pytest.raises(A.AcademyError, match="Brain '3DBall'.*(refusing|not an)"):
        Session(scene, training=False)
    brain.brain_type = "TRAINING"
    with pytest.raises(A.AcademyError, match="Brain '3DBall'.*(refusing|not an)"):
        Session(scene, training=True)
    with pytest.raises(brains.BrainError, match="refusing to store"):
        store.store_state(brain, payload)
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["a real checkpoint's path", "a named pipe", "/dev/zero"])
def test_a_model_stored_as_a_string_is_never_opened_as_a_file(tmp_path, kind):
    """A model inside a .blend is bytes, never a path (issue 12.1): a string is refused as it is."""
    import os

    scene = trained_scene()
    real = tmp_path / "elsewhere.academy"
    real.write_bytes(store.stored_state(scene.academy.brains["3DBall"]))
    if kind == "a named pipe":
        target = tmp_path / "pipe"
        os.mkfifo(target)  # opening it for reading would block forever
    else:
        target = real if kind.startswith("a real") else "/dev/zero"
    brain = scene.academy.brains["3DBall"]
    store.clear_state(brain)
    brain[store.STATE_KEY] = str(target)
    brain.brain_type = "INFERENCE"
    with pytest.raises(A.AcademyError, match="Brain '3DBall': its stored model cannot be read: not an"):
        Session(scene, training=False)
    with pytest.raises(B.BakeError, match="Brain '3DBall'.*not an"):
        B.bake(scene, "3DBall", 1, 10)
    with pytest.raises(brains.BrainError, match="Brain '3DBall'.*not an"):
        store.describe_state(brain)
    brain.brain_type = "TRAINING"
    with pytest.raises(A.AcademyError, match="Brain '3DBall'.*not an"):
        Session(scene, training=True)
    nodes = importlib.import_module(M + ".nodes")
    for obj in scene.objects:
        tree = obj.academy_agent.behaviour_tree
        if tree is not None:
            nodes.validate(tree, scene)  # reads the Brain's header: must not open the path either
