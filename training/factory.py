"""Build learners: a new one for a config (:func:`make_learner`), or one rebuilt from a saved state.

The factory sits apart from the base class in ``learner.py`` so that ``ppo.py``, ``dqn.py`` and ``sac.py``
import the base class and this module imports them, with no circle.
"""

from __future__ import annotations

import os

from .arch import check_sizes
from .config import DQNConfig, PPOConfig, SACConfig
from .learner import Learner
from .memory import has_memory
from .spaces import Space, check_same_spaces
from .state_check import CheckedState, load_state

__all__ = ["learner_from_state", "load_learner", "make_learner"]


def load_learner(
    source: bytes | str | os.PathLike[str],
    obs_space: Space | None = None,
    action_space: Space | None = None,
    num_agents: int | None = None,
    auto_update: bool = True,
) -> Learner:
    """Rebuild a learner from ``save_bytes()`` data or a saved file.

    Pass the spaces the caller needs now to get a clear error naming the shapes that differ.
    ``num_agents`` may differ from the saved one (the unfinished rollout/replay state is then kept
    only where it does not depend on the agent count).
    """
    state = load_state(source)
    if obs_space is not None or action_space is not None:
        saved_obs, saved_act = state.obs_space, state.action_space
        check_same_spaces(saved_obs, saved_act, obs_space or saved_obs, action_space or saved_act)
    return learner_from_state(state, num_agents, auto_update)


def learner_from_state(state: CheckedState, num_agents: int | None = None, auto_update: bool = True) -> Learner:
    """Rebuild a learner from a state ``state_check.load_state`` has checked (see :func:`load_learner`)."""
    header = state.header
    n = int(header["num_agents"]) if num_agents is None else int(num_agents)
    learner = make_learner(
        state.config,
        state.obs_space,
        state.action_space,
        num_agents=n,
        seed=int(header["seed"]),
        auto_update=auto_update,
    )
    learner._restore(header, state.arrays)
    return learner


def make_learner(
    config: PPOConfig | DQNConfig | SACConfig,
    obs_space: Space,
    action_space: Space,
    num_agents: int = 1,
    seed: int = 0,
    auto_update: bool = True,
) -> Learner:
    """Build the learner for ``config`` (PPOConfig -> PPOLearner, DQNConfig -> DQNLearner, SACConfig -> SACLearner).

    Spaces, networks and buffers over ``core.limits.LIMITS`` are refused first (``arch.check_sizes``).
    """
    if isinstance(config, PPOConfig | DQNConfig | SACConfig):
        check_sizes(config, obs_space, action_space, num_agents)
    if isinstance(config, PPOConfig) and has_memory(config):
        from .recurrent import RecurrentPPOLearner

        return RecurrentPPOLearner(config, obs_space, action_space, num_agents, seed, auto_update)
    if isinstance(config, PPOConfig):
        from .ppo import PPOLearner

        return PPOLearner(config, obs_space, action_space, num_agents, seed, auto_update)
    if isinstance(config, DQNConfig):
        from .dqn import DQNLearner

        return DQNLearner(config, obs_space, action_space, num_agents, seed, auto_update)
    if isinstance(config, SACConfig):
        from .sac import SACLearner

        return SACLearner(config, obs_space, action_space, num_agents, seed, auto_update)
    raise TypeError(f"config must be a PPOConfig, DQNConfig or SACConfig, got {type(config).__name__}")
