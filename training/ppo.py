"""PPO learner driven step by step (act -> observe -> ... -> update).

All agents of a Brain are one batch of ``num_agents`` rows. The rollout is preallocated as
(num_steps, num_agents, ...) numpy arrays; one torch forward pass per ``act`` serves the batch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from .common import as_active, as_flags, as_rewards
from .config import PPOConfig
from .distributions import Categoricals, Gaussian, HybridDist
from .gae import compute_gae
from .learner import Learner, make_adam
from .memory import has_memory
from .networks import ActorCritic
from .normalize import RewardScaler
from .persistence import prefixed
from .reward_signals import RewardSignals, signals_wanted
from .spaces import Box, Discrete, Hybrid, MultiDiscrete, Space, action_nvec

__all__ = ["PPOLearner"]


class PPOLearner(Learner):
    """Stepwise PPO. See ``training/__init__.py`` for the protocol."""

    algorithm = "ppo"
    config: PPOConfig

    def __init__(
        self,
        config: PPOConfig,
        obs_space: Space,
        action_space: Space,
        num_agents: int = 1,
        seed: int = 0,
        auto_update: bool = True,
    ) -> None:
        super().__init__(config, obs_space, action_space, num_agents, seed, auto_update)
        self.continuous = isinstance(action_space, Box)
        self.hybrid = isinstance(action_space, Hybrid)
        if self.hybrid:
            assert isinstance(action_space, Hybrid)
            if has_memory(config):
                raise ValueError(
                    "memory (Use Memory or Stacked Observations) is not built for hybrid actions "
                    "(continuous and discrete together): turn it off"
                )
            if config.curiosity_strength > 0 or config.gail_strength > 0:  # both read the actions
                raise ValueError(
                    "Curiosity and GAIL are not built for hybrid actions (continuous and discrete together): "
                    "set their Strength to 0 (RND works)"
                )
            box = action_space.continuous
            if config.continuous_dist == "squashed" and not box.bounded:
                raise ValueError("'squashed' continuous actions need finite action bounds")
            self.nvec = action_nvec(action_space)
            self.action_dim = box.dim + int(sum(self.nvec))
            self.dist: Categoricals | Gaussian | HybridDist = HybridDist(
                box.dim, self.nvec, config.continuous_dist == "squashed"
            )
            self.low = box.low_array().astype(np.float32)
            self.high = box.high_array().astype(np.float32)
        elif self.continuous:
            assert isinstance(action_space, Box)
            if len(action_space.shape) != 1:
                raise ValueError("continuous actions must be a 1-D Box")
            if config.continuous_dist == "squashed" and not action_space.bounded:
                raise ValueError("'squashed' continuous actions need finite action bounds")
            self.action_dim = action_space.shape[0]
            self.dist = Gaussian(config.continuous_dist == "squashed")
            self.low = action_space.low_array().astype(np.float32)
            self.high = action_space.high_array().astype(np.float32)
            self.nvec: tuple[int, ...] = ()
        elif isinstance(action_space, (Discrete, MultiDiscrete)):
            self.nvec = action_nvec(action_space)
            self.action_dim = int(sum(self.nvec))
            self.dist = Categoricals(self.nvec)
        else:
            raise TypeError(f"unsupported action space {action_space!r}")
        self.mask_dim = int(sum(self.nvec))  # discrete choices in all: the width of an action mask
        self.model = self._seeded_init(self._make_model)
        self.params = list(self.model.parameters())
        self.optimizer = make_adam(self.params, config.learning_rate, config.adam_eps)
        self.reward_scaler = (
            RewardScaler(self.num_agents, config.gamma, config.reward_clip) if config.normalize_reward else None
        )
        self.bc_aux: Any = None  # training.bc.BCAuxiliary: behaviour cloning after each update (not saved)
        self.signals = RewardSignals(self) if signals_wanted(config) else None  # curiosity, RND, GAIL
        self._alloc()

    def _make_model(self) -> nn.Module:
        """The actor-critic network (``recurrent.RecurrentPPOLearner`` builds one with memory)."""
        if self.hybrid:
            c = self.action_space.continuous.dim  # type: ignore[attr-defined]
            return ActorCritic(self.obs_space, self.action_dim, True, self.config, log_std_dim=c)
        return ActorCritic(self.obs_space, self.action_dim, self.continuous, self.config)

    # -- storage ---------------------------------------------------------------------------
    def _alloc(self) -> None:
        T, N = self.config.num_steps, self.num_agents
        self.buf_obs = {
            k: np.zeros((T, N, *s.shape), self.obs_proc.dtypes[k]) for k, s in self.obs_proc.entries.items()
        }
        if self.continuous:
            self.buf_actions = np.zeros((T, N, self.action_dim), np.float32)
        elif self.hybrid:  # raw continuous values, then the choices (exact in float32)
            self.buf_actions = np.zeros((T, N, self.action_space.dim), np.float32)  # type: ignore[attr-defined]
        else:
            self.buf_actions = np.zeros((T, N, len(self.nvec)), np.int64)
        self.buf_logp = np.zeros((T, N), np.float32)
        self.buf_values = np.zeros((T, N), np.float32)
        self.buf_rewards = np.zeros((T, N), np.float32)
        self.buf_dones = np.zeros((T, N), bool)
        self.buf_active = np.ones((T, N), bool)
        self.buf_masks: np.ndarray | None = None  # allocated on the first action mask
        self.last_values = np.zeros(N, np.float32)
        self.acting_values: np.ndarray | None = None  # the critic's estimate at the latest act()
        self._t = 0
        self._acted = False
        self._update_iter: Iterator[None] | None = None

    def _mask(self, action_mask: Any, n: int) -> np.ndarray:
        if self.continuous:
            raise ValueError("action masks apply to discrete actions only")
        m = np.asarray(action_mask, dtype=bool)
        if m.shape != (n, self.mask_dim):
            raise ValueError(
                f"action_mask has shape {m.shape}, expected {(n, self.mask_dim)} (agents, sum of branch sizes)"
            )
        return m

    # -- acting ----------------------------------------------------------------------------
    def _env_action(self, a: np.ndarray) -> np.ndarray:
        if self.hybrid:
            c = len(self.low)
            return np.concatenate([self._bounded(a[:, :c]), a[:, c:]], axis=1).astype(np.float32)
        if not self.continuous:
            return a[:, 0] if isinstance(self.action_space, Discrete) else a
        return self._bounded(a)

    def _bounded(self, a: np.ndarray) -> np.ndarray:
        """Raw Gaussian samples → continuous actions within the bounds (squashed or clipped)."""
        if self.config.continuous_dist == "squashed":
            return (self.low + (np.tanh(a) + 1.0) * 0.5 * (self.high - self.low)).astype(np.float32)
        return np.clip(a, self.low, self.high)

    def act(self, obs: Any, action_mask: Any = None) -> np.ndarray:
        """Sample actions for all agents and record them; returns (N,) | (N, branches) int64, (N, dim)
        float32, or for hybrid actions (N, continuous + branches) float32 (the choices as whole numbers)."""
        if self.update_ready:
            raise RuntimeError("an update is pending: call update() until it returns True before acting")
        o = self._acting_obs(obs)
        t = self._t
        for k, v in o.items():
            self.buf_obs[k][t] = v
        mask_t = None
        if action_mask is not None:
            m = self._mask(action_mask, self.num_agents)
            if self.buf_masks is None:
                self.buf_masks = np.ones((self.config.num_steps, self.num_agents, self.mask_dim), bool)
            self.buf_masks[t] = m
            mask_t = torch.from_numpy(m)
        elif self.buf_masks is not None:
            self.buf_masks[t] = True
        with torch.inference_mode():
            out, value = self._acting_forward({k: torch.from_numpy(v) for k, v in o.items()}, t)
            a, logp = self._sample(out, mask_t, False)
        a_np = a.numpy()
        self.buf_actions[t] = a_np
        self.buf_logp[t] = logp.numpy()
        self.acting_values = value.numpy()  # also shown by the Agent Monitor (no copy: a fresh array each act)
        self.buf_values[t] = self.acting_values
        self._acted = True
        return self._env_action(a_np)

    def _acting_obs(self, obs: Any) -> dict[str, np.ndarray]:
        """The acting batch as the network sees it (normalised; stacked in ``recurrent.py``)."""
        return self.obs_proc(obs, update=True)

    def _acting_forward(self, obs: dict[str, torch.Tensor], t: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Policy output and values at rollout step ``t`` (the recurrent learner carries its memory here)."""
        return self.model(obs)

    def predict(self, obs: Any, deterministic: bool = True, action_mask: Any = None) -> np.ndarray:
        """Actions for a batch of observations without recording anything (any batch size)."""
        n = len(next(iter(obs.values()))) if isinstance(obs, dict) else len(obs)
        o = self.obs_proc(obs, update=False, n=n)
        mask_t = None if action_mask is None else torch.from_numpy(self._mask(action_mask, n))
        with torch.inference_mode():
            out = self.model.policy({k: torch.from_numpy(v) for k, v in o.items()})
            a, _ = self._sample(out, mask_t, deterministic)
        return self._env_action(a.numpy())

    def _sample(
        self, out: torch.Tensor, mask: torch.Tensor | None, deterministic: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Actions from the policy output and their log-probability, whichever the action kind."""
        if self.hybrid:
            return self.dist.sample(out, self.model.log_std, mask, self.torch_gen, deterministic)  # type: ignore[call-arg,arg-type]
        if self.continuous:
            return self.dist.sample(out, self.model.log_std, self.torch_gen, deterministic)  # type: ignore[call-arg,arg-type]
        return self.dist.sample(out, mask, self.torch_gen, deterministic)  # type: ignore[arg-type]

    def _evaluate(
        self, out: torch.Tensor, actions: torch.Tensor, mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probability and entropy of recorded actions, whichever the action kind."""
        if self.hybrid:
            return self.dist.evaluate(out, self.model.log_std, actions, mask)  # type: ignore[call-arg,arg-type]
        if self.continuous:
            return self.dist.evaluate(out, self.model.log_std, actions)  # type: ignore[call-arg,arg-type]
        return self.dist.evaluate(out, actions, mask)  # type: ignore[arg-type]

    def predict_values(self, obs: Any) -> np.ndarray:
        """The critic's value estimates (N,) for a batch of observations (any batch size; records nothing)."""
        n = len(next(iter(obs.values()))) if isinstance(obs, dict) else len(obs)
        o = self.obs_proc(obs, update=False, n=n)
        with torch.inference_mode():
            return self.model.value({k: torch.from_numpy(v) for k, v in o.items()}).numpy()

    def _values(self, obs: Any) -> np.ndarray:
        o = self.obs_proc(obs, update=False)
        with torch.inference_mode():
            return self.model.value({k: torch.from_numpy(v) for k, v in o.items()}).numpy()

    def observe(
        self,
        rewards: Any,
        terminated: Any,
        truncated: Any,
        next_obs: Any = None,
        final_obs: Any = None,
        active: Any = None,
    ) -> dict[str, Any]:
        """Record the outcome of the last ``act``; runs an update when the rollout is full (if auto_update).

        ``next_obs`` is what ``act`` gets next (post-reset obs for agents that ended); it is needed
        when the rollout completes. ``final_obs`` (same batch layout; only rows of ended agents are
        read) bootstraps truncated episodes; without it the value of the last acting obs is used.
        ``active`` (N,) bool: False where this row's step is not real (e.g. an agent waiting for a
        reset); such steps get zero weight in the update, cut GAE, and leave statistics alone.
        """
        if not self._acted:
            raise RuntimeError("observe() must follow act()")
        n = self.num_agents
        r = as_rewards(rewards, n)
        term = as_flags(terminated, n, "terminated")
        trunc = as_flags(truncated, n, "truncated")
        act_ = as_active(active, n)
        done = term | trunc
        self.episodes.update(r, done, act_)
        t = self._t
        r = self.reward_scaler(r, done, act_) if self.reward_scaler is not None else r.copy()
        if self.signals is not None:
            r = self.signals.scene_reward(r)
        boot = trunc & ~term & act_
        if boot.any():
            v = self._values(final_obs)[boot] if final_obs is not None else self.buf_values[t][boot]
            r[boot] += self.config.gamma * v
        self.buf_rewards[t] = np.where(act_, r, np.float32(0.0))
        self.buf_dones[t] = done & act_
        self.buf_active[t] = act_
        self._t += 1
        self.total_steps += n
        self._acted = False
        info: dict[str, Any] = {"updated": False}
        if self._t == self.config.num_steps:
            if next_obs is None:
                raise ValueError("next_obs is required when the rollout completes")
            self.last_values = self._values(next_obs)
            self.update_ready = True
            if self.auto_update:
                self.update()
                info["updated"] = True
        return info

    # -- learning --------------------------------------------------------------------------
    def update(self, max_minibatches: int | None = None) -> bool:
        """Learn from the full rollout. With ``max_minibatches`` do at most that many gradient steps
        and return False if more remain (call again); returns True once the update finished."""
        if not self.update_ready:
            return True
        if self._update_iter is None:
            self._update_iter = self._update_steps()
        done_steps = 0
        for _ in self._update_iter:
            done_steps += 1
            if max_minibatches is not None and done_steps >= max_minibatches:
                return False
        self._update_iter = None
        return True

    def _before_save(self) -> None:
        if self._update_iter is not None:  # a split update cannot be serialised: finish it
            self.update()

    def _update_steps(self) -> Iterator[None]:
        cfg = self.config
        T, N = cfg.num_steps, self.num_agents
        all_active = bool(self.buf_active.all())
        rewards, signal_stats = self.signals.add_rewards(self) if self.signals is not None else (self.buf_rewards, {})
        adv, ret = compute_gae(
            rewards,
            self.buf_values,
            self.buf_dones,
            self.last_values,
            cfg.gamma,
            cfg.gae_lambda,
            None if all_active else self.buf_active,
        )
        if self.signals is not None:  # curiosity's and RND's stream: its own critic and GAE
            adv = adv + self.signals.intrinsic_advantages(self)

        # inactive steps are left out of the batch: zero weight in every loss and normalisation
        keep = np.flatnonzero(self.buf_active.reshape(T * N))

        def rows(a: np.ndarray) -> np.ndarray:
            flat = a.reshape(T * N, *a.shape[2:])
            return flat if all_active else flat[keep]

        B = len(keep)
        obs = {k: torch.from_numpy(rows(v)) for k, v in self.buf_obs.items()}
        actions = torch.from_numpy(rows(self.buf_actions).reshape(B, -1))
        old_logp = torch.from_numpy(rows(self.buf_logp))
        old_values = torch.from_numpy(rows(self.buf_values))
        advantages = torch.from_numpy(rows(adv))
        returns = torch.from_numpy(rows(ret))
        masks = None if self.buf_masks is None else torch.from_numpy(rows(self.buf_masks).reshape(B, -1))

        lr = self.learning_rate()
        for g in self.optimizer.param_groups:
            g["lr"] = lr
        clip = self.clip_range()

        sums = np.zeros(7)
        count = 0
        per_epoch = -(-B // cfg.minibatch_size) if B else 1
        stop = False
        for _epoch in range(cfg.num_epochs if B else 0):
            perm = torch.from_numpy(self.rng.permutation(B))
            for start in range(0, B, cfg.minibatch_size):
                idx = perm[start : start + cfg.minibatch_size]
                out, value = self.model({k: v[idx] for k, v in obs.items()})
                logp, entropy = self._evaluate(out, actions[idx], None if masks is None else masks[idx])
                logratio = logp - old_logp[idx]
                ratio = logratio.exp()
                with torch.no_grad():
                    approx_kl = ((ratio - 1.0) - logratio).mean().item()
                    clipfrac = ((ratio - 1.0).abs() > clip).float().mean().item()
                if cfg.target_kl > 0 and approx_kl > 1.5 * cfg.target_kl:
                    stop = True
                    break
                mb_adv = advantages[idx]
                if cfg.normalize_advantage and len(idx) > 1:
                    mb_adv = (mb_adv - mb_adv.mean()) / (mb_adv.std() + 1e-8)
                pg_loss = torch.max(-mb_adv * ratio, -mb_adv * ratio.clamp(1.0 - clip, 1.0 + clip)).mean()
                if cfg.clip_vloss:
                    v_clipped = old_values[idx] + (value - old_values[idx]).clamp(-clip, clip)
                    v_loss = torch.max((value - returns[idx]) ** 2, (v_clipped - returns[idx]) ** 2).mean()
                else:
                    v_loss = ((value - returns[idx]) ** 2).mean()
                ent = entropy.mean()
                loss = pg_loss - cfg.ent_coef * ent + cfg.vf_coef * v_loss
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                grad_norm = math.nan
                if cfg.max_grad_norm > 0:  # the norm before clipping, for free from the clipping
                    grad_norm = nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm, foreach=True).item()
                self.optimizer.step()
                sums += (pg_loss.item(), v_loss.item(), ent.item(), approx_kl, clipfrac, loss.item(), grad_norm)
                count += 1
                yield
            if stop:
                break

        ret_a, val_a = rows(ret), rows(self.buf_values)
        var_ret = float(np.var(ret_a)) if B else 0.0
        explained = float("nan") if var_ret == 0 else 1.0 - float(np.var(ret_a - val_a)) / var_ret
        if count:
            m = sums / count
            self._losses = {
                "policy_loss": m[0],
                "value_loss": m[1],
                "entropy": m[2],
                "approx_kl": m[3],
                "clip_fraction": m[4],
                "total_loss": m[5],
                "explained_variance": explained,
                "value_estimate": float(np.mean(val_a)),
                "minibatches": float(count),
                "epochs": count / per_epoch,  # below num_epochs when target_kl stopped the update early
                "early_stopped": float(stop),
            }
            if cfg.max_grad_norm > 0:
                self._losses["grad_norm"] = m[6]
            if self.continuous or self.hybrid:
                self._losses["action_std"] = float(self.model.log_std.detach().exp().mean())
        if self.bc_aux is not None:
            self._losses.update(self.bc_aux.update(self))
        if self.signals is not None:
            self._losses.update({**signal_stats, **self.signals.update(self)})
        self._t = 0
        self.update_ready = False
        self.num_updates += 1

    def _schedule_stats(self) -> dict[str, float]:
        return {"learning_rate": self.learning_rate(), "clip_range": self.clip_range()}

    def clip_range(self) -> float:
        """The PPO clip range now (constant, or linearly decaying to 0 over the run)."""
        cfg = self.config
        return cfg.clip_coef * (1.0 - self.run_progress if cfg.clip_schedule == "linear" else 1.0)

    # -- persistence hooks -----------------------------------------------------------------
    def _state(self, include_buffers: bool) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays: dict[str, np.ndarray] = {}
        header: dict[str, Any] = {"t": self._t, "acted": self._acted, "update_ready": self.update_ready}
        if self.reward_scaler is not None:
            arrays.update({f"ret_norm/{k}": np.asarray(v) for k, v in self.reward_scaler.rms.state().items()})
            arrays["ret_norm/returns"] = self.reward_scaler.returns
        if self.signals is not None:
            arrays.update(self.signals.state())
        if include_buffers:
            for k, v in self.buf_obs.items():
                arrays[f"buffer/obs/{k}"] = v
            for name in ("actions", "logp", "values", "rewards", "dones", "active"):
                arrays[f"buffer/{name}"] = getattr(self, f"buf_{name}")
            if self.buf_masks is not None:
                arrays["buffer/masks"] = self.buf_masks
            arrays["buffer/last_values"] = self.last_values
        return header, arrays

    def _load(self, header: dict[str, Any], arrays: dict[str, np.ndarray], with_buffers: bool) -> None:
        if self.reward_scaler is not None and "ret_norm/mean" in arrays:
            rn = prefixed(arrays, "ret_norm")
            self.reward_scaler.rms.load_state(rn)
            if rn["returns"].shape == self.reward_scaler.returns.shape:
                self.reward_scaler.returns = rn["returns"].astype(np.float64).copy()
        if self.signals is not None:
            self.signals.load(arrays)
        if not with_buffers:
            return  # a fresh rollout starts; learned state is already restored
        for k in self.buf_obs:
            self.buf_obs[k][...] = arrays[f"buffer/obs/{k}"]
        for name in ("actions", "logp", "values", "rewards", "dones"):
            getattr(self, f"buf_{name}")[...] = arrays[f"buffer/{name}"]
        self.buf_active[...] = arrays.get("buffer/active", True)  # states saved before the mask: all real
        if "buffer/masks" in arrays:
            self.buf_masks = np.array(arrays["buffer/masks"])
        self.last_values = np.array(arrays["buffer/last_values"])
        self._t = int(header["t"])
        self._acted = bool(header["acted"])
        self.update_ready = bool(header["update_ready"])
