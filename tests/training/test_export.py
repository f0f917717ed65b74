"""ONNX export (checked with onnxruntime) and the numpy forward pass give the learner's actions."""

from __future__ import annotations

import numpy as np
import pytest

from academy_pure.training import (
    Box,
    Dict,
    Discrete,
    DQNConfig,
    Hybrid,
    Image,
    MultiDiscrete,
    PPOConfig,
    SACConfig,
    make_learner,
)

from .helpers import sample_obs
from .test_persistence import drive

CASES = [
    (PPOConfig(normalize_obs=True), Box((5,)), Discrete(3)),
    (PPOConfig(), Box((4,)), MultiDiscrete([3, 2])),
    (PPOConfig(), Box((3,)), Box((2,), -2.0, 2.0)),
    (PPOConfig(continuous_dist="squashed", shared_network=True), Box((3,)), Box((2,), -1.0, 3.0)),
    (PPOConfig(), Image(32, 32, 3), Discrete(2)),
    (PPOConfig(), Image(84, 84, 1, "float32"), Discrete(2)),
    (PPOConfig(vis_encoder="compact"), Image(20, 20, 1), Box((2,), -1.0, 1.0)),  # continuous: the value scale
    (PPOConfig(normalize_obs=True), Dict({"img": Image(32, 32, 3), "vec": Box((4,))}), Box((2,), -1.0, 1.0)),
    (DQNConfig(normalize_obs=True), Box((4,)), Discrete(2)),
    (DQNConfig(vis_encoder="nature"), Image(36, 36, 3), Discrete(4)),
    (DQNConfig(), Image(8, 10, 3), Discrete(3)),  # the smallest image 'small' takes
    (SACConfig(normalize_obs=True, hidden_units=32), Box((3,)), Box((2,), -2.0, 1.0)),
    (SACConfig(hidden_units=16), Dict({"img": Image(20, 20, 1), "vec": Box((2,))}), Box((1,), 0.0, 5.0)),
    (PPOConfig(normalize_obs=True), Box((4,)), Hybrid(Box((2,), -2.0, 1.0), (3, 2))),
    (PPOConfig(continuous_dist="squashed"), Box((3,)), Hybrid(Box((1,), 0.0, 5.0), (4,))),
]
IDS = [
    "ppo-vec",
    "ppo-branches",
    "ppo-cont",
    "ppo-squashed",
    "ppo-cnn32",
    "ppo-nature84",
    "ppo-cnn-cont",
    "ppo-dict",
    "dqn",
    "dqn-cnn",
    "dqn-small8",
    "sac",
    "sac-dict",
    "ppo-hybrid",
    "ppo-hybrid-squashed",
]


@pytest.fixture(params=list(range(len(CASES))), ids=IDS)
def trained(request):
    cfg, obs_space, act_space = CASES[request.param]
    if isinstance(cfg, PPOConfig):
        cfg = cfg.replace(num_steps=8, minibatch_size=8, num_epochs=1)
    else:
        cfg = cfg.replace(learning_starts=8, batch_size=8)
    learner = make_learner(cfg, obs_space, act_space, num_agents=2, seed=0)
    drive(learner, 10, seed=0)  # weights and normalisers move away from their initial values
    return learner, sample_obs(obs_space, 7, np.random.default_rng(1))


def test_numpy_policy_matches_torch(trained):
    learner, obs = trained
    pol = learner.numpy_policy()
    a, b = learner.predict(obs), pol.act(obs)
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_allclose(b, a, atol=1e-5)


def test_onnx_matches_torch(trained, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    learner, obs = trained
    path = tmp_path / "policy.onnx"
    learner.export_onnx(path)
    sess = ort.InferenceSession(str(path))
    feeds = obs if isinstance(obs, dict) else {"obs": obs}
    action, out = sess.run(["action", "policy_output"], feeds)
    np.testing.assert_allclose(action, learner.predict(obs), atol=1e-5)
    np.testing.assert_allclose(out, learner.numpy_policy().policy_output(obs), atol=1e-4)
    one = {k: v[:1] for k, v in feeds.items()}  # dynamic batch
    assert sess.run(["action"], one)[0].shape[0] == 1


# -- conventions ---------------------------------------------------------------------------------
# The decoders below follow the foreign loaders, not our exporter: ML-Agents' SentisModelParamLoader
# and ApplierImpl (constants read as floats, actions read [agent, j]); Godot RL Agents'
# ONNXInference.cs (every input a float [batch, n], state_ins [batch]) and sync.gd
# (_extract_action_dict: argmax of each branch's logits, continuous values clamped to [-1, 1]).


def _meta(path):
    onnx = pytest.importorskip("onnx")
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def _entries(obs_space):
    return dict(obs_space.spaces) if isinstance(obs_space, Dict) else {"obs": obs_space}


def _as_dict(obs):
    return obs if isinstance(obs, dict) else {"obs": obs}


def _unit_to_bounds(y, space):
    """Map a [-1, 1] action back to the Brain's bounds, as the metadata says to."""
    low, high = space.low_array(), space.high_array()
    return low + (np.asarray(y, np.float64) + 1.0) * 0.5 * (high - low)


def _expected(learner, obs, mask=None):
    return learner.predict(obs, deterministic=True, action_mask=mask)


def _check_common_metadata(meta, learner, convention):
    import json

    assert meta["convention"] == convention
    assert json.loads(meta["format_version"]) == 1
    assert json.loads(meta["memory_size"]) == 0
    assert meta["algorithm"] == learner.algorithm
    assert json.loads(meta["obs_names"]) == list(_entries(learner.obs_space))
    assert json.loads(meta["action_space"]) == learner.action_space.to_dict()
    space = learner.action_space
    if isinstance(space, Box):
        assert json.loads(meta["continuous_action_size"]) == space.dim
        assert json.loads(meta["discrete_action_branches"]) == []
        assert json.loads(meta["continuous_action_low"]) == space.low_array().tolist()
    elif isinstance(space, Hybrid):
        assert json.loads(meta["continuous_action_size"]) == space.continuous.dim
        assert json.loads(meta["discrete_action_branches"]) == list(space.nvec)
        assert json.loads(meta["continuous_action_high"]) == space.continuous.high_array().tolist()
    else:
        nvec = [space.n] if isinstance(space, Discrete) else list(space.nvec)
        assert json.loads(meta["discrete_action_branches"]) == nvec
        assert json.loads(meta["continuous_action_size"]) == 0


def test_academy_convention_metadata(trained, tmp_path):
    import json

    learner, _obs = trained
    path = tmp_path / "academy.onnx"
    learner.export_onnx(path, convention="academy")
    meta = _meta(path)
    _check_common_metadata(meta, learner, "academy")
    assert json.loads(meta["outputs"]) == ["action", "policy_output"]
    assert meta["continuous_action_scaling"] == "none"  # academy's action is in the Brain's own bounds
    layouts = {d["input"]: d["layout"] for d in json.loads(meta["observation_inputs"])}
    for name, space in _entries(learner.obs_space).items():
        assert layouts[name] == ("NHWC" if isinstance(space, Image) else "vector")


def test_mlagents_convention(trained, tmp_path):
    import json

    ort = pytest.importorskip("onnxruntime")
    learner, obs = trained
    if isinstance(learner.action_space, Hybrid):
        pytest.skip("hybrid actions export in the academy convention only (test_hybrid.py checks the refusal)")
    path = tmp_path / "mlagents.onnx"
    learner.export_onnx(path, convention="mlagents")
    sess = ort.InferenceSession(str(path))
    entries = _entries(learner.obs_space)
    space = learner.action_space
    continuous = isinstance(space, Box)
    n = len(next(iter(_as_dict(obs).values())))

    inputs = {i.name: i for i in sess.get_inputs()}
    want_inputs = [f"obs_{i}" for i in range(len(entries))] + ([] if continuous else ["action_masks"])
    assert list(inputs) == want_inputs
    feeds = {}
    for i, (name, s) in enumerate(entries.items()):
        x = _as_dict(obs)[name]
        inp = inputs[f"obs_{i}"]
        assert inp.type == "tensor(float)"
        if isinstance(s, Image):  # NCHW, values 0..1 as Unity's camera sensors write them
            assert inp.shape == ["batch", s.channels, s.height, s.width]
            x = x.transpose(0, 3, 1, 2).astype(np.float32)
            if s.dtype == "uint8":
                x = x / np.float32(255.0)
        else:
            assert inp.shape == ["batch", *s.shape]
        feeds[f"obs_{i}"] = np.ascontiguousarray(x, dtype=np.float32)
    kind = "continuous" if continuous else "discrete"
    names = ["version_number", "memory_size", f"{kind}_actions", f"{kind}_action_output_shape"]
    names.append(f"deterministic_{kind}_actions")
    assert [o.name for o in sess.get_outputs()] == names
    if not continuous:
        assert inputs["action_masks"].type == "tensor(float)"
        nvec = [space.n] if isinstance(space, Discrete) else list(space.nvec)
        assert inputs["action_masks"].shape == ["batch", sum(nvec)]
        feeds["action_masks"] = np.ones((n, inputs["action_masks"].shape[1]), np.float32)
    version, memory, sampled, shape, det = sess.run(names, feeds)
    assert version.dtype == memory.dtype == shape.dtype == np.float32  # their loader reads Tensor<float>
    assert version.tolist() == [3.0] and memory.tolist() == [0.0]
    if continuous:
        assert shape.tolist() == [float(space.dim)]
        assert det.dtype == sampled.dtype == np.float32 and det.shape == sampled.shape == (n, space.dim)
        assert np.all(np.abs(det) <= 1.0 + 1e-6) and np.all(np.abs(sampled) <= 1.0 + 1e-6)
        np.testing.assert_allclose(_unit_to_bounds(det, space), _expected(learner, obs), atol=1e-5)
    else:
        assert shape.shape == (1, len(nvec)) and shape.ravel().tolist() == [float(b) for b in nvec]
        assert det.dtype == sampled.dtype == np.int64 and det.shape == sampled.shape == (n, len(nvec))
        assert np.all((sampled >= 0) & (sampled < np.array(nvec)))
        got = det[:, 0] if isinstance(space, Discrete) else det
        np.testing.assert_array_equal(got, _expected(learner, obs))
        # Masks: 1 allows, 0 blocks; keep one action allowed per branch.
        rng = np.random.default_rng(3)
        mask = rng.random(feeds["action_masks"].shape) < 0.5
        start = 0
        for b in nvec:
            mask[np.arange(n), start + rng.integers(0, b, n)] = True
            start += b
        feeds["action_masks"] = mask.astype(np.float32)
        sampled, det = sess.run([names[2], names[4]], feeds)
        got = det[:, 0] if isinstance(space, Discrete) else det
        np.testing.assert_array_equal(got, _expected(learner, obs, mask))
        offsets = np.cumsum([0, *nvec[:-1]])
        assert mask[np.arange(n)[:, None], offsets + sampled].all()  # samples never take a blocked action
    meta = _meta(path)
    _check_common_metadata(meta, learner, "mlagents")
    assert json.loads(meta["version_number"]) == 3
    assert json.loads(meta["outputs"]) == names
    described = json.loads(meta["observation_inputs"])
    assert [(d["input"], d["entry"]) for d in described] == [(f"obs_{i}", k) for i, k in enumerate(entries)]
    if continuous:
        assert meta["continuous_action_scaling"] == "[low, high] -> [-1, 1]"
    one = {k: v[:1] for k, v in feeds.items()}  # dynamic batch
    assert sess.run([names[4]], one)[0].shape[0] == 1


def test_godot_convention(trained, tmp_path):
    import json

    ort = pytest.importorskip("onnxruntime")
    learner, obs = trained
    if isinstance(learner.action_space, Hybrid):
        pytest.skip("hybrid actions export in the academy convention only (test_hybrid.py checks the refusal)")
    path = tmp_path / "godot.onnx"
    learner.export_onnx(path, convention="godot")
    sess = ort.InferenceSession(str(path))
    entries = _entries(learner.obs_space)
    space = learner.action_space
    n = len(next(iter(_as_dict(obs).values())))
    inputs = {i.name: i for i in sess.get_inputs()}
    assert list(inputs) == [*entries, "state_ins"]
    feeds = {}
    for name, s in entries.items():
        x = _as_dict(obs)[name]
        if isinstance(s, Image):  # flattened channel first, in the Brain's own value range
            x = x.transpose(0, 3, 1, 2)
        flat = np.ascontiguousarray(x.reshape(n, -1), dtype=np.float32)
        assert inputs[name].type == "tensor(float)" and inputs[name].shape == ["batch", flat.shape[1]]
        feeds[name] = flat
    assert inputs["state_ins"].type == "tensor(float)" and inputs["state_ins"].shape == ["batch"]
    feeds["state_ins"] = np.full(n, 7.0, np.float32)
    outputs = sess.get_outputs()
    assert [o.name for o in outputs] == ["output", "state_outs"]
    assert isinstance(outputs[0].shape[1], int)  # ONNXInference.Initialize reads Dimensions[1]
    output, state_outs = sess.run(["output", "state_outs"], feeds)
    np.testing.assert_array_equal(state_outs, feeds["state_ins"])
    assert output.dtype == np.float32
    if isinstance(space, Box):
        assert output.shape == (n, space.dim)  # action means only
        actions = _unit_to_bounds(np.clip(output, -1.0, 1.0), space)
        np.testing.assert_allclose(actions, _expected(learner, obs), atol=1e-5)
    else:
        nvec = [space.n] if isinstance(space, Discrete) else list(space.nvec)
        assert output.shape == (n, sum(nvec))
        actions, start = [], 0
        for b in nvec:
            actions.append(output[:, start : start + b].argmax(axis=1))
            start += b
        got = actions[0] if isinstance(space, Discrete) else np.stack(actions, axis=1)
        np.testing.assert_array_equal(got, _expected(learner, obs))
        # the logits or Q-values themselves, so the image layout and value range are checked too
        np.testing.assert_allclose(output, learner.numpy_policy().policy_output(obs), atol=1e-4)
    meta = _meta(path)
    _check_common_metadata(meta, learner, "godot")
    assert json.loads(meta["outputs"]) == ["output", "state_outs"]
    layouts = {d["input"]: d["layout"] for d in json.loads(meta["observation_inputs"])}
    assert layouts == {k: ("flat CHW" if isinstance(s, Image) else "flat") for k, s in entries.items()}
    one = {k: v[:1] for k, v in feeds.items()}  # dynamic batch
    assert sess.run(["output"], one)[0].shape[0] == 1


def _small(cfg, obs_space, act_space):
    return make_learner(cfg.replace(num_steps=8, minibatch_size=8, num_epochs=1), obs_space, act_space, 2, seed=0)


def test_unknown_convention_is_refused_before_writing(tmp_path):
    from academy_pure.training.export import ExportError

    learner = _small(PPOConfig(), Box((3,)), Discrete(2))
    path = tmp_path / "x.onnx"
    with pytest.raises(ExportError, match="unknown ONNX convention 'sentis' \\(one of academy, mlagents, godot\\)"):
        learner.export_onnx(path, convention="sentis")
    assert not path.exists()


def test_mlagents_refuses_a_rank3_vector_observation(tmp_path):
    from academy_pure.training.export import ExportError

    learner = _small(PPOConfig(), Box((2, 3, 4)), Discrete(2))
    path = tmp_path / "x.onnx"
    with pytest.raises(ExportError, match="ML-Agents convention cannot express observation 'obs' of shape"):
        learner.export_onnx(path, convention="mlagents")
    assert not path.exists()
    learner.export_onnx(path, convention="godot")  # Godot flattens it
    assert path.exists()


def test_godot_refuses_unbounded_continuous_actions(tmp_path):
    from academy_pure.training.export import ExportError

    learner = _small(PPOConfig(), Box((3,)), Box((2,)))
    path = tmp_path / "x.onnx"
    with pytest.raises(ExportError, match="Godot RL Agents convention cannot express unbounded continuous"):
        learner.export_onnx(path, convention="godot")
    assert not path.exists()
    learner.export_onnx(path, convention="mlagents")  # passed through as they are, and the metadata says so
    assert _meta(path)["continuous_action_scaling"] == "none"


def test_export_without_the_onnx_package_names_it(tmp_path, monkeypatch):
    import sys

    learner = _small(PPOConfig(), Box((3,)), Discrete(2))
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ModuleNotFoundError
    path = tmp_path / "x.onnx"
    with pytest.raises(ModuleNotFoundError, match="needs the onnx package") as err:
        learner.export_onnx(path, convention="mlagents")
    assert err.value.name == "onnx"  # env.brain_io reports the missing package by this name
    assert not path.exists()
