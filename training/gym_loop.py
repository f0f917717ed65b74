"""``learn(env, steps)``: a convenience loop over the stepwise API for gymnasium envs.

Works with a single ``gymnasium.Env`` or a ``gymnasium.vector.VectorEnv`` built with
``autoreset_mode=AutoresetMode.SAME_STEP`` (then the true final observation of each ended
episode is in ``info["final_obs"]`` and is used to bootstrap truncations).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .config import DQNConfig, PPOConfig, SACConfig
from .factory import make_learner
from .learner import Learner
from .spaces import Box, Discrete, from_gymnasium

__all__ = ["evaluate", "learn"]


def _is_vector(env: Any) -> bool:
    import gymnasium as gym

    return isinstance(env, gym.vector.VectorEnv)


def _stack_final(infos: dict[str, Any], done: np.ndarray, next_obs: Any) -> Any:
    """Batch of final observations: ``info['final_obs']`` rows where an episode ended."""
    if "final_obs" not in infos:
        return None
    fin = infos["final_obs"]
    if isinstance(next_obs, dict):
        out = {k: v.copy() for k, v in next_obs.items()}
        for i in np.flatnonzero(done):
            for k in out:
                out[k][i] = fin[i][k]
        return out
    out = next_obs.copy()
    for i in np.flatnonzero(done):
        out[i] = fin[i]
    return out


def learn(
    env: Any,
    steps: int,
    config: PPOConfig | DQNConfig | SACConfig | None = None,
    learner: Learner | None = None,
    seed: int = 0,
    callback: Callable[[Learner], bool | None] | None = None,
) -> Learner:
    """Train on a gymnasium env (single or vector) for ``steps`` env steps; returns the learner.

    Pass ``learner`` to continue training one (e.g. after ``load_learner``); else one is built from
    ``config`` (default ``PPOConfig()``). The ``steps`` are one training run (``begin_run``): every
    schedule decays over them. ``callback(learner)`` runs after every step; returning False stops
    training.
    """
    vector = _is_vector(env)
    n = env.num_envs if vector else 1
    if learner is None:
        obs_space = from_gymnasium(env.single_observation_space if vector else env.observation_space)
        act_space = from_gymnasium(env.single_action_space if vector else env.action_space)
        learner = make_learner(config or PPOConfig(), obs_space, act_space, num_agents=n, seed=seed)
    if vector:
        import gymnasium as gym

        mode = env.metadata.get("autoreset_mode")
        if mode is not None and mode != gym.vector.AutoresetMode.SAME_STEP:
            raise ValueError(
                "learn() needs a vector env built with autoreset_mode=gymnasium.vector.AutoresetMode.SAME_STEP"
            )
    obs, _ = env.reset(seed=seed)
    if not vector:
        obs = _batch1(obs)
    scalar_action = isinstance(learner.action_space, Discrete)
    learner.begin_run(steps)
    target = learner.total_steps + steps
    while learner.total_steps < target:
        actions = learner.act(obs)
        if vector:
            next_obs, rewards, term, trunc, infos = env.step(actions)
            done = np.logical_or(term, trunc)
            final = _stack_final(infos, done, next_obs) if done.any() else None
        else:
            a = int(actions[0]) if scalar_action else actions[0]
            o, r, te, tr, _ = env.step(a)
            rewards, term, trunc = np.array([r], np.float32), np.array([te]), np.array([tr])
            final = None
            if te or tr:
                final = _batch1(o)
                o, _ = env.reset()
            next_obs = _batch1(o)
        learner.observe(rewards, term, trunc, next_obs, final_obs=final)
        obs = next_obs
        if callback is not None and callback(learner) is False:
            break
    return learner


def _batch1(obs: Any) -> Any:
    if isinstance(obs, dict):
        return {k: np.asarray(v)[None] for k, v in obs.items()}
    return np.asarray(obs)[None]


def evaluate(policy: Any, env: Any, episodes: int = 10, seed: int = 10_000, deterministic: bool = True) -> float:
    """Mean return of ``policy`` over ``episodes`` on a single env.

    ``policy`` is anything with ``predict(obs_batch, deterministic=...)``: a learner or a NumpyPolicy.
    """
    returns = []
    discrete = None
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        if hasattr(policy, "reset_memory"):  # a policy with memory starts each episode afresh
            policy.reset_memory()
        total, done = 0.0, False
        while not done:
            o = _batch1(obs)
            a = policy.predict(o, deterministic=deterministic)
            if discrete is None:
                discrete = not isinstance(from_gymnasium(env.action_space), Box) and np.ndim(a) == 1
            obs, r, te, tr, _ = env.step(int(a[0]) if discrete else a[0])
            total += float(r)
            done = te or tr
        returns.append(total)
    return float(np.mean(returns))
