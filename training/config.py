"""Flat, serialisable configurations, one dataclass per algorithm.

Every field is a str, int, float or bool with a one-line docstring right below it; the docstrings
are read back by ``field_docs`` (the Brain's UI tooltips) so keep them to one line.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import math
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from ..core.limits import LIMITS, Range, SettingsError, check_range

__all__ = [
    "LIMITS",
    "RANGES",
    "DQNConfig",
    "PPOConfig",
    "SACConfig",
    "Range",
    "SettingsError",
    "check_range",
    "config_from_dict",
    "field_docs",
    "field_label",
]

C = TypeVar("C", bound="_ConfigBase")
_TYPES = {"float": float, "int": int, "str": str, "bool": bool}
# Fields older versions stored that no longer exist; read and ignored so saved models keep loading.
# ``max_steps`` was the schedules' horizon: schedules now span each training run (``Learner.begin_run``).
_RETIRED = frozenset({"max_steps"})


#: the settings that shape a learner's network (the Brain panel groups them; a resumed model keeps them)
NETWORK_FIELDS = (
    "hidden_units",
    "num_layers",
    "activation",
    "shared_network",
    "vis_encoder",
    "cnn_features",
    "continuous_dist",
    "log_std_init",
    "ortho_init",
    "use_memory",
    "memory_size",
    "stacked_observations",
)


_UNIT = Range(0.0, 1.0)
_COUNT = Range(1, 1_000_000)
_CLIP = Range(0.0, 1e6, low_open=True)
# Every int and float field of PPOConfig, DQNConfig and SACConfig, by name (they share names and meanings).
# __post_init__ checks them and the Brain's Blender properties take their min/max from here.
RANGES: dict[str, Range] = {
    "learning_rate": Range(0.0, 1.0, low_open=True),
    "num_steps": _COUNT,
    "minibatch_size": _COUNT,
    "num_epochs": Range(1, 1000),
    "gamma": _UNIT,
    "gae_lambda": _UNIT,
    "clip_coef": Range(0.0, 10.0, low_open=True),
    "vf_coef": Range(0.0, 1000.0),
    "ent_coef": Range(0.0, 1.0),
    "max_grad_norm": Range(0.0, 1e6),
    "target_kl": Range(0.0, 10.0),
    "obs_clip": _CLIP,
    "reward_clip": _CLIP,
    "hidden_units": Range(1, LIMITS["hidden_units"]),
    "num_layers": Range(0, LIMITS["num_layers"]),
    "cnn_features": Range(1, LIMITS["cnn_features"]),
    "log_std_init": Range(-10.0, 5.0),
    "adam_eps": Range(0.0, 1.0, low_open=True),
    "buffer_size": Range(1, LIMITS["buffer_size"]),
    "learning_starts": Range(0, 2_000_000_000),
    "batch_size": _COUNT,
    "train_freq": _COUNT,
    "gradient_steps": Range(1, 1000),
    "target_update_interval": Range(1, 10_000_000),
    "tau": Range(0.0, 1.0, low_open=True),
    "exploration_initial_eps": _UNIT,
    "exploration_final_eps": _UNIT,
    "exploration_fraction": _UNIT,
    "n_step": Range(1, 100),
    "per_alpha": _UNIT,
    "per_beta": _UNIT,
    "per_eps": Range(0.0, 1.0, low_open=True),
    "target_entropy_scale": Range(-10.0, 10.0),
    "memory_size": Range(1, LIMITS["hidden_units"]),
    "sequence_length": Range(1, 1_000_000),
    "stacked_observations": Range(1, 64),
    "curiosity_strength": Range(0.0, 100.0),
    "rnd_strength": Range(0.0, 100.0),
    "gail_strength": Range(0.0, 100.0),
    "gail_gradient_penalty": Range(0.0, 1000.0),
    "signal_learning_rate": Range(0.0, 1.0, low_open=True),
    "signal_units": Range(1, 1024),
}


def field_label(name: str) -> str:
    """The UI label of a config field (``max_grad_norm`` -> ``Max Grad Norm``)."""
    return (
        name.replace("_", " ")
        .title()
        .replace("Lr ", "LR ")
        .replace("Kl", "KL")
        .replace("Obs", "Observation")
        .replace("Cnn", "CNN")
    )


def _check_ranges(cfg: Any) -> None:
    algo = cfg.algorithm.upper()
    for f in dataclasses.fields(cfg):
        if str(f.type) in ("int", "float"):
            check_range(f"{algo} {field_label(f.name)}", getattr(cfg, f.name), RANGES[f.name])


class _ConfigBase:
    """Shared (de)serialisation for the flat configs."""

    algorithm: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls: type[C], d: dict[str, Any]) -> C:
        """Build a config from a dict; unknown keys are an error (retired ones are ignored), missing
        keys take defaults."""
        fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        d = {k: v for k, v in d.items() if k not in _RETIRED}
        unknown = sorted(set(d) - set(fields))
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields: {', '.join(unknown)}")
        kwargs = {}
        for k, v in d.items():
            typ = _TYPES[str(fields[k].type)]
            if typ is bool and not isinstance(v, bool):
                raise TypeError(f"{cls.__name__}.{k} must be a bool, got {v!r}")
            if typ is int and isinstance(v, float) and not v.is_integer():  # NaN, inf, 64.5: refused by name
                if math.isfinite(v):
                    raise SettingsError(f"{cls.algorithm.upper()} {field_label(k)} is {v:g}; it must be a whole number")
                kwargs[k] = v
                continue
            kwargs[k] = typ(v)
        return cls(**kwargs)

    @classmethod
    def from_json(cls: type[C], s: str) -> C:
        return cls.from_dict(json.loads(s))

    def replace(self: C, **changes: Any) -> C:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


@dataclass
class PPOConfig(_ConfigBase):
    """Proximal Policy Optimisation (clipped objective, GAE). Defaults follow ML-Agents/rl-zoo.

    Except target_kl 0.015 (rl-zoo: off): an update's epochs stop early once the policy has moved
    far enough, so the many gradient steps of 128 / 64 / 10 do not overshoot on scenes of many agents.
    """

    # Why: one update sees num_steps x agents transitions, so the gradient steps per update grow with
    # the agents. With 128 / 64 / 10 and no early stop, Balance Ball (12 agents) took 240 gradient
    # steps per update and its greedy reward stayed at 46 of 100 after 150k steps. Fewer gradient
    # steps (64 / 128 / 4) fixed Balance Ball but left Grid World from pixels (8 agents, 100k) no
    # better than random moves (played success 0.29, random 0.36): it needs the many steps. The KL
    # stop gives each scene what it needs: with 128 / 64 / 10 and target_kl 0.015 Grid World reaches
    # 0.54 (0.54, 0.44, 0.68), Balance Ball keeps 99.95 (99.95, 87.9, 99.95), Evacuation 0.95, and the
    # 16-agent goal grid of tests/training/test_defaults.py is solved at 15k steps (5x5) and 20k (9x9).
    # 0.01 and 0.02 were each worse on one of the two: bench/results/defaults-candidates.md.
    # bench/results/defaults.md has every example.

    learning_rate: float = 3e-4
    """Adam learning rate at the start of training."""
    lr_schedule: str = "constant"
    """Learning-rate schedule: 'constant' or 'linear' (decays to 0 at the end of the training run)."""
    num_steps: int = 128
    """Decision steps collected per agent before each update (rollout length)."""
    minibatch_size: int = 64
    """Transitions per gradient step (minibatch size)."""
    num_epochs: int = 10
    """Passes over the rollout per update."""
    gamma: float = 0.99
    """Discount factor for future rewards."""
    gae_lambda: float = 0.95
    """GAE lambda: bias/variance trade-off of the advantage estimate."""
    clip_coef: float = 0.2
    """PPO clipping range of the probability ratio."""
    clip_schedule: str = "constant"
    """Clip-range schedule: 'constant' or 'linear' (decays to 0 at the end of the training run)."""
    clip_vloss: bool = False
    """Clip the value-function update around the old values with clip_coef."""
    vf_coef: float = 0.5
    """Weight of the value loss."""
    ent_coef: float = 0.0
    """Weight of the entropy bonus (exploration)."""
    max_grad_norm: float = 0.5
    """Global gradient-norm clipping threshold (0 disables)."""
    target_kl: float = 0.015
    """Stop the update's epochs early when approx. KL exceeds 1.5x this (0 disables)."""
    normalize_advantage: bool = True
    """Normalise advantages per minibatch."""
    normalize_obs: bool = False
    """Normalise vector observations with a running mean and variance."""
    obs_clip: float = 10.0
    """Clip normalised observations to +-this value."""
    normalize_reward: bool = False
    """Scale rewards by the running std of the discounted return."""
    reward_clip: float = 10.0
    """Clip scaled rewards to +-this value."""
    hidden_units: int = 64
    """Units per hidden layer of the MLP."""
    num_layers: int = 2
    """Number of hidden layers of the MLP."""
    activation: str = "tanh"
    """Hidden-layer activation: 'tanh' or 'relu'."""
    shared_network: bool = False
    """Actor and critic share one trunk (else two separate trunks)."""
    vis_encoder: str = "auto"
    """Image encoder: 'small' (from 8 px), 'compact' (20), 'nature' (36); 'auto': nature from 64 px, else small."""
    cnn_features: int = 256
    """Output features of each image encoder."""
    continuous_dist: str = "clipped"
    """Continuous actions: 'clipped' Gaussian (clip to bounds) or 'squashed' (tanh) Gaussian."""
    log_std_init: float = 0.0
    """Initial log standard deviation of continuous actions."""
    ortho_init: bool = True
    """Orthogonal weight initialisation (CleanRL/SB3 style)."""
    adam_eps: float = 1e-5
    """Adam epsilon."""
    use_memory: bool = False
    """Give the policy a recurrent memory (a GRU of Memory Size units) carried per agent through its episode."""
    memory_size: int = 64
    """Units of the recurrent memory (its state size) when Use Memory is on."""
    sequence_length: int = 16
    """Decisions per training sequence of the recurrent memory (must divide Num Steps)."""
    stacked_observations: int = 1
    """The policy sees the vector observations of this many latest decisions (1: only the current one)."""
    curiosity_strength: float = 0.0
    """Weight of the curiosity (ICM) reward for transitions it cannot yet predict (0: off; normalised: try 1)."""
    rnd_strength: float = 0.0
    """Weight of the RND reward for observations seldom seen (0: off; normalised: try 1)."""
    gail_strength: float = 0.0
    """Weight of the GAIL reward for behaving like the Brain's demonstrations (0: off)."""
    gail_use_actions: bool = False
    """GAIL's discriminator judges the actions as well as the observations."""
    gail_replace_reward: bool = False
    """GAIL's reward replaces the scene's reward instead of adding to it."""
    gail_gradient_penalty: float = 10.0
    """Weight of the gradient penalty that keeps GAIL's discriminator smooth (0: none)."""
    signal_learning_rate: float = 3e-4
    """Adam learning rate of the curiosity, RND and GAIL networks."""
    signal_units: int = 64
    """Units per hidden layer (encoding size) of the curiosity, RND and GAIL networks."""

    algorithm = "ppo"

    def __post_init__(self) -> None:
        _check_choice(self, "lr_schedule", ("constant", "linear"))
        _check_choice(self, "clip_schedule", ("constant", "linear"))
        _check_choice(self, "activation", ("tanh", "relu"))
        _check_choice(self, "vis_encoder", ("auto", "small", "compact", "nature"))
        _check_choice(self, "continuous_dist", ("clipped", "squashed"))
        _check_ranges(self)
        if self.use_memory and self.num_steps % self.sequence_length:
            raise SettingsError(
                f"PPO Sequence Length ({self.sequence_length}) must divide Num Steps ({self.num_steps}) "
                "when Use Memory is on"
            )
        if self.gail_strength > 0 and self.stacked_observations > 1:  # the demonstrations hold single observations
            raise SettingsError("PPO GAIL Strength with Stacked Observations above 1 is not built")


@dataclass
class DQNConfig(_ConfigBase):
    """Deep Q-Network (replay memory, target network, double DQN). Defaults follow SB3/rl-zoo.

    Except two, tuned for scenes of many agents and short runs: batch_size 128 (SB3: 32) and
    target_update_interval 250 (SB3: 1000).
    """

    # Why those two: a Blender scene feeds 16-32 correlated agents per decision and trains 20k-200k
    # steps. With SB3's values a 20k run syncs its target network 5 times (every 4000 agent steps)
    # and replays each transition 8 times, and the greedy policy on a 9x9 goal grid (16 agents,
    # tests/training/test_defaults.py) was far from optimal (greedy return 0.47 / -0.09 / ... for
    # seeds 0-2, optimal 0.95). Syncing every 1000 agent steps and minibatches of 128 gave
    # 0.94 / 0.95 / 0.88 at 20k steps.

    learning_rate: float = 1e-4
    """Adam learning rate at the start of training."""
    lr_schedule: str = "constant"
    """Learning-rate schedule: 'constant' or 'linear' (decays to 0 at the end of the training run)."""
    buffer_size: int = 100_000
    """Replay memory capacity in transitions."""
    learning_starts: int = 1000
    """Transitions collected before learning starts."""
    batch_size: int = 128
    """Transitions per gradient step."""
    gamma: float = 0.99
    """Discount factor for future rewards."""
    train_freq: int = 4
    """Transitions (summed over agents) between two learning phases."""
    gradient_steps: int = 1
    """Gradient steps per learning phase."""
    target_update_interval: int = 250
    """Gradient steps between target-network updates."""
    tau: float = 1.0
    """Target update rate: 1 copies the weights (hard update), <1 is a soft (Polyak) update."""
    exploration_initial_eps: float = 1.0
    """Epsilon (random-action probability) at the start."""
    exploration_final_eps: float = 0.05
    """Epsilon at the end of the exploration schedule."""
    exploration_fraction: float = 0.1
    """Fraction of the training run over which epsilon decays linearly to its final value."""
    double_dqn: bool = True
    """Double DQN: the online network picks the next action, the target network values it."""
    loss: str = "huber"
    """TD loss: 'huber' (smooth L1) or 'mse'."""
    max_grad_norm: float = 10.0
    """Global gradient-norm clipping threshold (0 disables)."""
    n_step: int = 1
    """Steps of reward summed in the TD target (n-step returns)."""
    prioritized: bool = False
    """Prioritised experience replay (proportional)."""
    per_alpha: float = 0.6
    """How strongly priorities shape sampling (0 = uniform)."""
    per_beta: float = 0.4
    """Initial importance-sampling correction; anneals to 1 at the end of the training run."""
    per_eps: float = 1e-6
    """Added to |TD error| so that every transition keeps a chance to be sampled."""
    normalize_obs: bool = False
    """Normalise vector observations with a running mean and variance."""
    obs_clip: float = 10.0
    """Clip normalised observations to +-this value."""
    hidden_units: int = 64
    """Units per hidden layer of the MLP."""
    num_layers: int = 2
    """Number of hidden layers of the MLP."""
    activation: str = "relu"
    """Hidden-layer activation: 'tanh' or 'relu'."""
    vis_encoder: str = "auto"
    """Image encoder: 'small' (from 8 px), 'compact' (20), 'nature' (36); 'auto': nature from 64 px, else small."""
    cnn_features: int = 256
    """Output features of each image encoder."""
    adam_eps: float = 1e-8
    """Adam epsilon."""

    algorithm = "dqn"

    def __post_init__(self) -> None:
        _check_choice(self, "lr_schedule", ("constant", "linear"))
        _check_choice(self, "activation", ("tanh", "relu"))
        _check_choice(self, "vis_encoder", ("auto", "small", "compact", "nature"))
        _check_choice(self, "loss", ("huber", "mse"))
        _check_ranges(self)


@dataclass
class SACConfig(_ConfigBase):
    """Soft Actor-Critic (twin critics, squashed Gaussian actor, learned entropy). Defaults follow SB3.

    Except buffer_size 200k (SB3: 1M), a default training run of a Blender scene fits in it, and
    learning_starts 1000 (SB3: 100), so a scene of many agents fills more than one batch first.
    Continuous actions with finite bounds only.
    """

    learning_rate: float = 3e-4
    """Adam learning rate at the start of training (actor, critics and entropy coefficient)."""
    lr_schedule: str = "constant"
    """Learning-rate schedule: 'constant' or 'linear' (decays to 0 at the end of the training run)."""
    buffer_size: int = 200_000
    """Replay memory capacity in transitions."""
    learning_starts: int = 1000
    """Transitions collected (with uniformly random actions) before learning starts."""
    batch_size: int = 256
    """Transitions per gradient step."""
    gamma: float = 0.99
    """Discount factor for future rewards."""
    tau: float = 0.005
    """Target-critic update rate (Polyak averaging after every gradient step)."""
    train_freq: int = 1
    """Transitions (summed over agents) between two learning phases."""
    gradient_steps: int = 1
    """Gradient steps per learning phase."""
    auto_entropy: bool = True
    """Learn the entropy coefficient so the policy keeps the target entropy (else it stays Ent Coef)."""
    ent_coef: float = 1.0
    """Entropy coefficient (alpha): its start value when learned, else its fixed value."""
    target_entropy_scale: float = -1.0
    """Target entropy per action dimension (-1: the usual -dim(actions))."""
    normalize_obs: bool = False
    """Normalise vector observations with a running mean and variance."""
    obs_clip: float = 10.0
    """Clip normalised observations to +-this value."""
    hidden_units: int = 256
    """Units per hidden layer of the actor and of each critic."""
    num_layers: int = 2
    """Number of hidden layers of the actor and of each critic."""
    activation: str = "relu"
    """Hidden-layer activation: 'tanh' or 'relu'."""
    vis_encoder: str = "auto"
    """Image encoder: 'small' (from 8 px), 'compact' (20), 'nature' (36); 'auto': nature from 64 px, else small."""
    cnn_features: int = 256
    """Output features of each image encoder."""
    adam_eps: float = 1e-8
    """Adam epsilon."""

    algorithm = "sac"

    def __post_init__(self) -> None:
        _check_choice(self, "lr_schedule", ("constant", "linear"))
        _check_choice(self, "activation", ("tanh", "relu"))
        _check_choice(self, "vis_encoder", ("auto", "small", "compact", "nature"))
        _check_ranges(self)
        if self.auto_entropy and self.ent_coef <= 0:
            raise SettingsError("SAC Ent Coef is 0; a learned entropy coefficient must start above 0")


def _check_choice(cfg: Any, name: str, choices: tuple[str, ...]) -> None:
    if getattr(cfg, name) not in choices:
        raise ValueError(f"{type(cfg).__name__}.{name} must be one of {choices}, got {getattr(cfg, name)!r}")


CONFIGS: dict[str, type[_ConfigBase]] = {"ppo": PPOConfig, "dqn": DQNConfig, "sac": SACConfig}


def config_from_dict(algorithm: str, d: dict[str, Any]) -> PPOConfig | DQNConfig | SACConfig:
    """Build the config of ``algorithm`` ('ppo', 'dqn' or 'sac') from a dict."""
    try:
        cls = CONFIGS[algorithm]
    except KeyError:
        raise ValueError(f"unknown algorithm {algorithm!r}; expected one of {sorted(CONFIGS)}") from None
    return cls.from_dict(d)  # type: ignore[return-value]


@cache
def field_docs(cls: type) -> dict[str, str]:
    """Field name -> its one-line docstring, read from the class source (for UI tooltips)."""
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for prev, node in zip(body, body[1:], strict=False):
        if (
            isinstance(prev, ast.AnnAssign)
            and isinstance(prev.target, ast.Name)
            and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            docs[prev.target.id] = node.value.value.strip()
    return docs
