"""Base class of the torch-backed learners: seeding, persistence and export plumbing."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from .common import EpisodeStats, ObsProcessor, rng_from_json, rng_state_to_json
from .config import DQNConfig, PPOConfig, SACConfig
from .persistence import StateError, pack_state, prefixed
from .spaces import Space

__all__ = ["DEFAULT_RUN_STEPS", "Learner"]

DEFAULT_RUN_STEPS = 200_000
"""The run a learner's schedules span until ``begin_run`` is called (the Academy's default Training Steps)."""


def optimizer_to_arrays(opt: torch.optim.Optimizer) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    sd = opt.state_dict()
    arrays = {}
    for idx, st in sd["state"].items():
        for key, val in st.items():
            arrays[f"{idx}/{key}"] = val.detach().cpu().numpy() if torch.is_tensor(val) else np.asarray(val)
    return arrays, sd["param_groups"]


def optimizer_from_arrays(opt: torch.optim.Optimizer, arrays: dict[str, np.ndarray], groups: list[dict]) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, val in arrays.items():
        idx, name = key.split("/", 1)
        state.setdefault(int(idx), {})[name] = torch.from_numpy(np.array(val))
    opt.load_state_dict({"state": state, "param_groups": groups})


def make_adam(params: list[torch.nn.Parameter], lr: float, eps: float) -> torch.optim.Optimizer:
    """Adam with the fused CPU kernel: one call per step instead of ~6 small ops per tensor."""
    try:
        return torch.optim.Adam(params, lr=lr, eps=eps, fused=True)
    except (RuntimeError, TypeError):  # builds without the fused CPU kernel
        return torch.optim.Adam(params, lr=lr, eps=eps)


class Learner:
    """Common stepwise-learner machinery. Subclasses: ``PPOLearner``, ``DQNLearner``, ``SACLearner``."""

    algorithm = ""
    config: PPOConfig | DQNConfig | SACConfig

    def __init__(
        self,
        config: PPOConfig | DQNConfig | SACConfig,
        obs_space: Space,
        action_space: Space,
        num_agents: int = 1,
        seed: int = 0,
        auto_update: bool = True,
    ) -> None:
        if num_agents < 1:
            raise ValueError("num_agents must be >= 1")
        self.config = config
        self.obs_space = obs_space
        self.action_space = action_space
        self.num_agents = int(num_agents)
        self.seed = int(seed)
        self.auto_update = auto_update
        self.rng = np.random.default_rng(seed)
        self.torch_gen = torch.Generator().manual_seed(seed)
        self.obs_proc = ObsProcessor(obs_space, self.num_agents, config.normalize_obs, config.obs_clip)
        self.episodes = EpisodeStats(self.num_agents)
        self.total_steps = 0
        self.num_updates = 0
        self.update_ready = False
        self._losses: dict[str, float] = {}
        self.run_start = 0
        self.run_steps = DEFAULT_RUN_STEPS

    # -- the training run ---------------------------------------------------------------------
    def begin_run(self, steps: int) -> None:
        """Start a training run of ``steps`` agent steps (summed over agents) from ``total_steps``.

        Every schedule (learning rate, PPO clip range, DQN exploration and PER beta) decays over
        this run, so each run is one schedule: a resumed model explores and anneals again over its
        new run. The run is saved with the learner, so a checkpoint resumed without a new
        ``begin_run`` continues its schedule. Until the first call a learner is on a run of
        ``DEFAULT_RUN_STEPS`` from its creation (or from loading a state saved before runs existed).
        """
        if int(steps) < 1:
            raise ValueError(f"a training run needs at least 1 step, got {steps}")
        self.run_start = self.total_steps
        self.run_steps = int(steps)

    @property
    def run_progress(self) -> float:
        """Fraction of the current training run done, in [0, 1]."""
        return min(max((self.total_steps - self.run_start) / self.run_steps, 0.0), 1.0)

    def learning_rate(self) -> float:
        """The learning rate now (constant, or linearly decaying to 0 over the run)."""
        cfg = self.config
        return cfg.learning_rate * (1.0 - self.run_progress if cfg.lr_schedule == "linear" else 1.0)

    def _schedule_stats(self) -> dict[str, float]:
        """Subclass hook: the current values of the schedules, for ``stats``."""
        return {"learning_rate": self.learning_rate()}

    def _seeded_init(self, build: Any) -> Any:
        """Build networks from our seed without consuming or disturbing torch's global RNG."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            return build()

    # -- statistics -------------------------------------------------------------------------
    @property
    def stats(self) -> dict[str, float]:
        """Recent mean episode return/length, episode count, counters, run progress, the current
        schedule values and the last update's losses (keys: docs/training.md)."""
        return {
            **self.episodes.summary(),
            "total_steps": float(self.total_steps),
            "num_updates": float(self.num_updates),
            "run_progress": self.run_progress,
            **self._losses,
            **self._schedule_stats(),
        }

    # -- persistence ------------------------------------------------------------------------
    def _state(self, include_buffers: bool) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Subclass hook: extra header entries and arrays."""
        raise NotImplementedError

    def _load(self, header: dict[str, Any], arrays: dict[str, np.ndarray], same_agents: bool) -> None:
        raise NotImplementedError

    def save_bytes(self, include_buffers: bool = True) -> bytes:
        """Full training state (weights, optimiser, normalisers, counters, RNG, config) as bytes."""
        self._before_save()
        header, arrays = self._state(include_buffers)
        for k, v in self.model.state_dict().items():  # type: ignore[attr-defined]
            arrays[f"model/{k}"] = v.detach().cpu().numpy()
        opt_arrays, groups = optimizer_to_arrays(self.optimizer)  # type: ignore[attr-defined]
        arrays.update({f"optim/{k}": v for k, v in opt_arrays.items()})
        arrays.update({f"obs_norm/{k}": v for k, v in self.obs_proc.state().items()})
        arrays["rng/torch"] = self.torch_gen.get_state().numpy()
        header.update(
            algorithm=self.algorithm,
            config=self.config.to_dict(),
            obs_space=self.obs_space.to_dict(),
            action_space=self.action_space.to_dict(),
            num_agents=self.num_agents,
            seed=self.seed,
            total_steps=self.total_steps,
            num_updates=self.num_updates,
            optimizer_groups=groups,
            rng_numpy=rng_state_to_json(self.rng),
            episodes=self.episodes.state(),
            losses=self._losses,
            run_start=self.run_start,
            run_steps=self.run_steps,
            has_buffers=include_buffers,
        )
        return pack_state(header, arrays)

    def _before_save(self) -> None:
        pass

    def save(self, path: str | os.PathLike[str], include_buffers: bool = True) -> None:
        """Write ``save_bytes()`` to a file (conventionally ``.npz``)."""
        data = self.save_bytes(include_buffers)
        with open(path, "wb") as f:
            f.write(data)

    def _restore(self, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Load a state checked by ``state_check.check_state`` (so nothing here can meet a surprise)."""
        same_agents = int(header["num_agents"]) == self.num_agents
        model_sd = {k: torch.from_numpy(np.array(v)) for k, v in prefixed(arrays, "model").items()}
        self.model.load_state_dict(model_sd)  # type: ignore[attr-defined]
        # the saved moments only: the param groups are this optimiser's own (the learning rate is set
        # before every update), so nothing a file says about them is trusted
        groups = self.optimizer.state_dict()["param_groups"]  # type: ignore[attr-defined]
        optimizer_from_arrays(self.optimizer, prefixed(arrays, "optim"), groups)  # type: ignore[attr-defined]
        self.obs_proc.load_state(prefixed(arrays, "obs_norm"))
        try:
            self.torch_gen.set_state(torch.from_numpy(np.array(arrays["rng/torch"])))
        except (RuntimeError, ValueError) as exc:
            raise StateError(f"the model's array 'rng/torch' is not a torch generator state ({exc})") from None
        self.rng = rng_from_json(header["rng_numpy"])
        self.total_steps = int(header["total_steps"])
        self.num_updates = int(header["num_updates"])
        self.episodes.load_state(header["episodes"], same_agents)
        self._losses = dict(header.get("losses", {}))
        # states saved before training runs existed: a default run from now
        self.run_start = int(header.get("run_start", self.total_steps))
        self.run_steps = int(header.get("run_steps", DEFAULT_RUN_STEPS))
        self._load(header, arrays, same_agents and bool(header.get("has_buffers")))

    # -- inference & export -----------------------------------------------------------------
    def numpy_policy(self) -> Any:
        """A torch-free copy of the acting policy (``NumpyPolicy``) with the current weights."""
        from .numpy_policy import NumpyPolicy

        return NumpyPolicy.from_bytes(self.save_bytes(include_buffers=False))

    def export_onnx(self, path: str | os.PathLike[str], convention: str = "academy") -> None:
        """Export the acting policy to ONNX (dynamic batch), normalisation included.

        ``convention``: ``"academy"``, ``"mlagents"`` or ``"godot"`` (names, layouts and outputs
        of that toolkit's loader; see ``training.export``).
        """
        from .export import export_onnx

        export_onnx(self, path, convention=convention)
