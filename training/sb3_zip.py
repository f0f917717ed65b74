"""Reading a Stable-Baselines3 model .zip as data: nothing in the file is imported or called.

SB3's own ``PPO.load`` unpickles the objects it stored in the file (spaces, schedules), which can run
any code; :func:`read_sb3_zip` rebuilds only numpy arrays, dtypes and scalars and stands in inert
objects for everything else, so a model from a stranger is safe to open (``training.sb3`` converts it).
"""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from ..core.limits import LIMITS, MiB

__all__ = ["SB3Error", "read_sb3_zip"]

#: the largest ``data`` entry of an SB3 .zip we read (its JSON: hyper-parameters and pickled spaces)
_MAX_DATA_BYTES = 64 * MiB


class SB3Error(ValueError):
    """A conversion to or from Stable-Baselines3 is refused; the message says why."""


class _Inert:
    """Stands for a global a model file names: nothing is imported or called, arguments and state are kept."""

    module = ""
    name = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, dict):
            self.__dict__.update(state)
        else:
            self.state = state


def _numpy_core(name: str) -> Any:
    import numpy.core.multiarray as multiarray
    import numpy.core.numeric as numeric

    return {"_frombuffer": numeric._frombuffer, "scalar": multiarray.scalar, "_reconstruct": multiarray._reconstruct}[
        name
    ]


def _allowed(module: str, name: str) -> Any:
    """The real object for the numpy globals a pickled array or dtype needs; None for anything else."""
    if module in ("numpy", "numpy.core.multiarray", "numpy._core.multiarray") and name in ("dtype", "ndarray"):
        return getattr(np, name)
    if module in ("numpy.core.numeric", "numpy._core.numeric") and name == "_frombuffer":
        return _numpy_core(name)
    if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name in ("scalar", "_reconstruct"):
        return _numpy_core(name)
    return None


class _SafeUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays, dtypes and scalars for real and everything else (gymnasium spaces included:
    their attributes are all that is read) as inert stand-ins."""

    def find_class(self, module: str, name: str) -> Any:
        real = _allowed(module, name)
        if real is not None:
            return real
        return type(name, (_Inert,), {"module": module, "name": name})

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("persistent ids are not allowed")


@dataclass(frozen=True)
class _Unreadable:
    """A ``data`` entry the safe unpickler could not rebuild (refused only if the conversion needs it)."""

    key: str
    reason: str

    def error(self, what: str) -> SB3Error:
        return SB3Error(
            f"the model's {what} cannot be read without running code from the file ({self.reason}); load the model "
            "with stable_baselines3 yourself if you trust it, and pass it to from_sb3"
        )


def _json_value(entry: Any, key: str) -> Any:
    """A ``data`` entry: plain JSON as is; an SB3 ``:serialized:`` object through the safe unpickler."""
    if isinstance(entry, dict) and ":serialized:" in entry:
        import base64

        try:
            return _SafeUnpickler(io.BytesIO(base64.b64decode(entry[":serialized:"]))).load()
        except Exception as exc:  # a function, a damaged or a hostile pickle: never run
            return _Unreadable(key, f"{type(exc).__name__}: {exc}")
    return entry


def read_sb3_zip(path: str | os.PathLike[str]) -> tuple[SimpleNamespace, dict[str, Any]]:
    """The hyper-parameters and spaces (``data``) and the policy weights of an SB3 model .zip.

    Nothing in the file is executed: the JSON is read as data, the objects SB3 pickled into it go
    through an unpickler that builds only numpy arrays, dtypes and scalars (anything else, gymnasium's
    spaces included, becomes an inert stand-in that records what it names and keeps its attributes),
    and ``policy.pth`` is read with ``torch.load(weights_only=True)``. Needs torch and numpy only.
    Entries that cannot be rebuilt so (a pickled function) come back as ``_Unreadable``.
    """
    import torch

    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if "data" not in names or "policy.pth" not in names:
                raise SB3Error(f"{os.fspath(path)} is not a Stable-Baselines3 model (no 'data' and 'policy.pth')")
            if (
                z.getinfo("data").file_size > _MAX_DATA_BYTES
                or z.getinfo("policy.pth").file_size > 2 * LIMITS["model_bytes"]
            ):
                raise SB3Error(f"{os.fspath(path)} is larger than any model a Brain can hold")
            raw = json.loads(z.read("data"))
            weights = torch.load(io.BytesIO(z.read("policy.pth")), map_location="cpu", weights_only=True)
    except zipfile.BadZipFile as exc:
        raise SB3Error(f"{os.fspath(path)} is not a Stable-Baselines3 model .zip ({exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError, pickle.UnpicklingError, RuntimeError) as exc:
        raise SB3Error(f"{os.fspath(path)} cannot be read as a Stable-Baselines3 model ({exc})") from None
    if not isinstance(raw, dict) or not isinstance(weights, dict):
        raise SB3Error(f"{os.fspath(path)} is not a Stable-Baselines3 model")
    data = SimpleNamespace(**{k: _json_value(v, k) for k, v in raw.items() if k.isidentifier()})
    return data, weights
