"""What the replay-memory learners (DQN, SAC) share: recording a step, storing transitions,
the train-frequency bookkeeping, ``update`` and the persistence of the target network and memory."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .buffers import ReplayBuffer
from .common import as_active, as_flags, as_rewards
from .learner import Learner
from .persistence import prefixed

__all__ = ["ReplayLearner"]


class ReplayLearner(Learner):
    """Base of the off-policy learners. A subclass builds ``model``, ``target`` and calls
    :meth:`_start_replay`; it implements ``act``/``predict`` (through :meth:`_begin_act` and
    :meth:`_record`) and ``_learn(steps)``."""

    replay: ReplayBuffer
    target: nn.Module

    def _start_replay(self, replay: ReplayBuffer, last_actions: np.ndarray) -> None:
        self.replay = replay
        self.gradient_steps_done = 0
        self._since_train = 0
        self._pending_grad_steps = 0
        self._last_obs: dict[str, np.ndarray] | None = None
        self._last_actions = last_actions

    def _tensors(self, raw: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        parts = dict(raw)
        for k, rms in self.obs_proc.rms.items():
            parts[k] = rms.normalize(parts[k], self.obs_proc.clip)
        return {k: torch.from_numpy(v) for k, v in parts.items()}

    def _begin_act(self, obs: Any) -> dict[str, np.ndarray]:
        """The raw observation arrays of an ``act`` (the running normalisation updated with them)."""
        if self.update_ready and self._pending_grad_steps:
            raise RuntimeError("an update is pending: call update() until it returns True before acting")
        raw = self.obs_proc.as_dict(obs)
        for k, rms in self.obs_proc.rms.items():
            rms.update(raw[k])
        return raw

    def _record(self, raw: dict[str, np.ndarray], actions: np.ndarray) -> None:
        self._last_obs = {k: v.copy() for k, v in raw.items()}
        self._last_actions = actions

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

        For agents that ended, the stored next observation is ``final_obs`` (if given) else, for
        truncations, the last acting observation (an approximation of the bootstrap).
        ``active`` (N,) bool: False where this row's step is not real (e.g. an agent waiting for a
        reset): no transition is stored for it and statistics ignore it.
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
            raise ValueError(f"{self.algorithm.upper()} needs next_obs")
        nxt = {k: v.copy() for k, v in self.obs_proc.as_dict(next_obs).items()}
        if done.any():
            fin = self.obs_proc.as_dict(final_obs) if final_obs is not None else self._last_obs
            for k in nxt:
                nxt[k][done] = fin[k][done]
        self._store(self._last_obs, self._last_actions, r, nxt, term, done, act_)
        self._last_obs = None
        self.total_steps += n
        info: dict[str, Any] = {"updated": False}
        cfg = self.config
        if self.total_steps >= cfg.learning_starts:
            self._since_train += int(act_.sum())
            rounds = self._since_train // cfg.train_freq
            if rounds:
                self._since_train -= rounds * cfg.train_freq
                self._pending_grad_steps += rounds * cfg.gradient_steps
                self.update_ready = True
                if self.auto_update:
                    self.update()
                    info["updated"] = True
        return info

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
        """One-step transitions of the active rows into the replay memory."""
        if not active.all():
            obs = {k: v[active] for k, v in obs.items()}
            nxt = {k: v[active] for k, v in nxt.items()}
            actions, rewards, term = actions[active], rewards[active], term[active]
        disc = np.full(len(actions), self.config.gamma, np.float32)
        self.replay.add(obs, actions, rewards, nxt, term.astype(np.float32), disc)

    def _learn(self, steps: int) -> None:
        raise NotImplementedError

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
