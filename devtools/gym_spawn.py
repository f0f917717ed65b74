"""Picklable factories of the scene's gymnasium env, for ``multiprocessing`` users such as
gymnasium's ``AsyncVectorEnv`` (and Stable-Baselines3's ``SubprocVecEnv``).

Importing this module, pickling a factory and unpickling it import neither bpy nor the add-on, so
the process that builds the vector env needs no Blender. Each factory, called in a child process,
boots bpy the add-on's way (:func:`devtools.boot.boot`) and returns
``drivers.gym.make_env(blend, brain, agent, seed)``: one agent of the scene per process.

Why children used to fail with ``No module named '_bpy'``: ``import bpy`` puts Blender's script
folders (``…/site-packages/bpy/5.0/scripts/modules`` and others) at the front of ``sys.path``, and
``spawn``/``forkserver`` children start with the parent's ``sys.path``. One of those folders holds a
package named ``bpy`` too: the Python half of Blender's API, whose first line imports ``_bpy``, a
module only the compiled ``bpy`` (``site-packages/bpy/__init__.so``) provides. So the child's
``import bpy`` found that half first. :func:`unshadow_bpy` drops those folders before booting
(bpy puts them back once the real module is imported).

A script whose top level imports bpy (or the add-on) still cannot be re-imported by ``spawn``'s
children (they run the main module before anything here): build the vector env from a script that
does not, or import bpy under ``if __name__ == "__main__":``. ``fork`` is not supported: a forked
copy of a process that runs Blender is not a Blender one can trust.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPACES_CONTEXT = "spawn"  # how the parent's factory asks a child for the env's spaces


def _bpy_package_dir() -> Path | None:
    """The compiled bpy's package folder on ``sys.path`` (``…/site-packages/bpy``), if any."""
    for entry in sys.path:
        folder = Path(entry or ".") / "bpy"
        if folder.is_dir() and any(
            p.name.startswith("__init__") and p.suffix in (".so", ".pyd") for p in folder.iterdir()
        ):
            return folder.resolve()
    return None


def unshadow_bpy() -> list[str]:
    """Remove from ``sys.path`` the script folders inside the compiled bpy's package (see the module
    docstring); returns what was removed. A no-op once bpy is imported."""
    if "bpy" in sys.modules:
        return []
    package = _bpy_package_dir()
    if package is None:
        return []
    removed = [e for e in sys.path if e and Path(e).resolve().is_relative_to(package)]
    sys.path[:] = [e for e in sys.path if e not in removed]
    return removed


def _make_env(blend: str, brain: str | None, agent: str | None, seed: int | None, render_mode: str | None):
    """In a process of its own: boot bpy and the add-on, then the add-on's ``make_env``."""
    unshadow_bpy()
    from devtools import boot

    boot.boot()
    gym = importlib.import_module(boot.MODULE + ".drivers.gym")
    return gym.make_env(blend, brain, agent=agent, seed=seed, render_mode=render_mode)


def _describe(conn, kwargs: dict) -> None:
    """A child's answer to the parent: the env's spaces, metadata and render mode (or its error)."""
    try:
        env = _make_env(**kwargs)
        conn.send(("ok", (env.observation_space, env.action_space, dict(env.metadata), env.render_mode)))
        env.close()
    except BaseException as exc:  # the parent raises it with the child's message
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


class SpacesOnly:
    """What the factory gives in the main process: the env's spaces and metadata, and no scene.

    ``AsyncVectorEnv`` makes one "dummy" env in the parent only to read these; stepping it is refused.
    """

    def __init__(self, observation_space, action_space, metadata: dict, render_mode: str | None):
        self.observation_space, self.action_space = observation_space, action_space
        self.metadata, self.render_mode = metadata, render_mode
        self.spec = None
        self.unwrapped = self

    def reset(self, **_):
        raise RuntimeError("this env only describes the scene's spaces: step the one a child process makes")

    step = render = reset

    def close(self) -> None:
        pass


class SceneEnvFn:
    """A picklable, bpy-free factory of one agent's env of ``brain`` in ``blend`` (see the module).

    Called in a child process it boots bpy and returns the add-on's ``make_env``; called in the main
    process (where ``AsyncVectorEnv`` calls it once for the spaces) it returns a :class:`SpacesOnly`,
    asking one short-lived ``spawn`` child for them the first time, so the main process never imports bpy.
    """

    def __init__(self, blend, brain=None, agent=None, seed=None, render_mode=None):
        self.kwargs = {
            "blend": os.fspath(blend),
            "brain": brain,
            "agent": agent,
            "seed": seed,
            "render_mode": render_mode,
        }
        self._described = None

    def __getstate__(self) -> dict:
        return {"kwargs": self.kwargs, "_described": None}

    def __call__(self):
        if multiprocessing.parent_process() is not None:
            return _make_env(**self.kwargs)
        if self._described is None:
            self._described = self._ask_a_child()
        return SpacesOnly(*self._described)

    def _ask_a_child(self):
        ctx = multiprocessing.get_context(SPACES_CONTEXT)
        mine, theirs = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_describe, args=(theirs, self.kwargs), name="academy-spaces", daemon=True)
        proc.start()
        theirs.close()
        try:
            status, value = mine.recv()
        except EOFError:
            status, value = "error", "the process ended without an answer"
        finally:
            mine.close()
            proc.join()
        if status != "ok":
            raise RuntimeError(f"Opening {self.kwargs['blend']} in a child process failed: {value}")
        return value


def scene_env_fns(blend, brain: str | None = None, n: int = 1, seed: int | None = None, agents=None, render_mode=None):
    """``n`` picklable factories of the scene's single-agent env, for ``AsyncVectorEnv`` (use
    ``context="spawn"`` or ``"forkserver"``) or ``SubprocVecEnv``: factory ``i`` runs agent
    ``agents[i]`` (default: the Brain's first agent, as ``make_env``) with seed ``seed + i``
    (None: unseeded). Each child process hosts one whole scene in which one agent acts."""
    if n < 1:
        raise ValueError("scene_env_fns needs n >= 1")
    if agents is not None and len(agents) != n:
        raise ValueError(f"agents names {len(agents)} agents for {n} factories")
    return [
        SceneEnvFn(
            blend,
            brain,
            agent=None if agents is None else agents[i],
            seed=None if seed is None else seed + i,
            render_mode=render_mode,
        )
        for i in range(n)
    ]
