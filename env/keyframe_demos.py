"""Demonstrations from keyframes: an agent's existing animation played through its behaviour tree.

For a Brain's agents and a frame range, :func:`read_keyframes` steps the frames one by one with
the animation driving the agents (their actuators do not write), and at every decision reads what
the tree observes, rewards and ends (the Academy's own evaluation, so observations, rewards and
episode ends are exactly those of a run), and each actuated property as the animation left it.
The action of each decision is the one whose writes best reproduce the change to the next
decision (``core.keyframe_actions``: Set → the value, Add → the change per frame divided by its
scale, clamps respected, discrete → the nearest choice). :func:`add_from_keyframes` stores the
result as a new entry of the Brain's Demonstrations, named "... from keyframes A-B", with each
actuator's reconstruction error (RMS of re-applied minus keyframed values) in the entry.

Episodes: when the tree ends an episode at a decision, the Academy resets the agent there as in a
run; the animation's next decision is the next episode's start, and the move to it (the jump to
the new start) is not an action: that decision gives no row. A take baked from a Brain reads back
the same way (the baked frame of an episode's end shows the pose before the reset, the next
decision the new episode after one decision of acting), so bake → demonstrations is a round trip
that misses one decision per episode.

Not read: actions the observations themselves depend on (the actions are zero while reading), a
rigid-body simulation (the animation must move what the episode depends on).
"""

from __future__ import annotations

import json
import math
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np

from ..core import specs as S
from ..core.keyframe_actions import NotInvertible, invert, writers_of
from ..training.demos import Demonstrations
from ..training.spaces import Box, Discrete, obs_entries
from . import timeline
from .academy import Academy, AcademyError
from .behaviours import Provenance, provenance_for
from .brain_store import BrainError
from .errors import agents_label

__all__ = ["ERRORS_KEY", "KeyframeDemos", "add_from_keyframes", "read_keyframes"]

ERRORS_KEY = "academy_reconstruction"  # the entry's JSON: each actuator's reconstruction error


@dataclass
class KeyframeDemos:
    """What :func:`read_keyframes` made of the animation."""

    demos: Demonstrations
    errors: dict[str, float]  # actuator (agents: write) -> RMS of re-applied minus keyframed values
    outside: dict[str, int] = field(default_factory=dict)  # actuator -> decisions no action reproduces
    unused: list[int] = field(default_factory=list)  # action slots no actuator depends on (set to 0)
    decisions: int = 0
    skipped: int = 0  # decisions that start an episode after a reset (no row)

    def summary(self) -> str:
        """One line per actuator: its reconstruction error (and what no action reproduces)."""
        lines = [f"{self.demos.steps:,} decisions, {self.demos.episodes:,} episodes"]
        for label, err in self.errors.items():
            far = self.outside.get(label, 0)
            lines.append(f"{label}: RMS error {err:.4g}" + (f", {far} decisions no action reproduces" if far else ""))
        if self.unused:
            lines.append("actions no actuator moves (set to 0): " + ", ".join(str(i + 1) for i in self.unused))
        return "\n".join(lines)


def _tree_of(compiled, scene) -> str:
    obj = scene.objects.get(compiled.agent_names[0])
    tree = getattr(getattr(obj, "academy_agent", None), "behaviour_tree", None)
    return f" (tree '{tree.name}')" if tree is not None else ""


def read_keyframes(
    scene, brain_name: str, frame_start: int, frame_end: int, agents=None, take: str | None = None
) -> KeyframeDemos:
    """Play frames ``frame_start``..``frame_end`` of Brain ``brain_name``'s agents (or only ``agents``)
    through their behaviour and infer the demonstrated actions (see the module docstring).

    ``take``: play only this baked take of the scene's takes (the others muted meanwhile). The
    scene is restored. :class:`BrainError` naming the Brain, agents and actuator when it cannot be done.
    """
    if frame_end <= frame_start:
        raise BrainError(f"Brain '{brain_name}': the frame range {frame_start}-{frame_end} is empty")
    from . import sessions, takes

    if any(s.scene_name == scene.name for s in sessions.active_sessions()):
        raise BrainError(f"Scene '{scene.name}' has a running Academy session: stop it (Train / Play) first")
    if take and takes._find_take(scene, take) is None:
        names = ", ".join(t.name for t in takes.takes(scene)) or "none"
        raise BrainError(f"Brain '{brain_name}': there is no take '{take}' to read (takes: {names})")
    muted = takes.takes_muted(scene, keep=(take,)) if take else nullcontext()
    saved = scene.frame_start, scene.frame_current
    with muted:
        try:
            academy = Academy(scene, brains=[brain_name], external={brain_name}, training=False, agents=agents)
        except AcademyError as exc:
            raise BrainError(str(exc)) from None
        try:
            return _read(scene, academy, brain_name, frame_start, frame_end)
        finally:
            academy.close(scene, restore=True)
            scene.frame_start = saved[0]
            timeline.go_to(scene, saved[1])


def _passive_writes(compiled):
    """``compiled.apply_writes`` for the writes that do not depend on the action (a switch's state ...)."""
    passive = [cw for cw in compiled.writes if not any(isinstance(e, S.Action) for e in S.walk(cw.spec.value))]

    def apply_writes(ctx, agents=None) -> None:
        if agents is None and ctx.acting is not None:
            agents = np.nonzero(ctx.acting)[0]
            if not len(agents):
                return
        ctx.pass_id += 1
        for cw in passive:
            cw.apply(ctx, agents)

    return apply_writes


def _provenance(compiled, scene) -> Provenance | None:
    """Which node made each write of the group's behaviour (its agents' tree), or None (a script's spec)."""
    obj = scene.objects.get(compiled.agent_names[0])
    return provenance_for(obj, compiled.behaviour) if obj is not None else None


def _read(scene, academy: Academy, brain_name: str, frame_start: int, frame_end: int) -> KeyframeDemos:
    state = academy.brains[brain_name]
    write_nodes = []  # per group: the node of each write (a tree's), so reports and refusals name it
    for g in state.groups:
        prov = _provenance(g.compiled, scene)
        write_nodes.append(prov.write_nodes if prov is not None else ())
        try:
            writers_of(g.compiled.behaviour, write_nodes[-1], prov.origins if prov is not None else None)
        except NotInvertible as exc:
            label = agents_label(g.compiled.agent_names)
            raise BrainError(f"Brain '{brain_name}', {label}{_tree_of(g.compiled, scene)}: {exc}") from None
        g.compiled.apply_writes = _passive_writes(g.compiled)  # the animation moves what the actions move
    entries = tuple(obs_entries(state.obs_space))
    frame_values: list = []  # the actuated values as the animation left this frame (before a reset)

    def values_now() -> list:
        return [[np.array([acc.get() for acc in cw.accessors], dtype=np.float64) for cw in g.compiled.writes]
                for g in state.groups]  # fmt: skip

    rows: list[dict] = []

    def decided() -> None:
        raw = state.last_obs if isinstance(state.last_obs, dict) else {"obs": state.last_obs}
        rows.append({
            "obs": {k: np.array(raw[k]) for k in entries},
            "values": frame_values[0] if frame_values else values_now(),
            "reward": np.array(state.rewards, dtype=np.float64),
            "ended": np.asarray(state.terminated, bool).copy(),
            "cut": np.asarray(state.truncated, bool).copy(),
            "waiting": np.asarray(state.waiting, bool).copy(),
        })  # fmt: skip

    academy.on_decision = decided
    scene.frame_start = frame_start
    try:
        academy.start(scene, reset_writes=False)
    except (ValueError, AcademyError) as exc:  # a behaviour that cannot be evaluated here
        raise BrainError(str(exc)) from None
    if academy.error is not None:
        raise BrainError(str(academy.error))
    while scene.frame_current < frame_end:
        for g in state.groups:  # what the Academy writes before each frame (frame_pre), the actions' part left out
            g.compiled.apply_writes(g.ctx)
        timeline.advance(scene, None)
        frame_values[:] = [values_now()]
        academy.frame_post(scene, None)
        frame_values.clear()
        if academy.error is not None:
            raise BrainError(str(academy.error))
    return _assemble(scene, state, rows, academy.decision_period, entries, write_nodes)


def _assemble(scene, state, rows: list[dict], frames: int, entries, write_nodes: list) -> KeyframeDemos:
    d = len(rows)
    if d < 2:
        raise BrainError(f"Brain '{state.name}': the frame range holds {d} decision(s); at least 2 are needed")
    obs: dict[str, list] = {k: [] for k in entries}
    actions, rewards, ended, cut, episode = [], [], [], [], []
    result = KeyframeDemos(None, {})  # type: ignore[arg-type]
    result.decisions = d
    number = -1
    for gi, g in enumerate(state.groups):
        keep = []  # (decision, agent in the group, row of the Brain)
        for i, r in enumerate(g.rows):
            for t in range(d - 1):
                starts_after_reset = t > 0 and (rows[t]["ended"][r] or rows[t]["cut"][r])
                if starts_after_reset or rows[t]["waiting"][r]:
                    result.skipped += int(starts_after_reset)
                    continue
                keep.append((t, i, int(r)))
        if not keep:
            continue
        writes = range(len(g.compiled.writes))
        before = [np.stack([rows[t]["values"][gi][k][i] for t, i, _r in keep]) for k in writes]
        after = [np.stack([rows[t + 1]["values"][gi][k][i] for t, i, _r in keep]) for k in writes]
        inv = invert(g.compiled.behaviour, before, after, frames, write_nodes=write_nodes[gi])
        who = agents_label(g.compiled.agent_names)
        for label, err in inv.errors.items():
            result.errors[f"{who}: {label}"] = err
        for label, far in inv.outside.items():
            result.outside[f"{who}: {label}"] = far
        result.unused = sorted(set(result.unused) | set(inv.unused))
        last = None
        for j, (t, _i, r) in enumerate(keep):
            prev = keep[j - 1] if j else None
            if prev is None or prev[2] != r or last:
                number += 1
            for k in entries:
                obs[k].append(rows[t]["obs"][k][r])
            actions.append(inv.actions[j])
            rewards.append(rows[t + 1]["reward"][r])
            e, c = bool(rows[t + 1]["ended"][r]), bool(rows[t + 1]["cut"][r])
            ended.append(e)
            cut.append(c and not e)
            episode.append(number)
            last = e or c
    if not actions:
        raise BrainError(f"Brain '{state.name}': no decision of the frame range could be read")
    space = state.action_space
    acts = np.array(actions)
    if isinstance(space, Box):
        acts = np.clip(acts, space.low_array(), space.high_array()).astype(np.float32)
    else:
        acts = np.rint(acts).astype(np.int64)
        acts = acts[:, 0] if isinstance(space, Discrete) else acts
    spaces = obs_entries(state.obs_space)
    dtypes = {k: np.uint8 if getattr(spaces[k], "dtype", "") == "uint8" else np.float32 for k in entries}
    ep = np.array(episode, np.int64)
    _, ep = np.unique(ep, return_inverse=True)  # numbered 0, 1, 2, ... in order
    result.demos = Demonstrations(
        state.obs_space,
        space,
        {k: np.stack(obs[k]).astype(dtypes[k]) for k in entries},
        acts,
        np.array(rewards, np.float32),
        np.array(ended, bool),
        np.array(cut, bool),
        ep.astype(np.int64),
        brain=state.name,
    )
    result.demos.check()
    return result


def add_from_keyframes(
    scene, brain, frame_start: int | None = None, frame_end: int | None = None, agents=None, take: str | None = None
):
    """:func:`read_keyframes` for ``brain`` (default range: the scene's) stored as a new Demonstrations
    entry named "<take or Keyframes> from keyframes A-B"; returns ``(entry, KeyframeDemos)``."""
    from .demos import add_demonstrations

    a = scene.frame_start if frame_start is None else int(frame_start)
    b = scene.frame_end if frame_end is None else int(frame_end)
    read = read_keyframes(scene, brain.name, a, b, agents=agents, take=take)
    entry = add_demonstrations(brain, read.demos, f"{take or 'Animation'} from keyframes {a}-{b}")
    entry[ERRORS_KEY] = json.dumps(
        {"errors": read.errors, "outside": read.outside, "unused": read.unused, "skipped": read.skipped},
        allow_nan=False,
    ) if all(math.isfinite(v) for v in read.errors.values()) else "{}"  # fmt: skip
    return entry, read
