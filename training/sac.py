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
from .config import SACConfig
from .learner import make_adam
from .networks import SACModel
from .replay import ReplayLearner
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


class SACLearner(ReplayLearner):
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
        self._target_params = [p for c in self.target.values() for p in c.parameters()]  # the same order
        self.optimizer = make_adam(self.params, config.learning_rate, config.adam_eps)
        self.target_entropy = float(config.target_entropy_scale) * self.action_dim
        replay = ReplayBuffer(
            config.buffer_size,
            {k: s.shape for k, s in self.obs_proc.entries.items()},
            self.obs_proc.dtypes,
            action_shape=(self.action_dim,),
            action_dtype=np.float32,
        )
        self._start_replay(replay, np.zeros((self.num_agents, self.action_dim), np.float32))

    # -- helpers ---------------------------------------------------------------------------
    @property
    def ent_coef(self) -> float:
        """The entropy coefficient (alpha) now."""
        return float(self.model.log_alpha.detach().exp())

    def _schedule_stats(self) -> dict[str, float]:
        return {"learning_rate": self.learning_rate(), "ent_coef": self.ent_coef}

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
        raw = self._begin_act(obs)
        if self.total_steps < self.config.learning_starts:
            unit = self.rng.uniform(-1.0, 1.0, (self.num_agents, self.action_dim)).astype(np.float32)
        else:
            unit = self._unit_actions(self._tensors(raw), deterministic=False)
        self._record(raw, unit.astype(np.float32))
        return self._to_env(unit)

    def predict(self, obs: Any, deterministic: bool = True, action_mask: Any = None) -> np.ndarray:
        """The actor's actions (the squashed mean when deterministic) without recording anything."""
        n = len(next(iter(obs.values()))) if isinstance(obs, dict) else len(obs)
        raw = self.obs_proc.as_dict(obs, n)
        return self._to_env(self._unit_actions(self._tensors(raw), deterministic))

    # -- learning --------------------------------------------------------------------------
    def _learn(self, steps: int) -> None:
        cfg = self.config
        lr = self.learning_rate()
        for g in self.optimizer.param_groups:
            g["lr"] = lr
        rb, model, gen = self.replay, self.model, self.torch_gen
        out = []  # detached scalars per step, turned into numbers once at the end
        for _ in range(steps):
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
            out.append(
                torch.stack(
                    [
                        critic_loss.detach(),
                        actor_loss.detach(),
                        alpha_loss.detach(),
                        0.5 * (q1.detach().mean() + q2.detach().mean()),
                        -logp.detach().mean(),
                        alpha,
                    ]
                )
            )
        m = torch.stack(out).mean(0).tolist()
        self._losses = {
            "critic_loss": m[0],
            "actor_loss": m[1],
            "ent_coef_loss": m[2],
            "q_value": m[3],
            "entropy": m[4],
            "gradient_steps": float(self.gradient_steps_done),
            "replay_size": float(len(self.replay)),
        }

    def _update_target(self) -> None:
        tau = self.config.tau
        with torch.no_grad():
            torch._foreach_lerp_(self._target_params, self._critic_params, tau)
