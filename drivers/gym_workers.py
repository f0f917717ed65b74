"""Whole scenes in worker processes as one gymnasium vector env (issue 14, point 4).

- :func:`make_scene_vector_env` — a ``gymnasium.vector.VectorEnv`` of ``num_scenes × A``
  sub-environments: ``num_scenes`` worker processes each open the .blend and host
  :func:`.gym.make_vector_env` over the A agents of the Brain, with a seed of its own
  (:func:`.worker.worker_seed`). ``step`` sends every worker its slice of the actions, then reads
  every answer, so the scenes step at the same time;
- :func:`make_sb3_scene_vec_env` — the same as a Stable-Baselines3 ``VecEnv``;
- :func:`scene_env_fns` — picklable factories for gymnasium's ``AsyncVectorEnv`` (one agent per
  process, see :mod:`devtools.gym_spawn`).

The workers are the training workers' kind of process (:mod:`.workers`): a command line that boots
the add-on, messages of a JSON header and ``np.save`` arrays on two pipes of their own, no pickle.
A worker that dies makes the next call raise an error naming it; ``close`` ends every worker.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..core.checks import one_line
from ..env.academy import AcademyError
from .worker import Arrays, WorkerDied, recv, send, serve_pipes, worker_command, worker_seed

READY_WAIT_S = 600.0  # a worker not ready (booted, the file open) this long after it started is stuck
LABEL = "Scene worker"


# -- spaces and observations as messages -----------------------------------------------------------
def space_message(space, prefix: str = "space") -> tuple[dict, Arrays]:
    """A gymnasium space as a JSON description and arrays (its bounds), for :func:`space_from`."""
    from gymnasium import spaces as gs

    if isinstance(space, gs.Box):
        return {"type": "Box", "dtype": str(space.dtype)}, {f"{prefix}/low": space.low, f"{prefix}/high": space.high}
    if isinstance(space, gs.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}, {}
    if isinstance(space, gs.MultiDiscrete):
        return {"type": "MultiDiscrete"}, {f"{prefix}/nvec": space.nvec}
    if isinstance(space, gs.Dict):
        desc, arrays = {"type": "Dict", "keys": list(space.spaces)}, {}
        for i, sub in enumerate(space.spaces.values()):
            desc[f"sub{i}"], more = space_message(sub, f"{prefix}/{i}")
            arrays.update(more)
        return desc, arrays
    raise TypeError(f"a scene worker cannot describe {space!r}")


def space_from(desc: dict, arrays: Arrays, prefix: str = "space"):
    """The space :func:`space_message` described."""
    from gymnasium import spaces as gs

    kind = desc["type"]
    if kind == "Box":
        return gs.Box(arrays[f"{prefix}/low"], arrays[f"{prefix}/high"], dtype=np.dtype(desc["dtype"]))
    if kind == "Discrete":
        return gs.Discrete(desc["n"], start=desc["start"])
    if kind == "MultiDiscrete":
        return gs.MultiDiscrete(arrays[f"{prefix}/nvec"])
    if kind == "Dict":
        return gs.Dict({k: space_from(desc[f"sub{i}"], arrays, f"{prefix}/{i}") for i, k in enumerate(desc["keys"])})
    raise AcademyError(f"a scene worker described an unknown space {kind!r}")


def _obs_arrays(prefix: str, obs) -> Arrays:
    if isinstance(obs, dict):
        return {f"{prefix}/{k}": np.asarray(v) for k, v in obs.items()}
    return {prefix: np.asarray(obs)}


def _obs_from(prefix: str, arrays: Arrays, keys: list[str] | None):
    return arrays[prefix] if keys is None else {k: arrays[f"{prefix}/{k}"] for k in keys}


def _stack(parts: list, keys: list[str] | None):
    if keys is None:
        return np.concatenate(parts)
    return {k: np.concatenate([p[k] for p in parts]) for k in keys}


def _rows(obs, i: int):
    return obs[i] if not isinstance(obs, dict) else {k: v[i] for k, v in obs.items()}


# -- inside a worker ---------------------------------------------------------------------------------
def _serve(init: dict, inbox, outbox) -> None:
    """Open the file, host ``make_vector_env`` over the Brain's agents and answer until ``close``."""
    import bpy

    from .gym import make_vector_env

    try:
        bpy.ops.wm.open_mainfile(filepath=init["blend"], load_ui=False)
    except RuntimeError as exc:
        raise AcademyError(f"cannot open {init['blend']}: {one_line(exc)}") from None
    scene = bpy.context.scene if init["scene"] is None else bpy.data.scenes.get(init["scene"])
    if scene is None:
        raise AcademyError(f"the file {init['blend']} has no scene '{init['scene']}'")
    venv = make_vector_env(
        scene,
        init["brain"],
        seed=init["seed"],
        autoreset_mode=init["autoreset_mode"],
        render_mode=init.get("render_mode"),
    )
    try:
        obs_desc, arrays = space_message(venv.single_observation_space, "obs_space")
        act_desc, more = space_message(venv.single_action_space, "action_space")
        ready = {
            "type": "ready",
            "pid": os.getpid(),
            "agents": venv.num_envs,
            "brain": venv._driver.brain,
            "obs_space": obs_desc,
            "action_space": act_desc,
            "render_fps": venv.metadata["render_fps"],
        }
        send(outbox, ready, {**arrays, **more})
        while True:
            header, arrays = recv(inbox)
            if header["type"] == "close":
                return
            if header["type"] == "reset":
                obs, _ = venv.reset(seed=header["seed"])
                send(outbox, {"type": "obs"}, _obs_arrays("obs", obs))
                continue
            if header["type"] == "render":  # the scene's one camera: one frame for all its agents
                frames = venv.render()
                send(outbox, {"type": "frame"}, {} if frames is None else {"frame": frames[0]})
                continue
            if header["type"] != "step":
                raise AcademyError(f"a scene worker was sent '{header['type']}'")
            obs, rew, term, trunc, info = venv.step(arrays["actions"])
            out = {"rewards": rew, "terminated": term, "truncated": trunc, **_obs_arrays("obs", obs)}
            if "final_obs" in info:  # same-step autoreset: the ended agents' last observations
                ended = info["_final_obs"]
                final = _obs_arrays("final", obs)
                for k, v in final.items():
                    final[k] = v.copy()
                    for i in np.nonzero(ended)[0]:
                        row = info["final_obs"][i]
                        final[k][i] = row[k[len("final/") :]] if isinstance(row, dict) else row
                out.update(final, ended=ended, success=info["final_info"]["is_success"])
            elif "is_success" in info:  # next-step autoreset: the ending step's outcome
                out.update(ended=info["_is_success"], success=info["is_success"])
            send(outbox, {"type": "stepped"}, out)
    finally:
        venv.close()


def worker_main(argv: list[str]) -> int:
    """A scene worker's entry: ``argv`` is the pipe to read from and the pipe to write to."""
    return serve_pipes(argv, lambda init, _arrays, inbox, outbox: _serve(init, inbox, outbox))


# -- the driver's side ----------------------------------------------------------------------------
class ScenePool:
    """``num_scenes`` scene workers: start, reset and step them together, end them on :meth:`close`."""

    def __init__(
        self,
        blend_or_scene,
        brain: str | None,
        num_scenes: int,
        seed: int | None,
        autoreset_mode,
        render_mode: str | None = None,
    ):
        from gymnasium.vector import AutoresetMode

        from .gym import RENDER_MODES, _autoreset_mode
        from .workers import WorkerPool

        if num_scenes < 1:
            raise ValueError("a scene vector env needs num_scenes >= 1")
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(f"render_mode {render_mode!r}: the scenes render only 'rgb_array' (or None)")
        self.mode = _autoreset_mode(AutoresetMode.SAME_STEP if autoreset_mode is None else autoreset_mode)
        self.same_step = self.mode is AutoresetMode.SAME_STEP
        self.num_scenes = num_scenes
        self.seed = seed
        self.replaced = 0  # scene workers started again after dying
        self.last: list = [None] * num_scenes  # each scene's newest observation (a dead one's final rows)
        self.pending: list = [None] * num_scenes  # NEXT_STEP: a replaced scene's first observation, shown next step
        self.tmp = Path(tempfile.mkdtemp(prefix="academy-scenes-"))
        self.pool = None
        try:
            blend, scene_name = self._blend(blend_or_scene)
            self.init = {
                "type": "init",
                "blend": blend,
                "scene": scene_name,
                "brain": brain,
                "autoreset_mode": self.mode.value,
                "render_mode": render_mode,
            }
            self.pool = WorkerPool(num_scenes, self.tmp, command=worker_command("drivers.gym_workers"), label=LABEL)
            self.pids = [proc.pid for proc in self.pool.procs]
            for k in range(num_scenes):
                self.pool.send(k, {**self.init, "seed": None if seed is None else worker_seed(seed, k)})
            answers = [self.pool.recv(k, "ready", READY_WAIT_S) for k in range(num_scenes)]
        except BaseException:
            self.close()
            raise
        header, arrays = answers[0]
        for k, (other, _) in enumerate(answers[1:], 1):
            if other["agents"] != header["agents"]:
                self.close()
                raise AcademyError(f"{LABEL} {k} runs {other['agents']} agents, worker 0 {header['agents']}")
        self.brain = header["brain"]
        self.agents = int(header["agents"])
        self.render_fps = header["render_fps"]
        self.obs_space = space_from(header["obs_space"], arrays, "obs_space")
        self.action_space = space_from(header["action_space"], arrays, "action_space")
        self.keys = list(self.obs_space.spaces) if header["obs_space"]["type"] == "Dict" else None

    def _blend(self, blend_or_scene) -> tuple[str, str | None]:
        """The file the workers open (a Scene or None: the current file, saved as it is now) and the scene."""
        if isinstance(blend_or_scene, str | os.PathLike):
            path = Path(blend_or_scene)
            if not path.is_file():
                raise AcademyError(f"No .blend file at {path}")
            return str(path.resolve()), None
        import bpy

        from ..env.blendfile import save_blend_copy

        scene = bpy.context.scene if blend_or_scene is None else blend_or_scene
        if not isinstance(scene, bpy.types.Scene):
            raise TypeError("expected a .blend path or a bpy Scene")
        return str(save_blend_copy(self.tmp / "scene.blend")), scene.name

    def reset(self, seed: int | list | None = None):
        """Every scene reset (``seed``: an int for :func:`worker_seed` per scene, or one per scene)."""
        if isinstance(seed, list | tuple):
            if len(seed) != self.num_scenes:
                raise ValueError(f"reset(seed=...) got {len(seed)} seeds for {self.num_scenes} scenes")
            seeds = [None if s is None else int(s) for s in seed]
        else:
            seeds = [None if seed is None else worker_seed(int(seed), k) for k in range(self.num_scenes)]
        for k, s in enumerate(seeds):
            try:
                self.pool.send(k, {"type": "reset", "seed": s})
            except WorkerDied:
                pass  # found dead at its answer, below
        parts = []
        for k, s in enumerate(seeds):
            try:
                parts.append(_obs_from("obs", self.pool.recv(k, "obs")[1], self.keys))
            except WorkerDied as exc:
                parts.append(self._replace(k, exc, s))
        self.last, self.pending = parts, [None] * self.num_scenes
        return _stack(parts, self.keys)

    def _replace(self, k: int, exc: WorkerDied, seed: int | None = None):
        """A new scene worker ``k`` for one that died (killed, crashed, stuck), reset; its first observation.

        Its seed is ``seed``, else one of its own (``worker_seed(seed, k + num_scenes * replaced)``):
        the run goes on, no longer repeatable. After :data:`.workers.REPLACEMENTS_PER_WORKER` per
        scene on average, the death is raised."""
        from .workers import REPLACEMENTS_PER_WORKER

        if self.replaced >= REPLACEMENTS_PER_WORKER * self.num_scenes:
            raise exc
        self.replaced += 1
        if seed is None and self.seed is not None:
            seed = worker_seed(self.seed, k + self.num_scenes * self.replaced)
        self.pool.spawn(k)
        self.pids[k] = self.pool.procs[k].pid
        self.pool.send(k, {**self.init, "seed": seed})
        header, _ = self.pool.recv(k, "ready", READY_WAIT_S)
        if header["agents"] != self.agents:
            raise AcademyError(f"{LABEL} {k} started again runs {header['agents']} agents, not {self.agents}")
        self.pool.send(k, {"type": "reset", "seed": seed})
        return _obs_from("obs", self.pool.recv(k, "obs")[1], self.keys)

    def _cut(self, k: int, first) -> Arrays:
        """Scene ``k``'s answer when its worker died in this step and was replaced: every agent's episode
        was cut (truncated, reward 0, not a success, marked ``replaced``). SAME_STEP: the final rows are
        the last observation seen, the new rows the fresh scene's; NEXT_STEP: the last observation now,
        the fresh scene's at the next step (the agents' actions then ignored, as after an ending)."""
        n = self.agents
        out = {
            "rewards": np.zeros(n, np.float32),
            "terminated": np.zeros(n, bool),
            "truncated": np.ones(n, bool),
            "ended": np.ones(n, bool),
            "success": np.zeros(n, bool),
            "replaced": np.ones(n, bool),
        }
        if self.same_step:
            out.update(_obs_arrays("obs", first), **_obs_arrays("final", self.last[k]))
        else:
            out.update(_obs_arrays("obs", self.last[k]))
            self.pending[k] = first
        return out

    def render(self) -> list[np.ndarray | None]:
        """Each scene's camera view now, ``(H, W, 3)`` uint8, in scene order (None without a render mode)."""
        if self.init["render_mode"] is None:
            return [None] * self.num_scenes
        for k in range(self.num_scenes):
            self.pool.send(k, {"type": "render"})
        return [self.pool.recv(k, "frame")[1].get("frame") for k in range(self.num_scenes)]

    def step(self, actions) -> dict:
        """Each scene's slice of ``actions``, then every answer, concatenated in scene order."""
        actions = np.asarray(actions)
        if len(actions) != self.agents * self.num_scenes:
            raise ValueError(f"step got {len(actions)} actions for {self.agents * self.num_scenes} sub-environments")
        dead: dict[int, WorkerDied] = {}
        for k in range(self.num_scenes):
            if self.pending[k] is not None:
                continue  # NEXT_STEP after a replacement: this step shows the fresh scene
            try:
                self.pool.send(k, {"type": "step"}, {"actions": actions[k * self.agents : (k + 1) * self.agents]})
            except WorkerDied as exc:
                dead[k] = exc
        parts = []
        for k in range(self.num_scenes):
            if self.pending[k] is not None:
                first, self.pending[k] = self.pending[k], None
                n = self.agents
                zeros = np.zeros(n, bool)
                parts.append({"rewards": np.zeros(n, np.float32), "terminated": zeros, "truncated": zeros})
                parts[-1].update(_obs_arrays("obs", first))
                continue
            try:
                if k in dead:
                    raise dead[k]
                parts.append(self.pool.recv(k, "stepped")[1])
            except WorkerDied as exc:
                parts.append(self._cut(k, self._replace(k, exc)))
        n = self.agents
        out = {key: np.concatenate([p[key] for p in parts]) for key in ("rewards", "terminated", "truncated")}
        out["obs"] = _stack([_obs_from("obs", p, self.keys) for p in parts], self.keys)
        out["ended"] = np.concatenate([p.get("ended", np.zeros(n, bool)) for p in parts])
        out["success"] = np.concatenate([p.get("success", np.zeros(n, bool)) for p in parts])
        out["replaced"] = np.concatenate([p.get("replaced", np.zeros(n, bool)) for p in parts])
        if self.same_step and out["ended"].any():  # the workers that had an ending sent "final"
            out["final"] = _stack(
                [_obs_from("final" if "ended" in p else "obs", p, self.keys) for p in parts], self.keys
            )
        self.last = [_obs_from("obs", p, self.keys) for p in parts]
        return out

    def close(self) -> None:
        """End every worker (those waiting are told to close; any still there after a while is killed)."""
        if self.pool is not None:
            for k in range(len(self.pool)):
                try:
                    send(self.pool.outboxes[k], {"type": "close"})
                except (OSError, IndexError):
                    pass
            self.pool.close()
            self.pool = None
        shutil.rmtree(self.tmp, ignore_errors=True)


def make_scene_vector_env(
    blend_or_scene,
    brain: str | None = None,
    num_scenes: int = 2,
    seed: int | None = None,
    autoreset_mode=None,
    render_mode: str | None = None,
):
    """A ``gymnasium.vector.VectorEnv`` of ``num_scenes`` whole scenes, each in a worker process.

    ``blend_or_scene``: a .blend path (the workers open it), or a Scene / None (the current file is
    saved to a temporary copy, as it is now). Sub-environment ``k * A + i`` is agent ``i`` (by name)
    of scene ``k``; scene ``k`` is seeded ``worker_seed(seed, k)``, so it gives step for step what
    ``make_vector_env(blend, brain, seed=worker_seed(seed, k))`` gives in-process. ``reset(seed=s)``
    reseeds scene ``k`` with ``worker_seed(s, k)`` (or takes a list of one seed per scene).
    ``autoreset_mode`` and ``info`` are :func:`.gym.make_vector_env`'s. ``close()`` ends every worker.

    ``render_mode="rgb_array"``: ``render()`` gives each sub-environment its scene's camera view (each
    worker draws its own scene once; the agents of a scene share the frame, as in-process).

    A worker that dies (killed, crashed, silent for :data:`.worker.ANSWER_WAIT_S`) is replaced: a new
    one opens the file, is reset (seeded with ``worker_seed(seed, k + num_scenes * replacements)``) and
    the env goes on. In the step it is found dead its agents' episodes end truncated, reward 0, their
    final observation the last one seen, and ``info["worker_replaced"]`` (mask ``_worker_replaced``)
    marks them; SAME_STEP returns the new scene's first observation at once, NEXT_STEP at the next step
    (their actions then ignored). After :data:`.workers.REPLACEMENTS_PER_WORKER` deaths per scene the
    next is raised, naming the worker. ``worker_pids`` follows the replacements.
    """
    from gymnasium.vector import AutoresetMode, VectorEnv
    from gymnasium.vector.utils import batch_space

    from .gym import RENDER_MODES

    pool = ScenePool(blend_or_scene, brain, num_scenes, seed, autoreset_mode, render_mode)

    class _SceneVecEnv(VectorEnv):
        metadata = {"render_modes": list(RENDER_MODES)}

        def __init__(self):
            self.pool = pool
            self.metadata = {
                "render_modes": list(RENDER_MODES),
                "render_fps": pool.render_fps,
                "autoreset_mode": pool.mode,
            }
            self.render_mode = render_mode
            self.num_envs = pool.agents * pool.num_scenes
            self.single_observation_space = pool.obs_space
            self.single_action_space = pool.action_space
            self.observation_space = batch_space(self.single_observation_space, self.num_envs)
            self.action_space = batch_space(self.single_action_space, self.num_envs)

        @property
        def worker_pids(self) -> list[int]:
            """The process ids of the scene workers, in scene order."""
            return list(pool.pids)

        def reset(self, *, seed=None, options=None):
            return pool.reset(seed), {}

        def step(self, actions):
            out = pool.step(actions)
            done, info = out["ended"], {}
            if done.any():
                success = {"is_success": out["success"], "_is_success": done.copy()}
                if pool.mode is AutoresetMode.NEXT_STEP:
                    info = success
                else:
                    finals = np.empty(self.num_envs, dtype=object)
                    for i in np.nonzero(done)[0]:
                        finals[i] = _rows(out["final"], i)
                    info = {
                        "final_obs": finals,
                        "_final_obs": done.copy(),
                        "final_info": success,
                        "_final_info": done.copy(),
                    }
            if out["replaced"].any():
                info.update(worker_replaced=out["replaced"].copy(), _worker_replaced=out["replaced"].copy())
            return out["obs"], out["rewards"].astype(np.float64), out["terminated"], out["truncated"], info

        def render(self):
            """Each sub-environment's scene camera view (None without ``render_mode``)."""
            frames = pool.render()
            if render_mode is None:
                return None
            return tuple(frame for frame in frames for _ in range(pool.agents))

        @property
        def workers_replaced(self) -> int:
            """How many scene workers were started again after dying."""
            return pool.replaced

        def close_extras(self, **kwargs):
            pool.close()

    return _SceneVecEnv()


def make_sb3_scene_vec_env(blend_or_scene, brain: str | None = None, num_scenes: int = 2, seed: int | None = None):
    """:func:`make_scene_vector_env` as a Stable-Baselines3 ``VecEnv`` (same-step autoreset;
    ``infos[i]`` has ``terminal_observation``, ``TimeLimit.truncated`` and ``is_success`` when agent
    ``i``'s episode ends)."""
    from stable_baselines3.common.vec_env import VecEnv

    venv = make_scene_vector_env(blend_or_scene, brain, num_scenes=num_scenes, seed=seed)

    class _SB3SceneVecEnv(VecEnv):
        def __init__(self):
            self.venv = venv
            self.render_mode = None  # (SB3 reads it from the sub-environments)
            super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
            self._actions = None

        def reset(self):
            seed = self._seeds[0] if any(s is not None for s in self._seeds) else None
            self._reset_seeds()
            obs, _ = venv.reset(seed=seed)
            return obs

        def step_async(self, actions):
            self._actions = np.asarray(actions)

        def step_wait(self):
            obs, rew, term, trunc, info = venv.step(self._actions)
            done = term | trunc
            infos = [{} for _ in range(self.num_envs)]
            for i in np.nonzero(done)[0]:
                infos[i] = {
                    "terminal_observation": info["final_obs"][i],
                    "TimeLimit.truncated": bool(trunc[i] and not term[i]),
                    "is_success": bool(info["final_info"]["is_success"][i]),
                }
                if info.get("_worker_replaced", np.zeros(self.num_envs, bool))[i]:
                    infos[i]["worker_replaced"] = True
            return obs, rew.astype(np.float32), done, infos

        def close(self):
            venv.close()

        def get_attr(self, attr_name, indices=None):
            return [getattr(self, attr_name)] * len(self._get_indices(indices))

        def set_attr(self, attr_name, value, indices=None):
            setattr(self, attr_name, value)

        def env_method(self, method_name, *args, indices=None, **kwargs):
            raise AttributeError(f"the scenes' agents have no per-agent method {method_name!r}")

        def env_is_wrapped(self, wrapper_class, indices=None):
            return [False] * len(self._get_indices(indices))

    return _SB3SceneVecEnv()


def scene_env_fns(blend, brain: str | None = None, n: int = 1, seed: int | None = None, agents=None):
    """``n`` picklable factories for gymnasium's ``AsyncVectorEnv`` (``context="spawn"`` or
    ``"forkserver"``): see :func:`devtools.gym_spawn.scene_env_fns` (needs a checkout of the
    extension, whose root must be on ``sys.path`` so the child processes find ``devtools``)."""
    import importlib.util

    from .worker import ROOT

    found = importlib.util.find_spec("devtools")
    if (
        found is None
        or not found.submodule_search_locations
        or Path(found.submodule_search_locations[0]) != ROOT / "devtools"
    ):
        raise AcademyError(
            f"scene_env_fns needs this checkout's root ({ROOT}) on sys.path, as ./academy and the tests have it"
        )
    from devtools import gym_spawn

    return gym_spawn.scene_env_fns(blend, brain, n, seed=seed, agents=agents)
