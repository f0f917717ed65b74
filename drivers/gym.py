"""The scene as a gymnasium environment, driven through the same stepping path as everything else.

- :func:`make_env` — a ``gymnasium.Env`` for one agent of a Brain (the others stand still);
- :func:`make_vector_env` — a ``gymnasium.vector.VectorEnv`` over every agent of a Brain, with
  same-step autoreset (the default: the agent's episode resets in the step that ends it; the last
  observation is in ``info["final_obs"]``) or next-step autoreset (the step that ends returns the
  last observation; in the next one the agent waits, its action ignored, and is reset);
- :func:`make_sb3_vec_env` — the same agents as a Stable-Baselines3 ``VecEnv``;
- :func:`register` (run on import) — the ids ``AgentAcademy/Scene-v0`` for ``gymnasium.make`` and
  ``gymnasium.make_vec`` (kwargs ``blend_or_scene``, ``brain``, ``seed``, ``render_mode``; ``agent``
  for ``make``; ``autoreset_mode`` for ``make_vec``).

``render_mode="rgb_array"``: ``render()`` gives the scene camera's view as an ``(H, W, 3)`` uint8
frame, drawn by the camera sensor's FAST mode (:mod:`..env.camera`) at the scene's render resolution.

``step`` sets the actions and advances frames until the next decision; the Academy's frame
handlers do the rest, exactly as when training in-process. gymnasium (and Stable-Baselines3) are
imported only here, so the extension runs without them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import bpy
import numpy as np

from ..core.limits import LIMITS
from ..core.specs import Camera
from ..env.academy import AcademyError
from ..env.session import Session
from ..training import spaces as sp

RENDER_MODES = ("rgb_array",)


def to_gymnasium(space: sp.Space):
    """Our space → the gymnasium space with the same shape and dtype."""
    from gymnasium import spaces as gs

    if isinstance(space, sp.Box):
        return gs.Box(space.low_array().astype(np.float32), space.high_array().astype(np.float32), dtype=np.float32)
    if isinstance(space, sp.Image):
        if space.dtype == "uint8":
            return gs.Box(0, 255, space.shape, dtype=np.uint8)
        return gs.Box(0.0, 1.0, space.shape, dtype=np.float32)
    if isinstance(space, sp.Dict):
        return gs.Dict({k: to_gymnasium(v) for k, v in space.spaces.items()})
    if isinstance(space, sp.Discrete):
        return gs.Discrete(space.n)
    if isinstance(space, sp.MultiDiscrete):
        return gs.MultiDiscrete(list(space.nvec))
    if isinstance(space, sp.Hybrid):
        raise TypeError(
            f"{space.describe()}: hybrid actions (continuous and discrete together) have no gymnasium wrapper yet "
            "(train them with a PPO Brain in Blender)"
        )
    raise TypeError(f"no gymnasium equivalent of {space!r}")


def _scene(blend_or_scene):
    if isinstance(blend_or_scene, bpy.types.Scene):
        return blend_or_scene
    if isinstance(blend_or_scene, str | os.PathLike):
        bpy.ops.wm.open_mainfile(filepath=os.fspath(blend_or_scene), load_ui=False)
        return bpy.context.scene
    if blend_or_scene is None:
        return bpy.context.scene
    raise TypeError("expected a .blend path or a bpy Scene")


def _only_brain(scene, brain: str | None) -> str:
    if brain is not None:
        return brain
    names = [b.name for b in scene.academy.brains]
    if len(names) != 1:
        raise AcademyError(f"The scene has {len(names)} Brains ({', '.join(names)}): say which one")
    return names[0]


def _refuse_waiting_agents(scene, brain: str, agents=None) -> None:
    """gymnasium's envs step every agent every step: an agent that waits (Reset on Done off) cannot."""
    for obj in scene.objects:
        agent = obj.academy_agent
        if (
            agent.enabled
            and agent.brain == brain
            and not agent.reset_on_done
            and (agents is None or obj.name in agents)
        ):
            raise AcademyError(
                f"Agent '{obj.name}' has Reset on Done off (it would wait, taking no steps, after its episode "
                "ends); the gymnasium environments step every agent every step: turn Reset on Done on"
            )


def _autoreset_mode(mode):
    """``mode`` (an ``AutoresetMode`` or its value, e.g. ``"NextStep"``) as an ``AutoresetMode``."""
    from gymnasium.vector import AutoresetMode

    try:
        mode = AutoresetMode(mode)
    except ValueError:
        choices = ", ".join(f"AutoresetMode.{m.name}" for m in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP))
        raise ValueError(f"autoreset_mode {mode!r}: expected {choices}") from None
    if mode is AutoresetMode.DISABLED:
        raise AcademyError(
            "autoreset_mode=AutoresetMode.DISABLED is not supported: the scene's agents share one timeline "
            "and cannot be reset one by one from outside; use NEXT_STEP or SAME_STEP"
        )
    return mode


def render_size(scene) -> tuple[int, int]:
    """The frame ``render()`` gives: the scene's render resolution at its percentage, scaled down
    (keeping the aspect) to fit the camera sensor's limit, as ``(width, height)``."""
    r = scene.render
    w, h = r.resolution_x * r.resolution_percentage / 100, r.resolution_y * r.resolution_percentage / 100
    scale = min(1.0, LIMITS["image_size"] / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


class _SceneCamera:
    """``render()`` for ``render_mode``: the scene camera's view (FAST camera capture), else None."""

    def __init__(self, scene, render_mode: str | None):
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(f"render_mode {render_mode!r}: the scene renders only 'rgb_array' (or None)")
        self.scene_name = scene.name
        self.mode = render_mode
        self._capture = None
        if render_mode is not None:
            self._camera(scene)  # a scene with no camera is refused at once, not at the first render()

    @staticmethod
    def _camera(scene):
        cam = scene.camera
        if cam is None:
            raise AcademyError(
                f"Scene '{scene.name}' has no camera to render from (render_mode='rgb_array'): "
                "set one in Scene Properties → Camera"
            )
        if cam.type != "CAMERA":
            raise AcademyError(
                f"Scene '{scene.name}': its camera '{cam.name}' is a {cam.type}, not a camera object, "
                "so it cannot render (render_mode='rgb_array')"
            )
        return cam

    def frame(self):
        """The scene camera's view now, ``(H, W, 3)`` uint8 (None without a render mode)."""
        if self.mode is None:
            return None
        from ..env.camera import CameraCapture

        scene = bpy.data.scenes.get(self.scene_name)
        if scene is None:
            raise AcademyError(f"Scene '{self.scene_name}' was deleted: nothing to render")
        cam = self._camera(scene)
        if self._capture is None:
            width, height = render_size(scene)
            self._capture = CameraCapture(scene, Camera("object:" + cam.name, width=width, height=height))
        return self._capture.capture(scene, [cam])[0]

    def close(self) -> None:
        if self._capture is not None:
            self._capture.close()
            self._capture = None


def _metadata(scene, autoreset_mode=None) -> dict:
    fps = scene.render.fps / scene.render.fps_base
    out = {"render_modes": list(RENDER_MODES), "render_fps": fps / scene.academy.decision_period}
    if autoreset_mode is not None:
        out["autoreset_mode"] = autoreset_mode
    return out


class _Driver:
    """Runs one Brain's agents with actions given from outside, through the Session's own methods.

    ``next_step``: an agent whose episode ends waits through the next step and is reset at its end."""

    def __init__(self, scene, brain: str, agents=None, seed: int | None = None, next_step: bool = False):
        self.brain = brain
        _refuse_waiting_agents(scene, brain, agents)
        self.session = Session(
            scene,
            training=False,
            steps=0,
            brains=[brain],
            external=[brain],
            seed=seed,
            agents=agents,
            next_step_reset=[brain] if next_step else (),
        )
        self.state = self.session.brain(brain)
        self.session.start()

    def reset(self, seed: int | None = None, options=None):
        """Restart the scene; ``options["reset_parameters"]`` ({name: value}) fixes reset parameters
        from this reset on (over any lesson's values), as ML-Agents' environment parameters channel."""
        values = (options or {}).get("reset_parameters")
        if values is not None:
            if not isinstance(values, Mapping):
                raise AcademyError(f"reset options: reset_parameters must map names to numbers, not {values!r}")
            self.session.curriculum.set_parameters(values)
        self.session.reset(seed)
        return self.state.last_obs

    def step(self, actions):
        return self.session.step(self.brain, actions)

    def close(self) -> None:
        self.session.finish(store=False)


def _row(obs, i: int):
    if isinstance(obs, dict):
        return {k: v[i] for k, v in obs.items()}
    return obs[i]


def _with_rows(obs, other, rows: np.ndarray):
    """``obs`` with the rows where ``rows`` is True taken from ``other`` (a copy when any is)."""
    if not rows.any():
        return obs
    if isinstance(obs, dict):
        return {k: _with_rows(v, other[k], rows) for k, v in obs.items()}
    out = obs.copy()
    out[rows] = other[rows]
    return out


def make_env(
    blend_or_scene=None,
    brain: str | None = None,
    agent: str | None = None,
    seed: int | None = None,
    render_mode: str | None = None,
):
    """A ``gymnasium.Env`` for one agent (default: the Brain's first agent by name) of ``brain``.

    ``blend_or_scene``: a .blend path (opened, replacing the current file), a Scene, or None for
    the current scene. ``reset`` restarts the whole scene (physics from the first frame).
    ``render_mode``: ``"rgb_array"`` makes ``render()`` return the scene camera's view (see
    :func:`render_size`); a scene without a camera is refused.
    """
    import gymnasium as gym

    scene = _scene(blend_or_scene)
    brain = _only_brain(scene, brain)

    class _Env(gym.Env):
        metadata = {"render_modes": list(RENDER_MODES)}

        def __init__(self):
            super().__init__()
            names = [a.name for a in _agents_of(scene, brain)]
            if not names:
                raise AcademyError(f"Brain '{brain}' has no agents")
            if agent is not None and agent not in names:
                raise AcademyError(f"'{agent}' is not an agent of Brain '{brain}' ({', '.join(names)})")
            self.agent_name = agent or names[0]
            self.metadata = _metadata(scene)
            self.render_mode = render_mode
            self._camera = _SceneCamera(scene, render_mode)
            self._driver = _Driver(scene, brain, agents=[self.agent_name], seed=seed)
            self.observation_space = to_gymnasium(self._driver.state.obs_space)
            self.action_space = to_gymnasium(self._driver.state.action_space)

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            obs = self._driver.reset(seed, options)
            return _row(obs, 0), {}

        def step(self, action):
            batch = np.asarray(action)[None, ...]
            obs, rew, term, trunc, final, success = self._driver.step(batch)
            info = {"is_success": bool(success[0])} if (term[0] or trunc[0]) else {}
            shown = final if (term[0] or trunc[0]) and final is not None else obs
            return _row(shown, 0), float(rew[0]), bool(term[0]), bool(trunc[0]), info

        def render(self):
            return self._camera.frame()

        def close(self):
            self._camera.close()
            self._driver.close()

    return _Env()


def _agents_of(scene, brain: str) -> list:
    return sorted(
        (o for o in scene.objects if o.academy_agent.enabled and o.academy_agent.brain == brain), key=lambda o: o.name
    )


def make_vector_env(
    blend_or_scene=None,
    brain: str | None = None,
    seed: int | None = None,
    autoreset_mode=None,
    render_mode: str | None = None,
):
    """A ``gymnasium.vector.VectorEnv`` with one sub-environment per agent of ``brain``.

    ``autoreset_mode`` (``metadata["autoreset_mode"]``): ``AutoresetMode.SAME_STEP`` (the default)
    resets an agent in the step its episode ends, its last observation in ``info["final_obs"]``;
    ``AutoresetMode.NEXT_STEP`` returns the last observation in that step, and in the next one the
    agent takes no action (its action is ignored: it waits, as an agent with Reset on Done off does)
    and is reset at the end of it, returning the first observation, reward 0, neither ended.
    ``render_mode="rgb_array"``: ``render()`` returns the scene camera's view once per agent (one
    scene, one camera: the same frame for every sub-environment).
    """
    from gymnasium.vector import AutoresetMode, VectorEnv
    from gymnasium.vector.utils import batch_space

    mode = _autoreset_mode(AutoresetMode.SAME_STEP if autoreset_mode is None else autoreset_mode)
    scene = _scene(blend_or_scene)
    brain = _only_brain(scene, brain)

    class _VecEnv(VectorEnv):
        metadata = {"render_modes": list(RENDER_MODES)}  # each instance adds its autoreset mode

        def __init__(self):
            self.metadata = _metadata(scene, mode)
            self.render_mode = render_mode
            self._camera = _SceneCamera(scene, render_mode)
            self._driver = _Driver(scene, brain, seed=seed, next_step=mode is AutoresetMode.NEXT_STEP)
            state = self._driver.state
            self.num_envs = state.n
            self.single_observation_space = to_gymnasium(state.obs_space)
            self.single_action_space = to_gymnasium(state.action_space)
            self.observation_space = batch_space(self.single_observation_space, self.num_envs)
            self.action_space = batch_space(self.single_action_space, self.num_envs)

        def reset(self, *, seed=None, options=None):
            return self._driver.reset(seed, options), {}

        def step(self, actions):
            obs, rew, term, trunc, final, success = self._driver.step(np.asarray(actions))
            done = term | trunc
            info = {}
            if mode is AutoresetMode.NEXT_STEP:
                # the ended agents were not reset (they wait): their row is already the last
                # observation, except after a timeline wrap, which reset every agent before the frame
                if done.any():
                    info = {"is_success": success.copy(), "_is_success": done.copy()}
                return _with_rows(obs, final, done), rew.astype(np.float64), term.copy(), trunc.copy(), info
            if done.any():
                finals = np.empty(self.num_envs, dtype=object)
                for i in np.nonzero(done)[0]:
                    finals[i] = _row(final, i)
                final_info = {"is_success": success.copy(), "_is_success": done.copy()}
                info = {  # as gymnasium's SyncVectorEnv: the ending step's info is the final_info
                    "final_obs": finals,
                    "_final_obs": done.copy(),
                    "final_info": final_info,
                    "_final_info": done.copy(),
                }
            return obs, rew.astype(np.float64), term.copy(), trunc.copy(), info

        def render(self):
            frame = self._camera.frame()
            return None if frame is None else (frame,) * self.num_envs

        def close_extras(self, **kwargs):
            self._camera.close()
            self._driver.close()

    return _VecEnv()


def make_sb3_vec_env(blend_or_scene=None, brain: str | None = None, seed: int | None = None):
    """The agents of ``brain`` as a Stable-Baselines3 ``VecEnv`` (one sub-environment per agent)."""
    from stable_baselines3.common.vec_env import VecEnv

    scene = _scene(blend_or_scene)
    brain = _only_brain(scene, brain)

    class _SB3VecEnv(VecEnv):
        def __init__(self):
            self._driver = _Driver(scene, brain, seed=seed)
            state = self._driver.state
            super().__init__(state.n, to_gymnasium(state.obs_space), to_gymnasium(state.action_space))
            self._actions = None

        def reset(self):
            seed = self._seeds[0] if any(s is not None for s in self._seeds) else None
            options = self._options[0] if self._options else None  # set_options: one scene, the first env's
            self._reset_seeds()
            self._reset_options()
            return self._driver.reset(seed, options)

        def step_async(self, actions):
            self._actions = np.asarray(actions)

        def step_wait(self):
            obs, rew, term, trunc, final, success = self._driver.step(self._actions)
            done = term | trunc
            infos = [{} for _ in range(self.num_envs)]
            for i in np.nonzero(done)[0]:
                infos[i] = {
                    "terminal_observation": _row(final, i),
                    "TimeLimit.truncated": bool(trunc[i] and not term[i]),
                    "is_success": bool(success[i]),
                }
            return obs, rew.astype(np.float32), done, infos

        def close(self):
            self._driver.close()

        def get_attr(self, attr_name, indices=None):
            return [getattr(self, attr_name)] * len(self._get_indices(indices))

        def set_attr(self, attr_name, value, indices=None):
            setattr(self, attr_name, value)

        def env_method(self, method_name, *args, indices=None, **kwargs):
            raise AttributeError(f"the scene's agents have no per-agent method {method_name!r}")

        def env_is_wrapped(self, wrapper_class, indices=None):
            return [False] * len(self._get_indices(indices))

    return _SB3VecEnv()


ENV_ID = "AgentAcademy/Scene-v0"


def _make_vec_entry(
    num_envs: int | None = None,
    blend_or_scene=None,
    brain: str | None = None,
    seed: int | None = None,
    autoreset_mode=None,
    render_mode: str | None = None,
):
    """``gymnasium.make_vec``'s entry point: ``num_envs`` must be the Brain's number of agents."""
    venv = make_vector_env(blend_or_scene, brain, seed=seed, autoreset_mode=autoreset_mode, render_mode=render_mode)
    if num_envs is not None and num_envs != venv.num_envs:
        n = venv.num_envs
        venv.close()
        raise AcademyError(
            f"gymnasium.make_vec('{ENV_ID}', num_envs={num_envs}): Brain '{venv._driver.brain}' has {n} agents, "
            f"one sub-environment each: pass num_envs={n}"
        )
    return venv


def register() -> str:
    """Register ``AgentAcademy/Scene-v0`` with gymnasium (idempotent); returns the id."""
    import gymnasium as gym

    if ENV_ID not in gym.registry:
        gym.register(id=ENV_ID, entry_point=make_env, vector_entry_point=_make_vec_entry, disable_env_checker=False)
    return ENV_ID


try:  # registering needs gymnasium; the rest of the extension runs without it
    register()
except ImportError:
    pass
