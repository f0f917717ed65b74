"""The one complete check of a saved training state, before any learner or policy is built from it.

``persistence.unpack_state`` checks the container (a safe ``.npz`` of plain arrays, nothing huge);
:func:`check_state` checks what it holds: every header entry of the right type and in range, the
config one of ours with values of the declared types, the spaces well formed and of sane size, and
exactly the arrays the config and spaces imply (each with its exact dtype and shape), all finite.
:func:`load_state` does both and is what every loader calls (learner, numpy policy, export, import,
the Brain's description), so a crafted or damaged state is refused with one line saying what is
wrong, never half-built into something that fails later. Numpy only: no torch needed.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

import numpy as np

from .arch import CNN_LAYERS, MIN_IMAGE_SIZE, cnn_kind
from .config import CONFIGS, NETWORK_FIELDS, DQNConfig, PPOConfig, SACConfig
from .memory import network_space
from .persistence import StateError, unpack_state
from .spaces import Box, Discrete, Hybrid, Image, MultiDiscrete, Space, action_nvec, obs_entries, space_from_dict

__all__ = ["CheckedState", "ModelLayout", "check_state", "load_state", "model_layout", "resumed_config"]

#: sizes a saved state may declare (checked before anything is allocated from them)
MAX_AGENTS = 100_000
MAX_OBS_VALUES = 1 << 20  # per observation entry
MAX_IMAGE_SIDE = 2048
MAX_ACTIONS = 1 << 16  # discrete choices in all, or continuous dimensions
MAX_STEPS = 1 << 62
#: agent steps a state may have been trained: a Brain shows them in a 32-bit property, and this
#: leaves room to train on (147 million steps) before it would overflow
MAX_TOTAL_STEPS = 2_000_000_000
#: the most the rollout or replay memory a state's config implies may take (allocated on loading)
MAX_MEMORY_BYTES = 16 << 30
#: the size of torch's CPU generator state (``torch.Generator().get_state()``: the Mersenne Twister's
#: 624 words and its extras), the same from torch 1.x to 2.13; numpy-only code checks it without torch
TORCH_RNG_BYTES = 5056

Config = PPOConfig | DQNConfig | SACConfig


def _fail(what: str) -> StateError:
    return StateError(f"the model's {what}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _int(header: dict, key: str, low: int = 0, high: int = MAX_STEPS, default: Any = None) -> int:
    v = header.get(key, default)
    if not _is_int(v) or not low <= v <= high:
        raise _fail(f"'{key}' must be a whole number from {low:,} to {high:,}, not {_short(v)}")
    return v


def _bool(header: dict, key: str, default: Any = None) -> bool:
    v = header.get(key, default)
    if not isinstance(v, bool):
        raise _fail(f"'{key}' must be true or false, not {_short(v)}")
    return v


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


# -- config and spaces -------------------------------------------------------------------------------

_FIELD_TYPES = {
    "int": _is_int,
    "float": _is_number,
    "str": lambda v: isinstance(v, str),
    "bool": lambda v: v is True or v is False,
}


_KIND_WORDS = {"int": "a whole number", "float": "a number", "str": "text", "bool": "true or false"}


def _config(algorithm: Any, d: Any) -> Config:
    if algorithm not in CONFIGS:
        raise _fail(f"algorithm {_short(algorithm)} is not one of {', '.join(repr(a) for a in sorted(CONFIGS))}")
    if not isinstance(d, dict):
        raise _fail(f"config must be a table of settings, not {type(d).__name__}")
    cls = CONFIGS[algorithm]
    fields = {f.name: str(f.type) for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key, value in d.items():
        kind = fields.get(key)
        if kind is None:
            continue  # unknown and retired keys: config_from_dict decides
        if not _FIELD_TYPES[kind](value):
            raise _fail(f"setting '{key}' must be {_KIND_WORDS[kind]}, not {_short(value)}")
        if kind == "float" and not math.isfinite(value):
            raise _fail(f"setting '{key}' is {value}, not a finite number")
    try:
        return cls.from_dict(d)  # type: ignore[return-value]
    except (TypeError, ValueError) as exc:
        raise _fail(f"config is not valid: {exc}") from None


def _space(d: Any, what: str) -> Space:
    if not isinstance(d, dict):
        raise _fail(f"{what} must be a table, not {_short(d)}")
    try:
        space = space_from_dict(d)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise _fail(f"{what} {_short(d)} is not valid ({type(exc).__name__}: {exc})") from None
    _check_space(space, what)
    return space


def _check_space(space: Space, what: str) -> None:
    if isinstance(space, Box):
        shape = space.shape
        if not shape or any(s < 1 for s in shape) or math.prod(shape) > MAX_OBS_VALUES:
            raise _fail(f"{what} has shape {shape}: each size must be at least 1, at most {MAX_OBS_VALUES:,} values")
        low, high = np.asarray(space.low, np.float64), np.asarray(space.high, np.float64)
        if np.isnan(low).any() or np.isnan(high).any() or (low > high).any():
            raise _fail(f"{what} has bounds that are not numbers or where low > high")
    elif isinstance(space, Image):
        dims = (space.height, space.width, space.channels)
        if not all(_is_int(x) for x in dims) or not all(1 <= x <= MAX_IMAGE_SIDE for x in dims[:2]):
            raise _fail(f"{what} is an image of {dims}: height and width must be whole numbers 1 to {MAX_IMAGE_SIDE}")
        if space.channels not in (1, 3, 4):
            raise _fail(f"{what} is an image with {space.channels} channels (1, 3 or 4)")
    elif isinstance(space, Discrete):
        if not _is_int(space.n) or not 1 <= space.n <= MAX_ACTIONS:
            raise _fail(f"{what} has {_short(space.n)} choices (1 to {MAX_ACTIONS:,})")
    elif isinstance(space, MultiDiscrete):
        if not space.nvec or any(n < 1 for n in space.nvec) or sum(space.nvec) > MAX_ACTIONS:
            raise _fail(f"{what} has branches {list(space.nvec)[:8]}: each needs at least 1 choice")
    elif isinstance(space, Hybrid):
        _check_space(space.continuous, f"{what} (continuous part)")
        _check_space(MultiDiscrete(space.nvec), f"{what} (discrete part)")
    else:  # a Dict: its entries
        for name, sub in space.spaces.items():  # type: ignore[attr-defined]
            if not isinstance(name, str) or not name.isidentifier():
                raise _fail(f"{what} has an entry named {_short(name)}")
            _check_space(sub, f"{what} entry '{name}'")


# -- the arrays a config and spaces imply ------------------------------------------------------------


@dataclasses.dataclass
class ModelLayout:
    """The parameters of the network a config and spaces build, in ``model.parameters()`` order."""

    params: dict[str, tuple[int, ...]]

    @property
    def count(self) -> int:
        return sum(math.prod(s) for s in self.params.values())


def _trunk(prefix: str, obs: Space, cfg: Config, out: dict[str, tuple[int, ...]], extra_inputs: int = 0) -> int:
    """Add a ``networks.Trunk``'s parameters under ``prefix``; return its output size."""
    d = extra_inputs
    for name, space in obs_entries(obs).items():
        if isinstance(space, Image):
            kind = cnn_kind(space, cfg.vis_encoder)
            h, w, c = space.shape
            for i, (channels, k, s) in enumerate(CNN_LAYERS[kind]):
                out[f"{prefix}encoder.cnns.{name}.{2 * i}.weight"] = (channels, c, k, k)
                out[f"{prefix}encoder.cnns.{name}.{2 * i}.bias"] = (channels,)
                h, w, c = (h - k) // s + 1, (w - k) // s + 1, channels
            if h < 1 or w < 1:
                m = MIN_IMAGE_SIZE[kind]
                raise _fail(
                    f"image '{name}' ({space.height}x{space.width}) is too small for the {kind} CNN (min {m}x{m})"
                )
            last = 2 * len(CNN_LAYERS[kind]) + 1  # after the conv/ReLU pairs and the Flatten
            out[f"{prefix}encoder.cnns.{name}.{last}.weight"] = (cfg.cnn_features, c * h * w)
            out[f"{prefix}encoder.cnns.{name}.{last}.bias"] = (cfg.cnn_features,)
            d += cfg.cnn_features
        else:
            d += math.prod(space.shape)
    for i in range(cfg.num_layers):
        out[f"{prefix}mlp.{2 * i}.weight"] = (cfg.hidden_units, d)
        out[f"{prefix}mlp.{2 * i}.bias"] = (cfg.hidden_units,)
        d = cfg.hidden_units
    return d


def model_layout(cfg: Config, obs: Space, act: Space) -> ModelLayout:
    """The parameter shapes of ``networks.ActorCritic`` (PPO), ``networks.QNetwork`` (DQN) or
    ``networks.SACModel`` (SAC), no torch."""
    out: dict[str, tuple[int, ...]] = {}
    if isinstance(cfg, SACConfig):
        a = math.prod(act.shape)
        out["log_alpha"] = ()
        d = _trunk("actor.", obs, cfg, out)
        out["pi_head.weight"], out["pi_head.bias"] = (a, d), (a,)
        out["log_std_head.weight"], out["log_std_head.bias"] = (a, d), (a,)
        for q in ("q1", "q2"):
            d = _trunk(f"{q}.trunk.", obs, cfg, out, extra_inputs=a)
            out[f"{q}.head.weight"], out[f"{q}.head.bias"] = (1, d), (1,)
    elif isinstance(cfg, PPOConfig):
        continuous = isinstance(act, Box)
        action_dim = math.prod(act.shape) if continuous else sum(action_nvec(act))  # type: ignore[union-attr]
        if continuous:
            out["log_std"] = (action_dim,)  # the module's own parameter comes before its children's
        elif isinstance(act, Hybrid):  # the head: the Gaussian means, then every branch's logits
            out["log_std"] = (act.continuous.dim,)
            action_dim += act.continuous.dim
        obs = network_space(obs, cfg.stacked_observations)
        d = _trunk("actor.", obs, cfg, out)
        if cfg.use_memory:  # training.recurrent.RecurrentActorCritic: a GRU cell, both heads on its state
            h = cfg.memory_size
            out["memory.weight_ih"], out["memory.weight_hh"] = (3 * h, d), (3 * h, h)
            out["memory.bias_ih"], out["memory.bias_hh"] = (3 * h,), (3 * h,)
            out["pi_head.weight"], out["pi_head.bias"] = (action_dim, h), (action_dim,)
            out["v_head.weight"], out["v_head.bias"] = (1, h), (1,)
            return ModelLayout(out)
        if not cfg.shared_network:
            _trunk("critic.", obs, cfg, out)
        out["pi_head.weight"], out["pi_head.bias"] = (action_dim, d), (action_dim,)
        out["v_head.weight"], out["v_head.bias"] = (1, d), (1,)
    else:
        d = _trunk("trunk.", obs, cfg, out)
        n = act.n  # type: ignore[attr-defined]
        out["q_head.weight"], out["q_head.bias"] = (n, d), (n,)
    return ModelLayout(out)


def _obs_dtype(space: Box | Image) -> np.dtype:
    return np.dtype(np.uint8 if isinstance(space, Image) and space.dtype == "uint8" else np.float32)


def _obs_bytes(obs: Space) -> int:
    return sum(math.prod(s.shape) * _obs_dtype(s).itemsize for s in obs_entries(obs).values())


def _expected(header: dict, cfg: Config, obs: Space, act: Space, agents: int, replay: int) -> dict[str, tuple]:
    """name -> (dtype, shape) of every array the state must hold, but the optimiser's and the torch
    generator's (checked in :func:`_check_arrays`). ``replay``: transitions in a DQN replay memory."""
    f32, f64, i64, b = (np.dtype(t) for t in (np.float32, np.float64, np.int64, bool))
    want: dict[str, tuple] = {}
    layout = model_layout(cfg, obs, act)
    for name, shape in layout.params.items():
        want[f"model/{name}"] = (f32, shape)
        if isinstance(cfg, DQNConfig) or (isinstance(cfg, SACConfig) and name.startswith(("q1.", "q2."))):
            want[f"target/{name}"] = (f32, shape)
    entries = obs_entries(obs)
    if cfg.normalize_obs:
        for k, s in entries.items():
            if isinstance(s, Box):
                want.update({f"obs_norm/{k}/mean": (f64, s.shape), f"obs_norm/{k}/var": (f64, s.shape)})
                want[f"obs_norm/{k}/count"] = (f64, ())
    if isinstance(cfg, PPOConfig) and cfg.normalize_reward:
        want.update({f"ret_norm/{n}": (f64, ()) for n in ("mean", "var", "count")})
        want["ret_norm/returns"] = (f64, (agents,))
    if not _bool(header, "has_buffers", False):
        return want
    if isinstance(cfg, PPOConfig):
        T, N = cfg.num_steps, agents
        for k, s in obs_entries(network_space(obs, cfg.stacked_observations)).items():
            want[f"buffer/obs/{k}"] = (_obs_dtype(s), (T, N, *s.shape))
        if cfg.use_memory:  # the memory each agent carries (training.recurrent)
            want["buffer/memory"] = (f32, (T, N, cfg.memory_size))
            want["memory/state"] = (f32, (N, cfg.memory_size))
        if cfg.stacked_observations > 1:
            for k, s in entries.items():
                if isinstance(s, Box):
                    want[f"memory/stack/{k}"] = (f32, (N, cfg.stacked_observations, s.dim))
        if isinstance(act, Box):
            want["buffer/actions"] = (f32, (T, N, math.prod(act.shape)))
        elif isinstance(act, Hybrid):  # raw continuous values, then the choices
            want["buffer/actions"] = (f32, (T, N, act.dim))
        else:
            want["buffer/actions"] = (i64, (T, N, len(action_nvec(act))))
        for name in ("logp", "values", "rewards"):
            want[f"buffer/{name}"] = (f32, (T, N))
        want["buffer/dones"] = want["buffer/active"] = (b, (T, N))
        want["buffer/last_values"] = (f32, (N,))
    else:
        size = replay
        for k, s in entries.items():
            want[f"buffer/obs/{k}"] = want[f"buffer/next_obs/{k}"] = (_obs_dtype(s), (size, *s.shape))
        sac = isinstance(cfg, SACConfig)
        want["buffer/actions"] = (f32, (size, math.prod(act.shape))) if sac else (i64, (size,))
        for name in ("rewards", "dones", "discounts"):
            want[f"buffer/{name}"] = (f32, (size,))
        want["buffer/meta"] = (i64, (2,))
        if getattr(cfg, "prioritized", False):
            want["buffer/priorities"], want["buffer/max_priority"] = (f64, (size,)), (f64, ())
        if _bool(header, "acted", False):
            want.update({f"last_obs/{k}": (_obs_dtype(s), (agents, *s.shape)) for k, s in entries.items()})
            want["last_actions"] = (f32, (agents, math.prod(act.shape))) if sac else (i64, (agents,))
    return want


# -- the check ---------------------------------------------------------------------------------------


def check_state(header: Any, arrays: dict[str, np.ndarray]) -> tuple[Config, Space, Space]:
    """Check a whole unpacked state; return its ``(config, obs_space, action_space)``.

    Raises :class:`StateError` (one line saying what is wrong) for anything a learner or policy
    could not be built from exactly: see the module docstring.
    """
    if not isinstance(header, dict):
        raise _fail(f"header must be a table, not {type(header).__name__}")
    cfg = _config(header.get("algorithm"), header.get("config"))
    obs = _space(header.get("obs_space"), "observation space")
    act = _space(header.get("action_space"), "action space")
    if not isinstance(obs, (Box, Image)) and not hasattr(obs, "spaces"):
        raise _fail(f"observation space {obs.describe()} is not a vector, an image or a set of them")
    if not isinstance(act, (Box, Discrete, MultiDiscrete, Hybrid)):
        raise _fail(f"action space {act.describe()} is not continuous or discrete")
    if isinstance(act, Hybrid) and not isinstance(cfg, PPOConfig):
        raise _fail(f"action space {act.describe()} (continuous and discrete together) is learned by PPO only")
    if isinstance(act, Hybrid) and (cfg.use_memory or cfg.stacked_observations > 1):  # type: ignore[union-attr]
        raise _fail(f"action space {act.describe()} (continuous and discrete together) has no memory")
    if isinstance(cfg, DQNConfig) and not isinstance(act, Discrete):
        raise _fail(f"action space {act.describe()} does not suit DQN, which needs one discrete choice")
    if isinstance(cfg, SACConfig) and not (isinstance(act, Box) and act.bounded):
        raise _fail(f"action space {act.describe()} does not suit SAC, which needs bounded continuous actions")
    box = act.continuous if isinstance(act, Hybrid) else act
    if isinstance(box, Box):
        if len(box.shape) != 1:
            raise _fail(f"action space {act.describe()} must be a flat vector")
        if isinstance(cfg, PPOConfig) and cfg.continuous_dist == "squashed" and not box.bounded:
            raise _fail("continuous actions are 'squashed' but have no finite bounds")
    cfg = _legacy_encoder(header, cfg, arrays)
    agents = _int(header, "num_agents", 1, MAX_AGENTS)
    _int(header, "seed", 0, (1 << 63) - 1)
    steps = _int(header, "total_steps", 0, MAX_TOTAL_STEPS)
    _int(header, "num_updates")
    _int(header, "run_start", 0, MAX_STEPS, steps)
    _int(header, "run_steps", 1, MAX_STEPS, 1)
    _check_memory(cfg, obs, agents)
    _check_counters(header, cfg, agents)
    from .common import rng_from_json

    try:
        rng_from_json(header.get("rng_numpy"))
    except ValueError as exc:
        raise _fail(f"numpy random state is not valid: {exc}") from None
    replay = 0
    if isinstance(cfg, DQNConfig | SACConfig) and _bool(header, "has_buffers", False):
        meta = arrays.get("buffer/meta")
        if meta is None or meta.dtype != np.int64 or meta.shape != (2,):
            raise _fail("replay memory has no valid 'buffer/meta' (position, size)")
        pos, size = (int(x) for x in meta)
        if not 0 <= size <= cfg.buffer_size or not 0 <= pos < max(cfg.buffer_size, 1):
            raise _fail(f"replay memory says position {pos:,} and size {size:,} in a memory of {cfg.buffer_size:,}")
        replay = size
    want = _expected(header, cfg, obs, act, agents, replay)
    layout = model_layout(cfg, obs, act)
    _check_arrays(arrays, want, layout, act)
    _check_groups(header.get("optimizer_groups"), len(layout.params))
    return cfg, obs, act


def _legacy_encoder(header: dict[str, Any], cfg: Config, arrays: dict[str, np.ndarray]) -> Config:
    """A model saved while 'auto' still chose the compact encoder under 64 px (its first convolution
    16 x 8 x 8, where 'small' has 16 x 4 x 4 and 'nature' 32 x 8 x 8) is read as 'compact'."""
    if getattr(cfg, "vis_encoder", None) != "auto":
        return cfg
    for key, value in arrays.items():
        if key.endswith(".0.weight") and "encoder.cnns." in key and value.ndim == 4:
            if value.shape[0] == 16 and value.shape[2:] == (8, 8):
                header["config"] = {**header["config"], "vis_encoder": "compact"}
                return cfg.replace(vis_encoder="compact")
    return cfg


def _check_memory(cfg: Config, obs: Space, agents: int) -> None:
    per = _obs_bytes(obs) + 32
    if isinstance(cfg, PPOConfig):
        need, what = cfg.num_steps * agents * per, f"a rollout of num_steps {cfg.num_steps:,} x {agents:,} agents"
    else:
        need, what = cfg.buffer_size * (2 * per), f"a replay memory of buffer_size {cfg.buffer_size:,}"
    if need > MAX_MEMORY_BYTES:
        raise _fail(f"config asks for {what}: {need / 2**30:,.0f} GiB (the limit is {MAX_MEMORY_BYTES >> 30} GiB)")


def _check_groups(groups: Any, params: int) -> None:
    """What the learner saved of its optimiser's settings: one group holding every parameter.

    Only checked, never loaded: the learner keeps its own optimiser's settings (see ``Learner._restore``).
    """
    if (
        not isinstance(groups, list)
        or len(groups) != 1
        or not isinstance(groups[0], dict)
        or groups[0].get("params") != list(range(params))
    ):
        raise _fail(f"'optimizer_groups' must be one group of the {params} parameters, not {_short(groups)}")


def _check_counters(header: dict, cfg: Config, agents: int) -> None:
    episodes = header.get("episodes")
    if not isinstance(episodes, dict):
        raise _fail(f"'episodes' must be a table, not {_short(episodes)}")
    for key, length in (("returns", agents), ("lengths", agents), ("recent_returns", None), ("recent_lengths", None)):
        v = episodes.get(key)
        if (
            not isinstance(v, list)
            or (length is not None and len(v) != length)
            or len(v) > 100_000
            or not all(_is_number(x) and math.isfinite(x) for x in v)
        ):
            raise _fail(f"episode statistic '{key}' must be a list of {length or 'some'} finite numbers")
    _int(episodes, "episodes")
    losses = header.get("losses", {})
    if not isinstance(losses, dict) or not all(isinstance(k, str) and _is_number(v) for k, v in losses.items()):
        raise _fail("'losses' must be a table of numbers")
    if _bool(header, "has_buffers", False):
        _bool(header, "update_ready")
        _bool(header, "acted")
        if isinstance(cfg, PPOConfig):
            _int(header, "t", 0, cfg.num_steps)
    if isinstance(cfg, DQNConfig | SACConfig):
        for key in ("gradient_steps_done", "since_train", "pending_grad_steps"):
            _int(header, key)
        _bool(header, "update_ready")


def _check_arrays(arrays: dict[str, np.ndarray], want: dict[str, tuple], layout: ModelLayout, act: Space) -> None:
    optim = {k: v for k, v in arrays.items() if k.startswith("optim/")}
    signals = {k for k in arrays if k.startswith("signals/")}  # PPO's reward signals: checked as they load
    extra = sorted(set(arrays) - set(want) - set(optim) - signals - {"rng/torch", "buffer/masks"})
    if extra:
        raise _fail(f"arrays include {_names(extra)}, which this model does not have")
    missing = sorted(set(want) - set(arrays) - {"buffer/active"})  # states from before the mask: all real
    if missing:
        raise _fail(f"arrays are missing {_names(missing)}")
    for name, (dtype, shape) in want.items():
        if name in arrays:
            _check_array(name, arrays[name], dtype, shape)
    if "buffer/masks" in arrays:
        if isinstance(act, Box) or "buffer/actions" not in want:
            raise _fail("array 'buffer/masks' belongs to no discrete rollout")
        T, N = want["buffer/actions"][1][:2]
        _check_array("buffer/masks", arrays["buffer/masks"], np.dtype(bool), (T, N, sum(action_nvec(act))))
    if "rng/torch" not in arrays:
        raise _fail("arrays are missing 'rng/torch'")
    _check_array("rng/torch", arrays["rng/torch"], np.dtype(np.uint8), (TORCH_RNG_BYTES,))
    # the optimiser (Adam): for each parameter either nothing yet or its step and both moments
    shapes = list(layout.params.values())
    f32 = np.dtype(np.float32)
    for key, arr in optim.items():
        idx, _, part = key[len("optim/") :].partition("/")
        if not idx.isdigit() or int(idx) >= len(shapes) or part not in ("step", "exp_avg", "exp_avg_sq"):
            raise _fail(f"array '{key}' is not the optimiser state of one of its {len(shapes)} parameters")
        _check_array(key, arr, f32, () if part == "step" else shapes[int(idx)])
        if (part == "step" or part == "exp_avg_sq") and (arr < 0).any():
            raise _fail(f"array '{key}' holds negative values")
    # all or nothing: Adam keeps moments for every parameter once it has stepped (none before)
    if optim and len(optim) != 3 * len(shapes):
        have = len({k.split("/")[1] for k in optim})
        raise _fail(f"optimiser state is incomplete ({len(optim)} arrays for {have} of {len(shapes)} parameters)")
    for name in ("obs_norm", "ret_norm"):
        for key, arr in arrays.items():
            if key.startswith(name + "/") and (key.endswith("/var") or key.endswith("/count")) and (arr < 0).any():
                raise _fail(f"array '{key}' holds negative values")
    _check_actions(arrays, act)


def _check_actions(arrays: dict[str, np.ndarray], act: Space) -> None:
    """Discrete actions in a saved rollout or replay memory must be choices that exist."""
    for key in ("buffer/actions", "last_actions"):
        a = arrays.get(key)
        if a is None or isinstance(act, Box) or a.size == 0:
            continue
        nvec = np.asarray(action_nvec(act))
        if isinstance(act, Hybrid):  # float choices after the continuous values: whole numbers in range
            d = a[..., act.continuous.dim :].reshape(-1, len(nvec))
            if not np.isfinite(a).all() or (d != np.round(d)).any() or (d < 0).any() or (d >= nvec).any():
                raise _fail(f"array '{key}' holds actions outside {act.describe()}")
            continue
        flat = a.reshape(-1, len(nvec)) if a.ndim == 3 else a.reshape(-1, 1)
        if (flat < 0).any() or (flat >= nvec[: flat.shape[1]]).any():
            raise _fail(f"array '{key}' holds actions outside {act.describe()}")


def _check_array(name: str, arr: np.ndarray, dtype: np.dtype, shape: tuple[int, ...]) -> None:
    if arr.dtype != dtype or arr.shape != tuple(shape):
        raise _fail(f"array '{name}' is {arr.dtype} {arr.shape}, expected {dtype} {tuple(shape)}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = int(arr.size - np.isfinite(arr).sum())
        raise StateError(f"the model has {bad:,} non-finite numbers (NaN or infinite) in '{name}'")


def _names(names: list[str]) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


@dataclasses.dataclass
class CheckedState:
    """A state that passed :func:`check_state`, with its config and spaces already parsed."""

    header: dict[str, Any]
    arrays: dict[str, np.ndarray]
    config: Config
    obs_space: Space
    action_space: Space

    @property
    def algorithm(self) -> str:
        return self.config.algorithm


def load_state(source: bytes | str | os.PathLike[str]) -> CheckedState:
    """``unpack_state`` then :func:`check_state`: the way every loader reads a state."""
    header, arrays = unpack_state(source)
    return CheckedState(header, arrays, *check_state(header, arrays))


#: settings a learner is built with (its network, normalisers, rollout and replay memory): a resumed
#: model keeps its own, or what it saves next would no longer match its arrays
BUILD_FIELDS = NETWORK_FIELDS + ("normalize_obs", "normalize_reward", "num_steps", "buffer_size", "prioritized")


def resumed_config(stored: Config, wanted: Config) -> Config:
    """``wanted`` (the Brain's settings now) with the :data:`BUILD_FIELDS` of the resumed ``stored`` config."""
    if type(stored) is not type(wanted):
        return stored
    return wanted.replace(**{f: getattr(stored, f) for f in BUILD_FIELDS if hasattr(stored, f)})
