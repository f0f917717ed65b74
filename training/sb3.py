"""Stable-Baselines3 interop: a PPO learner as an SB3 ``PPO`` .zip, and an SB3 ``MlpPolicy`` PPO as a learner.

Our PPO network is SB3's ``ActorCriticPolicy`` layer for layer (``FlattenExtractor``, then separate
policy and value MLPs, ``action_net``, ``value_net`` and, for Box actions, a state-independent
``log_std``), so the weights are copied as they are and deterministic actions and values agree to
float rounding:

- :func:`to_sb3` writes a .zip that ``stable_baselines3.PPO.load`` opens; its
  ``predict(obs, deterministic=True)`` is our ``Learner.predict(obs, deterministic=True)``.
- :func:`from_sb3` builds a :class:`~.ppo.PPOLearner` from an SB3 PPO model or .zip; its actions are
  SB3's. A .zip is read as data, nothing in it is imported or called (see :func:`read_sb3_zip`), so a
  model file from a stranger cannot run code; a model object the caller loaded is taken as it is.

What does not map one-to-one (see docs/training.md, "Stable-Baselines3"): a normaliser is folded into
the first layers (SB3 has none in the policy) without its clip; a shared trunk is written as two equal
copies; Adam's moments and the normaliser statistics are not carried; squashed Gaussians (SB3: gSDE
only), gSDE, images and Dict observations are refused with :class:`SB3Error`.

SB3, gymnasium and torch are imported only when used; reading a .zip needs torch alone.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.limits import LIMITS
from .config import PPOConfig
from .sb3_zip import SB3Error, _Inert, _Unreadable, read_sb3_zip
from .spaces import Box, Discrete, MultiDiscrete, Space

__all__ = ["SB3Error", "config_from_sb3", "from_sb3", "read_sb3_zip", "sb3_hyperparameters", "to_sb3"]

_ACTIVATIONS = {"tanh": "Tanh", "relu": "ReLU"}
_POLICY = "stable_baselines3.common.policies.ActorCriticPolicy"
_FLATTEN = "stable_baselines3.common.torch_layers.FlattenExtractor"
_ADAM = "torch.optim.adam.Adam"


def _sb3() -> Any:
    try:
        import stable_baselines3
    except ImportError as exc:
        raise SB3Error(
            f"Stable-Baselines3 interop needs the stable-baselines3 package, which is not installed ({exc})"
        ) from None
    return stable_baselines3


# -- hyper-parameters ----------------------------------------------------------------------------


def _schedule(kind: str, value: float) -> Any:
    from stable_baselines3.common.utils import LinearSchedule

    # SB3's progress_remaining runs 1 -> 0 over learn(total_timesteps): our 'linear' (to 0 over the run)
    return LinearSchedule(value, 0.0, 1.0) if kind == "linear" else float(value)


def sb3_hyperparameters(config: PPOConfig) -> dict[str, Any]:
    """The ``stable_baselines3.PPO(...)`` keyword arguments (and ``policy_kwargs``) that mean ``config``.

    Learning-rate and clip-range schedules become SB3 ``LinearSchedule`` objects; ``clip_vloss`` is
    ``clip_range_vf`` equal to the clip range; ``target_kl`` 0 is None and ``max_grad_norm`` 0 is
    infinity (both "off"). ``policy_kwargs`` always spell out the network.
    """
    _sb3()
    from torch import nn

    clip = _schedule(config.clip_schedule, config.clip_coef)
    arch = [int(config.hidden_units)] * int(config.num_layers)
    return {
        "learning_rate": _schedule(config.lr_schedule, config.learning_rate),
        "n_steps": int(config.num_steps),
        "batch_size": int(config.minibatch_size),
        "n_epochs": int(config.num_epochs),
        "gamma": float(config.gamma),
        "gae_lambda": float(config.gae_lambda),
        "clip_range": clip,
        "clip_range_vf": clip if config.clip_vloss else None,
        "normalize_advantage": bool(config.normalize_advantage),
        "ent_coef": float(config.ent_coef),
        "vf_coef": float(config.vf_coef),
        "max_grad_norm": float(config.max_grad_norm) if config.max_grad_norm > 0 else math.inf,
        "target_kl": float(config.target_kl) if config.target_kl > 0 else None,
        "policy_kwargs": {
            "net_arch": {"pi": list(arch), "vf": list(arch)},
            "activation_fn": getattr(nn, _ACTIVATIONS[config.activation]),
            "ortho_init": bool(config.ortho_init),
            "log_std_init": float(config.log_std_init),
            "optimizer_kwargs": {"eps": float(config.adam_eps)},
        },
    }


def _name(obj: Any) -> str:
    """``module.Name`` of a class, of an instance's class, or of what a model file named (an inert stand-in)."""
    cls = obj if isinstance(obj, type) else type(obj)
    if issubclass(cls, _Inert):
        return f"{cls.module}.{cls.name}"
    return f"{cls.__module__}.{cls.__qualname__}"


def _read_schedule(value: Any, what: str, notes: list[str]) -> tuple[str, float]:
    """An SB3 float or schedule as (our schedule kind, start value)."""
    if isinstance(value, _Unreadable):
        raise value.error(what)
    while _name(value).endswith(".FloatSchedule"):
        value = getattr(value, "value_schedule", None)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "constant", float(value)
    kind = _name(value).rsplit(".", 1)[-1]
    if kind == "ConstantSchedule" and isinstance(getattr(value, "val", None), (int, float)):
        return "constant", float(value.val)
    if kind == "LinearSchedule":
        start, end, frac = (getattr(value, k, None) for k in ("start", "end", "end_fraction"))
        if all(isinstance(v, (int, float)) for v in (start, end, frac)):
            if end == 0 and frac == 1:
                return "linear", float(start)
            notes.append(f"{what}: LinearSchedule({start} -> {end} over {frac} of the run) taken as constant {start}")
            return "constant", float(start)
    inert = isinstance(value, _Inert) or (isinstance(value, type) and issubclass(value, _Inert))
    if callable(value) and not inert:  # a model object the caller loaded: their function
        start = float(value(1.0))
        notes.append(f"{what}: the {kind} schedule is taken as constant {start:g} (its value at the start)")
        return "constant", start
    raise SB3Error(f"the model's {what} is a {kind} schedule: only constants and LinearSchedule convert")


def config_from_sb3(params: Any, policy: Any, notes: list[str] | None = None) -> PPOConfig:
    """Our PPOConfig for an SB3 PPO's hyper-parameters (``params``: a model or :func:`read_sb3_zip`'s data)
    and its network (``policy``: :class:`_Policy`). What has no equivalent is appended to ``notes``."""
    notes = [] if notes is None else notes
    lr_kind, lr = _read_schedule(params.learning_rate, "learning rate", notes)
    clip_kind, clip = _read_schedule(params.clip_range, "clip range", notes)
    clip_vloss = params.clip_range_vf is not None
    if clip_vloss:
        vf_kind, vf = _read_schedule(params.clip_range_vf, "value clip range", notes)
        if (vf_kind, vf) != (clip_kind, clip):
            notes.append(f"clip_range_vf {vf} differs from clip_range {clip}: values are clipped with clip_range")
    max_grad = float(params.max_grad_norm)
    if not max_grad <= 1e6:
        max_grad = 0.0  # ours: 0 is off
    target_kl = 0.0 if params.target_kl is None else float(params.target_kl)
    values = {
        "learning_rate": lr,
        "lr_schedule": lr_kind,
        "num_steps": int(params.n_steps),
        "minibatch_size": int(params.batch_size),
        "num_epochs": int(params.n_epochs),
        "gamma": float(params.gamma),
        "gae_lambda": float(params.gae_lambda),
        "clip_coef": clip,
        "clip_schedule": clip_kind,
        "clip_vloss": clip_vloss,
        "vf_coef": float(params.vf_coef),
        "ent_coef": float(params.ent_coef),
        "max_grad_norm": max_grad,
        "target_kl": target_kl,
        "normalize_advantage": bool(params.normalize_advantage),
        "normalize_obs": False,
        "normalize_reward": False,
        "hidden_units": policy.hidden_units,
        "num_layers": policy.num_layers,
        "activation": policy.activation,
        "shared_network": False,
        "continuous_dist": "clipped",
        "log_std_init": policy.log_std_init,
        "ortho_init": policy.ortho_init,
        "adam_eps": policy.adam_eps,
    }
    try:
        return PPOConfig(**values)
    except ValueError as exc:  # SettingsError included: a value outside our ranges
        raise SB3Error(f"the model's hyper-parameters do not fit a PPO Brain: {exc}") from None


# -- the network -----------------------------------------------------------------------------------


@dataclass
class _Policy:
    """What an SB3 ActorCriticPolicy is, in our terms."""

    hidden_units: int
    num_layers: int
    activation: str
    log_std_init: float
    ortho_init: bool
    adam_eps: float
    weights: dict[str, Any] = field(repr=False)


def _layers(weights: dict[str, Any], prefix: str) -> list[int]:
    """Indices of the Linear layers in an SB3 ``nn.Sequential`` (Linear, activation, Linear, ...)."""
    found = []
    for k in weights:
        head, _, rest = k[len(prefix) :].partition(".")
        if k.startswith(prefix) and rest == "weight" and head.isdigit():
            found.append(int(head))
    return sorted(found)


def _read_policy(params: Any, weights: dict[str, Any], continuous: bool, notes: list[str]) -> _Policy:
    """Check an SB3 policy is an MlpPolicy we can be and describe it; :class:`SB3Error` saying why not."""
    policy_class = getattr(params, "policy_class", None)
    if _name(policy_class) != _POLICY:
        raise SB3Error(
            f"the model's policy is {_name(policy_class)}; only the MlpPolicy (ActorCriticPolicy) converts "
            "(CnnPolicy and MultiInputPolicy: image and Dict observations are not built)"
        )
    kwargs = getattr(params, "policy_kwargs", None) or {}
    if not isinstance(kwargs, dict):
        raise SB3Error("the model's policy_kwargs cannot be read")
    if getattr(params, "use_sde", False) or kwargs.get("use_sde"):
        raise SB3Error("the model explores with gSDE (use_sde=True), which a Brain's PPO does not have")
    if kwargs.get("squash_output"):
        raise SB3Error("the model squashes its actions (squash_output=True, gSDE only), which does not convert")
    extractor = kwargs.get("features_extractor_class")
    if extractor is not None and _name(extractor) != _FLATTEN:
        raise SB3Error(f"the model's features extractor is {_name(extractor)}; only FlattenExtractor converts")
    activation = kwargs.get("activation_fn")
    act_name = "torch.nn.modules.activation.Tanh" if activation is None else _name(activation)  # SB3's default
    ours = {f"torch.nn.modules.activation.{v}": k for k, v in _ACTIVATIONS.items()}
    if act_name not in ours:
        raise SB3Error(f"the model's activation is {act_name}; only Tanh and ReLU convert")
    optimizer = kwargs.get("optimizer_class")
    if optimizer is not None and _name(optimizer) != _ADAM:
        notes.append(f"the model's optimizer is {_name(optimizer)}; the Brain trains with Adam")
    opt_kwargs = kwargs.get("optimizer_kwargs") or {"eps": 1e-5}  # ActorCriticPolicy's default for Adam
    eps = opt_kwargs.get("eps", 1e-8) if isinstance(opt_kwargs, dict) else 1e-8
    if isinstance(opt_kwargs, dict) and set(opt_kwargs) - {"eps"}:
        notes.append(f"optimizer_kwargs {sorted(set(opt_kwargs) - {'eps'})} are not carried over")

    pi, vf = "mlp_extractor.policy_net.", "mlp_extractor.value_net."
    expected = {"action_net.weight", "action_net.bias", "value_net.weight", "value_net.bias"}
    expected |= {"log_std"} if continuous else set()
    pi_idx, vf_idx = _layers(weights, pi), _layers(weights, vf)
    for prefix, idx in ((pi, pi_idx), (vf, vf_idx)):
        if idx != list(range(0, 2 * len(idx), 2)):
            raise SB3Error(f"the model's {prefix.rstrip('.')} is not a plain MLP (layers {idx})")
        expected |= {f"{prefix}{i}.{p}" for i in idx for p in ("weight", "bias")}
    extra = sorted(set(weights) - expected)
    missing = sorted(expected - set(weights))
    if extra or missing:
        what = [f"unexpected {extra[:4]}"] if extra else []
        what += [f"missing {missing[:4]}"] if missing else []
        raise SB3Error(f"the model's weights are not an MlpPolicy's: {'; '.join(what)}")
    widths = {p: [int(weights[f"{p}{i}.weight"].shape[0]) for i in idx] for p, idx in ((pi, pi_idx), (vf, vf_idx))}
    if widths[pi] != widths[vf] or len(set(widths[pi])) > 1:
        raise SB3Error(
            f"the model's net_arch is pi={widths[pi]}, vf={widths[vf]}; a Brain's network has policy and value "
            "networks of the same layers, all of one width"
        )
    hidden = widths[pi][0] if widths[pi] else 64
    return _Policy(
        hidden_units=hidden,
        num_layers=len(widths[pi]),
        activation=ours[act_name],
        log_std_init=float(kwargs.get("log_std_init", 0.0)),
        ortho_init=bool(kwargs.get("ortho_init", True)),
        adam_eps=float(eps),
        weights=weights,
    )


def _our_weights(policy: _Policy) -> dict[str, Any]:
    """SB3 policy weights under our ``ActorCritic`` names."""
    out = {}
    for k, v in policy.weights.items():
        k = k.replace("mlp_extractor.policy_net.", "actor.mlp.").replace("mlp_extractor.value_net.", "critic.mlp.")
        k = k.replace("action_net.", "pi_head.").replace("value_net.", "v_head.")
        out[k] = v
    return out


def _sb3_weights(learner: Any) -> dict[str, Any]:
    """Our ``ActorCritic`` weights under SB3 names: a shared trunk twice, a normaliser folded into the first layers."""
    import torch

    sd = {k: v.detach().clone() for k, v in learner.model.state_dict().items()}
    if learner.model.critic is None:  # shared trunk: SB3's value network gets an equal copy
        sd.update({k.replace("actor.", "critic.", 1): v.clone() for k, v in list(sd.items()) if k.startswith("actor.")})
    rms = learner.obs_proc.rms.get("obs")
    if rms is not None:
        # (x - mean) / std then W, b  ==  x then W / std, b - (W / std) @ mean   (without the clip)
        std = np.sqrt(rms.var.reshape(-1) + 1e-8)
        mean = rms.mean.reshape(-1)
        firsts = ["actor.mlp.0", "critic.mlp.0"] if learner.config.num_layers else ["pi_head", "v_head"]
        for name in firsts:
            w = sd[f"{name}.weight"].double().numpy() / std
            b = sd[f"{name}.bias"].double().numpy() - w @ mean
            sd[f"{name}.weight"] = torch.from_numpy(w.astype(np.float32))
            sd[f"{name}.bias"] = torch.from_numpy(b.astype(np.float32))
    out = {}
    for k, v in sd.items():
        k = k.replace("actor.mlp.", "mlp_extractor.policy_net.").replace("critic.mlp.", "mlp_extractor.value_net.")
        k = k.replace("pi_head.", "action_net.").replace("v_head.", "value_net.")
        out[k] = v
    return out


# -- spaces ------------------------------------------------------------------------------------------


def _gym_space(space: Space) -> Any:
    from gymnasium import spaces as gs

    if isinstance(space, Box):
        return gs.Box(space.low_array().astype(np.float32), space.high_array().astype(np.float32), dtype=np.float32)
    if isinstance(space, Discrete):
        return gs.Discrete(int(space.n))
    if isinstance(space, MultiDiscrete):
        return gs.MultiDiscrete(np.asarray(space.nvec, np.int64))
    raise SB3Error(f"{space.describe()} does not convert")


def _bounds(arr: Any) -> float | tuple[float, ...]:
    flat = np.asarray(arr, np.float64).ravel()
    return float(flat[0]) if flat.size and np.all(flat == flat[0]) else tuple(float(x) for x in flat)


def _space_kind(space: Any) -> str:
    """'Box', 'Discrete', ... for a gymnasium (or gym) space, real or a stand-in read from a file; else its name."""
    module, _, kind = _name(space).rpartition(".")
    return kind if module.startswith(("gymnasium.spaces.", "gym.spaces.")) else _name(space)


def _attr(space: Any, name: str, what: str) -> np.ndarray:
    """A numeric array attribute of a space (``_shape``, ``low``, ``n``, ...), checked."""
    value = np.asarray(getattr(space, name, None))
    if value.dtype.kind not in "biuf" or value.size > LIMITS["observation_size"]:
        raise SB3Error(f"the model's {what} space has no readable '{name}'")
    return value


def _box(space: Any, what: str) -> Box:
    shape = tuple(int(s) for s in _attr(space, "_shape", what).reshape(-1))
    low, high = _attr(space, "low", what), _attr(space, "high", what)
    if low.shape != shape or high.shape != shape:
        raise SB3Error(f"the model's {what} Box has bounds of shape {low.shape}, not {shape}")
    return Box(shape, _bounds(low), _bounds(high))


def _our_space(space: Any, what: str) -> Space:
    """A gymnasium space of an SB3 model (observations: a float Box; actions: Discrete, MultiDiscrete, 1-D Box).

    Read by attribute, so a stand-in from a file (no gymnasium needed) and a real space convert alike.
    """
    kind = _space_kind(space)
    if what == "observations":
        if kind != "Box":
            raise SB3Error(
                f"the model observes {kind}; only vector (Box) observations convert (Dict and image observations "
                "are not built)"
            )
        dtype = getattr(space, "dtype", None)
        if not isinstance(dtype, np.dtype) or dtype.kind != "f":
            raise SB3Error(f"the model observes a {dtype} Box (an image?); only float vectors convert")
        return _box(space, "observation")
    if kind == "Discrete":
        n, start = _attr(space, "n", "action"), _attr(space, "start", "action")
        if n.shape != () or start.shape != () or int(start) != 0 or int(n) < 1:
            raise SB3Error(f"the model's actions are Discrete({n}, start={start}); only start 0 converts")
        return Discrete(int(n))
    if kind == "MultiDiscrete":
        nvec, start = _attr(space, "nvec", "action"), np.asarray(getattr(space, "start", 0))
        if nvec.ndim != 1 or np.any(start != 0) or np.any(nvec < 1):
            raise SB3Error("the model's MultiDiscrete actions must be 1-D and start at 0")
        return MultiDiscrete(tuple(int(n) for n in nvec))
    if kind == "Box":
        box = _box(space, "action")
        if len(box.shape) != 1:
            raise SB3Error(f"the model's continuous actions have shape {box.shape}; only 1-D Box actions convert")
        return box
    raise SB3Error(f"the model's actions are {kind}, which a Brain cannot have")


# -- the two directions ------------------------------------------------------------------------------


def from_sb3(
    source: Any,
    num_agents: int | None = None,
    seed: int = 0,
    obs_space: Space | None = None,
    notes: list[str] | None = None,
) -> Any:
    """A PPO learner with the network and hyper-parameters of an SB3 PPO ``MlpPolicy`` model.

    ``source``: an SB3 ``PPO`` object, or the path of its .zip (read as data by :func:`read_sb3_zip`).
    ``num_agents`` defaults to the model's ``n_envs``. ``obs_space`` (same shape) replaces the model's
    observation bounds, which the policy never reads. The learner's deterministic actions and values
    are SB3's; its step count is the model's ``num_timesteps``. What does not carry over is appended
    to ``notes``; what cannot convert raises :class:`SB3Error`.
    """
    notes = [] if notes is None else notes
    if isinstance(source, (str, os.PathLike)):
        params, weights = read_sb3_zip(source)
        if not all(hasattr(params, k) for k in ("clip_range", "n_epochs", "batch_size", "n_steps")):
            raise SB3Error(f"{os.fspath(source)} is not a PPO model (A2C, DQN, SAC... do not convert)")
    else:
        sb3 = _sb3()
        if not isinstance(source, sb3.PPO):
            raise SB3Error(f"{type(source).__name__} is not a stable_baselines3.PPO model")
        params, weights = source, source.policy.state_dict()
    try:
        learner = _build(params, weights, num_agents, seed, obs_space, notes)
    except SB3Error:
        raise
    except (AttributeError, KeyError, TypeError, ValueError) as exc:  # a file of other making than SB3's
        raise SB3Error(f"the model is not what Stable-Baselines3 writes ({type(exc).__name__}: {exc})") from None
    steps = getattr(params, "num_timesteps", 0)
    learner.total_steps = int(steps) if isinstance(steps, int) and 0 <= steps < 2_000_000_000 else 0
    notes.append("Adam's moments start fresh")
    return learner


def _build(
    params: Any, weights: dict[str, Any], num_agents: int | None, seed: int, obs_space: Space | None, notes: list[str]
) -> Any:
    """The learner :func:`from_sb3` returns, from a model's data and policy weights."""
    import torch

    from .factory import make_learner

    for key in ("observation_space", "action_space", "policy_class", "policy_kwargs"):
        if isinstance(getattr(params, key, None), _Unreadable):
            raise getattr(params, key).error(key.replace("_", " "))
    obs = _our_space(params.observation_space, "observations")
    act = _our_space(params.action_space, "actions")
    if obs_space is not None:
        if not isinstance(obs_space, Box) or obs_space.shape != obs.shape:
            raise SB3Error(f"the model observes Box{obs.shape}, not {obs_space.describe()}")
        obs = obs_space
    policy = _read_policy(params, weights, isinstance(act, Box), notes)
    config = config_from_sb3(params, policy, notes)
    n = int(getattr(params, "n_envs", 1) or 1) if num_agents is None else int(num_agents)
    try:
        learner = make_learner(config, obs, act, num_agents=n, seed=seed)
    except ValueError as exc:
        raise SB3Error(f"the model does not fit a PPO Brain: {exc}") from None
    own = learner.model.state_dict()
    theirs = {}
    for k, v in _our_weights(policy).items():
        if not isinstance(v, torch.Tensor) or v.shape != own[k].shape:
            raise SB3Error(f"the model's weight {k} is {tuple(getattr(v, 'shape', ()))}, not {tuple(own[k].shape)}")
        if not torch.isfinite(v).all():
            raise SB3Error(f"the model's weight {k} holds NaN or infinite numbers")
        theirs[k] = v.detach().to(torch.float32)
    learner.model.load_state_dict(theirs, strict=True)
    return learner


class _SpacesEnv:
    """The smallest gymnasium env with the learner's spaces: SB3 needs one to build a PPO (never stepped)."""

    def __new__(cls, obs: Any, act: Any) -> Any:
        import gymnasium as gym

        class SpacesEnv(gym.Env):
            observation_space, action_space = obs, act

            def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
                super().reset(seed=seed)
                return np.zeros(obs.shape, np.float32), {}

            def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
                return np.zeros(obs.shape, np.float32), 0.0, True, False, {}

        return SpacesEnv()


def to_sb3(learner: Any, path: str | os.PathLike[str] | io.IOBase, notes: list[str] | None = None) -> Any:
    """Write ``learner`` (PPO) as an SB3 ``PPO`` .zip to ``path`` (a file name or a binary file); returns the model.

    ``stable_baselines3.PPO.load(path).predict(obs, deterministic=True)`` then equals
    ``learner.predict(obs, deterministic=True)``, and ``policy.predict_values`` its values. An
    observation normaliser is folded into the first layers (exact, but SB3 does not clip: observations
    further than ``obs_clip`` standard deviations from the mean act differently). What does not carry
    over is appended to ``notes``; what cannot convert raises :class:`SB3Error`.
    """
    notes = [] if notes is None else notes
    if getattr(learner, "algorithm", None) != "ppo":
        raise SB3Error(f"only PPO converts to Stable-Baselines3 PPO (this model is {str(learner.algorithm).upper()})")
    if getattr(learner, "net_space", None) is not None:
        raise SB3Error("a PPO model with memory (Use Memory or Stacked Observations) does not convert to SB3 PPO")
    if getattr(learner.action_space, "kind", "") == "hybrid":
        raise SB3Error("the model's actions are hybrid (continuous and discrete together), which SB3's PPO cannot have")
    cfg = learner.config
    entries = learner.obs_proc.entries
    if list(entries) != ["obs"] or not isinstance(entries["obs"], Box):
        raise SB3Error(
            f"the model observes {learner.obs_space.describe()}; only vector observations convert to an SB3 MlpPolicy "
            "(images and several observations are not built)"
        )
    if isinstance(learner.action_space, Box) and cfg.continuous_dist == "squashed":
        raise SB3Error(
            "the model's continuous actions are a squashed (tanh) Gaussian; SB3's PPO squashes only with gSDE: "
            "set Continuous Dist to 'clipped' and retrain to export"
        )
    if cfg.normalize_advantage and (cfg.minibatch_size < 2 or cfg.num_steps * learner.num_agents < 2):
        raise SB3Error("SB3 needs a minibatch and a rollout of at least 2 transitions when normalising advantages")
    sb3 = _sb3()
    import torch
    from stable_baselines3.common.vec_env import DummyVecEnv

    obs, act = _gym_space(entries["obs"]), _gym_space(learner.action_space)
    env = DummyVecEnv([lambda: _SpacesEnv(obs, act)] * learner.num_agents)
    # SB3 initialises weights we overwrite: leave the global RNG alone. Its advice on a rollout that is
    # not a multiple of the minibatch is about its own training runs; ours cut minibatches the same way.
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="You have specified a mini-batch size", category=UserWarning)
        model = sb3.PPO("MlpPolicy", env, device="cpu", **sb3_hyperparameters(cfg))
    model.policy.load_state_dict(_sb3_weights(learner), strict=True)
    model.num_timesteps = int(learner.total_steps)
    model.seed = learner.seed  # recorded only: seeding SB3 here would reseed numpy's and Python's global RNGs
    model.env = None  # not saved anyway; the .zip holds no environment
    if cfg.normalize_obs:
        notes.append(
            f"observation normalisation is folded into the first layers without its clip (±{cfg.obs_clip:g}); "
            "the statistics stop updating"
        )
    if cfg.normalize_reward:
        notes.append("reward scaling has no place in an SB3 model (use VecNormalize(norm_reward=True) to train on)")
    if learner.model.critic is None:
        notes.append("the shared trunk is written as two equal copies, which SB3 trains apart")
    notes.append("Adam's moments start fresh")
    if isinstance(path, (str, os.PathLike)):
        with open(path, "wb") as f:  # SB3 given a name without a suffix would write NAME.zip instead
            model.save(f)
    else:
        model.save(path)
    return model
