"""Crafted Brain models through every entry point (issue 12.3).

From two real trained models of the Seek scene (PPO and DQN, a few hundred steps) the suite makes
88 kinds of broken or foreign model bytes: not a zip, truncated, a missing or malformed header,
header keys missing or of the wrong type or absurd, arrays missing, extra, of the wrong dtype or
shape, NaN weights, names that are not UTF-8 or repeat, a model of another algorithm, or made for
other spaces than the scene's. Each goes through Train (continuing from it), Play, Bake, ONNX
export, checkpoint export, Import Brain, node validation, the Brain's description and (for two
kinds) ``./academy train``. Every run must either be refused with one line of the project's own
error types naming the Brain, or work correctly when the model is in fact valid for that use. The
counts (tried / refused cleanly / worked / anything else) are printed: ``pytest -s``
(``CRAFTED_VERBOSE=1`` prints every refusal's message too).
"""

from __future__ import annotations

import importlib
import io
import json
import os
import subprocess
import sys
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import bpy
import numpy as np
import pytest
import seek_scene

from devtools import boot

M = boot.MODULE
A = importlib.import_module(M + ".env.academy")
B = importlib.import_module(M + ".bake")
brains_mod = importlib.import_module(M + ".env.brains")
brain_io = importlib.import_module(M + ".env.brain_io")
store = importlib.import_module(M + ".env.brain_store")
nodes = importlib.import_module(M + ".nodes")
persistence = importlib.import_module(M + ".training.persistence")
training = importlib.import_module(M + ".training")
Session = importlib.import_module(M + ".env.session").Session

pytestmark = pytest.mark.lts

BRAIN = "Seek"
STATE = store.STATE_KEY
#: the errors the project raises to say what is wrong (anything else reaching the user is a raw exception)
PROJECT_ERRORS = (A.AcademyError, B.BakeError, brains_mod.BrainError, brain_io.BrainIOError)
BASE: dict[str, bytes] = {}


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    torch.set_num_threads(1)


def seek(algorithm: str = "PPO"):
    scene = seek_scene.build(agents=2, algorithm=algorithm)
    brain = scene.academy.brains[BRAIN]
    brain.ppo.num_steps = 32  # short rollouts: a resumed run updates within the few steps it trains
    brain.ppo.minibatch_size = 32
    brain.ppo.num_epochs = 1
    return scene


def base(algorithm: str) -> bytes:
    """A model of the Seek scene trained a few hundred steps (once per test session)."""
    if algorithm not in BASE:
        scene = seek(algorithm.upper())
        session = Session(scene, training=True, steps=200).start()
        session.run()
        session.finish(store=True)
        BASE[algorithm] = store.stored_state(scene.academy.brains[BRAIN])
    return BASE[algorithm]


# -- making crafted bytes ------------------------------------------------------------------------


def npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def archive(entries: list[tuple[str | bytes, bytes]]) -> bytes:
    """A zip of ``(name, data)`` written as given: repeated names, raw (non-UTF-8) names."""
    buf = io.BytesIO()
    raw = {}
    with zipfile.ZipFile(buf, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name"
        for i, (name, data) in enumerate(entries):
            if isinstance(name, bytes):  # an ASCII stand-in of the same length, replaced below
                stand_in = (f"#{i}#" * len(name))[: len(name)]
                raw[stand_in.encode()] = name
                name = stand_in
            zf.writestr(name, data)
    data = buf.getvalue()
    for stand_in, name in raw.items():
        data = data.replace(stand_in, name)
    return data


def pack(header, arrays: dict[str, np.ndarray]) -> bytes:
    """Like ``pack_state`` but with no checks: any JSON header, any array."""
    entries = [("header.npy", npy(np.frombuffer(json.dumps(header).encode(), np.uint8)))]
    entries += [(f"{k}.npy", npy(np.asarray(v))) for k, v in arrays.items()]
    return archive(entries)


def parts(data: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    header, arrays = persistence.unpack_state(data)
    return json.loads(json.dumps(header)), {k: np.array(v) for k, v in arrays.items()}


def edit_header(change: Callable[[dict], None], algorithm: str = "ppo") -> Callable[[], bytes]:
    def make() -> bytes:
        header, arrays = parts(base(algorithm))
        change(header)
        return pack(header, arrays)

    return make


def edit_arrays(change: Callable[[dict[str, np.ndarray]], None], algorithm: str = "ppo") -> Callable[[], bytes]:
    def make() -> bytes:
        header, arrays = parts(base(algorithm))
        change(arrays)
        return pack(header, arrays)

    return make


def first_weight(arrays: dict[str, np.ndarray]) -> str:
    return next(k for k in arrays if k.startswith("model/") and k.endswith("weight"))


def set_weight(make: Callable[[np.ndarray], np.ndarray]) -> Callable[[dict], None]:
    def change(arrays: dict) -> None:
        k = first_weight(arrays)
        arrays[k] = make(arrays[k])

    return change


def set_config(**values) -> Callable[[dict], None]:
    return lambda h: h["config"].update(values)


def drop(key: str) -> Callable[[dict], None]:
    return lambda d: d.pop(key)


def learner_bytes(obs, act, algorithm: str = "ppo") -> bytes:
    """A valid model (untrained) for other spaces than the Seek scene's."""
    config = training.PPOConfig() if algorithm == "ppo" else training.DQNConfig()
    return training.make_learner(config, obs, act, num_agents=2).save_bytes(include_buffers=False)


def zip_entries(algorithm: str = "ppo") -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(base(algorithm))) as zf:
        return [(n, zf.read(n)) for n in zf.namelist()]


def nested(value, depth: int = 200):
    for _ in range(depth):
        value = [value]
    return value


@dataclass
class Kind:
    name: str
    make: Callable[[], bytes]
    valid: bool = False  # a sound model (exports and the description work)
    fits: bool = False  # and it fits the Seek scene's agents (Train, Play, Bake and Import work)
    brain_algorithm: str = "PPO"
    #: entry point -> "work" | "refuse", where it differs from what valid / fits imply
    expect: dict[str, str] = field(default_factory=dict)


Box, Discrete, Image, Dict = training.Box, training.Discrete, training.Image, training.Dict
SEEK_OBS, SEEK_ACT = Box((3,)), Discrete(5)
ACTIONS_ONLY = {"validate": "either"}

KINDS = [
    # controls: the real models must work everywhere
    Kind("the real PPO model", lambda: base("ppo"), valid=True, fits=True),
    Kind("the real DQN model", lambda: base("dqn"), valid=True, fits=True, brain_algorithm="DQN"),
    # the container
    Kind("not a zip", lambda: b"hello, this is not a model" * 10),
    Kind("empty", lambda: b"", expect={"train": "work", "describe": "work", "validate": "work"}),
    Kind("truncated to half", lambda: base("ppo")[: len(base("ppo")) // 2]),
    Kind("last 100 bytes cut", lambda: base("ppo")[:-100]),
    Kind("a zip of text", lambda: archive([("readme.txt", b"hi")])),
    Kind("zip with no header", lambda: archive([e for e in zip_entries() if e[0] != "header.npy"])),
    Kind("zip with a stray entry", lambda: archive([*zip_entries(), ("notes.txt", b"x")])),
    Kind("header not JSON", lambda: archive([("header.npy", npy(np.frombuffer(b"{nope", np.uint8)))])),
    Kind("header JSON list", lambda: pack([1, 2, 3], parts(base("ppo"))[1])),
    Kind("header JSON string", lambda: pack("agent-academy-training-state", parts(base("ppo"))[1])),
    Kind("header nested 200 deep", edit_header(lambda h: h.update(losses=nested({})))),
    Kind("header nested 100,000 deep", lambda: archive([("header.npy", npy(np.frombuffer(b"[" * 100_000, np.uint8)))])),
    Kind(
        "header as float array",
        lambda: archive([("header.npy", npy(np.zeros(4))), *(e for e in zip_entries() if e[0] != "header.npy")]),
    ),
    Kind("wrong format tag", edit_header(lambda h: h.update(format="something-else"))),
    Kind("version from the future", edit_header(lambda h: h.update(version=99))),
    Kind("version a string", edit_header(lambda h: h.update(version="one"))),
    # header keys
    Kind("no algorithm", edit_header(drop("algorithm"))),
    Kind("no config", edit_header(drop("config"))),
    Kind("no obs_space", edit_header(drop("obs_space"))),
    Kind("no action_space", edit_header(drop("action_space"))),
    Kind("no total_steps", edit_header(drop("total_steps"))),
    Kind("no optimizer groups", edit_header(drop("optimizer_groups"))),
    Kind("total_steps a string", edit_header(lambda h: h.update(total_steps="many"))),
    Kind("total_steps negative", edit_header(lambda h: h.update(total_steps=-5))),
    Kind("total_steps 1e300", edit_header(lambda h: h.update(total_steps=1e300))),
    Kind("total_steps 3 billion", edit_header(lambda h: h.update(total_steps=3_000_000_000))),
    Kind("num_agents 0", edit_header(lambda h: h.update(num_agents=0))),
    Kind("num_agents a billion", edit_header(lambda h: h.update(num_agents=10**9))),
    Kind("seed a list", edit_header(lambda h: h.update(seed=[1]))),
    Kind("unknown algorithm", edit_header(lambda h: h.update(algorithm="a2c"))),
    Kind("config a list", edit_header(lambda h: h.update(config=[1, 2]))),
    Kind("unknown activation", edit_header(set_config(activation="gelu"))),
    Kind("hidden_units 6000", edit_header(set_config(hidden_units=6000))),
    Kind("hidden_units negative", edit_header(set_config(hidden_units=-64))),
    Kind("hidden_units a string", edit_header(set_config(hidden_units="64"))),
    Kind("num_layers 0", edit_header(set_config(num_layers=0))),
    Kind("num_steps a billion", edit_header(set_config(num_steps=10**9))),
    Kind("obs_clip NaN", edit_header(set_config(obs_clip=float("nan")))),
    Kind("unknown config key", edit_header(set_config(wings=2))),
    Kind("the DQN config in a PPO model", edit_header(lambda h: h.update(config=parts(base("dqn"))[0]["config"]))),
    Kind("obs_space of unknown kind", edit_header(lambda h: h.update(obs_space={"kind": "torus"}))),
    Kind("obs_space negative size", edit_header(lambda h: h["obs_space"].update(shape=[-3]))),
    Kind("obs_space 300M values", edit_header(lambda h: h["obs_space"].update(shape=[300_000_000]))),
    Kind("obs_space a number", edit_header(lambda h: h.update(obs_space=3))),
    Kind(
        "action_space an image",
        edit_header(
            lambda h: h.update(
                action_space=h["obs_space"]
                | {"kind": "image", "height": 2, "width": 2, "channels": 1, "dtype": "uint8"}
            )
        ),
    ),  # fmt: skip
    Kind("seed negative", edit_header(lambda h: h.update(seed=-1))),
    Kind("action_space 0 choices", edit_header(lambda h: h["action_space"].update(n=0))),
    Kind("header spaces not the arrays'", edit_header(lambda h: h["obs_space"].update(shape=[4]))),
    Kind("random state unknown", edit_header(lambda h: h["rng_numpy"].update(bit_generator="os.system"))),
    Kind("episodes garbage", edit_header(lambda h: h.update(episodes={"returns": "x"}))),
    Kind("optimizer groups garbage", edit_header(lambda h: h.update(optimizer_groups=[{"lr": "fast"}]))),
    Kind("losses a string", edit_header(lambda h: h.update(losses="low"))),
    # arrays
    Kind("a weight missing", edit_arrays(lambda a: a.pop(first_weight(a)))),
    Kind("optimiser moments missing", edit_arrays(lambda a: [a.pop(k) for k in list(a) if k.startswith("optim/3/")])),
    Kind(
        "no optimiser moments (never updated)",
        edit_arrays(lambda a: [a.pop(k) for k in list(a) if k[:6] == "optim/"]),
        valid=True,
        fits=True,
    ),  # fmt: skip
    Kind("torch random state missing", edit_arrays(drop("rng/torch"))),
    Kind(
        "DQN target network missing",
        edit_arrays(lambda a: [a.pop(k) for k in list(a) if k[:7] == "target/"], "dqn"),
        brain_algorithm="DQN",
    ),  # fmt: skip
    Kind("an extra weight", edit_arrays(lambda a: a.update({"model/extra.weight": np.zeros((2, 2), np.float32)}))),
    Kind("an extra array", edit_arrays(lambda a: a.update(junk=np.zeros(3, np.float32)))),
    Kind("object dtype weight", edit_arrays(set_weight(lambda w: w.astype(object)))),
    Kind("string weight", edit_arrays(set_weight(lambda w: w.astype(str)))),
    Kind("float16 weight", edit_arrays(set_weight(lambda w: w.astype(np.float16)))),
    Kind("float64 weight", edit_arrays(set_weight(lambda w: w.astype(np.float64)))),
    Kind("int weight", edit_arrays(set_weight(lambda w: w.astype(np.int32)))),
    Kind("complex weight", edit_arrays(set_weight(lambda w: w.astype(np.complex64)))),
    Kind("bool weight", edit_arrays(set_weight(lambda w: w > 0))),
    Kind("transposed weight", edit_arrays(set_weight(lambda w: np.ascontiguousarray(w.T)))),
    Kind("weight one row short", edit_arrays(set_weight(lambda w: w[:-1]))),
    Kind("weight one column more", edit_arrays(set_weight(lambda w: np.pad(w, ((0, 0), (0, 1)))))),
    Kind("weight 0-size", edit_arrays(set_weight(lambda w: w[:0]))),
    Kind("weight a scalar", edit_arrays(set_weight(lambda w: np.float32(1.0)))),
    Kind("NaN weights", edit_arrays(set_weight(lambda w: np.full_like(w, np.nan)))),
    Kind("infinite weights", edit_arrays(set_weight(lambda w: np.full_like(w, np.inf)))),
    Kind("torch random state wrong size", edit_arrays(lambda a: a.update({"rng/torch": np.zeros(7, np.uint8)}))),
    Kind("torch random state float", edit_arrays(lambda a: a.update({"rng/torch": a["rng/torch"].astype(float)}))),
    Kind(
        "optimiser step negative",
        edit_arrays(lambda a: a.update({k: np.float32(-1) for k in a if k.endswith("/step")})),
    ),
    # names
    Kind("a name that is not UTF-8", lambda: archive([*zip_entries(), (b"model/\xff\xfe.npy", npy(np.zeros(2)))])),
    Kind("a weight twice", lambda: archive([*zip_entries(), next(e for e in zip_entries() if "weight" in e[0])])),
    Kind("the header twice", lambda: archive([*zip_entries(), ("header.npy", npy(np.frombuffer(b"[]", np.uint8)))])),
    Kind("a name climbing out", lambda: archive([*zip_entries(), ("../../evil.npy", npy(np.zeros(2)))])),
    # sound models that do not fit the scene (or the Brain)
    Kind("DQN model in a PPO Brain", lambda: base("dqn"), valid=True, fits=True, expect={"train": "refuse"}),
    Kind(
        "PPO model in a DQN Brain",
        lambda: base("ppo"),
        valid=True,
        fits=True,
        brain_algorithm="DQN",
        expect={"train": "refuse"},
    ),  # fmt: skip
    Kind("model for 4 observations", lambda: learner_bytes(Box((4,)), SEEK_ACT), valid=True),
    # node validation compares observations only (nodes/checks.py): the other entry points refuse these
    Kind("model for 4 actions", lambda: learner_bytes(SEEK_OBS, Discrete(4)), valid=True, expect=ACTIONS_ONLY),
    Kind(
        "model for continuous actions",
        lambda: learner_bytes(SEEK_OBS, Box((2,), -1.0, 1.0)),
        valid=True,
        expect=ACTIONS_ONLY,
    ),  # fmt: skip
    Kind(
        "model for a camera",
        lambda: learner_bytes(Dict({"vector": SEEK_OBS, "camera_0": Image(20, 20, 1)}), SEEK_ACT),
        valid=True,
    ),  # fmt: skip
]

ENTRIES = ("train", "play", "bake", "onnx", "checkpoint", "import", "validate", "describe")


def expectation(kind: Kind, entry: str) -> str:
    if entry in kind.expect:
        return kind.expect[entry]
    if entry in ("onnx", "checkpoint", "describe"):
        return "work" if kind.valid else "refuse"
    if entry == "validate":  # node validation checks the tree: it marks a model of other shapes
        if kind.valid:
            return "refuse" if not kind.fits else "work"
        return "either"  # a broken model is the Brain's to report; marking it cleanly is fine too
    return "work" if kind.valid and kind.fits else "refuse"


# -- the entry points ------------------------------------------------------------------------------


def plant(scene, data: bytes, algorithm: str) -> None:
    brain = scene.academy.brains[BRAIN]
    brain.algorithm = algorithm
    brain.brain_type = "TRAINING"
    store.write_bytes(brain, STATE, data)


def run_train(scene, data, tmp):
    session = Session(scene, training=True, steps=64).start()
    session.run()
    session.finish(store=True)
    stored = store.stored_state(scene.academy.brains[BRAIN])
    header, _ = persistence.unpack_state(stored)
    before = persistence.read_header(data)["total_steps"] if data else 0
    assert header["total_steps"] >= before + 64, (header["total_steps"], before)


def run_play(scene, data, tmp):
    session = Session(scene, training=False, steps=20).start()
    session.run()
    decisions = session.decisions
    session.finish()
    assert decisions > 2


def run_bake(scene, data, tmp):
    assert B.bake(scene, BRAIN, 1, 12).keys > 0


def run_onnx(scene, data, tmp):
    path = tmp / "m.onnx"
    brain_io.export_brain(scene.academy.brains[BRAIN], path, "ONNX")
    import onnx

    onnx.checker.check_model(onnx.load(str(path)))


def run_checkpoint(scene, data, tmp):
    path = tmp / "m.academy"
    brain_io.export_brain(scene.academy.brains[BRAIN], path, "CHECKPOINT")
    assert path.read_bytes() == data


def run_import(scene, data, tmp):
    brain = scene.academy.brains[BRAIN]
    good = base(brain.algorithm.lower())
    store.write_bytes(brain, STATE, good)
    algorithm, steps = brain.algorithm, brain.trained_steps
    path = tmp / "crafted.academy"
    path.write_bytes(data)
    try:
        brain_io.import_brain(scene, brain, path)
    except BaseException:
        # refused: the Brain keeps its previous model byte for byte, and its settings
        assert store.stored_state(brain) == good, "the refused import changed the Brain's model"
        assert (brain.algorithm, brain.trained_steps) == (algorithm, steps), "the refused import changed the Brain"
        raise
    assert store.stored_state(brain) == data


class Marked(Exception):
    """Validation marked the tree: its message is the mark."""


def seek_tree():
    """A node tree observing and acting as the Seek behaviour does (3 values, 5 choices), for node validation."""
    tree = bpy.data.node_groups.new("Seek Nodes", "AcademyNodeTree")
    target = tree.nodes.new("AcademyObjectNode")
    target.source, target.slot = "SLOT", "Target"
    where = tree.nodes.new("AcademyTransformNode")
    tree.links.new(target.outputs["Object"], where.inputs["Object"])
    observe = tree.nodes.new("AcademyObserveNode")
    tree.links.new(where.outputs["Location"], observe.inputs["Observations"])
    move = tree.nodes.new("AcademyDiscreteActionNode")
    move.branches = "Move: Stay, East, West, North, South"
    write = tree.nodes.new("AcademySetTransformNode")
    tree.links.new(move.outputs[0], write.inputs["Value"])
    return tree


def run_validate(scene, data, tmp):
    tree = seek_tree()
    scene.objects["Walker.000"].academy_agent.behaviour_tree = tree
    errors = nodes.validate(tree, scene)
    if errors:
        raise Marked("; ".join(f"{node}: {message}" for node, message in errors))


def run_describe(scene, data, tmp):
    out = store.describe_state(scene.academy.brains[BRAIN])
    assert out is None if not data else out["algorithm"] in ("ppo", "dqn")


RUNS = {
    "train": run_train,
    "play": run_play,
    "bake": run_bake,
    "onnx": run_onnx,
    "checkpoint": run_checkpoint,
    "import": run_import,
    "validate": run_validate,
    "describe": run_describe,
}


def clean_refusal(exc: BaseException, entry: str) -> str | None:
    """Why ``exc`` is not a clean refusal (None if it is one)."""
    text = str(exc)
    if entry == "validate":
        if not isinstance(exc, Marked):
            return f"raised {type(exc).__name__}"
    elif not isinstance(exc, PROJECT_ERRORS):
        return f"raw {type(exc).__name__}"
    if "\n" in text or "Traceback" in text:
        return "more than one line"
    if f"Brain '{BRAIN}'" not in text:
        return "does not name the Brain"
    return None


def outcome(kind: Kind, entry: str, tmp) -> tuple[str, str]:
    """("refused" | "worked" | "other", detail) of ``kind`` through ``entry``."""
    data = kind.make()
    scene = bpy.context.scene
    plant(scene, data, kind.brain_algorithm)
    want = expectation(kind, entry)
    try:
        RUNS[entry](scene, data, tmp)
    except BaseException as exc:  # noqa: BLE001 - classifying every outcome is the point
        if isinstance(exc, KeyboardInterrupt):
            raise
        why = clean_refusal(exc, entry)
        line = str(exc).splitlines()[0][:160] if str(exc) else ""
        if why is not None:
            return "other", f"{why}: {type(exc).__name__}: {line}"
        if want == "work":
            return "other", f"refused a model that should work: {line}"
        return "refused", line
    if want == "refuse":
        return "other", "accepted a broken model"
    return "worked", ""


COUNTS: Counter = Counter()
PROBLEMS: list[str] = []


def run_kind(kind: Kind, tmp_path) -> list[str]:
    """Every entry point on ``kind``; adds to the counts; returns what was not clean."""
    for algorithm in ("ppo", "dqn"):
        base(algorithm)  # trained first: training builds its own scene
    problems = []
    for entry in ENTRIES:
        seek(kind.brain_algorithm)  # a fresh scene: what one run leaves (takes, a stopped session) cannot leak
        tmp = tmp_path / entry
        tmp.mkdir(parents=True)
        result, detail = outcome(kind, entry, tmp)
        importlib.import_module(M + ".env").stop_all_sessions()
        for key in ("tried", result, f"{entry} {result}"):
            COUNTS[key] += 1
        if result == "other":
            problems.append(f"{kind.name} / {entry}: {detail}")
        elif os.environ.get("CRAFTED_VERBOSE"):  # every refusal's message too, to read them
            PROBLEMS.append(f"({result}) {kind.name} / {entry}: {detail}")
    PROBLEMS.extend(problems)
    return problems


def report() -> str:
    c = COUNTS
    lines = [
        f"crafted models: {c['tried'] // len(ENTRIES)} kinds x {len(ENTRIES)} entry points: tried {c['tried']}, "
        f"refused cleanly {c['refused']}, worked {c['worked']}, anything else {c['other']}"
    ]
    for entry in ENTRIES:
        lines.append(
            f"  {entry:<10} refused {c[f'{entry} refused']:>3}  worked {c[f'{entry} worked']:>3}  "
            f"other {c[f'{entry} other']:>3}"
        )
    lines += [f"  ! {p}" for p in PROBLEMS]
    return "\n".join(lines)


@pytest.fixture(scope="module", autouse=True)
def _print_counts():
    yield
    if COUNTS:
        print("\n" + report())


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_every_crafted_model_is_refused_in_one_line_or_works(kind, tmp_path):
    problems = run_kind(kind, tmp_path)
    assert not problems, "\n".join(problems)


def test_the_suite_can_tell_a_refusal_from_a_raw_exception():
    assert clean_refusal(A.AcademyError(f"Brain '{BRAIN}': bad"), "train") is None
    assert clean_refusal(KeyError("config"), "train") == "raw KeyError"
    assert clean_refusal(A.AcademyError(f"Brain '{BRAIN}': bad\nTraceback"), "play") == "more than one line"
    assert clean_refusal(brain_io.BrainIOError("m.academy: bad"), "import") == "does not name the Brain"


# -- ./academy train on a crafted .blend -------------------------------------------------------------


@pytest.mark.parametrize("name", ["hidden_units 6000", "a weight missing"])
def test_command_line_train_refuses_a_crafted_model_in_one_line(tmp_path, name):
    kind = next(k for k in KINDS if k.name == name)
    scene = seek()
    plant(scene, kind.make(), "PPO")
    blend = tmp_path / "crafted.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(
        [sys.executable, str(boot.ROOT / "devtools" / "academy.py"), "train", str(blend), "--steps", "64",
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert proc.returncode != 0
    err = [line for line in proc.stderr.splitlines() if line.strip()]
    assert "Traceback" not in proc.stderr and len(err) == 1, proc.stderr[-3000:]
    assert f"Brain '{BRAIN}'" in err[0], err
    assert not list((tmp_path / "out").glob("**/*.blend"))
