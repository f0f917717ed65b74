"""PPO rollouts collected elsewhere: what a worker's learner ships, and how the driver's learner learns from it.

A worker process runs a copy of the Brain's :class:`~.ppo.PPOLearner` that acts and fills its
rollout but never updates (``drivers/workers.py``). When the rollout is full it is taken out
(:func:`take_fragment`: every buffer of ``(num_steps, agents)`` rows, the observation and return
normalisers as they are now) and the rollout starts again. The driver's learner, whose batch
holds every worker's agents side by side, puts the fragments into its own buffers
(:func:`ingest_fragments`), merges what each worker's normalisers saw since they were last in
step, and updates as usual; :func:`policy_arrays` / :func:`load_policy` carry the new weights and
normalisers back. Everything is plain named numpy arrays (no pickle).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from .normalize import RunningMeanStd
from .persistence import prefixed
from .ppo import PPOLearner

__all__ = ["ingest_fragments", "load_policy", "policy_arrays", "take_fragment"]

Arrays = dict[str, np.ndarray]
_BUFFERS = ("actions", "logp", "values", "rewards", "dones", "active")


def _normalisers(learner) -> dict[str, RunningMeanStd]:
    """The running statistics acting depends on (any learner; replay learners have no reward scaler)."""
    out = {f"obs_norm/{k}": rms for k, rms in learner.obs_proc.rms.items()}
    if getattr(learner, "reward_scaler", None) is not None:
        out["ret_norm"] = learner.reward_scaler.rms
    return out


def _rms_arrays(prefix: str, rms: RunningMeanStd) -> Arrays:
    return {f"{prefix}/{k}": np.array(v, np.float64) for k, v in rms.state().items()}


def policy_arrays(learner: PPOLearner) -> Arrays:
    """The acting part of ``learner``: network weights and the normalisers (what a worker needs)."""
    out = {f"model/{k}": v.detach().cpu().numpy() for k, v in learner.model.state_dict().items()}
    for prefix, rms in _normalisers(learner).items():
        out.update(_rms_arrays(prefix, rms))
    return out


def load_policy(learner: PPOLearner, arrays: Mapping[str, np.ndarray]) -> None:
    """Make ``learner`` act as the learner :func:`policy_arrays` was taken from."""
    weights = {k: torch.from_numpy(np.array(v)) for k, v in prefixed(dict(arrays), "model").items()}
    learner.model.load_state_dict(weights)
    for prefix, rms in _normalisers(learner).items():
        rms.load_state(prefixed(dict(arrays), prefix))


def take_fragment(learner: PPOLearner) -> Arrays:
    """The full rollout of ``learner`` (``update_ready``) as arrays; the learner starts a new rollout.

    Rewards are the learner's (scaled, truncated episodes already bootstrapped with the worker's
    value of their final observation), so the driver needs nothing but these rows.
    """
    if not learner.update_ready:
        raise RuntimeError("the rollout is not full yet")
    out: Arrays = {f"obs/{k}": v.copy() for k, v in learner.buf_obs.items()}
    for name in _BUFFERS:
        out[name] = getattr(learner, f"buf_{name}").copy()
    if learner.buf_masks is not None:
        out["masks"] = learner.buf_masks.copy()
    out["last_values"] = learner.last_values.copy()
    for prefix, rms in _normalisers(learner).items():
        out.update(_rms_arrays(prefix, rms))
    learner._t = 0
    learner.update_ready = False
    return out


def _seen_since(before: RunningMeanStd, after: Mapping[str, np.ndarray]) -> tuple[float, np.ndarray, np.ndarray]:
    """``(count, mean, var)`` of the batches a copy of ``before`` merged to become ``after`` (Chan et al., inverted)."""
    c0, m0, v0 = before.count, before.mean, before.var
    c1, m1, v1 = float(after["count"]), np.asarray(after["mean"]), np.asarray(after["var"])
    nb = c1 - c0
    if nb <= 0:
        return 0.0, m0, v0
    mb = (c1 * m1 - c0 * m0) / nb
    delta = mb - m0
    vb = np.maximum((v1 * c1 - v0 * c0 - delta**2 * c0 * nb / c1) / nb, 0.0)
    return nb, mb, vb


def _merge(rms: RunningMeanStd, count: float, mean: np.ndarray, var: np.ndarray) -> None:
    if count <= 0:
        return
    delta = mean - rms.mean
    total = rms.count + count
    m2 = rms.var * rms.count + var * count + delta**2 * rms.count * count / total
    rms.mean = rms.mean + delta * count / total
    rms.var = m2 / total
    rms.count = total


def ingest_fragments(learner: PPOLearner, fragments: Sequence[Mapping[str, np.ndarray]]) -> None:
    """Fill ``learner``'s rollout with ``fragments`` side by side (worker order) and make it ready to update.

    Each fragment covers ``learner.config.num_steps`` steps of some agents; their agents together
    are the learner's batch. The learner's normalisers must be the ones the workers started the
    fragments from (:func:`policy_arrays` after its last update); what each worker's copies saw
    since is merged in, worker after worker.
    """
    T = learner.config.num_steps
    sizes = [len(f["last_values"]) for f in fragments]
    if sum(sizes) != learner.num_agents:
        raise ValueError(f"fragments of {sum(sizes)} agents for a learner of {learner.num_agents}")
    if learner.update_ready or learner._t:
        raise RuntimeError("the learner's rollout is not empty")
    for f in fragments:
        if f["rewards"].shape[0] != T:
            raise ValueError(f"a fragment of {f['rewards'].shape[0]} steps for a rollout of {T}")
    for k, buf in learner.buf_obs.items():
        buf[...] = np.concatenate([f[f"obs/{k}"] for f in fragments], axis=1)
    for name in _BUFFERS:
        getattr(learner, f"buf_{name}")[...] = np.concatenate([f[name] for f in fragments], axis=1)
    if any("masks" in f for f in fragments):
        ones = np.ones((T, 1, learner.mask_dim), bool)
        learner.buf_masks = np.concatenate(
            [f["masks"] if "masks" in f else np.repeat(ones, n, axis=1) for f, n in zip(fragments, sizes, strict=True)],
            axis=1,
        )
    learner.last_values = np.concatenate([f["last_values"] for f in fragments])
    for prefix, rms in _normalisers(learner).items():
        seen = [_seen_since(rms, prefixed(dict(f), prefix)) for f in fragments]
        for count, mean, var in seen:
            _merge(rms, count, mean, var)
    learner.total_steps += T * learner.num_agents
    learner._t = T
    learner.update_ready = True
