"""DQN learner driven step by step: epsilon-greedy acting, replay memory, target network.

Options: double DQN, hard or soft (Polyak) target updates, Huber or MSE loss, n-step returns,
proportional prioritised replay. Discrete actions only (one branch).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from torch import nn

from .buffers import ReplayBuffer
from .common import linear_schedule
from .config import DQNConfig
from .learner import make_adam
from .networks import QNetwork
from .replay import ReplayLearner
from .spaces import Discrete, Space

__all__ = ["DQNLearner"]


class DQNLearner(ReplayLearner):
    """Stepwise DQN. See ``training/__init__.py`` for the protocol."""

    algorithm = "dqn"
    config: DQNConfig

    def __init__(
        self,
        config: DQNConfig,
        obs_space: Space,
        action_space: Space,
        num_agents: int = 1,
        seed: int = 0,
        auto_update: bool = True,
    ) -> None:
        super().__init__(config, obs_space, action_space, num_agents, seed, auto_update)
        if not isinstance(action_space, Discrete):
            raise TypeError(f"DQN needs a Discrete action space, got {action_space.describe()}; use PPO for others")
        self.n_actions = int(action_space.n)
        self.model = self._seeded_init(lambda: QNetwork(obs_space, self.n_actions, config))
        self.target = copy.deepcopy(self.model).requires_grad_(False)
        self.params = list(self.model.parameters())
        self.optimizer = make_adam(self.params, config.learning_rate, config.adam_eps)
        entries = self.obs_proc.entries
        replay = ReplayBuffer(
            config.buffer_size,
            {k: s.shape for k, s in entries.items()},
            self.obs_proc.dtypes,
            config.prioritized,
            config.per_alpha,
            config.per_eps,
        )
        self._start_replay(replay, np.zeros(self.num_agents, np.int64))
        # n-step: per-agent list of (obs, action, reward) not yet written to the replay memory
        self._nstep: list[list[tuple[dict[str, np.ndarray], int, float]]] = [[] for _ in range(self.num_agents)]

    # -- schedules -------------------------------------------------------------------------
    @property
    def epsilon(self) -> float:
        """Exploration rate now: decays linearly over ``exploration_fraction`` of the run."""
        cfg = self.config
        frac = (self.total_steps - self.run_start) / max(cfg.exploration_fraction * self.run_steps, 1.0)
        return linear_schedule(cfg.exploration_initial_eps, cfg.exploration_final_eps, frac)

    def acting_entropy(self) -> float:
        """Entropy (nats) of the epsilon-greedy acting policy: ln(actions) = uniformly random, 0 = greedy."""
        n, eps = self.n_actions, self.epsilon
        q = eps / n
        p = 1.0 - eps + q
        return float(-(p * np.log(p) if p > 0 else 0.0) - ((n - 1) * q * np.log(q) if q > 0 else 0.0))

    def _schedule_stats(self) -> dict[str, float]:
        out = {"learning_rate": self.learning_rate(), "epsilon": self.epsilon, "entropy": self.acting_entropy()}
        if self.config.prioritized:
            out["per_beta"] = linear_schedule(self.config.per_beta, 1.0, self.run_progress)
        return out

    def _mask(self, action_mask: Any, n: int) -> np.ndarray:
        m = np.asarray(action_mask, dtype=bool)
        if m.shape != (n, self.n_actions):
            raise ValueError(f"action_mask has shape {m.shape}, expected {(n, self.n_actions)}")
        return m

    def _greedy(self, obs_t: dict[str, torch.Tensor], mask: np.ndarray | None) -> np.ndarray:
        with torch.inference_mode():
            q = self.model(obs_t).numpy()
        if mask is not None:
            q = np.where(mask, q, -np.inf)
        return q.argmax(axis=1)

    # -- acting ----------------------------------------------------------------------------
    def act(self, obs: Any, action_mask: Any = None) -> np.ndarray:
        """Epsilon-greedy actions (N,) int64 for all agents; the step is recorded for observe()."""
        raw = self._begin_act(obs)
        n = self.num_agents
        mask = None if action_mask is None else self._mask(action_mask, n)
        explore = self.rng.random(n) < self.epsilon
        if mask is None:
            rand = self.rng.integers(0, self.n_actions, n)
        else:
            rand = np.argmax(self.rng.random((n, self.n_actions)) * mask + mask, axis=1)
        if explore.all():
            actions = rand
        else:
            actions = np.where(explore, rand, self._greedy(self._tensors(raw), mask))
        self._record(raw, actions.astype(np.int64))
        return self._last_actions.copy()

    def predict(self, obs: Any, deterministic: bool = True, action_mask: Any = None) -> np.ndarray:
        """Greedy actions (or epsilon-greedy if not deterministic) without recording anything."""
        n = len(next(iter(obs.values()))) if isinstance(obs, dict) else len(obs)
        raw = self.obs_proc.as_dict(obs, n)
        mask = None if action_mask is None else self._mask(action_mask, n)
        actions = self._greedy(self._tensors(raw), mask)
        if not deterministic:
            explore = self.rng.random(n) < self.epsilon
            actions = np.where(explore, self.rng.integers(0, self.n_actions, n), actions)
        return actions.astype(np.int64)

    def _store(
        self,
        obs: dict[str, np.ndarray],
        actions: np.ndarray,
        rewards: np.ndarray,
        nxt: dict[str, np.ndarray],
        term: np.ndarray,
        done: np.ndarray,
        active: np.ndarray,
    ) -> None:
        """As the base class; with n-step returns (``n_step`` > 1) a row that is not ``active`` writes
        out its pending returns ending at the observation it last acted from."""
        cfg = self.config
        if cfg.n_step == 1:
            super()._store(obs, actions, rewards, nxt, term, done, active)
            return
        out: list[tuple[dict[str, np.ndarray], int, float, dict[str, np.ndarray], float, float]] = []
        for i in range(self.num_agents):
            q = self._nstep[i]
            if not active[i]:
                # the window must not span the gap: its starts end at the last observation acted from
                last = {k: v[i] for k, v in obs.items()}
                for s in range(len(q)):
                    ret = sum(cfg.gamma**j * q[s + j][2] for j in range(len(q) - s))
                    out.append((q[s][0], q[s][1], ret, last, 0.0, cfg.gamma ** (len(q) - s)))
                q.clear()
                continue
            q.append(({k: v[i] for k, v in obs.items()}, int(actions[i]), float(rewards[i])))
            nxt_i = {k: v[i] for k, v in nxt.items()}
            if done[i]:
                starts = range(len(q))  # flush every pending start: shorter returns near the end
            elif len(q) == cfg.n_step:
                starts = range(1)
            else:
                continue
            for s in starts:
                ret = sum(cfg.gamma**j * q[s + j][2] for j in range(len(q) - s))
                out.append((q[s][0], q[s][1], ret, nxt_i, float(term[i]), cfg.gamma ** (len(q) - s)))
            if done[i]:
                q.clear()
            else:
                q.pop(0)
        if out:
            self.replay.add(
                {k: np.stack([o[0][k] for o in out]) for k in obs},
                np.array([o[1] for o in out], np.int64),
                np.array([o[2] for o in out], np.float32),
                {k: np.stack([o[3][k] for o in out]) for k in obs},
                np.array([o[4] for o in out], np.float32),
                np.array([o[5] for o in out], np.float32),
            )

    # -- learning --------------------------------------------------------------------------
    def _learn(self, steps: int) -> None:
        cfg = self.config
        lr = self.learning_rate()
        for g in self.optimizer.param_groups:
            g["lr"] = lr
        beta = linear_schedule(cfg.per_beta, 1.0, self.run_progress)
        rb = self.replay
        losses, qs, tds, norms = np.zeros(steps), np.zeros(steps), np.zeros(steps), np.zeros(steps)
        for s in range(steps):
            idx, weights = rb.sample(cfg.batch_size, self.rng, beta)
            obs = self._tensors({k: v[idx] for k, v in rb.obs.items()})
            nxt = self._tensors({k: v[idx] for k, v in rb.next_obs.items()})
            actions = torch.from_numpy(rb.actions[idx])
            rewards = torch.from_numpy(rb.rewards[idx])
            not_done = torch.from_numpy(1.0 - rb.dones[idx])
            disc = torch.from_numpy(rb.discounts[idx])
            with torch.no_grad():
                q_next_all = self.target(nxt)
                if cfg.double_dqn:
                    a_star = self.model(nxt).argmax(dim=1, keepdim=True)
                    q_next = q_next_all.gather(1, a_star).squeeze(1)
                else:
                    q_next = q_next_all.max(dim=1).values
                target = rewards + disc * not_done * q_next
            q = self.model(obs).gather(1, actions.unsqueeze(1)).squeeze(1)
            td = q - target
            if cfg.loss == "huber":
                per = nn.functional.smooth_l1_loss(q, target, reduction="none")
            else:
                per = td * td
            loss = (per * torch.from_numpy(weights)).mean() if cfg.prioritized else per.mean()
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.max_grad_norm > 0:  # the norm before clipping, for free from the clipping
                norms[s] = nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm, foreach=True).item()
            self.optimizer.step()
            if cfg.prioritized:
                rb.update_priorities(idx, td.detach().numpy())
            self.gradient_steps_done += 1
            if self.gradient_steps_done % cfg.target_update_interval == 0:
                self._update_target()
            losses[s] = loss.item()
            qs[s] = q.detach().mean().item()
            tds[s] = td.detach().abs().mean().item()
        self._losses = {
            "loss": float(losses.mean()),
            "q_mean": float(qs.mean()),
            "td_error": float(tds.mean()),
            "gradient_steps": float(self.gradient_steps_done),
            "replay_size": float(len(self.replay)),
        }
        if cfg.max_grad_norm > 0:
            self._losses["grad_norm"] = float(norms.mean())

    def _update_target(self) -> None:
        tau = self.config.tau
        with torch.no_grad():
            if tau >= 1.0:
                self.target.load_state_dict(self.model.state_dict())
            else:
                for tp, p in zip(self.target.parameters(), self.model.parameters(), strict=True):
                    tp.mul_(1.0 - tau).add_(p, alpha=tau)
