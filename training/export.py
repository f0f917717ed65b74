"""ONNX export of the deterministic acting policy (dynamic batch, observation normalisation baked in).

Inputs are named after the observation entries (``"obs"`` for a single space); outputs are
``action`` (as ``Learner.predict(deterministic=True)`` returns it) and ``policy_output`` (logits,
Gaussian means or Q-values).
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from .spaces import Box, Discrete, action_nvec

__all__ = ["export_onnx"]


class _ActingPolicy(nn.Module):
    def __init__(self, learner: Any) -> None:
        super().__init__()
        self.algorithm = learner.algorithm
        self.names = list(learner.obs_proc.entries)
        self.clip = float(learner.config.obs_clip)
        if self.algorithm == "ppo":
            self.trunk, self.head = learner.model.actor, learner.model.pi_head
        else:
            self.trunk, self.head = learner.model.trunk, learner.model.q_head
        self.norm_keys = list(learner.obs_proc.rms)
        for k, rms in learner.obs_proc.rms.items():
            self.register_buffer(f"mean_{k}", torch.tensor(rms.mean, dtype=torch.float32))
            self.register_buffer(f"std_{k}", torch.tensor(np.sqrt(rms.var + 1e-8), dtype=torch.float32))
        space = learner.action_space
        self.space = space
        self.squashed = isinstance(space, Box) and learner.config.continuous_dist == "squashed"
        if isinstance(space, Box):
            self.register_buffer("low", torch.from_numpy(space.low_array().astype(np.float32)))
            self.register_buffer("high", torch.from_numpy(space.high_array().astype(np.float32)))
        else:
            self.nvec = action_nvec(space)

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        obs = dict(zip(self.names, inputs, strict=True))
        for k in self.norm_keys:
            obs[k] = ((obs[k] - getattr(self, f"mean_{k}")) / getattr(self, f"std_{k}")).clamp(-self.clip, self.clip)
        out = self.head(self.trunk(obs))
        if isinstance(self.space, Box):
            if self.squashed:
                action = self.low + (torch.tanh(out) + 1.0) * 0.5 * (self.high - self.low)
            else:
                action = torch.max(torch.min(out, self.high), self.low)
            return action, out
        if self.algorithm == "dqn":
            return out.argmax(dim=1), out
        branches = [x.argmax(dim=1) for x in torch.split(out, list(self.nvec), dim=1)]
        action = branches[0] if isinstance(self.space, Discrete) else torch.stack(branches, dim=1)
        return action, out


def export_onnx(learner: Any, path: str | os.PathLike[str], opset: int = 17) -> None:
    """Write the learner's deterministic acting policy to ``path`` as ONNX."""
    module = _ActingPolicy(learner).eval()
    example = []
    for name, space in learner.obs_proc.entries.items():
        dtype = torch.uint8 if learner.obs_proc.dtypes[name] == np.uint8 else torch.float32
        example.append(torch.zeros((2, *space.shape), dtype=dtype))
    names = list(learner.obs_proc.entries)
    dynamic = {n: {0: "batch"} for n in [*names, "action", "policy_output"]}
    with warnings.catch_warnings():
        # torch >= 2.9 prefers the dynamo exporter, which needs onnxscript; the TorchScript one
        # is complete for these plain feed-forward modules and needs only the onnx package.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            module,
            tuple(example),
            str(path),
            input_names=names,
            output_names=["action", "policy_output"],
            dynamic_axes=dynamic,
            opset_version=opset,
            dynamo=False,
        )
