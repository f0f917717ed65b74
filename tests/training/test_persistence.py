"""Save/load/resume, shape mismatch errors, refusing pickles, and using a state without torch."""

from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from academy_pure.training import (
    Box,
    Dict,
    Discrete,
    DQNConfig,
    Hybrid,
    Image,
    MultiDiscrete,
    NumpyPolicy,
    PPOConfig,
    SACConfig,
    StateError,
    load_learner,
    make_learner,
    read_header,
)
from academy_pure.training.state_check import load_state, model_layout, resumed_config

from .conftest import ROOT
from .helpers import sample_obs


def drive(learner, steps: int, seed: int):
    """Feed a fixed pseudo-random stream of observations/rewards/dones; return the actions."""
    rng = np.random.default_rng(seed)
    n = learner.num_agents
    out = []
    for _ in range(steps):
        obs = sample_obs(learner.obs_space, n, rng)
        out.append(learner.act(obs))
        done = rng.random(n) < 0.05
        trunc = rng.random(n) < 0.02
        learner.observe(rng.normal(size=n), done, trunc & ~done, obs, final_obs=obs)
    return np.array(out)


CASES = {
    "ppo": (
        PPOConfig(num_steps=16, minibatch_size=16, num_epochs=2, normalize_obs=True, normalize_reward=True),
        Box((4,)),
        Discrete(3),
    ),
    "ppo_cont": (PPOConfig(num_steps=16, minibatch_size=16, num_epochs=2), Box((3,)), Box((2,), -1.0, 1.0)),
    "dqn": (
        DQNConfig(
            learning_starts=20,
            train_freq=4,
            gradient_steps=2,
            target_update_interval=5,
            batch_size=8,
            normalize_obs=True,
            prioritized=True,
        ),
        Box((4,)),
        Discrete(3),
    ),
    "ppo_dict": (
        PPOConfig(num_steps=8, minibatch_size=8, num_epochs=1),
        Dict({"cam": Image(20, 20, 1), "vec": Box((2,))}),
        Discrete(2),
    ),
    "sac": (
        SACConfig(
            learning_starts=20, train_freq=2, gradient_steps=3, batch_size=8, hidden_units=16, normalize_obs=True
        ),
        Box((4,)),
        Box((2,), -1.0, 3.0),
    ),
    "ppo_hybrid": (
        PPOConfig(num_steps=16, minibatch_size=16, num_epochs=2, normalize_obs=True),
        Box((4,)),
        Hybrid(Box((2,), -1.0, 3.0), (3, 2)),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_resume_continues_identically(case, tmp_path):
    cfg, obs_space, act_space = CASES[case]
    a = make_learner(cfg, obs_space, act_space, num_agents=3, seed=5)
    drive(a, 37, seed=1)  # stop mid-rollout on purpose
    path = tmp_path / "state.npz"
    a.save(path)
    b = load_learner(path)
    assert (b.total_steps, b.num_updates) == (a.total_steps, a.num_updates) and b.num_updates > 0
    assert b.stats["episodes"] == a.stats["episodes"]
    np.testing.assert_array_equal(drive(a, 40, seed=2), drive(b, 40, seed=2))
    for (k, va), (_, vb) in zip(a.model.state_dict().items(), b.model.state_dict().items(), strict=True):
        assert va.equal(vb), k
    assert a.stats == pytest.approx(b.stats, nan_ok=True)


def test_load_with_other_agent_count_starts_fresh_rollout():
    cfg, obs_space, act_space = CASES["ppo"]
    a = make_learner(cfg, obs_space, act_space, num_agents=3)
    drive(a, 20, seed=0)
    b = load_learner(a.save_bytes(), num_agents=5)
    assert b.num_agents == 5 and b.total_steps == a.total_steps
    drive(b, 20, seed=0)
    assert b.num_updates > a.num_updates


def test_bad_shapes_are_named():
    a = make_learner(PPOConfig(), Box((4,)), Discrete(2))
    data = a.save_bytes()
    with pytest.raises(ValueError, match=r"observation space: saved Box\(4,\), requested Box\(6,\)"):
        load_learner(data, obs_space=Box((6,)), action_space=Discrete(2))
    with pytest.raises(ValueError, match=r"action space: saved Discrete\(2\), requested Discrete\(5\)"):
        load_learner(data, obs_space=Box((4,)), action_space=Discrete(5))
    assert load_learner(data, obs_space=Box((4,)), action_space=Discrete(2)).total_steps == 0


def test_header_is_plain_json():
    a = make_learner(DQNConfig(), Box((4,)), Discrete(2), seed=3)
    h = read_header(a.save_bytes())
    assert h["algorithm"] == "dqn" and h["config"] == DQNConfig().to_dict() and h["seed"] == 3
    json.dumps(h)


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_pickles_are_refused(tmp_path):
    good = make_learner(PPOConfig(), Box((4,)), Discrete(2)).save_bytes()
    with np.load(io.BytesIO(good)) as z:
        arrays = {k: z[k] for k in z.files}
    evil = _npz(**arrays, payload=np.array([{"x": 1}], dtype=object))
    with pytest.raises(StateError, match="pickled"):
        load_learner(evil)
    torch_file = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(2)}, torch_file)
    with pytest.raises(StateError, match="torch pickle"):
        load_learner(torch_file)
    with pytest.raises(StateError, match="pickle"):
        load_learner(pickle.dumps({"a": 1}))
    with pytest.raises(StateError, match="not an Agent Academy training state"):
        load_learner(_npz(x=np.zeros(3)))


def test_numpy_policy_without_torch_or_gymnasium(tmp_path):
    learner = make_learner(
        PPOConfig(normalize_obs=True),
        Dict({"cam": Image(20, 20, 3), "vec": Box((3,))}),
        Box((2,), -1.0, 1.0),
        num_agents=2,
        seed=0,
    )
    drive(learner, 10, seed=0)
    path = tmp_path / "brain.npz"
    learner.save(path)
    obs = sample_obs(learner.obs_space, 4, np.random.default_rng(9))
    np.savez(tmp_path / "obs.npz", **obs)
    expected = learner.predict(obs)
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules["torch"] = None          # any "import torch" now raises ImportError
        sys.modules["gymnasium"] = None
        sys.path.insert(0, {str(ROOT)!r})
        import numpy as np
        from devtools import pure
        pure.register()
        from academy_pure.training import NumpyPolicy, read_header, PPOConfig, Box
        assert read_header({str(path)!r})["algorithm"] == "ppo"
        pol = NumpyPolicy.from_file({str(path)!r})
        obs = dict(np.load({str(tmp_path / "obs.npz")!r}))
        np.save({str(tmp_path / "out.npy")!r}, pol.act(obs))
        assert "torch" not in [m for m in sys.modules if sys.modules[m] is not None]
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, atol=1e-5)


def test_a_saved_random_state_names_only_a_known_generator():
    """The generator's name comes from the file: it is looked up in a table, never in numpy by name."""
    from academy_pure.training.common import rng_from_json, rng_state_to_json

    rng = np.random.default_rng(3)
    again = rng_from_json(rng_state_to_json(rng))
    assert again.random() == rng.random()
    for name in ("RandomState", "__class__", "seed", "default_rng", None, 7):
        with pytest.raises(ValueError, match="unknown random generator"):
            rng_from_json({"bit_generator": name, "state": {}})
    with pytest.raises(ValueError, match="PCG64 random state is not valid"):
        rng_from_json({"bit_generator": "PCG64", "state": "nonsense"})


def _archive(entries: dict[str, bytes], compression=0) -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def test_crafted_archives_are_refused_before_anything_large_is_allocated():
    """Issue 12.1: a zip bomb, or a small entry declaring a huge shape, allocates nothing large."""
    import tracemalloc
    import zipfile

    from academy_pure.training.persistence import StateError, read_header, unpack_state

    tag = {"format": "agent-academy-training-state", "version": 1}
    header = _npy(np.frombuffer(json.dumps(tag).encode(), np.uint8))
    bomb = _archive({"header.npy": header, "model/w.npy": _npy(np.zeros(50_000_000, np.uint8))}, zipfile.ZIP_DEFLATED)
    assert len(bomb) < 200_000  # 50 MB of zeros in a small file
    big_shape = np.lib.format.header_data_from_array_1_0(np.zeros(4, np.float32))
    big_shape["shape"] = (10**12,)
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, big_shape)
    claims = _archive({"header.npy": header, "model/w.npy": buf.getvalue() + b"\0" * 16})
    for crafted, message in ((bomb, "zip bomb"), (claims, "declares 4,000,000,000,000 bytes")):
        for read in (read_header, unpack_state):
            tracemalloc.start()
            with pytest.raises(StateError, match=message):
                read(crafted)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            assert peak < 20_000_000, peak


# -- the complete check of a state (issue 12.3) ------------------------------------------------------

LAYOUTS = {
    **CASES,
    "ppo_shared_multi": (
        PPOConfig(shared_network=True, num_layers=3, hidden_units=8),
        Box((5,)),
        MultiDiscrete((2, 3)),
    ),
    "ppo_no_layers": (PPOConfig(num_layers=0), Box((2, 3)), Box((4,), -2.0, 2.0)),
    "ppo_nature": (PPOConfig(vis_encoder="nature", cnn_features=16), Image(36, 40, 3), Discrete(2)),
    "ppo_compact": (PPOConfig(vis_encoder="compact", cnn_features=16), Image(24, 20, 3), Discrete(2)),
    "dqn_image": (DQNConfig(cnn_features=8, hidden_units=8), Dict({"a": Image(21, 20, 4, "float32")}), Discrete(4)),
    "sac_image": (
        SACConfig(cnn_features=8, hidden_units=8, num_layers=1),
        Dict({"cam": Image(20, 20, 1), "vec": Box((2,))}),
        Box((3,), -2.0, 2.0),
    ),
}


@pytest.mark.parametrize("case", list(LAYOUTS))
def test_the_layout_the_check_expects_is_the_network_torch_builds(case):
    """state_check mirrors networks.py without torch: same names, shapes and parameter order."""
    cfg, obs_space, act_space = LAYOUTS[case]
    learner = make_learner(cfg, obs_space, act_space, num_agents=2)
    built = [(k, tuple(p.shape)) for k, p in learner.model.named_parameters()]
    assert list(model_layout(cfg, obs_space, act_space).params.items()) == built
    assert [k for k, _ in built] == list(learner.model.state_dict())  # no buffers: parameters are the whole state


@pytest.mark.parametrize("buffers", [True, False])
@pytest.mark.parametrize("case", list(CASES))
def test_every_state_a_learner_saves_passes_the_check(case, buffers):
    cfg, obs_space, act_space = CASES[case]
    for steps in (0, 3, 37):  # fresh, mid-rollout, after updates (DQN: after acting, before observing)
        a = make_learner(cfg, obs_space, act_space, num_agents=3, seed=5)
        drive(a, steps, seed=1)
        if case in ("dqn", "sac") and steps:
            a.act(sample_obs(obs_space, 3, np.random.default_rng(0)))
        state = load_state(a.save_bytes(include_buffers=buffers))
        assert (state.config, state.obs_space, state.action_space) == (cfg, obs_space, act_space)


def _resave(data: bytes, change) -> bytes:
    from academy_pure.training.persistence import pack_state, unpack_state

    header, arrays = unpack_state(data)
    change(header, arrays)
    return pack_state(header, arrays)


def test_a_state_that_does_not_match_its_header_is_refused_in_one_line():
    data = make_learner(*CASES["ppo"][:3], num_agents=2).save_bytes(include_buffers=True)

    def huge(h, a):
        h["config"]["hidden_units"] = 4000

    def out_of_range(h, a):
        h["config"]["hidden_units"] = 6000

    def transposed(h, a):
        a["model/actor.mlp.0.weight"] = np.ascontiguousarray(a["model/actor.mlp.0.weight"].T)

    def extra(h, a):
        a["model/spare"] = np.zeros(2, np.float32)

    def action_out_of_range(h, a):
        a["buffer/actions"][0, 0, 0] = 7

    def rollout(h, a):
        h["config"]["num_steps"] = 10**9

    def typed(h, a):
        h["config"]["hidden_units"] = "64"

    cases = {
        huge: r"array 'model/actor.mlp.0.weight' is float32 \(64, 4\), expected float32 \(4000, 4\)",
        out_of_range: r"the model's config is not valid: PPO Hidden Units is 6000; it must be 1 to 4096",
        transposed: r"'model/actor.mlp.0.weight' is float32 \(4, 64\), expected float32 \(64, 4\)",
        extra: r"arrays include 'model/spare', which this model does not have",
        action_out_of_range: r"'buffer/actions' holds actions outside Discrete\(3\)",
        rollout: r"the model's config is not valid: PPO Num Steps is 1000000000; it must be 1 to 1000000",
        typed: r"setting 'hidden_units' must be a whole number, not '64'",
    }
    import tracemalloc

    for change, message in cases.items():
        crafted = _resave(data, change)
        for load in (load_state, load_learner, NumpyPolicy.from_bytes):
            tracemalloc.start()
            with pytest.raises(StateError, match=message) as err:
                load(crafted)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            assert "\n" not in str(err.value) and peak < 20_000_000, (change.__name__, peak)


def test_a_resumed_model_keeps_the_settings_it_was_built_with():
    stored = PPOConfig(hidden_units=32, num_steps=16, normalize_obs=True)
    wanted = PPOConfig(hidden_units=128, num_steps=64, learning_rate=1e-3, gamma=0.9)
    resumed = resumed_config(stored, wanted)
    assert (resumed.hidden_units, resumed.num_steps, resumed.normalize_obs) == (32, 16, True)
    assert (resumed.learning_rate, resumed.gamma) == (1e-3, 0.9)  # what does not shape the network applies
    assert resumed_config(stored, DQNConfig()) is stored
    learner = make_learner(stored, Box((4,)), Discrete(3), num_agents=2)
    learner.config = resumed
    load_state(learner.save_bytes())  # what it saves next still matches its arrays


def test_a_model_saved_when_auto_meant_compact_still_loads_as_compact():
    """Before 'auto' chose the small encoder under 64 px it chose 'compact': such a model (its
    header says 'auto', its arrays hold compact's layers) loads as compact and acts as it did."""
    from academy_pure.training.persistence import pack_state, unpack_state

    image = Image(32, 32, 3)
    assert make_learner(PPOConfig(), image, Discrete(3)).config.vis_encoder == "auto"
    old = make_learner(PPOConfig(vis_encoder="compact"), image, Discrete(3), num_agents=2, seed=0)
    drive(old, 20, seed=1)
    header, arrays = unpack_state(old.save_bytes())
    header = {**header, "config": {**header["config"], "vis_encoder": "auto"}}
    data = pack_state(header, arrays)
    with pytest.raises(StateError):  # read as today's 'auto' the arrays would not fit
        load_state(pack_state({**header, "config": {**header["config"], "vis_encoder": "small"}}, arrays))
    loaded = load_learner(data)
    assert loaded.config.vis_encoder == "compact"
    obs = sample_obs(image, 2, np.random.default_rng(2))
    want = old.predict(obs, deterministic=True)
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True), want)
    np.testing.assert_array_equal(NumpyPolicy.from_bytes(data).predict(obs, deterministic=True), want)
    assert read_header(loaded.save_bytes())["config"]["vis_encoder"] == "compact"
