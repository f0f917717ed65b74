"""ONNX export (checked with onnxruntime) and the numpy forward pass give the learner's actions."""

from __future__ import annotations

import numpy as np
import pytest

from academy_pure.training import Box, Dict, Discrete, DQNConfig, Image, MultiDiscrete, PPOConfig, make_learner

from .helpers import sample_obs
from .test_persistence import drive

CASES = [
    (PPOConfig(normalize_obs=True), Box((5,)), Discrete(3)),
    (PPOConfig(), Box((4,)), MultiDiscrete([3, 2])),
    (PPOConfig(), Box((3,)), Box((2,), -2.0, 2.0)),
    (PPOConfig(continuous_dist="squashed", shared_network=True), Box((3,)), Box((2,), -1.0, 3.0)),
    (PPOConfig(), Image(32, 32, 3), Discrete(2)),
    (PPOConfig(), Image(84, 84, 1, "float32"), Discrete(2)),
    (PPOConfig(normalize_obs=True), Dict({"img": Image(32, 32, 3), "vec": Box((4,))}), Box((2,), -1.0, 1.0)),
    (DQNConfig(normalize_obs=True), Box((4,)), Discrete(2)),
    (DQNConfig(vis_encoder="nature"), Image(36, 36, 3), Discrete(4)),
]
IDS = ["ppo-vec", "ppo-branches", "ppo-cont", "ppo-squashed", "ppo-cnn32", "ppo-nature84", "ppo-dict", "dqn", "dqn-cnn"]


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
