"""Replay memory for DQN: preallocated circular arrays, uniform or prioritised sampling (numpy only)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ReplayBuffer", "SumTree"]


class SumTree:
    """Binary sum tree over ``capacity`` priorities with vectorised update and prefix-sum search."""

    def __init__(self, capacity: int) -> None:
        self.size = 1
        while self.size < capacity:
            self.size *= 2
        self.tree = np.zeros(2 * self.size, np.float64)

    @property
    def total(self) -> float:
        return float(self.tree[1])

    def set(self, idx: np.ndarray, priorities: np.ndarray) -> None:
        nodes = np.asarray(idx, np.int64) + self.size
        self.tree[nodes] = priorities  # duplicates: the last write wins, as in a sequential loop
        nodes = np.unique(nodes // 2)
        while nodes[0] >= 1:
            self.tree[nodes] = self.tree[2 * nodes] + self.tree[2 * nodes + 1]
            if nodes[0] == 1:
                break
            nodes = np.unique(nodes // 2)

    def get(self, idx: np.ndarray) -> np.ndarray:
        return self.tree[np.asarray(idx, np.int64) + self.size]

    def find(self, values: np.ndarray) -> np.ndarray:
        """Leaf index whose cumulative-priority interval contains each value."""
        values = np.array(values, np.float64)
        node = np.ones(len(values), np.int64)
        while node[0] < self.size:
            left = 2 * node
            lv = self.tree[left]
            right = values > lv
            values = np.where(right, values - lv, values)
            node = np.where(right, left + 1, left)
        return node - self.size


class ReplayBuffer:
    """Transitions (obs, action, reward, next_obs, done, discount) in circular numpy arrays.

    ``discount`` is gamma**k for a k-step transition, so the TD target is
    ``reward + discount * (1 - done) * Q(next_obs)`` for 1-step and n-step alike. Actions are
    int64 choices (DQN) or, with ``action_shape``/``action_dtype``, float vectors (SAC).
    """

    def __init__(
        self,
        capacity: int,
        obs_shapes: dict[str, tuple[int, ...]],
        obs_dtypes: dict[str, Any],
        prioritized: bool = False,
        alpha: float = 0.6,
        eps: float = 1e-6,
        action_shape: tuple[int, ...] = (),
        action_dtype: Any = np.int64,
    ) -> None:
        self.capacity = int(capacity)
        self.obs = {k: np.zeros((capacity, *s), obs_dtypes[k]) for k, s in obs_shapes.items()}
        self.next_obs = {k: np.zeros((capacity, *s), obs_dtypes[k]) for k, s in obs_shapes.items()}
        self.actions = np.zeros((capacity, *action_shape), action_dtype)
        self.rewards = np.zeros(capacity, np.float32)
        self.dones = np.zeros(capacity, np.float32)
        self.discounts = np.zeros(capacity, np.float32)
        self.pos = 0
        self.size = 0
        self.prioritized = prioritized
        self.alpha = alpha
        self.eps = eps
        self.tree = SumTree(capacity) if prioritized else None
        self.max_priority = 1.0

    def __len__(self) -> int:
        return self.size

    def add(
        self,
        obs: dict[str, np.ndarray],
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: dict[str, np.ndarray],
        dones: np.ndarray,
        discounts: np.ndarray,
    ) -> None:
        """Append a batch of M transitions (wrapping around when full)."""
        m = len(actions)
        if m == 0:
            return
        idx = (self.pos + np.arange(m)) % self.capacity
        for k in self.obs:
            self.obs[k][idx] = obs[k]
            self.next_obs[k][idx] = next_obs[k]
        self.actions[idx] = actions
        self.rewards[idx] = rewards
        self.dones[idx] = dones
        self.discounts[idx] = discounts
        if self.tree is not None:
            self.tree.set(idx, np.full(m, self.max_priority**self.alpha))
        self.pos = int((self.pos + m) % self.capacity)
        self.size = int(min(self.size + m, self.capacity))

    def sample(self, batch_size: int, rng: np.random.Generator, beta: float = 0.4) -> tuple[np.ndarray, np.ndarray]:
        """Indices and importance weights (all ones when uniform)."""
        if self.tree is None:
            return rng.integers(0, self.size, batch_size), np.ones(batch_size, np.float32)
        total = self.tree.total
        seg = total / batch_size
        values = (np.arange(batch_size) + rng.random(batch_size)) * seg
        idx = np.minimum(self.tree.find(np.minimum(values, total * (1 - 1e-12))), self.size - 1)
        probs = self.tree.get(idx) / total
        weights = (self.size * np.maximum(probs, 1e-12)) ** (-beta)
        return idx, (weights / weights.max()).astype(np.float32)

    def update_priorities(self, idx: np.ndarray, td_errors: np.ndarray) -> None:
        if self.tree is None:
            return
        prios = np.abs(td_errors) + self.eps
        self.max_priority = max(self.max_priority, float(prios.max()))
        self.tree.set(idx, prios**self.alpha)

    def state(self) -> dict[str, np.ndarray]:
        n = self.size
        out = {f"obs/{k}": v[:n] for k, v in self.obs.items()}
        out.update({f"next_obs/{k}": v[:n] for k, v in self.next_obs.items()})
        for name in ("actions", "rewards", "dones", "discounts"):
            out[name] = getattr(self, name)[:n]
        out["meta"] = np.array([self.pos, self.size], np.int64)
        if self.tree is not None:
            out["priorities"] = self.tree.get(np.arange(n))
            out["max_priority"] = np.array(self.max_priority)
        return out

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        pos, size = (int(x) for x in arrays["meta"])
        if size > self.capacity:
            return  # a smaller buffer was configured: start empty rather than guess which to keep
        for k in self.obs:
            self.obs[k][:size] = arrays[f"obs/{k}"]
            self.next_obs[k][:size] = arrays[f"next_obs/{k}"]
        for name in ("actions", "rewards", "dones", "discounts"):
            getattr(self, name)[:size] = arrays[name]
        self.pos, self.size = pos % self.capacity, size
        if self.tree is not None and "priorities" in arrays:
            self.tree.set(np.arange(size), arrays["priorities"])
            self.max_priority = float(arrays["max_priority"])
