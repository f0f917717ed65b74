"""Soft Actor-Critic learner driven step by step: squashed Gaussian actor, twin critics with Polyak
target critics, a replay memory and a learned entropy coefficient (Haarnoja et al. 2018, as SB3).

Continuous actions with finite bounds only (``Box``): the actor acts in [-1, 1] (tanh) and the
actions are rescaled to the bounds; the replay memory and the critics keep the [-1, 1] actions.
One Adam optimiser steps the actor, both critics and the log entropy coefficient together: each
loss only reaches its own parameters (the actor loss is taken with the critics frozen), so this
is the same as one optimiser each with the same learning rate, except that the actor is improved
against the critics before (not after) their step of the same minibatch.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch
from torch import nn

from .buffers import ReplayBuffer
from .common import as_active, as_flags, as_rewards
from .config import SACConfig
from .learner import Learner, make_adam
from .networks import SACModel
from .persistence import prefixed
from .spaces import Box, Space

__all__ = ["SACLearner", "squashed_sample"]

_LOG2 = math.log(2.0)


def squashed_sample(
    mean: torch.Tensor, log_std: torch.Tensor, gen: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """A tanh-squashed Gaussian sample in [-1, 1] (N, D) and its log-probability (N,)."""
    std = log_std.exp()
    noise = torch.randn(mean.shape, generator=gen, dtype=mean.dtype)
    u = mean + std * noise
    logp = (-0.5 * noise.pow(2) - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
    # log|d tanh(u)/du| = 2 (log 2 - u - softplus(-2u)), the numerically stable form
    logp = logp - (2.0 * (_LOG2 - u - nn.functional.softplus(-2.0 * u))).sum(-1)
    return torch.tanh(u), logp


class SACLearner(Learner):
    """Stepwise SAC. See ``training/__init__.py`` for the protocol."""

    algorithm = "sac"
    config: SACConfig

    def __init__(
        self,
        config: SACConfig,
        obs_space: Space,
        action_space: Space,
        num_agents: int = 1,
        seed: int = 0,
        auto_update: bool = True,
    ) -> None:
        super().__init__(config, obs_space, action_space, num_agents, seed, auto_update)
        if not isinstance(action_space, Box) or len(action_space.shape) != 1:
            raise TypeError(
                f"SAC needs continuous actions (a flat Box), got {action_space.describe()}; use PPO or DQN for others"
            )
        if not action_space.bounded:
            raise ValueError(f"SAC needs continuous actions with finite bounds, got {action_space.describe()}")
        self.action_dim = int(action_space.dim)
        self.low = action_space.low_array().astype(np.float32).reshape(-1)
        self.high = action_space.high_array().astype(np.float32).reshape(-1)
        self.model = self._seeded_init(lambda: SACModel(obs_space, self.action_dim, config))
        self.target = copy.deepcopy(nn.ModuleDict({"q1": self.model.q1, "q2": self.model.q2})).requires_grad_(False)
        self.params = list(self.model.parameters())
        self._critic_params = [p for c in self.model.critics() for p in c.parameters()]
        self.optimizer = make_adam(self.params, config.learning_rate, config.adam_eps)
        self.target_entropy = float(config.target_entropy_scale) * self.action_dim
        self.replay = ReplayBuffer(
            config.buffer_size,
            {k: s.shape for k, s in self.obs_proc.entries.items()},
            self.obs_proc.dtypes,
            action_shape=(self.action_dim,),
            action_dtype=np.float32,
        )
        self.gradient_steps_done = 0
        self._since_train = 0
        self._pending_grad_steps = 0
        self._last_obs: dict[str, np.ndarray] | None = None
        self._last_actions = np.zeros((self.num_agents, self.action_dim), np.float32)

    # -- helpers ---------------------------------------------------------------------------
    @property
    def ent_coef(self) -> float:
        """The entropy coefficient (alpha) now."""
        return float(self.model.log_alpha.detach().exp())

    def _schedule_stats(self) -> dict[str, float]:
        return {"learning_rate": self.learning_rate(), "ent_coef": self.ent_coef}

    def _tensors(self, raw: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        parts = dict(raw)
        for k, rms in self.obs_proc.rms.items():
            parts[k] = rms.normalize(parts[k], self.obs_proc.clip)
        return {k: torch.from_numpy(v) for k, v in parts.items()}

    def _to_env(self, unit: np.ndarray) -> np.ndarray:
        """[-1, 1] actions -> the Box's bounds."""
        return (self.low + (unit + 1.0) * 0.5 * (self.high - self.low)).astype(np.float32)

    def _unit_actions(self, obs_t: dict[str, torch.Tensor], deterministic: bool) -> np.ndarray:
        with torch.inference_mode():
            mean, log_std = self.model.policy(obs_t)
            if deterministic:
                return torch.tanh(mean).numpy()
            return squashed_sample(mean, log_std, self.torch_gen)[0].numpy()

    # -- acting ----------------------------------------------------------------------------
    def act(self, obs: Any, action_mask: Any = None) -> np.ndarray:
        """Sampled actions (N, dim) float32 within the bounds (uniformly random before
        ``learning_starts``); the step is recorded for observe(). Action masks do not apply."""
        if action_mask is not None:
            raise ValueError("SAC has continuous actions: action masks do not apply")
        if self.update_ready and self._pending_grad_steps:
            raise RuntimeError("an update is pending: call update() until it returns True before acting")
        raw = self.obs_proc.as_dict(obs)
        for k, rms in self.obs_proc.rms.items():
            rms.update(raw[k])
        if self.total_steps < self.config.learning_starts:
            unit = self.rng.uniform(-1.0, 1.0, (self.num_agents, self.action_dim)).astype(np.float32)
        else:
            unit = self._unit_actions(self._tensors(raw), deterministic=False)
        self._last_obs = {k: v.copy() for k, v in raw.items()}
        self._last_actions = unit.astype(np.float32)
        return self._to_env(unit)

    def predict(self, obs: Any, deterministic: bool = True, action_mask: Any = None) -> np.ndarray:
        """The actor's actions (the squashed mean when deterministic) without recording anything."""
        n = len(next(iter(obs.values()))) if isinstance(obs, dict) else len(obs)
        raw = self.obs_proc.as_dict(obs, n)
        return self._to_env(self._unit_actions(self._tensors(raw), deterministic))

    def observe(
        self,
        rewards: Any,
        terminated: Any,
        truncated: Any,
        next_obs: Any = None,
        final_obs: Any = None,
        active: Any = None,
    ) -> dict[str, Any]:
        """Store the transitions of the last ``act``; learns every ``train_freq`` transitions.

        As DQN: ended agents store ``final_obs`` (else, for truncations, the last acting
        observation) as their next observation; rows with ``active`` False store nothing.
        """
        if self._last_obs is None:
            raise RuntimeError("observe() must follow act()")
        n = self.num_agents
        r = as_rewards(rewards, n)
        term = as_flags(terminated, n, "terminated")
        trunc = as_flags(truncated, n, "truncated")
        act_ = as_active(active, n)
        done = term | trunc
        self.episodes.update(r, done, act_)
        if next_obs is None:
            raise ValueError("SAC needs next_obs")
        nxt = {k: v.copy() for k, v in self.obs_proc.as_dict(next_obs).items()}
        if done.any():
            fin = self.obs_proc.as_dict(final_obs) if final_obs is not None else self._last_obs
            for k in nxt:
                nxt[k][done] = fin[k][done]
        obs, actions = self._last_obs, self._last_actions
        if not act_.all():
            obs = {k: v[act_] for k, v in obs.items()}
            nxt = {k: v[act_] for k, v in nxt.items()}
            actions, r, term = actions[act_], r[act_], term[act_]
        disc = np.full(len(actions), self.config.gamma, np.float32)
        self.replay.add(obs, actions, r, nxt, term.astype(np.float32), disc)
        self._last_obs = None
        self.total_steps += n
        info: dict[str, Any] = {"updated": False}
        if self.total_steps >= self.config.learning_starts:
            self._since_train += int(act_.sum())
            rounds = self._since_train // self.config.train_freq
            if rounds:
                self._since_train -= rounds * self.config.train_freq
                self._pending_grad_steps += rounds * self.config.gradient_steps
                self.update_ready = True
                if self.auto_update:
                    self.update()
                    info["updated"] = True
        return info

    # -- learning --------------------------------------------------------------------------
    def update(self, max_minibatches: int | None = None) -> bool:
        """Run the pending gradient steps (at most ``max_minibatches``); True when none remain."""
        todo = self._pending_grad_steps if max_minibatches is None else min(max_minibatches, self._pending_grad_steps)
        if todo and len(self.replay) > 0:
            self._learn(todo)
        self._pending_grad_steps -= todo
        if self._pending_grad_steps == 0:
            if self.update_ready:
                self.num_updates += 1
            self.update_ready = False
            return True
        return False

    def _learn(self, steps: int) -> None:
        cfg = self.config
        lr = self.learning_rate()
        for g in self.optimizer.param_groups:
            g["lr"] = lr
        rb, model, gen = self.replay, self.model, self.torch_gen
        out = np.zeros((steps, 6))
        for s in range(steps):
            idx, _ = rb.sample(cfg.batch_size, self.rng)
            obs = self._tensors({k: v[idx] for k, v in rb.obs.items()})
            nxt = self._tensors({k: v[idx] for k, v in rb.next_obs.items()})
            actions = torch.from_numpy(rb.actions[idx])
            rewards = torch.from_numpy(rb.rewards[idx])
            not_done = torch.from_numpy(1.0 - rb.dones[idx])
            disc = torch.from_numpy(rb.discounts[idx])
            alpha = model.log_alpha.detach().exp()
            with torch.no_grad():
                next_a, next_logp = squashed_sample(*model.policy(nxt), gen)
                q_next = torch.min(self.target["q1"](nxt, next_a), self.target["q2"](nxt, next_a))
                target = rewards + disc * not_done * (q_next - alpha * next_logp)
            q1, q2 = model.q1(obs, actions), model.q2(obs, actions)
            critic_loss = 0.5 * ((q1 - target).pow(2).mean() + (q2 - target).pow(2).mean())
            pi_a, logp = squashed_sample(*model.policy(obs), gen)
            for p in self._critic_params:
                p.requires_grad_(False)
            q_pi = torch.min(model.q1(obs, pi_a), model.q2(obs, pi_a))
            for p in self._critic_params:
                p.requires_grad_(True)
            actor_loss = (alpha * logp - q_pi).mean()
            if cfg.auto_entropy:
                alpha_loss = -(model.log_alpha * (logp.detach() + self.target_entropy)).mean()
            else:  # a zero gradient keeps the coefficient fixed and Adam's state complete
                alpha_loss = model.log_alpha * 0.0
            self.optimizer.zero_grad(set_to_none=True)
            (critic_loss + actor_loss + alpha_loss).backward()
            self.optimizer.step()
            self.gradient_steps_done += 1
            self._update_target()
            out[s] = (
                critic_loss.item(),
                actor_loss.item(),
                alpha_loss.item(),
                0.5 * (q1.detach().mean().item() + q2.detach().mean().item()),
                -logp.detach().mean().item(),
                alpha.item(),
            )
        m = out.mean(axis=0)
        self._losses = {
            "critic_loss": float(m[0]),
            "actor_loss": float(m[1]),
            "ent_coef_loss": float(m[2]),
            "q_value": float(m[3]),
            "entropy": float(m[4]),
            "gradient_steps": float(self.gradient_steps_done),
            "replay_size": float(len(self.replay)),
        }

    def _update_target(self) -> None:
        tau = self.config.tau
        with torch.no_grad():
            tps = [p for c in self.target.values() for p in c.parameters()]
            torch._foreach_lerp_(tps, self._critic_params, tau)

    # -- persistence hooks -----------------------------------------------------------------
    def _state(self, include_buffers: bool) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = {f"target/{k}": v.detach().numpy().copy() for k, v in self.target.state_dict().items()}
        header: dict[str, Any] = {
            "gradient_steps_done": self.gradient_steps_done,
            "since_train": self._since_train,
            "pending_grad_steps": self._pending_grad_steps,
            "update_ready": self.update_ready,
            "acted": self._last_obs is not None,
        }
        if include_buffers:
            arrays.update({f"buffer/{k}": v for k, v in self.replay.state().items()})
            if self._last_obs is not None:
                arrays.update({f"last_obs/{k}": v for k, v in self._last_obs.items()})
                arrays["last_actions"] = self._last_actions
        return header, arrays

    def _load(self, header: dict[str, Any], arrays: dict[str, np.ndarray], with_buffers: bool) -> None:
        self.target.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in prefixed(arrays, "target").items()})
        self.gradient_steps_done = int(header["gradient_steps_done"])
        self._since_train = int(header["since_train"])
        self._pending_grad_steps = int(header["pending_grad_steps"])
        self.update_ready = bool(header["update_ready"])
        buf = prefixed(arrays, "buffer")
        if buf:  # transitions do not depend on the agent count
            self.replay.load_state(buf)
        if with_buffers and header.get("acted"):
            self._last_obs = {k: np.array(v) for k, v in prefixed(arrays, "last_obs").items()}
            self._last_actions = np.array(arrays["last_actions"])
