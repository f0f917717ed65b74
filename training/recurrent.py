"""PPO with memory: a GRU policy trained on sequences, and stacked observations.

``make_learner`` builds a :class:`RecurrentPPOLearner` when a PPOConfig has ``use_memory`` on or
``stacked_observations`` above 1. Each agent's memory (the GRU state, the observation stack) is
carried from decision to decision and cleared when that agent's episode ends.

Training with Use Memory follows CleanRL's ``ppo_atari_lstm`` and ML-Agents: the GRU state each
agent acted with is stored at every step; the rollout (``num_steps`` x agents) is cut into
sequences of ``sequence_length`` steps per agent, each replayed from its stored start state
(truncated backpropagation through time, no burn-in), the state zeroed inside a sequence where an
episode ended. Minibatches are whole sequences (``minibatch_size // sequence_length`` of them).

Network with Use Memory: the actor trunk (``actor.``) feeds a GRU cell (``memory.``) whose output
feeds both the policy head and the value head (the critic shares the trunk and the memory, as in
CleanRL; Shared Network is not used).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from .common import as_flags
from .gae import compute_gae
from .memory import ObsStack, network_space
from .networks import ActorCritic, Trunk, _ortho_init
from .persistence import prefixed
from .ppo import PPOLearner

__all__ = ["RecurrentActorCritic", "RecurrentPPOLearner"]


class RecurrentActorCritic(nn.Module):
    """Actor trunk -> GRU cell of ``memory_size`` -> policy head and value head."""

    def __init__(self, obs_space: Any, action_dim: int, continuous: bool, cfg: Any) -> None:
        super().__init__()
        self.continuous = continuous
        if continuous:
            self.log_std = nn.Parameter(torch.full((action_dim,), float(cfg.log_std_init)))
        self.actor = Trunk(obs_space, cfg)
        self.memory = nn.GRUCell(self.actor.out_dim, cfg.memory_size)
        self.pi_head = nn.Linear(cfg.memory_size, action_dim)
        self.v_head = nn.Linear(cfg.memory_size, 1)
        self.memory_size = int(cfg.memory_size)
        if cfg.ortho_init:
            _ortho_init(self.actor, math.sqrt(2))
            _ortho_init(self.pi_head, 0.01)
            _ortho_init(self.v_head, 1.0)

    def step(self, obs: dict[str, torch.Tensor], h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One decision: policy output, value (N,) and the new memory state (N, memory_size)."""
        h = self.memory(self.actor(obs), h)
        return self.pi_head(h), self.v_head(h).squeeze(-1), h


class RecurrentPPOLearner(PPOLearner):
    """PPO whose agents remember: a GRU state and/or a stack of recent observations per agent."""

    def __init__(self, config: Any, obs_space: Any, action_space: Any, num_agents: int = 1, seed: int = 0,
                 auto_update: bool = True) -> None:  # fmt: skip
        self.recurrent = bool(config.use_memory)
        self.net_space = network_space(obs_space, config.stacked_observations)
        self.stack = ObsStack(obs_space, config.stacked_observations, num_agents)
        super().__init__(config, obs_space, action_space, num_agents, seed, auto_update)
        self.h = np.zeros((self.num_agents, self.memory_size), np.float32)
        self._predict_stack = ObsStack(obs_space, config.stacked_observations, 0)
        self._predict_h = np.zeros((0, self.memory_size), np.float32)

    @property
    def memory_size(self) -> int:
        """Size of each agent's GRU state (0 without Use Memory)."""
        return int(self.config.memory_size) if self.recurrent else 0

    def _make_model(self) -> nn.Module:
        if self.recurrent:
            return RecurrentActorCritic(self.net_space, self.action_dim, self.continuous, self.config)
        return ActorCritic(self.net_space, self.action_dim, self.continuous, self.config)

    def _alloc(self) -> None:
        super()._alloc()
        T, N = self.config.num_steps, self.num_agents
        self.buf_obs = {k: np.zeros((T, N, *s.shape), self.obs_proc.dtypes[k]) for k, s in self._net_entries().items()}
        self.buf_memory = np.zeros((T, N, self.memory_size), np.float32)

    def _net_entries(self) -> dict[str, Any]:
        from .spaces import obs_entries

        return obs_entries(self.net_space)

    # -- acting ----------------------------------------------------------------------------
    def _acting_obs(self, obs: Any) -> dict[str, np.ndarray]:
        return self.stack.push(self.obs_proc(obs, update=True))

    def _acting_forward(self, obs: dict[str, torch.Tensor], t: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.recurrent:
            return self.model(obs)
        self.buf_memory[t] = self.h
        out, value, h = self.model.step(obs, torch.from_numpy(self.h))
        self.h = h.numpy().copy()
        return out, value

    def _peek(self, obs: Any, stack: ObsStack, h: np.ndarray, n: int | None = None) -> tuple[Any, ...]:
        """Policy output, value and the next memory for ``obs`` after ``stack`` and ``h``, changing nothing."""
        o = stack.push(self.obs_proc(obs, update=False, n=n), commit=False)
        x = {k: torch.from_numpy(v) for k, v in o.items()}
        with torch.inference_mode():
            if self.recurrent:
                out, value, h_new = self.model.step(x, torch.from_numpy(h))
                return out, value, h_new.numpy().copy(), o
            out, value = self.model(x)
            return out, value, h, o

    def _values(self, obs: Any) -> np.ndarray:
        return self._peek(obs, self.stack, self.h)[1].numpy()

    def observe(self, rewards: Any, terminated: Any, truncated: Any, next_obs: Any = None, final_obs: Any = None,
                active: Any = None) -> dict[str, Any]:  # fmt: skip
        """As ``PPOLearner.observe``; then each ended agent's memory is cleared before its next ``act``."""
        n = self.num_agents
        done = as_flags(terminated, n, "terminated") | as_flags(truncated, n, "truncated")
        auto, self.auto_update = self.auto_update, False
        try:  # the bootstrap of truncated episodes reads the memory before it is cleared
            info = super().observe(rewards, terminated, truncated, next_obs, final_obs, active)
        finally:
            self.auto_update = auto
        self.stack.clear(done)
        self.h[done] = 0.0
        if self.update_ready and self._t == self.config.num_steps:
            self.last_values = self._values(next_obs)  # the next episodes' first values, from cleared memory
            if auto:
                self.update()
                info["updated"] = True
        return info

    def reset_memory(self, rows: Any = None) -> None:
        """Clear the memory ``predict`` carries (all rows, or where ``rows`` (bool) is True)."""
        if rows is None:
            self._predict_stack.resize(0)
            self._predict_h = np.zeros((0, self.memory_size), np.float32)
            return
        rows = np.asarray(rows, bool)
        self._predict_stack.clear(rows)
        if len(self._predict_h) == len(rows):
            self._predict_h[rows] = 0.0

    def _predict_memory(self, n: int) -> None:
        if len(self._predict_h) != n or self._predict_stack.n != n:  # a new batch starts with a clear memory
            self._predict_h = np.zeros((n, self.memory_size), np.float32)
            self._predict_stack = ObsStack(self.obs_space, self.config.stacked_observations, n)

    def predict(self, obs: Any, deterministic: bool = True, action_mask: Any = None) -> np.ndarray:
        """Actions for a batch, carrying a memory of its own between calls (cleared when the batch
        size changes, or by ``reset_memory`` at episode ends); records nothing for training."""
        n = len(next(iter(obs.values()))) if isinstance(obs, dict) else len(obs)
        self._predict_memory(n)
        out, _, self._predict_h, _ = self._peek(obs, self._predict_stack, self._predict_h, n)
        self._predict_stack.push(self.obs_proc(obs, update=False, n=n))
        mask_t = None if action_mask is None else torch.from_numpy(self._mask(action_mask, n))
        with torch.inference_mode():
            if self.continuous:
                a, _ = self.dist.sample(out, self.model.log_std, self.torch_gen, deterministic)  # type: ignore[call-arg,arg-type]
            else:
                a, _ = self.dist.sample(out, mask_t, self.torch_gen, deterministic)  # type: ignore[arg-type]
        return self._env_action(a.numpy())

    def predict_values(self, obs: Any) -> np.ndarray:
        """Value estimates (N,) after the memory ``predict`` carries (changing nothing)."""
        n = len(next(iter(obs.values()))) if isinstance(obs, dict) else len(obs)
        self._predict_memory(n)
        return self._peek(obs, self._predict_stack, self._predict_h, n)[1].numpy()

    def export_onnx(self, path: Any, convention: str = "academy") -> None:
        """Export the acting policy with its memory as inputs and outputs (``recurrent_export``)."""
        from .recurrent_export import export_memory_onnx

        export_memory_onnx(self, path, convention=convention)

    # -- learning --------------------------------------------------------------------------
    def _update_steps(self) -> Iterator[None]:
        if not self.recurrent:  # stacked observations only: ordinary PPO on the stacked batch
            yield from super()._update_steps()
            return
        cfg = self.config
        T, N, L = cfg.num_steps, self.num_agents, cfg.sequence_length
        S = T // L
        rewards, signal_stats = self.signals.add_rewards(self) if self.signals is not None else (self.buf_rewards, {})
        adv, ret = compute_gae(
            rewards, self.buf_values, self.buf_dones, self.last_values, cfg.gamma, cfg.gae_lambda,
            None if self.buf_active.all() else self.buf_active,
        )  # fmt: skip
        if self.signals is not None:  # curiosity's and RND's stream: its own critic and GAE
            adv = adv + self.signals.intrinsic_advantages(self)

        def seqs(a: np.ndarray) -> torch.Tensor:
            """(T, N, ...) -> (L, S*N, ...): time-major sequences, sequence s of agent n at column s*N+n."""
            x = a.reshape(S, L, N, *a.shape[2:]).swapaxes(0, 1).reshape(L, S * N, *a.shape[2:])
            return torch.from_numpy(np.ascontiguousarray(x))

        B = S * N
        obs = {k: seqs(v) for k, v in self.buf_obs.items()}
        actions = seqs(self.buf_actions.reshape(T, N, -1))
        old_logp, old_values = seqs(self.buf_logp), seqs(self.buf_values)
        advantages, returns = seqs(adv), seqs(ret)
        weight = seqs(self.buf_active.astype(np.float32))
        masks = None if self.buf_masks is None else seqs(self.buf_masks)
        h0 = torch.from_numpy(np.ascontiguousarray(self.buf_memory[::L].reshape(B, -1)))
        # keep[j]: 0 where the state entering step j of a sequence must be cleared (an episode ended at j-1)
        prev_done = np.zeros((T, N), np.float32)
        prev_done[1:] = self.buf_dones[:-1]
        prev_done[::L] = 0.0  # a sequence's first state is the stored one, already cleared
        keep = 1.0 - seqs(prev_done)

        lr = self.learning_rate()
        for g in self.optimizer.param_groups:
            g["lr"] = lr
        clip = self.clip_range()
        per_mb = max(1, cfg.minibatch_size // L)
        sums, count, stop = np.zeros(7), 0, False
        per_epoch = -(-B // per_mb)
        for _epoch in range(cfg.num_epochs):
            perm = torch.from_numpy(self.rng.permutation(B))
            for start in range(0, B, per_mb):
                idx = perm[start : start + per_mb]
                h = h0[idx]
                outs, values = [], []
                for j in range(L):
                    out_j, v_j, h = self.model.step({k: v[j, idx] for k, v in obs.items()}, h * keep[j, idx, None])
                    outs.append(out_j)
                    values.append(v_j)
                out, value = torch.cat(outs), torch.cat(values)
                flat = lambda x, idx=idx: x[:, idx].reshape(L * len(idx), *x.shape[2:])  # noqa: E731
                w = flat(weight)
                total = w.sum().clamp(min=1.0)
                act_mb = flat(actions)
                if self.continuous:
                    logp, entropy = self.dist.evaluate(out, self.model.log_std, act_mb)  # type: ignore[call-arg,arg-type]
                else:
                    logp, entropy = self.dist.evaluate(out, act_mb, None if masks is None else flat(masks))  # type: ignore[arg-type]
                logratio = logp - flat(old_logp)
                ratio = logratio.exp()
                with torch.no_grad():
                    approx_kl = ((((ratio - 1.0) - logratio) * w).sum() / total).item()
                    clipfrac = ((((ratio - 1.0).abs() > clip).float() * w).sum() / total).item()
                if cfg.target_kl > 0 and approx_kl > 1.5 * cfg.target_kl:
                    stop = True
                    break
                mb_adv = flat(advantages)
                if cfg.normalize_advantage and total > 1:
                    mean = (mb_adv * w).sum() / total
                    std = (((mb_adv - mean) ** 2 * w).sum() / (total - 1)).sqrt()
                    mb_adv = (mb_adv - mean) / (std + 1e-8)
                pg = torch.max(-mb_adv * ratio, -mb_adv * ratio.clamp(1.0 - clip, 1.0 + clip))
                pg_loss = (pg * w).sum() / total
                ret_mb, old_v = flat(returns), flat(old_values)
                v_err = (value - ret_mb) ** 2
                if cfg.clip_vloss:
                    v_err = torch.max(v_err, (old_v + (value - old_v).clamp(-clip, clip) - ret_mb) ** 2)
                v_loss = (v_err * w).sum() / total
                ent = (entropy * w).sum() / total
                loss = pg_loss - cfg.ent_coef * ent + cfg.vf_coef * v_loss
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                grad_norm = math.nan
                if cfg.max_grad_norm > 0:
                    grad_norm = nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm, foreach=True).item()
                self.optimizer.step()
                sums += (pg_loss.item(), v_loss.item(), ent.item(), approx_kl, clipfrac, loss.item(), grad_norm)
                count += 1
                yield
            if stop:
                break
        active = self.buf_active.reshape(-1)
        ret_a, val_a = ret.reshape(-1)[active], self.buf_values.reshape(-1)[active]
        var_ret = float(np.var(ret_a)) if len(ret_a) else 0.0
        explained = float("nan") if var_ret == 0 else 1.0 - float(np.var(ret_a - val_a)) / var_ret
        if count:
            m = sums / count
            keys = ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction", "total_loss")
            self._losses = dict(zip(keys, (float(x) for x in m[:6]), strict=True))
            self._losses.update(
                explained_variance=explained, value_estimate=float(np.mean(val_a)) if len(val_a) else 0.0,
                minibatches=float(count), epochs=count / per_epoch, early_stopped=float(stop),
            )  # fmt: skip
            if cfg.max_grad_norm > 0:
                self._losses["grad_norm"] = float(m[6])
            if self.continuous:
                self._losses["action_std"] = float(self.model.log_std.detach().exp().mean())
        if self.signals is not None:
            self._losses.update({**signal_stats, **self.signals.update(self)})
        self._t = 0
        self.update_ready = False
        self.num_updates += 1

    # -- persistence -----------------------------------------------------------------------
    def _state(self, include_buffers: bool) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        header, arrays = super()._state(include_buffers)
        if include_buffers:  # the memory agents carry mid-episode, to resume exactly
            if self.recurrent:
                arrays["buffer/memory"] = self.buf_memory
                arrays["memory/state"] = self.h
            arrays.update({f"memory/stack/{k}": v for k, v in self.stack.state().items()})
        return header, arrays

    def _load(self, header: dict[str, Any], arrays: dict[str, np.ndarray], with_buffers: bool) -> None:
        super()._load(header, arrays, with_buffers)
        if not with_buffers:
            return
        if self.recurrent:
            self.buf_memory[...] = arrays["buffer/memory"]
            self.h = np.array(arrays["memory/state"], np.float32)
        self.stack.load_state(prefixed(arrays, "memory/stack"))
