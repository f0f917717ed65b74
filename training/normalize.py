"""Running statistics for observation normalisation and reward scaling (numpy only)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["RewardScaler", "RunningMeanStd"]


class RunningMeanStd:
    """Running mean and variance merged batch by batch (Chan et al. parallel algorithm)."""

    def __init__(self, shape: tuple[int, ...] = (), epsilon: float = 1e-4) -> None:
        self.mean = np.zeros(shape, np.float64)
        self.var = np.ones(shape, np.float64)
        self.count = float(epsilon)

    def update(self, batch: np.ndarray) -> None:
        batch = np.asarray(batch, np.float64)
        b_mean = batch.mean(axis=0)
        b_var = batch.var(axis=0)
        b_count = batch.shape[0]
        delta = b_mean - self.mean
        total = self.count + b_count
        self.mean = self.mean + delta * b_count / total
        m2 = self.var * self.count + b_var * b_count + delta**2 * self.count * b_count / total
        self.var = m2 / total
        self.count = total

    def normalize(self, x: np.ndarray, clip: float) -> np.ndarray:
        out = (x - self.mean) / np.sqrt(self.var + 1e-8)
        return np.clip(out, -clip, clip).astype(np.float32)

    def state(self) -> dict[str, Any]:
        return {"mean": self.mean, "var": self.var, "count": np.array(self.count)}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.mean = np.asarray(arrays["mean"], np.float64).copy()
        self.var = np.asarray(arrays["var"], np.float64).copy()
        self.count = float(arrays["count"])


class RewardScaler:
    """Divides rewards by the running std of each agent's discounted return (SB3 VecNormalize)."""

    def __init__(self, num_agents: int, gamma: float, clip: float) -> None:
        self.rms = RunningMeanStd(())
        self.returns = np.zeros(num_agents, np.float64)
        self.gamma = gamma
        self.clip = clip

    def __call__(self, rewards: np.ndarray, dones: np.ndarray, active: np.ndarray | None = None) -> np.ndarray:
        """Scaled rewards; rows with ``active`` False neither update the statistics nor their return."""
        if active is None or active.all():
            self.returns = self.returns * self.gamma + rewards
            self.rms.update(self.returns)
        else:
            self.returns = np.where(active, self.returns * self.gamma + rewards, self.returns)
            if active.any():
                self.rms.update(self.returns[active])
            dones = dones & active
        scaled = np.clip(rewards / np.sqrt(self.rms.var + 1e-8), -self.clip, self.clip)
        self.returns[dones] = 0.0
        return scaled.astype(np.float32)

    def scale(self, values: np.ndarray) -> np.ndarray:
        """Scale values (e.g. a bootstrap) the same way as rewards, without updating the stats."""
        return (values / np.sqrt(self.rms.var + 1e-8)).astype(np.float32)
