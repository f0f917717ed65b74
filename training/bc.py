"""Behaviour cloning from demonstrations: pretraining a policy, and an auxiliary loss during PPO.

The loss is the negative log-probability of the demonstrated action under the policy (as
ML-Agents' behavioral_cloning): for discrete actions the cross-entropy of each branch; for
continuous actions the Gaussian's log-probability with its spread held fixed, so the mean is
fitted to the demonstrated action and the spread is left to PPO's exploration. DQN pretraining
takes the Q-values as the logits of that cross-entropy (the demonstrated action becomes the best
valued); DQN has no auxiliary loss (its updates are not a policy's).

:func:`pretrain` initialises a learner's policy. :class:`BCAuxiliary` runs, after every PPO update,
passes over the demonstrations with the policy's learning rate times ``strength``, decaying
linearly to nothing over ``steps`` agent steps (0: for ever), and reports ``bc_loss`` and
``bc_strength`` in the learner's statistics.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .demos import Demonstrations
from .learner import Learner, make_adam

__all__ = ["BCAuxiliary", "agreement", "bc_loss", "check_fits", "pretrain"]

PRETRAIN_LEARNING_RATE = 1e-3


def check_fits(learner: Learner, demos: Demonstrations) -> None:
    """ValueError unless ``demos`` were recorded for the learner's observation and action spaces."""
    if getattr(learner, "net_space", None) is not None:  # decisions out of their sequence carry no memory
        raise ValueError("behaviour cloning with memory (Use Memory or Stacked Observations) is not built")
    if demos.obs_space != learner.obs_space or demos.action_space != learner.action_space:
        raise ValueError(
            f"the demonstrations were recorded with observations {demos.obs_space.describe()} and actions "
            f"{demos.action_space.describe()}, but the model has {learner.obs_space.describe()} and "
            f"{learner.action_space.describe()}"
        )
    if not demos.steps:
        raise ValueError("the demonstrations hold no decisions")


def _tensors(learner: Learner, demos: Demonstrations, update_normalizer: bool):
    obs = learner.obs_proc(demos.obs, update=update_normalizer, n=demos.steps)
    return {k: torch.from_numpy(v) for k, v in obs.items()}, torch.from_numpy(_raw_actions(learner, demos))


def _raw_actions(learner: Learner, demos: Demonstrations) -> np.ndarray:
    """Demonstrated actions as the policy produces them before they reach the scene."""
    a = demos.actions
    if getattr(learner, "continuous", False):
        if learner.config.continuous_dist == "squashed":  # the scene's action is tanh of the raw one, rescaled
            low, high = learner.low, learner.high  # type: ignore[attr-defined]
            unit = np.clip(2.0 * (a - low) / (high - low) - 1.0, -0.999999, 0.999999)
            return np.arctanh(unit).astype(np.float32)
        return a.astype(np.float32)
    return a.reshape(len(a), -1).astype(np.int64)


def bc_loss(learner: Learner, obs: dict[str, torch.Tensor], actions: torch.Tensor) -> torch.Tensor:
    """Mean negative log-probability of ``actions`` (raw, see :func:`_raw_actions`) given ``obs``."""
    if learner.algorithm == "dqn":
        return torch.nn.functional.cross_entropy(learner.model(obs), actions[:, 0])
    out = learner.model.policy(obs)
    if learner.continuous:  # type: ignore[attr-defined]
        logp, _ = learner.dist.evaluate(out, learner.model.log_std.detach(), actions)  # type: ignore[attr-defined]
    else:
        logp, _ = learner.dist.evaluate(out, actions, None)  # type: ignore[attr-defined]
    return -logp.mean()


def agreement(learner: Learner, demos: Demonstrations) -> float:
    """Discrete: the fraction of decisions whose most probable action is the demonstrated one.
    Continuous: the mean absolute difference between the policy's mean action and the demonstrated one."""
    got = np.asarray(learner.predict(demos.obs, deterministic=True))
    if getattr(learner, "continuous", False):
        return float(np.abs(got - demos.actions).mean())
    return float((got.reshape(demos.steps, -1) == demos.actions.reshape(demos.steps, -1)).all(axis=1).mean())


def _passes(
    learner: Learner,
    optimizer: torch.optim.Optimizer,
    obs: dict[str, torch.Tensor],
    actions: torch.Tensor,
    epochs: int,
    batch_size: int,
    rng: np.random.Generator,
) -> tuple[float, int]:
    """``epochs`` shuffled passes of minibatches; the mean loss of the last pass and the minibatches run."""
    n, last, batches = len(actions), math.nan, 0
    for _ in range(epochs):
        perm = torch.from_numpy(rng.permutation(n))
        total, count = 0.0, 0
        for start in range(0, n, batch_size):
            idx = perm[start : start + batch_size]
            loss = bc_loss(learner, {k: v[idx] for k, v in obs.items()}, actions[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            max_norm = getattr(learner.config, "max_grad_norm", 0)
            if max_norm > 0:
                torch.nn.utils.clip_grad_norm_(learner.params, max_norm)  # type: ignore[attr-defined]
            optimizer.step()
            total, count = total + loss.item() * len(idx), count + len(idx)
            batches += 1
        last = total / max(count, 1)
    return last, batches


def pretrain(
    learner: Learner,
    demos: Demonstrations,
    epochs: int = 50,
    batch_size: int = 256,
    learning_rate: float = PRETRAIN_LEARNING_RATE,
    seed: int = 0,
) -> dict[str, float]:
    """Fit the learner's policy (PPO) or Q-values (DQN) to reproduce the demonstrated actions.

    A learner that has not trained yet (``total_steps`` 0) takes its observation normaliser's
    statistics from the demonstrations first. Returns ``bc_loss`` (the last pass's mean),
    :func:`agreement` afterwards (``bc_agreement`` for discrete actions, ``bc_action_error`` for
    continuous ones) and ``bc_minibatches``.
    """
    if learner.algorithm not in ("ppo", "dqn"):
        raise ValueError(f"pretraining from demonstrations works with PPO and DQN, not {learner.algorithm.upper()}")
    check_fits(learner, demos)
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"pretraining needs at least 1 epoch and a batch of 1 (got {epochs}, {batch_size})")
    obs, actions = _tensors(learner, demos, update_normalizer=learner.total_steps == 0)
    optimizer = make_adam(learner.params, learning_rate, 1e-8)  # type: ignore[attr-defined]
    loss, batches = _passes(learner, optimizer, obs, actions, epochs, batch_size, np.random.default_rng(seed))
    if learner.algorithm == "dqn":  # the target network starts from what was learned
        learner.target.load_state_dict(learner.model.state_dict())  # type: ignore[attr-defined]
    key = "bc_action_error" if getattr(learner, "continuous", False) else "bc_agreement"
    return {"bc_loss": loss, key: agreement(learner, demos), "bc_minibatches": float(batches)}


class BCAuxiliary:
    """Behaviour cloning beside PPO's own loss (ML-Agents' ``behavioral_cloning``).

    ``strength``: the BC learning rate as a multiple of the policy's (0 turns it off). ``steps``:
    agent steps over which that strength decays linearly to 0 (0: it stays). ``batch_size``: demonstration
    decisions per gradient step. Each PPO update is followed by as many passes over the
    demonstrations as PPO's epochs. Its own Adam moments; nothing of it is saved with the model.
    """

    def __init__(self, demos: Demonstrations, strength: float, steps: int = 0, batch_size: int = 512) -> None:
        if not strength > 0 or steps < 0 or batch_size < 1:
            raise ValueError(
                f"behaviour cloning needs a strength above 0, steps of 0 or more and a batch of at least 1 "
                f"(got {strength}, {steps}, {batch_size})"
            )
        self.demos, self.strength, self.steps, self.batch_size = demos, float(strength), int(steps), int(batch_size)
        self.start_steps = 0
        self.optimizer: torch.optim.Optimizer | None = None
        self.minibatches = 0
        self._rng = np.random.default_rng(0)

    def attach(self, learner: Learner, seed: int = 0) -> None:
        """Make ``learner`` (PPO) run this after each update; the decay of ``steps`` starts now."""
        if learner.algorithm != "ppo":
            raise ValueError(f"behaviour cloning during training works with PPO only, not {learner.algorithm.upper()}")
        check_fits(learner, self.demos)
        self.start_steps = learner.total_steps
        self.optimizer = make_adam(learner.params, learner.config.learning_rate, learner.config.adam_eps)  # type: ignore[attr-defined]
        self._rng = np.random.default_rng(seed)
        learner.bc_aux = self  # type: ignore[attr-defined]

    def strength_now(self, learner: Learner) -> float:
        """``strength`` decayed linearly over ``steps`` agent steps since :meth:`attach` (constant with 0 steps)."""
        if not self.steps:
            return self.strength
        return self.strength * max(0.0, 1.0 - (learner.total_steps - self.start_steps) / self.steps)

    def update(self, learner: Learner) -> dict[str, Any]:
        """The BC passes after a PPO update; the statistics to add to the learner's."""
        assert self.optimizer is not None, "attach() first"
        strength = self.strength_now(learner)
        obs, actions = _tensors(learner, self.demos, update_normalizer=False)
        if strength <= 0:  # decayed away: only say how far the policy is from the demonstrations
            with torch.no_grad():
                loss = float(bc_loss(learner, obs, actions))
            return {"bc_loss": loss, "bc_strength": 0.0}
        for g in self.optimizer.param_groups:
            g["lr"] = learner.learning_rate() * strength
        epochs = int(getattr(learner.config, "num_epochs", 1))
        loss, batches = _passes(learner, self.optimizer, obs, actions, epochs, self.batch_size, self._rng)
        self.minibatches += batches
        return {"bc_loss": loss, "bc_strength": strength}
