"""ONNX export of a PPO policy with memory (Use Memory and/or Stacked Observations), academy convention.

Inputs: one per observation entry, as in ``export.py``, but each vector entry holds the stack of the
last ``stacked_observations`` observations (oldest first, newest last, zeros before the episode
start) flattened to ``k * size`` numbers; then, with Use Memory, ``memory_in`` (batch, memory_size)
float32: the GRU state (zeros at an episode start). Outputs: ``action``, ``policy_output`` and,
with Use Memory, ``memory_out``: the state to feed back as ``memory_in`` at the agent's next
decision. The caller keeps the stack and the state per agent; ``metadata_props`` say so.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from typing import Any

import torch
from torch import nn

from .export import ExportError, _ActingPolicy, _describe_inputs, _import_onnx, _metadata
from .spaces import Discrete, obs_entries

__all__ = ["export_memory_onnx"]


class _MemoryPolicy(nn.Module):
    """Normalise, trunk, GRU cell (state in, state out), head; then the action as ``_ActingPolicy``."""

    def __init__(self, policy: _ActingPolicy, learner: Any) -> None:
        super().__init__()
        self.policy = policy
        self.names = list(obs_entries(learner.net_space))
        self.memory = learner.model.memory if learner.recurrent else None

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        p = self.policy
        obs = dict(zip(self.names, inputs[: len(self.names)], strict=True))
        for k in p.norm_keys:
            obs[k] = ((obs[k] - getattr(p, f"mean_{k}")) / getattr(p, f"std_{k}")).clamp(-p.clip, p.clip)
        h = p.trunk(obs)
        if self.memory is not None:
            h = self.memory(h, inputs[-1])
        out = p.head(h)
        if p.continuous:
            action = p.env_action(out)
        else:
            action = p.branch_argmax(out)
            action = action[:, 0] if isinstance(p.space, Discrete) else action
        return (action, out, h) if self.memory is not None else (action, out)


class _NetView:
    """The learner as ``_describe_inputs`` reads it, with the network's (stacked) entries."""

    def __init__(self, learner: Any) -> None:
        self.obs_proc = type("Entries", (), {"entries": obs_entries(learner.net_space)})()


def export_memory_onnx(
    learner: Any, path: str | os.PathLike[str], opset: int = 17, convention: str = "academy"
) -> None:
    """Write a PPO policy with memory to ``path`` (academy convention only; see the module docstring)."""
    cfg = learner.config
    if convention != "academy":
        raise ExportError(
            f"a policy with memory exports in the academy convention only (state in and out); the {convention} "
            "convention with memory is not built"
        )
    if cfg.stacked_observations > 1 and cfg.normalize_obs:
        raise ExportError(
            "a policy with Stacked Observations and Normalize Observations cannot be exported: the stack holds "
            "normalised observations, which an ONNX caller cannot build"
        )
    onnx = _import_onnx()
    policy = _ActingPolicy(learner).eval()
    module = _MemoryPolicy(policy, learner).eval()
    inputs = _describe_inputs(convention, _NetView(learner))
    input_names = [d["input"] for d in inputs]
    batch = 2
    example = [
        torch.zeros((batch, *d["shape"]), dtype=torch.uint8 if d["dtype"] == "uint8" else torch.float32) for d in inputs
    ]
    outputs = ["action", "policy_output"]
    if learner.recurrent:
        input_names.append("memory_in")
        example.append(torch.zeros((batch, learner.memory_size)))
        outputs.append("memory_out")
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            module, tuple(example), buf, input_names=input_names, output_names=outputs,
            dynamic_axes={n: {0: "batch"} for n in [*input_names, *outputs]}, opset_version=opset, dynamo=False,
        )  # fmt: skip
    model = onnx.load_from_string(buf.getvalue())
    meta = _metadata(convention, learner, inputs, outputs)
    meta["memory_size"] = json.dumps(learner.memory_size)
    meta["stacked_observations"] = json.dumps(int(cfg.stacked_observations))
    meta["memory"] = (
        "vector inputs are the last stacked_observations observations, oldest first, zeros before the episode "
        "start; memory_in is the previous decision's memory_out (zeros at an episode start)"
    )
    for key, value in meta.items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, value
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
