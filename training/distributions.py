"""Action distributions written as plain tensor functions (no torch.distributions overhead).

Discrete: one categorical per branch over concatenated logits, with optional masks.
Continuous: diagonal Gaussian, either clipped to the bounds by the caller ('clipped') or squashed
with tanh and rescaled to the bounds ('squashed'). Hybrid: both, side by side.
"""

from __future__ import annotations

import math

import torch

__all__ = ["Categoricals", "Gaussian", "HybridDist"]

_MASKED = -1e8
_LOG_2PI = math.log(2 * math.pi)


class Categoricals:
    """Independent categoricals, one per branch; ``nvec`` gives the branch sizes."""

    def __init__(self, nvec: tuple[int, ...]) -> None:
        self.nvec = tuple(nvec)

    def _log_probs(self, logits: torch.Tensor, mask: torch.Tensor | None) -> list[torch.Tensor]:
        if mask is not None:
            logits = torch.where(mask, logits, torch.full_like(logits, _MASKED))
        return [torch.log_softmax(x, dim=-1) for x in torch.split(logits, self.nvec, dim=-1)]

    def sample(
        self, logits: torch.Tensor, mask: torch.Tensor | None, generator: torch.Generator | None, deterministic: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Actions (N, branches) int64 and their summed log-probability (N,)."""
        actions, logps = [], []
        for lp in self._log_probs(logits, mask):
            if deterministic:
                a = lp.argmax(dim=-1)
            else:
                # Gumbel-max trick: exact categorical sampling with our own generator.
                u = torch.rand(lp.shape, generator=generator).clamp_(1e-20, 1.0)
                a = (lp - torch.log(-torch.log(u))).argmax(dim=-1)
            actions.append(a)
            logps.append(lp.gather(-1, a.unsqueeze(-1)).squeeze(-1))
        return torch.stack(actions, dim=-1), torch.stack(logps, dim=-1).sum(-1)

    def evaluate(
        self, logits: torch.Tensor, actions: torch.Tensor, mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Summed log-probability of ``actions`` and summed entropy, both (N,)."""
        logp = torch.zeros(logits.shape[0], dtype=logits.dtype, device=logits.device)
        ent = torch.zeros_like(logp)
        for i, lp in enumerate(self._log_probs(logits, mask)):
            logp = logp + lp.gather(-1, actions[:, i : i + 1]).squeeze(-1)
            p = lp.exp()
            ent = ent - (p * lp).sum(-1)
        return logp, ent


class Gaussian:
    """Diagonal Gaussian with state-independent log std; ``squashed`` applies tanh."""

    def __init__(self, squashed: bool) -> None:
        self.squashed = squashed

    def _logp(self, mean: torch.Tensor, log_std: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        z = (raw - mean) * torch.exp(-log_std)
        logp = (-0.5 * z * z - log_std - 0.5 * _LOG_2PI).sum(-1)
        if self.squashed:
            # log|d tanh(u)/du| = 2 (log 2 - u - softplus(-2u)), the numerically stable form.
            logp = logp - (2.0 * (math.log(2.0) - raw - torch.nn.functional.softplus(-2.0 * raw))).sum(-1)
        return logp

    def sample(
        self, mean: torch.Tensor, log_std: torch.Tensor, generator: torch.Generator | None, deterministic: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw (pre-clip / pre-tanh) actions (N, D) and their log-probability (N,)."""
        if deterministic:
            raw = mean
        else:
            raw = mean + torch.exp(log_std) * torch.randn(mean.shape, generator=generator)
        return raw, self._logp(mean, log_std, raw)

    def evaluate(
        self, mean: torch.Tensor, log_std: torch.Tensor, raw: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probability of raw actions and entropy (for 'squashed': minus the log-probability,
        a one-sample estimate, because the squashed entropy has no closed form)."""
        logp = self._logp(mean, log_std, raw)
        if self.squashed:
            return logp, -logp
        ent = (log_std + 0.5 * (1.0 + _LOG_2PI)).sum(-1).expand(mean.shape[0])
        return logp, ent


class HybridDist:
    """A Gaussian over the first ``continuous_size`` policy outputs and categoricals over the rest.

    The parts are independent, so log-probabilities and entropies add (as ML-Agents' hybrid
    policies do). Actions are one float tensor: raw continuous values, then each branch's choice.
    """

    def __init__(self, continuous_size: int, nvec: tuple[int, ...], squashed: bool) -> None:
        self.c = int(continuous_size)
        self.gaussian = Gaussian(squashed)
        self.categoricals = Categoricals(nvec)

    def sample(
        self,
        out: torch.Tensor,
        log_std: torch.Tensor,
        mask: torch.Tensor | None,
        generator: torch.Generator | None,
        deterministic: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Actions (N, continuous + branches) float32 and their summed log-probability (N,)."""
        raw, logp_c = self.gaussian.sample(out[:, : self.c], log_std, generator, deterministic)
        choice, logp_d = self.categoricals.sample(out[:, self.c :], mask, generator, deterministic)
        return torch.cat([raw, choice.to(raw.dtype)], dim=-1), logp_c + logp_d

    def evaluate(
        self, out: torch.Tensor, log_std: torch.Tensor, actions: torch.Tensor, mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Summed log-probability and summed entropy of both parts, both (N,)."""
        logp_c, ent_c = self.gaussian.evaluate(out[:, : self.c], log_std, actions[:, : self.c])
        logp_d, ent_d = self.categoricals.evaluate(out[:, self.c :], actions[:, self.c :].long(), mask)
        return logp_c + logp_d, ent_c + ent_d
