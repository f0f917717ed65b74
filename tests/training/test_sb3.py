"""Stable-Baselines3 interop: a PPO learner to an SB3 PPO .zip and an SB3 MlpPolicy PPO to a learner, both
giving the same deterministic actions and values to 1e-6; the hyper-parameters mapped; what cannot convert refused."""

from __future__ import annotations

import base64
import json
import pickle
import sys
import zipfile

import numpy as np
import pytest

from academy_pure.training import Box, Dict, Discrete, DQNConfig, Image, MultiDiscrete, PPOConfig, make_learner
from academy_pure.training.factory import load_learner

from .helpers import sample_obs
from .test_persistence import drive

torch = pytest.importorskip("torch")
sb3 = pytest.importorskip("stable_baselines3")
gym = pytest.importorskip("gymnasium")
S = pytest.importorskip("academy_pure.training.sb3")

ACTIONS = {"discrete": Discrete(3), "branches": MultiDiscrete((3, 2)), "continuous": Box((2,), -1.0, 1.0)}
TOL = {"rtol": 1e-6, "atol": 1e-6}


def _jiggle(module, scale: float = 0.5, seed: int = 0) -> None:
    """Move every weight well away from its (small-gain) initial value, so argmaxes and means vary with the obs."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * scale)


def _learner(act, **cfg):
    config = PPOConfig(num_steps=8, minibatch_size=8, num_epochs=1, hidden_units=16, **cfg)
    learner = make_learner(config, Box((5,)), act, num_agents=2, seed=3)
    drive(learner, 12, seed=0)  # an update, and the normaliser's statistics move
    _jiggle(learner.model)
    return learner


def _obs(n: int = 64, seed: int = 1) -> np.ndarray:
    return sample_obs(Box((5,)), n, np.random.default_rng(seed))


def _sb3_actions(model, obs):
    return model.predict(obs, deterministic=True)[0]


def _sb3_values(model, obs):
    with torch.no_grad():
        return model.policy.predict_values(torch.from_numpy(obs)).numpy().ravel()


def _assert_same(model, learner, obs) -> None:
    ours, theirs = learner.predict(obs, deterministic=True), _sb3_actions(model, obs)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(theirs, ours, **TOL)
    np.testing.assert_allclose(_sb3_values(model, obs), learner.predict_values(obs), **TOL)


def _sb3_model(obs_space, act_space, n_envs: int = 2, **kwargs):
    obs, act = S._gym_space(obs_space), S._gym_space(act_space)
    env = sb3.common.vec_env.DummyVecEnv([lambda: S._SpacesEnv(obs, act)] * n_envs)
    kwargs.setdefault("n_steps", 16)
    kwargs.setdefault("batch_size", 16)
    model = sb3.PPO("MlpPolicy", env, device="cpu", seed=0, **kwargs)
    _jiggle(model.policy)
    return model


# -- ours -> SB3 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(ACTIONS))
@pytest.mark.parametrize(
    "cfg",
    [
        {},
        {"shared_network": True, "activation": "relu"},
        {"normalize_obs": True},
        {"num_layers": 1},
        {"num_layers": 0, "normalize_obs": True},  # the normaliser folds into the heads
    ],
    ids=["separate-tanh", "shared-relu", "normalised", "one-layer", "no-layers"],
)
def test_to_sb3_acts_and_values_as_the_learner(kind, cfg, tmp_path):
    learner = _learner(ACTIONS[kind], **cfg)
    path = tmp_path / "model.zip"
    S.to_sb3(learner, path)
    model = sb3.PPO.load(path, device="cpu")
    obs = _obs()
    _assert_same(model, learner, obs)
    actions = learner.predict(obs)
    if kind != "continuous":  # the comparison means something: the actions vary with the observation
        assert len(np.unique(actions.reshape(len(obs), -1), axis=0)) > 1
    else:
        assert np.ptp(actions) > 0.1


def test_a_swapped_layer_is_caught(tmp_path, monkeypatch):
    """The round-trip comparison fails when the weight mapping is wrong (the policy and value trunks swapped)."""
    learner = _learner(ACTIONS["discrete"])
    right = S._sb3_weights

    def swapped(lr):
        sd = right(lr)
        for p in ("weight", "bias"):
            a, b = f"mlp_extractor.policy_net.2.{p}", f"mlp_extractor.value_net.2.{p}"
            sd[a], sd[b] = sd[b], sd[a]
        return sd

    monkeypatch.setattr(S, "_sb3_weights", swapped)
    S.to_sb3(learner, tmp_path / "m.zip")
    with pytest.raises(AssertionError):
        _assert_same(sb3.PPO.load(tmp_path / "m.zip", device="cpu"), learner, _obs())


def test_the_folded_normaliser_does_not_clip(tmp_path):
    """Documented: within obs_clip standard deviations SB3 acts the same; far outside, the clip is gone."""
    learner = _learner(ACTIONS["continuous"], normalize_obs=True, obs_clip=2.0)
    notes: list[str] = []
    model = S.to_sb3(learner, tmp_path / "m.zip", notes)
    rms = learner.obs_proc.rms["obs"]
    inside = (rms.mean + np.sqrt(rms.var) * np.linspace(-1.5, 1.5, 5)[:, None]).astype(np.float32)
    _assert_same(model, learner, inside)
    far = (rms.mean + np.sqrt(rms.var) * 50.0)[None, :].astype(np.float32)
    assert not np.allclose(_sb3_values(model, far), learner.predict_values(far), rtol=1e-3)
    assert any("without its clip (±2)" in n for n in notes)


def test_to_sb3_hyper_parameters(tmp_path):
    cfg = PPOConfig(
        learning_rate=1e-3,
        lr_schedule="linear",
        num_steps=32,
        minibatch_size=16,
        num_epochs=3,
        gamma=0.97,
        gae_lambda=0.9,
        clip_coef=0.3,
        clip_schedule="linear",
        clip_vloss=True,
        ent_coef=0.01,
        vf_coef=0.7,
        max_grad_norm=0.0,
        target_kl=0.02,
        normalize_advantage=False,
        hidden_units=24,
        num_layers=3,
        activation="relu",
        log_std_init=-0.5,
        ortho_init=False,
        adam_eps=1e-7,
    )
    learner = make_learner(cfg, Box((4,)), Box((2,), -1.0, 1.0), num_agents=3, seed=0)
    learner.total_steps = 480
    S.to_sb3(learner, tmp_path / "m.zip")
    m = sb3.PPO.load(tmp_path / "m.zip", device="cpu")
    assert (m.n_steps, m.batch_size, m.n_epochs, m.n_envs, m.num_timesteps) == (32, 16, 3, 3, 480)
    assert (m.gamma, m.gae_lambda, m.ent_coef, m.vf_coef, m.target_kl) == (0.97, 0.9, 0.01, 0.7, 0.02)
    assert m.max_grad_norm == float("inf") and m.normalize_advantage is False
    assert m.lr_schedule(1.0) == pytest.approx(1e-3) and m.lr_schedule(0.25) == pytest.approx(2.5e-4)
    assert m.clip_range(1.0) == pytest.approx(0.3) and m.clip_range(0.5) == pytest.approx(0.15)
    assert m.clip_range_vf(0.5) == pytest.approx(0.15)
    p = m.policy
    assert p.net_arch == {"pi": [24] * 3, "vf": [24] * 3} and p.activation_fn is torch.nn.ReLU
    assert p.ortho_init is False and p.log_std_init == -0.5 and p.optimizer.defaults["eps"] == 1e-7
    # and back: every setting SB3 has comes home unchanged (it has no normalisers or shared trunk)
    back = S.from_sb3(tmp_path / "m.zip")
    assert back.config == cfg and back.num_agents == 3 and back.total_steps == 480


def test_constant_schedules_and_off_switches_map(tmp_path):
    cfg = PPOConfig(max_grad_norm=0.5, target_kl=0.0, clip_vloss=False)
    learner = make_learner(cfg, Box((4,)), Discrete(2), num_agents=1, seed=0)
    S.to_sb3(learner, tmp_path / "m.zip")
    m = sb3.PPO.load(tmp_path / "m.zip", device="cpu")
    assert m.learning_rate == 3e-4 and m.clip_range(0.1) == 0.2 and m.clip_range_vf is None
    assert m.target_kl is None and m.max_grad_norm == 0.5
    assert S.from_sb3(tmp_path / "m.zip").config == cfg
    S.to_sb3(learner, tmp_path / "plain")  # the very name given (SB3 alone would write plain.zip)
    assert (tmp_path / "plain").is_file() and not (tmp_path / "plain.zip").exists()


# -- SB3 -> ours -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(ACTIONS))
@pytest.mark.parametrize("arch", [None, {"net_arch": [32], "activation_fn": "relu"}], ids=["default", "relu-32"])
def test_from_sb3_acts_and_values_as_the_model(kind, arch, tmp_path):
    kwargs = {}
    if arch:
        kwargs["policy_kwargs"] = {"net_arch": arch["net_arch"], "activation_fn": torch.nn.ReLU}
    model = _sb3_model(Box((5,)), ACTIONS[kind], **kwargs)
    model.save(tmp_path / "sb3.zip")
    obs = _obs()
    from_file = S.from_sb3(tmp_path / "sb3.zip")
    from_object = S.from_sb3(model)
    for learner in (from_file, from_object):
        _assert_same(model, learner, obs)
    assert from_file.config == from_object.config
    assert (from_file.config.hidden_units, from_file.config.num_layers) == ((32, 1) if arch else (64, 2))
    assert from_file.config.activation == ("relu" if arch else "tanh")


def test_a_zip_converts_without_gymnasium_or_sb3(tmp_path, monkeypatch):
    """Blender ships neither: a file is read as data (spaces by their attributes), only torch is needed."""
    model = _sb3_model(Box((5,)), MultiDiscrete((3, 2)))
    model.save(tmp_path / "m.zip")
    for name in [m for m in list(sys.modules) if m.split(".")[0] in ("gymnasium", "stable_baselines3")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "gymnasium", None)  # import gymnasium now fails
    monkeypatch.setitem(sys.modules, "stable_baselines3", None)
    learner = S.from_sb3(tmp_path / "m.zip")
    assert learner.action_space == MultiDiscrete((3, 2))
    monkeypatch.undo()
    _assert_same(model, learner, _obs())
    with pytest.raises(S.SB3Error, match="needs the stable-baselines3 package"):
        monkeypatch.setitem(sys.modules, "stable_baselines3", None)
        S.to_sb3(learner, tmp_path / "back.zip")


def test_from_sb3_hyper_parameters(tmp_path):
    from stable_baselines3.common.utils import LinearSchedule

    model = _sb3_model(
        Box((3,)),
        Discrete(4),
        n_envs=4,
        learning_rate=LinearSchedule(5e-4, 0.0, 1.0),
        n_steps=20,
        batch_size=40,
        n_epochs=7,
        gamma=0.95,
        gae_lambda=0.8,
        clip_range=0.25,
        clip_range_vf=0.25,
        ent_coef=0.02,
        vf_coef=0.3,
        max_grad_norm=2.0,
        target_kl=0.05,
        policy_kwargs={"ortho_init": False, "optimizer_kwargs": {"eps": 1e-6}},
    )
    model.num_timesteps = 1234
    model.save(tmp_path / "sb3.zip")
    notes: list[str] = []
    learner = S.from_sb3(tmp_path / "sb3.zip", seed=5, notes=notes)
    want = PPOConfig(
        learning_rate=5e-4,
        lr_schedule="linear",
        num_steps=20,
        minibatch_size=40,
        num_epochs=7,
        gamma=0.95,
        gae_lambda=0.8,
        clip_coef=0.25,
        clip_vloss=True,
        ent_coef=0.02,
        vf_coef=0.3,
        max_grad_norm=2.0,
        target_kl=0.05,
        ortho_init=False,
        adam_eps=1e-6,
    )
    assert learner.config == want
    assert (learner.num_agents, learner.seed, learner.total_steps) == (4, 5, 1234)
    assert S.from_sb3(tmp_path / "sb3.zip", num_agents=7).num_agents == 7
    assert notes == ["Adam's moments start fresh"]


def test_what_does_not_map_is_noted(tmp_path):
    from stable_baselines3.common.utils import LinearSchedule

    model = _sb3_model(
        Box((3,)),
        Discrete(2),
        learning_rate=LinearSchedule(1e-3, 1e-4, 0.5),
        clip_range_vf=0.5,
        policy_kwargs={"optimizer_class": torch.optim.SGD, "optimizer_kwargs": {"momentum": 0.9}},
    )
    notes: list[str] = []
    learner = S.from_sb3(model, notes=notes)
    assert learner.config.learning_rate == 1e-3 and learner.config.lr_schedule == "constant"
    text = " | ".join(notes)
    for part in ("taken as constant 0.001", "clip_range_vf 0.5 differs", "optimizer is torch.optim.sgd.SGD"):
        assert part in text
    assert "momentum" in text


def test_a_schedule_function_converts_from_an_object_only(tmp_path):
    model = _sb3_model(Box((3,)), Discrete(2), learning_rate=lambda progress: 2e-4 * progress)
    notes: list[str] = []
    assert S.from_sb3(model, notes=notes).config.learning_rate == pytest.approx(2e-4)
    assert "taken as constant 0.0002" in notes[0]
    model.save(tmp_path / "m.zip")  # in a file the function is cloudpickled code: never run
    with pytest.raises(S.SB3Error, match="learning rate cannot be read without running code from the file"):
        S.from_sb3(tmp_path / "m.zip")


def test_the_imported_learner_trains_and_saves(tmp_path):
    model = _sb3_model(Box((5,)), Box((2,), -1.0, 1.0), n_steps=8, batch_size=8)
    model.save(tmp_path / "sb3.zip")
    learner = S.from_sb3(tmp_path / "sb3.zip")
    before = {k: v.clone() for k, v in learner.model.state_dict().items()}
    drive(learner, 8, seed=2)  # one full rollout: one update
    assert learner.num_updates == 1
    after = learner.model.state_dict()
    assert all(torch.isfinite(v).all() for v in after.values())
    assert any(not torch.equal(before[k], after[k]) for k in before)
    again = load_learner(learner.save_bytes())  # a Brain can store it: the state check accepts it
    np.testing.assert_array_equal(again.predict(_obs()), learner.predict(_obs()))


def test_the_brains_observation_bounds_may_replace_the_models(tmp_path):
    model = _sb3_model(Box((5,), -2.0, 2.0), Discrete(3))
    learner = S.from_sb3(model, obs_space=Box((5,)))
    assert learner.obs_space == Box((5,))
    _assert_same(model, learner, _obs())
    with pytest.raises(S.SB3Error, match=r"observes Box\(5,\), not Box\(4,\)"):
        S.from_sb3(model, obs_space=Box((4,)))


# -- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "obs", "act", "why"),
    [
        (PPOConfig(continuous_dist="squashed"), Box((3,)), Box((2,), -1.0, 1.0), "squashes only with gSDE"),
        (PPOConfig(), Image(32, 32, 3), Discrete(2), "only vector observations"),
        (PPOConfig(), Dict({"a": Box((2,)), "b": Box((3,))}), Discrete(2), "only vector observations"),
        (DQNConfig(), Box((3,)), Discrete(2), "only PPO converts"),
    ],
    ids=["squashed", "image", "dict", "dqn"],
)
def test_to_sb3_refuses(config, obs, act, why, tmp_path):
    learner = make_learner(config, obs, act, num_agents=2, seed=0)
    with pytest.raises(S.SB3Error, match=why):
        S.to_sb3(learner, tmp_path / "m.zip")
    assert not (tmp_path / "m.zip").exists()


def _env(obs, act):
    return sb3.common.vec_env.DummyVecEnv([lambda: S._SpacesEnv(obs, act)])


VEC, TWO, CONT = Box((3,)), Discrete(2), Box((2,), -1.0, 1.0)


def _ppo(obs=VEC, act=TWO, policy="MlpPolicy", **kwargs):
    """An SB3 PPO for gymnasium or our spaces."""
    obs, act = (S._gym_space(s) if isinstance(s, (Box, Discrete)) else s for s in (obs, act))
    return lambda: sb3.PPO(policy, _env(obs, act), device="cpu", **kwargs)


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (_ppo(act=CONT, use_sde=True), "gSDE"),
        (_ppo(policy_kwargs={"net_arch": {"pi": [32], "vf": [16]}}), r"net_arch is pi=\[32\], vf=\[16\]"),
        (_ppo(policy_kwargs={"net_arch": [32, 16]}), "all of one width"),
        (_ppo(policy_kwargs={"activation_fn": torch.nn.ELU}), "ELU; only Tanh and ReLU"),
        (_ppo(act=gym.spaces.MultiBinary(3)), "MultiBinary"),
        (_ppo(obs=gym.spaces.Discrete(4)), "observes Discrete"),
        (_ppo(obs=gym.spaces.Dict({"a": S._gym_space(VEC)}), policy="MultiInputPolicy"), "observes Dict; only vector"),
    ],
    ids=["gsde", "pi-vf-differ", "uneven", "elu", "multibinary", "discrete-obs", "dict-obs"],
)
def test_from_sb3_refuses(make, why, tmp_path):
    model = make()
    with pytest.raises(S.SB3Error, match=why):
        S.from_sb3(model)
    model.save(tmp_path / "m.zip")  # the file is refused for the same reason
    with pytest.raises(S.SB3Error, match=why):
        S.from_sb3(tmp_path / "m.zip")


def test_from_sb3_refuses_other_algorithms_and_files(tmp_path):
    a2c = sb3.A2C("MlpPolicy", _env(S._gym_space(VEC), S._gym_space(TWO)), device="cpu")
    with pytest.raises(S.SB3Error, match="A2C is not a stable_baselines3.PPO model"):
        S.from_sb3(a2c)
    a2c.save(tmp_path / "a2c.zip")
    with pytest.raises(S.SB3Error, match="is not a PPO model"):
        S.from_sb3(tmp_path / "a2c.zip")
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(S.SB3Error, match="not a Stable-Baselines3 model .zip"):
        S.from_sb3(tmp_path / "junk.zip")
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as z:
        z.writestr("other", "x")
    with pytest.raises(S.SB3Error, match="no 'data' and 'policy.pth'"):
        S.from_sb3(tmp_path / "empty.zip")


def _rewrite(src, dst, change_data=None, change_weights=None):
    """Copy an SB3 .zip, changing its JSON data and/or its policy weights on the way."""
    import io

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.namelist():
            body = zin.read(item)
            if item == "data" and change_data:
                data = json.loads(body)
                change_data(data)
                body = json.dumps(data).encode()
            if item == "policy.pth" and change_weights:
                weights = torch.load(io.BytesIO(body), weights_only=True)
                change_weights(weights)
                buf = io.BytesIO()
                torch.save(weights, buf)
                body = buf.getvalue()
            zout.writestr(item, body)


def test_a_crafted_file_is_refused_in_one_line(tmp_path):
    _sb3_model(Box((3,)), Discrete(2)).save(tmp_path / "m.zip")
    _rewrite(tmp_path / "m.zip", tmp_path / "a.zip", change_data=lambda d: d.update(n_steps="many"))
    with pytest.raises(S.SB3Error, match="not what Stable-Baselines3 writes"):
        S.from_sb3(tmp_path / "a.zip")
    _rewrite(tmp_path / "m.zip", tmp_path / "b.zip", change_weights=lambda w: w["action_net.bias"].fill_(float("nan")))
    with pytest.raises(S.SB3Error, match="pi_head.bias holds NaN"):
        S.from_sb3(tmp_path / "b.zip")
    _rewrite(tmp_path / "m.zip", tmp_path / "c.zip", change_weights=lambda w: w.update(extra=torch.zeros(1)))
    with pytest.raises(S.SB3Error, match=r"not an MlpPolicy's: unexpected \['extra'\]"):
        S.from_sb3(tmp_path / "c.zip")


class _Payload:
    """Unpickling this runs code (what a hostile model file would do)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('ran')",))


def test_reading_a_zip_never_runs_what_it_pickled(tmp_path):
    model = _sb3_model(Box((3,)), Discrete(2))
    model.save(tmp_path / "m.zip")
    marker = tmp_path / "ran.txt"
    hostile = tmp_path / "hostile.zip"
    with zipfile.ZipFile(tmp_path / "m.zip") as src, zipfile.ZipFile(hostile, "w") as dst:
        for item in src.namelist():
            body = src.read(item)
            if item == "data":
                data = json.loads(body)
                payload = pickle.dumps(_Payload(str(marker)))
                data["observation_space"][":serialized:"] = base64.b64encode(payload).decode()
                body = json.dumps(data).encode()
            dst.writestr(item, body)
    with pytest.raises(S.SB3Error, match="observes builtins.exec"):
        S.from_sb3(hostile)
    assert not marker.exists()
    # SB3's own loader runs it (the reason the file is read as data), then fails on the space it got
    with pytest.raises(Exception):  # noqa: B017, PT011 - whichever error SB3 raises after the payload ran
        sb3.PPO.load(hostile, device="cpu")
    assert marker.read_text() == "ran"
