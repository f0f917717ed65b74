"""Demonstrations in the scene: recording play, storing recordings in the Brain, learning from them.

Recording: a :class:`Recorder` is told by the Academy after every decision (``Academy.on_decision``)
and keeps, per agent of each recorded Brain, what it observed, what it did and what followed (the
reward, the end of its episode); a waiting agent's rows are not real and are left out. The
Session makes one when a running Brain has Record Demonstrations on (:func:`recorder_for`) and,
when it ends, stores the recording as a new entry of the Brain's Demonstrations (:meth:`Recorder.store`).

Storing: each entry holds its recording as the bytes ID property ``entry["academy_demo"]`` in the
format of ``training.demos`` (never a pickle), written with ``brain_store.write_bytes`` (delete,
assign, read back and compare); reading checks it completely (:func:`entry_demos`).

Learning: :func:`attach_bc` gives a PPO Brain with a GAIL Strength its demonstrations as GAIL's expert
data, and each PPO Brain that trains with a Behavioral Cloning Strength its
:class:`training.bc.BCAuxiliary`; :func:`pretrain_brain` fits a Brain's policy to its
demonstrations (Pretrain from Demonstrations, ``academy train --pretrain``).
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..core.files import write_atomic
from ..training.demos import DemoError, Demonstrations, concatenate, load_demos
from ..training.spaces import Box, Discrete, obs_entries
from . import brain_store
from .brain_store import BrainError, StoreError
from .brains import ExternalRunner, TrainingRunner
from .groups import brain_for, brain_spaces

__all__ = [
    "DEMO_KEY",
    "Recorder",
    "add_demonstrations",
    "attach_bc",
    "brain_demonstrations",
    "entry_demos",
    "export_entry",
    "import_file",
    "pretrain_brain",
    "recorder_for",
    "refuse_hybrid",
]

DEMO_KEY = "academy_demo"


class _Track:
    """One Brain's recording: each agent's running episode, and the episodes that ended."""

    def __init__(self, state) -> None:
        self.state = state
        self.entries = tuple(obs_entries(state.obs_space))
        self.running: list[list[tuple]] = [[] for _ in range(state.n)]
        self.ended: list[list[tuple]] = []
        self.pending: tuple | None = None  # the last decision: observations, actions, which agents act

    def decided(self) -> None:
        s = self.state
        if self.pending is not None:
            obs, actions, acting = self.pending
            for i in np.flatnonzero(acting):
                end = bool(s.terminated[i]), bool(s.truncated[i])
                self.running[i].append((tuple(o[i] for o in obs), actions[i], float(s.rewards[i]), *end))
                if end[0] or end[1]:
                    self.ended.append(self.running[i])
                    self.running[i] = []
        raw = s.last_obs if isinstance(s.last_obs, dict) else {"obs": s.last_obs}
        obs = tuple(np.array(raw[k]) for k in self.entries)
        self.pending = (obs, np.array(s.last_actions), ~np.asarray(s.waiting, dtype=bool))

    def demonstrations(self) -> Demonstrations | None:
        episodes = self.ended + [ep for ep in self.running if ep]
        rows = [row for ep in episodes for row in ep]
        if not rows:
            return None
        space = self.state.action_space
        actions = np.array([row[1] for row in rows])
        if isinstance(space, Box):
            actions = np.clip(actions.astype(np.float32), space.low_array(), space.high_array()).astype(np.float32)
        else:
            actions = actions.astype(np.int64).reshape((len(rows),) if isinstance(space, Discrete) else (len(rows), -1))
        spaces = obs_entries(self.state.obs_space)
        obs_dtypes = {k: np.uint8 if getattr(spaces[k], "dtype", "") == "uint8" else np.float32 for k in self.entries}
        return Demonstrations(
            self.state.obs_space,
            space,
            {k: np.stack([row[0][j] for row in rows]).astype(obs_dtypes[k]) for j, k in enumerate(self.entries)},
            actions,
            np.array([row[2] for row in rows], np.float32),
            np.array([row[3] for row in rows], bool),
            np.array([row[4] for row in rows], bool),
            np.repeat(np.arange(len(episodes), dtype=np.int64), [len(ep) for ep in episodes]),
            brain=self.state.name,
        )


class Recorder:
    """Records the decisions of the Brains named ``names`` of a running ``academy`` (see the module docstring)."""

    def __init__(self, academy, names) -> None:
        self.tracks = {name: _Track(academy.brains[name]) for name in names}
        academy.on_decision = self.decided

    def decided(self) -> None:
        """Called by the Academy after every decision."""
        for track in self.tracks.values():
            track.decided()

    def demonstrations(self, name: str) -> Demonstrations | None:
        """What was recorded of Brain ``name`` so far (None: nothing yet)."""
        return self.tracks[name].demonstrations()

    def store(self, scene) -> list[str]:
        """Add each Brain's recording to its Demonstrations; returns the names of the new entries."""
        added = []
        for name, track in self.tracks.items():
            demos = track.demonstrations()
            brain = brain_for(scene, name, track.state.uid)
            if demos is not None and brain is not None:
                added.append(add_demonstrations(brain, demos).name)
        return added


def recorder_for(scene, academy) -> Recorder | None:
    """A :class:`Recorder` of the running Brains with Record Demonstrations on that do not learn; None if none."""
    names = []
    for name, state in academy.brains.items():
        brain = brain_for(scene, name, state.uid)
        if brain is not None and brain.demos.record and not isinstance(state.runner, TrainingRunner | ExternalRunner):
            refuse_hybrid(name, state.action_space, "Record Demonstrations is on")
            names.append(name)
    return Recorder(academy, names) if names else None


def refuse_hybrid(name: str, action_space, why: str) -> None:
    """Raise :class:`BrainError` naming Brain ``name`` when its agents have hybrid actions, which
    demonstrations (recording, Behavioral Cloning, GAIL, pretraining) do not take yet."""
    from ..training.spaces import Hybrid

    if isinstance(action_space, Hybrid):
        raise BrainError(
            f"Brain '{name}': {why}, but demonstrations of hybrid actions (continuous and discrete together) "
            "are not built: turn it off"
        )


# -- stored in the Brain -----------------------------------------------------------------------


def _label(brain, entry) -> str:
    return f"Brain '{brain.name}': demonstration '{entry.name}'"


def add_demonstrations(brain, demos: Demonstrations, name: str = "") -> object:
    """Store ``demos`` as a new entry of the Brain's Demonstrations (checked, written, read back);
    the entry is removed again and :class:`StoreError` raised if Blender does not keep the bytes."""
    data = demos.to_bytes()
    items = brain.demos.items
    taken = {item.name for item in items}
    base = name or "Demo"
    label, n = base, 1
    while label in taken:
        n += 1
        label = f"{base} {n}"
    entry = items.add()
    entry.name = label
    try:
        brain_store.write_bytes(entry, DEMO_KEY, data, label=_label(brain, entry))
    except StoreError:
        items.remove(len(items) - 1)
        raise
    entry.steps, entry.episodes = demos.steps, demos.episodes
    entry.mean_return = 0.0 if math.isnan(demos.mean_return) else demos.mean_return
    brain.demos.active_index = len(items) - 1
    return entry


def entry_demos(brain, entry) -> Demonstrations:
    """The entry's recording, checked completely; :class:`BrainError` naming the Brain and the entry if not."""
    raw = entry.get(DEMO_KEY)
    if not isinstance(raw, (bytes, bytearray, memoryview)) or not len(raw):
        raise BrainError(f"{_label(brain, entry)} holds no recording")
    try:
        return load_demos(bytes(raw))
    except DemoError as exc:
        raise BrainError(f"{_label(brain, entry)}: {exc}") from None


def brain_demonstrations(brain) -> Demonstrations:
    """Every recording of the Brain as one; :class:`BrainError` naming the Brain if it has none or they differ."""
    if not len(brain.demos.items):
        raise BrainError(
            f"Brain '{brain.name}' has no demonstrations (turn on Record Demonstrations and Play, or import some)"
        )
    parts = [entry_demos(brain, entry) for entry in brain.demos.items]
    try:
        return concatenate(parts, brain=brain.name)
    except DemoError as exc:
        raise BrainError(f"Brain '{brain.name}': {exc}") from None


def export_entry(brain, entry, path: str | os.PathLike[str]) -> str:
    """Write the entry's recording to ``path`` (checked first, written atomically, read back)."""
    entry_demos(brain, entry)
    return str(write_atomic(path, bytes(entry[DEMO_KEY])))


def import_file(brain, path: str | os.PathLike[str]) -> object:
    """Add the demonstrations in the file at ``path`` to the Brain (checked first; named after the file)."""
    try:
        demos = load_demos(path)
    except DemoError as exc:
        raise BrainError(f"Brain '{brain.name}': {os.path.basename(path)}: {exc}") from None
    return add_demonstrations(brain, demos, os.path.splitext(os.path.basename(path))[0])


# -- learning from them --------------------------------------------------------------------------


def attach_bc(scene, academy) -> None:
    """Give every learning Brain with a Behavioral Cloning Strength above 0 its BC auxiliary loss."""
    for name, state in academy.brains.items():
        brain = brain_for(scene, name, state.uid)
        if brain is None or not isinstance(state.runner, TrainingRunner):
            continue
        if brain.demos.bc_strength > 0:
            refuse_hybrid(name, state.action_space, "Behavioral Cloning Strength is on")
        _attach_gail(brain, name, state.runner.learner)
        if brain.demos.bc_strength <= 0:
            continue
        from ..training.bc import BCAuxiliary

        settings = brain.demos
        try:
            demos = brain_demonstrations(brain)
            aux = BCAuxiliary(demos, settings.bc_strength, settings.bc_steps, settings.bc_batch_size)
            aux.attach(state.runner.learner, seed=academy.seed)
        except ValueError as exc:
            raise BrainError(f"Brain '{name}': Behavioral Cloning Strength is on, but {exc}") from None


def _attach_gail(brain, name: str, learner) -> None:
    """A PPO learner with a GAIL Strength above 0 gets the Brain's demonstrations as its expert data."""
    signals = getattr(learner, "signals", None)
    if signals is None or "gail" not in signals.signals:
        return
    refuse_hybrid(name, learner.action_space, "GAIL Strength is above 0")
    demos = brain_demonstrations(brain)  # BrainError naming the Brain when it has none
    try:
        signals.set_demonstrations(learner, demos)
    except ValueError as exc:
        raise BrainError(f"Brain '{name}': GAIL Strength is above 0, but {exc}") from None


def pretrain_brain(scene, brain, seed: int | None = None) -> dict[str, float]:
    """Fit the Brain's policy to its demonstrations (Pretrain Epochs passes) and store it in the Brain.

    A Brain with a model goes on from it; one without starts a fresh model with its settings. The
    demonstrations must fit the Brain's agents. Returns the pretraining statistics (``training.bc.pretrain``).
    """
    demos = brain_demonstrations(brain)
    try:
        obs_space, act_space, _n = brain_spaces(scene, brain.name)
    except Exception:  # no agents (yet): the demonstrations' own spaces
        obs_space, act_space = demos.obs_space, demos.action_space
    refuse_hybrid(brain.name, act_space, "Pretrain asks for its demonstrations")
    if demos.obs_space != obs_space or demos.action_space != act_space:
        raise BrainError(
            f"Brain '{brain.name}': its demonstrations were recorded with observations {demos.obs_space.describe()} "
            f"and actions {demos.action_space.describe()}, but its agents have {obs_space.describe()} and "
            f"{act_space.describe()}"
        )
    from ..training.bc import pretrain
    from ..training.factory import learner_from_state, make_learner

    stored = brain_store.stored_state(brain)
    seed = scene.academy.seed if seed is None else seed
    try:
        if stored is not None:
            checked = brain_store.load(stored, brain.name, "its stored model cannot be pretrained")
            brain_store.check_spaces(brain.name, checked, obs_space, act_space, reset=True)
            learner = learner_from_state(checked, num_agents=1)
        else:
            learner = make_learner(brain.config(), obs_space, act_space, num_agents=1, seed=seed)
        settings = brain.demos
        stats = pretrain(learner, demos, settings.pretrain_epochs, settings.bc_batch_size, seed=seed)
    except ValueError as exc:
        raise BrainError(f"Brain '{brain.name}': cannot pretrain: {exc}") from None
    data = learner.save_bytes(include_buffers=False)
    brain_store.store_imported(brain, data, brain_store.load(data, brain.name))
    return stats
