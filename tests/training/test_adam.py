"""The learners' Adam (``make_adam``, fused CPU kernel) computes what ``torch.optim.Adam`` computes.

Stepped side by side on the same parameters and gradients, the way the learners use it (gradient
clipping, a learning rate changed between steps by the schedules, state saved and restored), for
the shapes of our networks and the lr/eps of the configs. Checked in this process (whatever
``ATEN_CPU_CAPABILITY`` the suite runs with) and in one subprocess per CPU kernel level.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch

from academy_pure.training.learner import make_adam, optimizer_from_arrays, optimizer_to_arrays

from .conftest import ROOT

SHAPES = [(64, 4), (64,), (64, 64), (3, 64), (3,), (256, 256), (16, 3, 8, 8), (1,)]
# (lr, eps): PPOConfig, DQNConfig defaults; the CartPole DQN and PPO test configs
SETTINGS = [(3e-4, 1e-5), (1e-4, 1e-8), (2.3e-3, 1e-8), (1e-3, 1e-5)]


def max_difference(lr: float, eps: float, steps: int = 60, seed: int = 0) -> float:
    """Largest |difference| of parameters and Adam moments between make_adam and plain Adam."""
    gen = torch.Generator().manual_seed(seed)
    init = [torch.randn(s, generator=gen) * 0.3 for s in SHAPES]
    a = [p.clone().requires_grad_() for p in init]
    b = [p.clone().requires_grad_() for p in init]
    ours = make_adam(a, lr, eps)
    plain = torch.optim.Adam(b, lr=lr, eps=eps)
    worst = 0.0
    for step in range(steps):
        scale = 10.0 ** (step % 6 - 4)  # gradients from 1e-4 to 10, as early and late in training
        grads = [torch.randn(s, generator=gen) * scale for s in SHAPES]
        for x, y, g in zip(a, b, grads, strict=True):
            x.grad, y.grad = g.clone(), g.clone()
        torch.nn.utils.clip_grad_norm_(a, 10.0, foreach=True)
        torch.nn.utils.clip_grad_norm_(b, 10.0, foreach=True)
        for opt in (ours, plain):
            for group in opt.param_groups:
                group["lr"] = lr * (1.0 - step / steps)  # a linear schedule
        ours.step()
        plain.step()
        if step == steps // 2:  # save and restore mid-way, as a checkpoint does
            arrays, groups = optimizer_to_arrays(ours)
            ours = make_adam(a, lr, eps)
            optimizer_from_arrays(ours, arrays, groups)
        for x, y in zip(a, b, strict=True):
            worst = max(worst, (x - y).abs().max().item())
            for key in ("exp_avg", "exp_avg_sq"):
                worst = max(worst, (ours.state[x][key] - plain.state[y][key]).abs().max().item())
    return worst


@pytest.mark.parametrize("lr, eps", SETTINGS)
def test_make_adam_matches_plain_adam(lr, eps):
    assert max_difference(lr, eps) < 1e-6


def test_comparison_can_fail():
    """The check above sees a real difference: a different epsilon is caught."""
    gen = torch.Generator().manual_seed(0)
    p = torch.randn(64, 64, generator=gen)
    a, b = p.clone().requires_grad_(), p.clone().requires_grad_()
    ours, plain = make_adam([a], 1e-3, 1e-5), torch.optim.Adam([b], lr=1e-3, eps=1e-3)
    for _ in range(5):
        g = torch.randn(64, 64, generator=gen) * 1e-3
        a.grad, b.grad = g.clone(), g.clone()
        ours.step()
        plain.step()
    assert (a - b).abs().max().item() > 1e-6


@pytest.mark.parametrize("level", ["default", "avx2", "avx512"])
def test_make_adam_matches_plain_adam_at_each_cpu_level(level):
    """Same check with torch's kernels forced to ``level`` (a CPU without it runs its best level)."""
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        import torch
        torch.set_num_threads(1)
        from devtools import pure
        pure.register()
        from tests.training.test_adam import SETTINGS, max_difference
        print(torch.backends.cpu.get_cpu_capability(), max(max_difference(lr, eps, steps=30) for lr, eps in SETTINGS))
        """
    )
    env = {**os.environ, "ATEN_CPU_CAPABILITY": level}
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True, timeout=120)
    capability, diff = out.stdout.split()
    print(f"ATEN_CPU_CAPABILITY={level}: runs {capability}, max |fused - plain| = {diff}")
    assert float(diff) < 1e-6
