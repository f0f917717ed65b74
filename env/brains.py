"""Brain runners: what decides the actions of one Brain's agents, all in one batch.

A runner gets the batch of observations and returns the batch of actions; a Training runner also
learns from what it observes. Spaces come from ``training.spaces`` so learners and the scene
agree on shapes.
"""

from __future__ import annotations

import numpy as np

from ..core import specs as S
from ..training import spaces as sp
from .brain_store import BrainError, check_spaces, load


def observation_space(vector_size: int, cameras: tuple[S.Camera, ...]) -> sp.Space:
    """The learner's observation space: a Box, or a Dict when the agents have cameras."""
    if not cameras:
        return sp.Box((vector_size,))
    entries: dict[str, sp.Space] = {}
    if vector_size:
        entries["vector"] = sp.Box((vector_size,))
    for i, cam in enumerate(cameras):
        dtype = "float32" if cam.kind == "DEPTH" else "uint8"
        entries[f"camera_{i}"] = sp.Image(cam.height, cam.width, cam.channels, dtype)
    return sp.Dict(entries)


def action_space(actions) -> sp.Space:
    """The learner's action space for a behaviour's actions (a Hybrid for continuous and discrete together)."""
    if isinstance(actions, S.HybridActions):
        c = actions.continuous
        return sp.Hybrid(sp.Box((c.size,), c.low, c.high), tuple(len(b) for b in actions.discrete.branches))
    if isinstance(actions, S.ContinuousActions):
        return sp.Box((actions.size,), actions.low, actions.high)
    sizes = [len(b) for b in actions.branches]
    return sp.Discrete(sizes[0]) if len(sizes) == 1 else sp.MultiDiscrete(sizes)


def check_algorithm(name: str, algorithm: str, actions) -> None:
    """Raise :class:`BrainError` naming Brain ``name`` if ``algorithm`` cannot learn its agents' actions."""
    if isinstance(actions, S.HybridActions) and algorithm in ("DQN", "SAC"):
        raise BrainError(
            f"Brain '{name}' uses {algorithm}, which cannot learn hybrid actions (continuous and discrete "
            "together); its agents have both: use PPO"
        )
    continuous = isinstance(actions, S.ContinuousActions)
    if continuous and algorithm == "DQN":
        raise BrainError(f"Brain '{name}' uses DQN, which needs discrete actions; its agents' are continuous")
    if not continuous and algorithm == "SAC":
        raise BrainError(f"Brain '{name}' uses SAC, which needs continuous actions; its agents' are discrete")


def actions_as_slots(actions: np.ndarray, space: sp.Space, n: int) -> np.ndarray:
    """Learner actions → (N, slots) float64 for the ``Action`` expression."""
    a = np.asarray(actions, dtype=np.float64)
    if isinstance(space, sp.Discrete):
        return a.reshape(n, 1)
    return a.reshape(n, -1)


class Runner:
    """Base runner. ``decide`` returns actions in the learner's format for ``action_space``."""

    trains = False

    def __init__(self, name: str, obs_space: sp.Space, act_space: sp.Space, n: int):
        self.name, self.obs_space, self.action_space, self.n = name, obs_space, act_space, n

    def decide(self, obs, heuristic: np.ndarray | None = None, mask: np.ndarray | None = None) -> np.ndarray:
        """Actions for the batch. ``mask`` (agents, sum of branch sizes) bool, from the behaviour's
        Action Mask nodes (None: every choice allowed): a runner never returns a masked choice."""
        raise NotImplementedError

    def observe(self, rewards, terminated, truncated, next_obs, final_obs, active=None) -> None:
        """Learn from the outcome of the last decision (only Training runners do).

        ``active`` (bool per agent, None: all): False marks a row whose agent was waiting (Reset on
        Done off): its transition is not real."""

    def new_episodes(self, starts: np.ndarray) -> None:
        """The agents where ``starts`` (bool per agent) begin a new episode at this decision (a policy
        with memory clears theirs; a Training runner's learner does so itself when it observes the end)."""

    @property
    def update_pending(self) -> bool:
        return False

    def update_chunk(self, max_minibatches: int | None) -> bool:
        return True

    @property
    def values(self) -> np.ndarray | None:
        """Each agent's value estimate at the latest decision (None: this Brain estimates none)."""
        return None

    @property
    def extra_stats(self) -> dict[str, float]:
        """Statistics of the runner itself, shown with the learner's (a self-play Brain's ELO)."""
        return {}


class HeuristicRunner(Runner):
    """Uses the behaviour's Heuristic Action output."""

    def decide(self, obs, heuristic=None, mask=None):
        if heuristic is None:
            raise BrainError(f"Brain '{self.name}' is Heuristic but its agents' behaviour has no Heuristic Action")
        space = self.action_space
        if isinstance(space, sp.Hybrid):  # the continuous values clipped, then the choices
            c = space.continuous.dim
            box = space.continuous
            cont = np.clip(heuristic[:, :c], box.low_array(), box.high_array())
            choice = np.clip(np.rint(heuristic[:, c:]).astype(np.int64), 0, np.asarray(space.nvec) - 1)
            return _hybrid(cont, respect_mask(choice, mask, space.nvec))
        if isinstance(space, sp.Box):
            return np.clip(heuristic, space.low_array(), space.high_array()).astype(np.float32)
        choice = np.rint(heuristic).astype(np.int64)
        nvec = sp.action_nvec(self.action_space)
        choice = np.clip(choice, 0, np.asarray(nvec) - 1)
        choice = respect_mask(choice, mask, nvec)
        return choice[:, 0] if isinstance(self.action_space, sp.Discrete) else choice


class ExternalRunner(Runner):
    """Actions come from outside (the gymnasium wrapper sets ``next_actions`` before each step)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.next_actions: np.ndarray | None = None
        self.last_obs = None
        self.last_mask: np.ndarray | None = None  # the action mask of the latest decision (None: no masks)

    def decide(self, obs, heuristic=None, mask=None):
        self.last_obs, self.last_mask = obs, mask
        actions = _zero_actions(self.action_space, self.n) if self.next_actions is None else self.next_actions
        if mask is None:
            return actions
        nvec = sp.action_nvec(self.action_space)
        if isinstance(self.action_space, sp.Hybrid):
            return _masked_hybrid(np.asarray(actions, np.float32).reshape(self.n, -1), mask, self.action_space)
        chosen = respect_mask(np.asarray(actions, dtype=np.int64).reshape(self.n, -1), mask, nvec)
        return chosen[:, 0] if isinstance(self.action_space, sp.Discrete) else chosen


class PlayerRunner(Runner):
    """Follows the keyboard: each held key sets an action (a discrete choice, or adds to a continuous axis).

    ``bindings``: ``(event type, action index, value)``. Discrete: while the key is held, branch
    ``action index`` takes choice ``int(value)`` (otherwise choice 0). Continuous: held keys add
    ``value`` to axis ``action index`` (clipped to the action range). Hybrid: indices below the
    continuous size are axes, the next ones the branches in order. ``env.player.pressed`` holds
    the keys currently down (the Play operator updates it from viewport events).
    """

    def __init__(self, name, obs_space, act_space, n, bindings):
        super().__init__(name, obs_space, act_space, n)
        self.bindings = list(bindings)
        space = self.action_space
        slots = space.dim if isinstance(space, sp.Box | sp.Hybrid) else len(sp.action_nvec(space))
        for key, index, _value in self.bindings:
            if not 0 <= index < slots:
                raise BrainError(f"Brain '{name}': key {key} is bound to action {index}, but there are only {slots}")

    def decide(self, obs, heuristic=None, mask=None):
        from . import player

        actions = player_actions(self.bindings, player.pressed, self.action_space, self.n)
        if mask is None:
            return actions
        if isinstance(self.action_space, sp.Hybrid):
            return _masked_hybrid(actions, mask, self.action_space)
        chosen = respect_mask(actions.reshape(self.n, -1), mask, sp.action_nvec(self.action_space))
        return chosen[:, 0] if isinstance(self.action_space, sp.Discrete) else chosen


def player_actions(bindings, pressed, space: sp.Space, n: int) -> np.ndarray:
    """Actions for every agent from the keys held down (all agents of a Player Brain follow the keyboard)."""
    if isinstance(space, sp.Hybrid):
        c = space.continuous.dim
        cont = [(k, i, v) for k, i, v in bindings if i < c]
        choice = [(k, i - c, v) for k, i, v in bindings if i >= c]
        branches = sp.MultiDiscrete(space.nvec)
        return _hybrid(player_actions(cont, pressed, space.continuous, n), player_actions(choice, pressed, branches, n))
    if isinstance(space, sp.Box):
        a = np.zeros(space.dim, dtype=np.float32)
        for key, index, value in bindings:
            if key in pressed:
                a[index] += value
        a = np.clip(a, space.low_array(), space.high_array()).astype(np.float32)
        return np.repeat(a[None, :], n, axis=0)
    nvec = np.asarray(sp.action_nvec(space))
    choice = np.zeros(len(nvec), dtype=np.int64)
    for key, index, value in bindings:
        if key in pressed:
            choice[index] = min(max(int(value), 0), int(nvec[index]) - 1)
    if isinstance(space, sp.Discrete):
        return np.full(n, choice[0], dtype=np.int64)
    return np.repeat(choice[None, :], n, axis=0)


def respect_mask(choice: np.ndarray, mask: np.ndarray | None, nvec) -> np.ndarray:
    """``choice`` (agents, branches) with every masked choice replaced by its branch's first enabled one."""
    if mask is None:
        return choice
    choice = np.array(choice, dtype=np.int64)
    start = 0
    for b, size in enumerate(nvec):
        allowed = mask[:, start : start + size]
        rows = np.arange(len(choice))
        blocked = ~allowed[rows, choice[:, b]]
        choice[blocked, b] = np.argmax(allowed[blocked], axis=1)
        start += size
    return choice


def _hybrid(continuous: np.ndarray, choice: np.ndarray) -> np.ndarray:
    """A hybrid action batch: the continuous values, then the choices (as floats)."""
    return np.concatenate([continuous, choice], axis=1).astype(np.float32)


def _masked_hybrid(actions: np.ndarray, mask: np.ndarray, space: sp.Hybrid) -> np.ndarray:
    c = space.continuous.dim
    return _hybrid(actions[:, :c], respect_mask(np.rint(actions[:, c:]).astype(np.int64), mask, space.nvec))


def _zero_actions(space: sp.Space, n: int) -> np.ndarray:
    if isinstance(space, sp.Box | sp.Hybrid):
        return np.zeros((n, space.dim), dtype=np.float32)
    if isinstance(space, sp.Discrete):
        return np.zeros(n, dtype=np.int64)
    return np.zeros((n, len(sp.action_nvec(space))), dtype=np.int64)


class TrainingRunner(Runner):
    """Learns in-process with the Brain's algorithm; resumes from the Brain's stored state if any."""

    trains = True

    def __init__(self, name, obs_space, act_space, n, config, seed: int, state: bytes | None = None):
        super().__init__(name, obs_space, act_space, n)
        from ..training.factory import learner_from_state, make_learner
        from ..training.persistence import StateError
        from ..training.state_check import resumed_config

        if state:
            checked = load(state, name, "its stored model cannot be resumed")
            if checked.algorithm != config.algorithm:
                raise BrainError(
                    f"Brain '{name}' is set to {config.algorithm.upper()} but its stored model was trained with "
                    f"{checked.algorithm.upper()}: set Algorithm back to {checked.algorithm.upper()}, or Reset the "
                    "Brain's model to train from scratch"
                )
            check_spaces(name, checked, obs_space, act_space, "its agents now have", reset=True)
            try:
                self.learner = learner_from_state(checked, num_agents=n, auto_update=False)
            except (StateError, ValueError) as exc:
                raise BrainError(f"Brain '{name}': its stored model cannot be resumed: {exc}") from None
            # the Brain's settings apply from now on, but for those the stored network and memory were built with
            self.learner.config = resumed_config(self.learner.config, config)
        else:
            try:
                self.learner = make_learner(config, obs_space, act_space, num_agents=n, seed=seed, auto_update=False)
            except ValueError as exc:  # a size over its limit (core.limits.LIMITS), a bad space
                raise BrainError(f"Brain '{name}': {exc}") from None

    def decide(self, obs, heuristic=None, mask=None):
        if mask is None:  # learners without masks (continuous ones) take no action_mask
            return self.learner.act(obs)
        return self.learner.act(obs, action_mask=mask)

    def observe(self, rewards, terminated, truncated, next_obs, final_obs, active=None):
        if active is None:
            self.learner.observe(rewards, terminated, truncated, next_obs, final_obs)
        else:
            self.learner.observe(rewards, terminated, truncated, next_obs, final_obs, active=active)

    @property
    def update_pending(self) -> bool:
        return bool(self.learner.update_ready)

    def update_chunk(self, max_minibatches):
        return self.learner.update(max_minibatches=max_minibatches)

    def state_bytes(self) -> bytes:
        return self.learner.save_bytes(include_buffers=False)

    @property
    def values(self) -> np.ndarray | None:
        """PPO's critic estimate of each agent at its latest decision (computed while acting anyway);
        None for DQN, whose exploring actions compute no value."""
        return getattr(self.learner, "acting_values", None)


class InferenceRunner(Runner):
    """Runs a trained model with the numpy forward pass (no torch needed).

    Discrete PPO actions are sampled from the policy, as in training (ML-Agents' default), unless
    ``deterministic``: then the most probable one is taken. Continuous actions are always the
    policy's mean and DQN's its best-valued action. ``seed`` seeds the sampling.
    """

    def __init__(
        self,
        name,
        obs_space,
        act_space,
        n,
        state: bytes,
        brain_type: str = "INFERENCE",
        deterministic: bool = True,
        seed: int = 0,
    ):
        super().__init__(name, obs_space, act_space, n)
        # sampling a Gaussian would only shake a continuous agent (a bake would jitter): the mean is its best guess
        self.deterministic = deterministic or isinstance(act_space, sp.Box)
        self.mean_continuous = isinstance(act_space, sp.Hybrid)  # hybrid: the mean too, choices as asked
        if not state:
            if brain_type == "TRAINING":  # Play or Bake of a Training Brain runs what it has learned
                raise BrainError(f"Brain '{name}' has not been trained yet: press Train first (or import a model)")
            raise BrainError(f"Brain '{name}' is Inference but has no trained model (train it or import one)")
        from ..training import NumpyPolicy

        checked = load(state, name)
        check_spaces(name, checked, obs_space, act_space, "its agents have")
        self.policy = NumpyPolicy.from_checked(checked, seed=seed)

    def decide(self, obs, heuristic=None, mask=None):
        if self.mean_continuous:
            return self.policy.act(obs, action_mask=mask, deterministic=self.deterministic, mean_continuous=True)
        return self.policy.act(obs, action_mask=mask, deterministic=self.deterministic)

    def new_episodes(self, starts):
        if self.policy.has_memory and starts is not None and np.any(starts):
            self.policy.reset_memory(np.asarray(starts, bool))
