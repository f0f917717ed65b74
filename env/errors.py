"""What the Academy says when something goes wrong: :class:`AcademyError` and the one-line explanations.

Every message names what is at fault (the agent, the Brain, the object or the setting), so the
designer can put it right without a traceback.
"""

from __future__ import annotations

import numpy as np

from ..core import specs as S
from ..core.checks import first_unlearnable, one_line, unlearnable
from .compiler import BehaviourError, CompiledBehaviour
from .snapshot import Snapshot


class AcademyError(RuntimeError):
    """The scene cannot be trained or played as configured. Names the agent, Brain or setting."""


def explain_error(scene, exc: BaseException, snapshot: Snapshot, compiled: list[CompiledBehaviour], where: str = ""):
    """Turn an error raised while stepping into an :class:`AcademyError` naming what is at fault.

    ``snapshot`` and ``compiled``: what the Academy runs (to find what was deleted meanwhile).
    ``where``: what the Academy was doing, for an error it has nothing more precise to say about.
    """
    if isinstance(exc, AcademyError | KeyboardInterrupt | SystemExit):
        return exc
    if isinstance(exc, BehaviourError):
        return AcademyError(str(exc))
    if isinstance(exc, ReferenceError | KeyError | IndexError | TypeError | AttributeError):
        by_uid = {o.session_uid: o for o in scene.objects}
        for key in snapshot.objects:
            if snapshot.find(scene, key, by_uid) is None:
                return AcademyError(f"Object '{key}' was deleted while the Academy was running")
        for c in compiled:
            for acc in c.target_accessors():
                try:
                    acc.raw()
                except ReferenceError:
                    continue
                except (KeyError, IndexError, TypeError, AttributeError):
                    return AcademyError(f"The {acc.describe()} was deleted while the Academy was running")
        if isinstance(exc, ReferenceError):  # every object is still there: undo replaced the data
            return AcademyError(
                "The scene's data was replaced while the Academy was running (undo?), so it stopped; "
                "Train or Play again"
            )
    if where:
        return AcademyError(f"{where} failed ({one_line(exc)})")
    return exc


def check_finite(values: np.ndarray, c: CompiledBehaviour, what: str) -> None:
    """Raise naming the agent, the part and the value when ``values`` holds a value float32 cannot hold."""
    bad = first_unlearnable(values)
    if bad is None:
        return
    row, col, value = bad
    agent = c.agent_names[row]
    detail = f" (component {col + 1})" if what == "observation" else ""
    where = c.observation_at(col) if what == "observation" else ""
    why = unlearnable(value)
    raise AcademyError(f"Agent '{agent}': the {what}{detail} {why} ({value:g}){where}")


def agents_label(names: list[str]) -> str:
    """``agent 'A'`` or ``agents 'A', 'B', 'C'…`` (at most three named)."""
    shown = ", ".join(f"'{n}'" for n in names[:3])
    return f"agent {shown}" if len(names) == 1 else f"agents {shown}{'…' if len(names) > 3 else ''}"


def describe_shape(shape) -> str:
    """``(vector size, cameras, actions)`` in words, e.g. ``8 observations, 2 continuous actions``."""
    size, cameras, actions = shape
    if isinstance(actions, S.HybridActions):
        acts = f"{actions.continuous.size} continuous + discrete {[len(b) for b in actions.discrete.branches]}"
    elif isinstance(actions, S.ContinuousActions):
        acts = f"{actions.size} continuous"
    else:
        acts = f"discrete {[len(b) for b in actions.branches]}"
    cams = f" + {len(cameras)} camera(s)" if cameras else ""
    return f"{size} observations{cams}, {acts} actions"
