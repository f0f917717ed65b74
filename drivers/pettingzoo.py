"""The scene as a PettingZoo ``ParallelEnv``: every agent of every chosen Brain, stepping together.

:func:`parallel_env` gives one PettingZoo agent per agent object (its id is the object's name,
unique in a Blender file), with the observation and action spaces of its Brain. ``step`` takes a
dict of actions, gives each Brain its batch and advances the scene to the next decision, through
the same stepping path as everything else (``Session.step_brains``).

PettingZoo's parallel semantics: an agent whose episode ends (terminated or truncated) leaves
``agents`` and is not reset. In the scene it *waits* (as an agent with Reset on Done off does,
whatever its own setting: its actuators do not write, its rewards and ends are not evaluated, its
Step stands still; physics still acts on its rigid bodies) until ``reset()``. Once every agent is
done the episode is over: ``agents`` is empty and the caller resets.

pettingzoo (and gymnasium, for the spaces) are imported only when an env is made, so the
extension runs without them.
"""

from __future__ import annotations

import numpy as np

from ..env.academy import AcademyError
from ..env.session import Session
from ..training import spaces as sp
from .gym import _metadata, _row, _scene, _SceneCamera, to_gymnasium

ENV_NAME = "agent_academy_scene_v0"


def _require_pettingzoo():
    try:
        import pettingzoo
    except ImportError:
        raise ImportError(
            "parallel_env needs the 'pettingzoo' package, which is not installed: "
            "pip install pettingzoo (with -c constraints.txt in a development checkout)"
        ) from None
    return pettingzoo


def _brains(scene, brains) -> list[str]:
    """The Brains to run: ``brains`` as given (checked), or every Brain of the scene with agents."""
    with_agents = []
    for obj in sorted(scene.objects, key=lambda o: o.name):
        agent = obj.academy_agent
        if agent.enabled and agent.brain and agent.brain not in with_agents:
            with_agents.append(agent.brain)
    if brains is None:
        if not with_agents:
            raise AcademyError(f"Scene '{scene.name}' has no agents (Object Properties → Agent)")
        return [b.name for b in scene.academy.brains if b.name in with_agents]
    if isinstance(brains, str):
        brains = [brains]
    names = list(dict.fromkeys(brains))
    known = {b.name for b in scene.academy.brains}
    for name in names:
        if name not in known:
            raise AcademyError(f"Brain '{name}' is not in Scene '{scene.name}' ({', '.join(sorted(known))})")
        if name not in with_agents:
            raise AcademyError(f"Brain '{name}' has no agents")
    if not names:
        raise AcademyError("brains=[]: name at least one Brain (or None for every Brain with agents)")
    return names


def _batch(space: sp.Space, n: int) -> np.ndarray:
    """A batch of ``n`` placeholder actions in the learner's format (the rows of agents that wait)."""
    if isinstance(space, sp.Box):
        return np.zeros((n, space.dim), dtype=np.float32)
    if isinstance(space, sp.Discrete):
        return np.zeros(n, dtype=np.int64)
    return np.zeros((n, len(sp.action_nvec(space))), dtype=np.int64)


def parallel_env(blend_or_scene=None, brains=None, seed: int | None = None, render_mode: str | None = None):
    """A ``pettingzoo.ParallelEnv`` over every agent of ``brains`` (default: every Brain of the scene
    that has agents; a name or a list of names).

    ``blend_or_scene``: a .blend path (opened, replacing the current file), a Scene, or None for the
    current scene. Each Brain's type does not matter here: all its agents' actions come from
    ``step``. The Brains not chosen do not run (their agents stand still). ``seed``: the Academy's
    seed until ``reset(seed=...)`` gives another. ``render_mode="rgb_array"``: ``render()`` returns
    the scene camera's view, as in :func:`.gym.make_env`. ``close()`` restores the scene.
    """
    pettingzoo = _require_pettingzoo()
    scene = _scene(blend_or_scene)
    names = _brains(scene, brains)

    class _ParallelEnv(pettingzoo.ParallelEnv):
        metadata = {"name": ENV_NAME, "render_modes": ["rgb_array"], "is_parallelizable": True}

        def __init__(self):
            self.render_mode = render_mode
            self._camera = _SceneCamera(scene, render_mode)
            self.metadata = {"name": ENV_NAME, "is_parallelizable": True, **_metadata(scene)}
            self._session = Session(
                scene, training=False, steps=0, brains=names, external=names, seed=seed, wait_for_reset=names
            )
            try:
                self._session.start()
            except BaseException:
                self._camera.close()
                raise
            self._views = {name: self._session.brain(name) for name in names}
            self._where: dict[str, tuple[str, int]] = {}
            for name, view in self._views.items():
                for row, agent in enumerate(view.agents):
                    self._where[agent] = (name, row)
            self.possible_agents = list(self._where)
            # one space object per agent, so seeding one agent's action space leaves the others alone
            self._obs_spaces = {a: to_gymnasium(self._views[b].obs_space) for a, (b, _) in self._where.items()}
            self._act_spaces = {a: to_gymnasium(self._views[b].action_space) for a, (b, _) in self._where.items()}
            self.agents = list(self.possible_agents)

        def observation_space(self, agent):
            return self._obs_spaces[agent]

        def action_space(self, agent):
            return self._act_spaces[agent]

        @property
        def brains(self) -> dict[str, str]:
            """Each agent's Brain, by agent id."""
            return {agent: brain for agent, (brain, _) in self._where.items()}

        def reset(self, seed=None, options=None):
            """Restart the whole scene from its first frame, every agent in play again (``options``: unused)."""
            self._session.reset(seed)
            self.agents = list(self.possible_agents)
            obs = {a: _row(self._views[b].last_obs, row) for a, (b, row) in self._where.items()}
            return obs, {a: {} for a in self.agents}

        def step(self, actions):
            if not self.agents:
                raise AcademyError("Every agent's episode has ended: call reset() before stepping again")
            live = set(self.agents)
            for agent in actions:
                if agent not in self._where:
                    raise AcademyError(f"'{agent}' is not an agent of this env ({', '.join(self.possible_agents)})")
                if agent not in live:
                    raise AcademyError(
                        f"Agent '{agent}''s episode has ended: it takes no action until reset() (leave it out)"
                    )
            missing = [a for a in self.agents if a not in actions]
            if missing:
                raise AcademyError(f"No action for agent '{missing[0]}': every agent in env.agents needs one")
            batches = {name: _batch(view.action_space, view.n) for name, view in self._views.items()}
            for agent, action in actions.items():
                brain, row = self._where[agent]
                batch = batches[brain]
                try:
                    batch[row] = np.asarray(action).reshape(batch.shape[1:])
                except ValueError:
                    raise AcademyError(
                        f"Agent '{agent}': action {action!r} does not fit its action space {self._act_spaces[agent]}"
                    ) from None
            steps = self._session.step_brains(batches)
            obs, rewards, terminations, truncations, infos = {}, {}, {}, {}, {}
            for agent in self.agents:
                brain, row = self._where[agent]
                s = steps[brain]
                term, trunc = bool(s.terminated[row]), bool(s.truncated[row])
                obs[agent] = _row(s.final_obs if term or trunc else s.obs, row)
                rewards[agent] = float(s.rewards[row])
                terminations[agent], truncations[agent] = term, trunc
                infos[agent] = {"is_success": bool(s.success[row])} if term or trunc else {}
            self.agents = [a for a in self.agents if not (terminations[a] or truncations[a])]
            return obs, rewards, terminations, truncations, infos

        def render(self):
            return self._camera.frame()

        def close(self):
            self._camera.close()
            self._session.finish(store=False)

    return _ParallelEnv()
