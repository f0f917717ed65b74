"""ONNX export of the acting policy (dynamic batch, observation normalisation baked in).

Three conventions, chosen with ``convention``:

* ``"academy"`` (default): inputs named after the observation entries (``"obs"`` for a single
  space), images NHWC as the learner takes them; outputs ``action`` (as
  ``Learner.predict(deterministic=True)`` returns it) and ``policy_output`` (logits, Gaussian means
  or Q-values; hybrid actions: the means, then the logits). The only convention for hybrid actions.
* ``"mlagents"``: what Unity ML-Agents' trainer writes (``model_serialization.py``) and its
  inference loader reads (``SentisModelParamLoader``): float inputs ``obs_0``, ``obs_1``, ... (images
  NCHW, values 0..1 as Unity's camera sensors give them) and ``action_masks`` for discrete actions;
  outputs ``version_number``, ``memory_size``, then ``continuous_actions``,
  ``continuous_action_output_shape``, ``deterministic_continuous_actions`` and/or
  ``discrete_actions``, ``discrete_action_output_shape``, ``deterministic_discrete_actions``.
* ``"godot"``: what Godot RL Agents' exporter writes (``stable_baselines_export.py``) and its
  plugin's ``ONNXInference.cs`` feeds: one float input per observation entry, ``[batch, n]`` (so
  images are flattened, channel first), plus ``state_ins`` ``[batch]``; outputs ``output`` (logits
  or Q-values per branch, or action means) and ``state_outs`` (``state_ins`` passed through).

In both foreign conventions continuous actions of a bounded space are rescaled from the Brain's
``[low, high]`` to ``[-1, 1]``, the range ML-Agents' agents receive and Godot clamps to. Every
file carries ``metadata_props`` saying the convention, the inputs and how to map actions back.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from .spaces import Box, Discrete, Hybrid, Image, action_nvec

__all__ = ["CONVENTIONS", "EXPORT_FORMAT_VERSION", "MLAGENTS_MODEL_VERSION", "ExportError", "export_onnx"]

CONVENTIONS = ("academy", "mlagents", "godot")
EXPORT_FORMAT_VERSION = 1
MLAGENTS_MODEL_VERSION = 3  # ModelApiVersion.MLAgents2_0, the newest com.unity.ml-agents accepts
_LABELS = {"academy": "Agent Academy", "mlagents": "ML-Agents", "godot": "Godot RL Agents"}


class ExportError(ValueError):
    """The learner cannot be written in the chosen convention; the message says why."""


class _ActingPolicy(nn.Module):
    """The learner's deterministic policy on (normalised) observation tensors, in our own layout."""

    def __init__(self, learner: Any) -> None:
        super().__init__()
        self.algorithm = learner.algorithm
        self.names = list(learner.obs_proc.entries)
        self.clip = float(learner.config.obs_clip)
        if self.algorithm in ("ppo", "sac"):  # SAC: the Gaussian mean, squashed (its deterministic action)
            self.trunk, self.head = learner.model.actor, learner.model.pi_head
        else:
            self.trunk, self.head = learner.model.trunk, learner.model.q_head
        self.norm_keys = list(learner.obs_proc.rms)
        for k, rms in learner.obs_proc.rms.items():
            self.register_buffer(f"mean_{k}", torch.tensor(rms.mean, dtype=torch.float32))
            self.register_buffer(f"std_{k}", torch.tensor(np.sqrt(rms.var + 1e-8), dtype=torch.float32))
        space = learner.action_space
        self.space = space
        self.continuous = isinstance(space, Box)
        self.hybrid = isinstance(space, Hybrid)  # the head: Gaussian means, then every branch's logits
        box = space.continuous if self.hybrid else space
        has_box = self.continuous or self.hybrid
        self.squashed = has_box and (self.algorithm == "sac" or learner.config.continuous_dist == "squashed")
        self.bounded = has_box and box.bounded
        self.continuous_size = box.dim if has_box else 0
        if has_box:
            low, high = box.low_array().astype(np.float32), box.high_array().astype(np.float32)
            self.register_buffer("low", torch.from_numpy(low))
            self.register_buffer("high", torch.from_numpy(high))
            if self.bounded:
                span = high - low
                unit = np.where(span > 0, 2.0 / np.where(span > 0, span, 1.0), 0.0).astype(np.float32)
                self.register_buffer("unit_scale", torch.from_numpy(unit))
            self.log_std = learner.model.log_std if self.algorithm == "ppo" else None
        if not self.continuous:
            self.nvec = action_nvec(space)

    def head_output(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Logits, Gaussian means or Q-values for observations in the learner's own layout."""
        obs = dict(obs)
        for k in self.norm_keys:
            obs[k] = ((obs[k] - getattr(self, f"mean_{k}")) / getattr(self, f"std_{k}")).clamp(-self.clip, self.clip)
        return self.head(self.trunk(obs))

    def env_action(self, out: torch.Tensor) -> torch.Tensor:
        """A continuous action in the Brain's bounds, from a Gaussian mean or sample."""
        if self.squashed:
            return self.low + (torch.tanh(out) + 1.0) * 0.5 * (self.high - self.low)
        return torch.max(torch.min(out, self.high), self.low)

    def unit_action(self, out: torch.Tensor) -> torch.Tensor:
        """A continuous action rescaled to [-1, 1] (bounded spaces; unbounded ones are left as they are)."""
        if not self.bounded:
            return self.env_action(out)
        if self.squashed:
            return torch.tanh(out)
        return (self.env_action(out) - self.low) * self.unit_scale - 1.0

    def branch_argmax(self, out: torch.Tensor) -> torch.Tensor:
        """Greedy choice per discrete branch, (batch, branches) int64."""
        if self.algorithm == "dqn":
            return out.argmax(dim=1, keepdim=True)
        return torch.stack([x.argmax(dim=1) for x in torch.split(out, list(self.nvec), dim=1)], dim=1)

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.head_output(dict(zip(self.names, inputs, strict=True)))
        if self.continuous:
            return self.env_action(out), out
        if self.hybrid:  # one float vector, as Learner.predict gives it: the values, then the choices
            c = self.continuous_size
            choice = self.branch_argmax(out[:, c:]).to(out.dtype)
            return torch.cat([self.env_action(out[:, :c]), choice], dim=1), out
        action = self.branch_argmax(out)
        return (action[:, 0] if isinstance(self.space, Discrete) else action), out


class _MLAgentsPolicy(nn.Module):
    """ML-Agents 2.x's actor interface around the acting policy (constants as outputs, as they export)."""

    def __init__(self, policy: _ActingPolicy, entries: dict[str, Any]) -> None:
        super().__init__()
        self.policy = policy
        self.entries = entries
        self.register_buffer("version_number", torch.tensor([float(MLAGENTS_MODEL_VERSION)]))
        self.register_buffer("memory_size_vector", torch.tensor([0.0]))
        if policy.continuous:
            self.register_buffer("continuous_act_size_vector", torch.tensor([float(policy.space.dim)]))
        else:
            # 2-D like theirs (torch.Tensor([branches])); the loader reads every element.
            self.register_buffer("discrete_act_size_vector", torch.tensor([[float(n) for n in policy.nvec]]))

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        names = list(self.entries)
        obs = {}
        for name, x in zip(names, inputs[: len(names)], strict=True):
            space = self.entries[name]
            if isinstance(space, Image):
                # NCHW, 0..1 from Unity's sensors -> the learner's NHWC in its own value range.
                x = x.permute(0, 2, 3, 1)
                if space.dtype == "uint8":
                    x = x * 255.0
            obs[name] = x
        out = self.policy.head_output(obs)
        p = self.policy
        if p.continuous:
            det = p.unit_action(out)
            if p.log_std is None:  # SAC: its std depends on the observation; the sampled output is the mean
                sampled = det
            else:
                sampled = p.unit_action(out + torch.randn_like(out) * torch.exp(p.log_std))
            return self.version_number, self.memory_size_vector, sampled, self.continuous_act_size_vector, det
        masks = inputs[len(names)]
        # Their masking: blocked logits become -1e8 (written so Sentis keeps the operand order).
        masked = out * masks - 1e8 * (-1.0 * masks + 1.0)
        det = p.branch_argmax(masked) if p.algorithm == "ppo" else masked.argmax(dim=1, keepdim=True)
        if p.algorithm == "ppo":
            branches = torch.split(masked, list(p.nvec), dim=1)
            sampled = torch.cat([torch.multinomial(torch.softmax(x, dim=1), 1) for x in branches], dim=1)
        else:
            sampled = det  # DQN's policy is greedy; exploration is not part of the export
        return self.version_number, self.memory_size_vector, sampled, self.discrete_act_size_vector, det


class _GodotPolicy(nn.Module):
    """Godot RL Agents' interface: flat float inputs and ``state_ins`` in, ``output`` and ``state_outs`` out."""

    def __init__(self, policy: _ActingPolicy, entries: dict[str, Any]) -> None:
        super().__init__()
        self.policy = policy
        self.entries = entries

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        names = list(self.entries)
        obs = {}
        for name, x in zip(names, inputs[:-1], strict=True):
            space = self.entries[name]
            if isinstance(space, Image):
                c, h, w = space.channels, space.height, space.width
                x = x.reshape(-1, c, h, w).permute(0, 2, 3, 1)
            else:
                x = x.reshape(-1, *space.shape)
            obs[name] = x
        out = self.policy.head_output(obs)
        if self.policy.continuous:
            out = self.policy.unit_action(out)
        return out, inputs[-1]


def _check_convention(convention: str, learner: Any) -> None:
    if convention not in CONVENTIONS:
        raise ExportError(f"unknown ONNX convention {convention!r} (one of {', '.join(CONVENTIONS)})")
    entries = learner.obs_proc.entries
    if convention != "academy" and isinstance(learner.action_space, Hybrid):
        raise ExportError(
            f"hybrid actions (continuous and discrete together) export in the academy convention only; the "
            f"{_LABELS[convention]} convention is not built for them"
        )
    if convention == "mlagents":
        for name, space in entries.items():
            if isinstance(space, Box) and len(space.shape) > 2:
                raise ExportError(
                    f"the ML-Agents convention cannot express observation {name!r} of shape {space.shape}: "
                    "its loader reads every rank-3 input as an NCHW image"
                )
    if convention == "godot" and isinstance(learner.action_space, Box) and not learner.action_space.bounded:
        raise ExportError(
            "the Godot RL Agents convention cannot express unbounded continuous actions: its plugin clamps "
            "every continuous action to [-1, 1] (give the actions finite bounds)"
        )


def _describe_inputs(convention: str, learner: Any) -> list[dict[str, Any]]:
    """One description per observation input: ONNX name, entry, shape without batch, layout, dtype, value range."""
    described = []
    for i, (name, space) in enumerate(learner.obs_proc.entries.items()):
        image = isinstance(space, Image)
        uint8 = image and space.dtype == "uint8"
        if convention == "academy":
            onnx_name, shape, layout = name, list(space.shape), "NHWC" if image else "vector"
            dtype, values = ("uint8", "0..255") if uint8 else ("float32", "0..1" if image else "raw")
        elif convention == "mlagents":
            c_hw = [space.channels, space.height, space.width] if image else list(space.shape)
            onnx_name, shape, layout = f"obs_{i}", c_hw, "NCHW" if image else "vector"
            dtype, values = "float32", "0..1" if image else "raw"
        else:
            size = space.channels * space.height * space.width if image else int(np.prod(space.shape))
            onnx_name, shape, layout = name, [size], "flat CHW" if image else "flat"
            dtype, values = "float32", ("0..255" if uint8 else "0..1") if image else "raw"
        described.append(
            {"input": onnx_name, "entry": name, "shape": shape, "layout": layout, "dtype": dtype, "values": values}
        )
    return described


def _output_names(convention: str, continuous: bool) -> list[str]:
    if convention == "academy":
        return ["action", "policy_output"]
    if convention == "godot":
        return ["output", "state_outs"]
    kind = "continuous" if continuous else "discrete"
    return [
        "version_number",
        "memory_size",
        f"{kind}_actions",
        f"{kind}_action_output_shape",
        f"deterministic_{kind}_actions",
    ]


def _metadata(convention: str, learner: Any, inputs: list[dict[str, Any]], outputs: list[str]) -> dict[str, str]:
    space = learner.action_space
    continuous = isinstance(space, Box)
    rescaled = convention != "academy" and continuous and space.bounded
    box = space.continuous if isinstance(space, Hybrid) else space if continuous else None
    meta: dict[str, Any] = {
        "convention": convention,
        "convention_label": _LABELS[convention],
        "format_version": EXPORT_FORMAT_VERSION,
        "exporter": "Agent Academy",
        "algorithm": learner.algorithm,
        "memory_size": 0,
        "observation_inputs": inputs,
        "obs_names": [d["entry"] for d in inputs],
        "outputs": outputs,
        "action_space": space.to_dict(),
        "continuous_action_size": box.dim if box is not None else 0,
        "discrete_action_branches": [] if continuous else list(action_nvec(space)),
        "continuous_action_scaling": "[low, high] -> [-1, 1]" if rescaled else "none",
    }
    if box is not None:
        meta["continuous_action_low"] = [float(x) for x in box.low_array().ravel()]
        meta["continuous_action_high"] = [float(x) for x in box.high_array().ravel()]
    if convention == "mlagents":
        meta["version_number"] = MLAGENTS_MODEL_VERSION
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in meta.items()}


def _import_onnx() -> Any:
    try:
        import onnx
    except ModuleNotFoundError:
        raise ModuleNotFoundError("ONNX export needs the onnx package (pip install onnx)", name="onnx") from None
    return onnx


def export_onnx(learner: Any, path: str | os.PathLike[str], opset: int = 17, convention: str = "academy") -> None:
    """Write the learner's acting policy to ``path`` as ONNX in ``convention`` (see the module docstring).

    Raises :class:`ExportError` for an unknown convention or a learner it cannot express, before
    anything is written; ``ModuleNotFoundError`` (naming ``onnx``) without the onnx package.
    """
    if getattr(learner, "net_space", None) is not None:
        raise ExportError("a policy with memory exports through learner.export_onnx (recurrent_export.py)")
    _check_convention(convention, learner)
    onnx = _import_onnx()
    policy = _ActingPolicy(learner).eval()
    entries = dict(learner.obs_proc.entries)
    inputs = _describe_inputs(convention, learner)
    outputs = _output_names(convention, policy.continuous)
    batch = 2
    example = [
        torch.zeros((batch, *d["shape"]), dtype=torch.uint8 if d["dtype"] == "uint8" else torch.float32) for d in inputs
    ]
    input_names = [d["input"] for d in inputs]
    if convention == "academy":
        module: nn.Module = policy
        batched = [*input_names, *outputs]
    elif convention == "mlagents":
        module = _MLAgentsPolicy(policy, entries).eval()
        if not policy.continuous:
            input_names.append("action_masks")
            example.append(torch.ones((batch, int(sum(policy.nvec)))))
        batched = [*input_names, outputs[2], outputs[4]]
    else:
        module = _GodotPolicy(policy, entries).eval()
        input_names.append("state_ins")
        example.append(torch.zeros(batch))
        batched = [*input_names, *outputs]
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # torch >= 2.9 prefers the dynamo exporter, which needs onnxscript; the TorchScript one
        # is complete for these plain feed-forward modules and needs only the onnx package.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            module,
            tuple(example),
            buf,
            input_names=input_names,
            output_names=outputs,
            dynamic_axes={n: {0: "batch"} for n in batched},
            opset_version=opset,
            dynamo=False,
        )
    model = onnx.load_from_string(buf.getvalue())
    for key, value in _metadata(convention, learner, inputs, outputs).items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, value
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
