"""Reward signals beside the scene's reward: curiosity (ICM), RND and GAIL (ML-Agents' ``reward_signals``).

Each signal rewards a transition on its own. GAIL's reward times its strength is added to the
scene's (PPO's value head and ``gamma``). Curiosity and RND are the intrinsic stream, as in the RND
paper and CleanRL's ``ppo_rnd_envpool``: each one's reward is divided by a running std of its
discounted return (so its scale does not depend on the network's error sizes), times its strength,
and the sum gets a value network of its own (``IntrinsicCritic``), its own GAE with gamma 0.99 and
non-episodic returns (an episode's end does not cut novelty still to be found after the reset);
those advantages are added to PPO's. RND's networks see observations normalised by a running mean
and std, clipped to +-5. The scene's reward the episode statistics show is left alone, so the curve
keeps showing what the scene gave; each signal reports its own mean per step (``curiosity_reward``,
``rnd_reward``, ``gail_reward``, as it enters learning: normalised, times its strength).

- Curiosity (Pathak et al. 2017): an encoder of observations trained by an inverse model (which
  action led from this observation to the next) and a forward model (the next encoding from this one
  and the action); the reward is the forward model's error, so transitions it cannot foresee pay.
- RND (Burda et al. 2018): a fixed random network and a predictor trained to match it; the reward is
  the predictor's error on the observation, large where the Brain has seldom been.
- GAIL (Ho and Ermon 2016): a discriminator told the Brain's demonstrations from the policy's own
  decisions (observations, and the actions with ``gail_use_actions``); the reward ``-log(1 - D)`` is
  large where the policy behaves like the demonstrations. ``gail_replace_reward`` drops the scene's reward.

The networks train after each PPO update, as many passes over the rollout as PPO's epochs, with
their own Adam (``signal_learning_rate``), and are saved with the model under ``signals/`` with
the running statistics and the intrinsic value network.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .gae import compute_gae
from .learner import make_adam, optimizer_from_arrays, optimizer_to_arrays
from .memory import network_space
from .networks import Encoder
from .normalize import RunningMeanStd
from .persistence import StateError, prefixed

__all__ = ["SIGNALS", "Curiosity", "GAIL", "RewardSignals", "RND", "signals_wanted"]

#: the signals, by the name of their strength setting (``<name>_strength``) and their statistic
SIGNALS = ("curiosity", "rnd", "gail")
INTRINSIC = ("curiosity", "rnd")  # the signals of the intrinsic stream (own normalisation, critic, GAE)
INTRINSIC_GAMMA = 0.99  # the RND paper's and CleanRL's gamma for intrinsic returns
OBS_CLIP = 5.0  # RND's normalised observations are clipped to +-this (the paper's)
_EPS = 1e-7


def signals_wanted(config: Any) -> bool:
    """True when any reward signal of ``config`` (a PPOConfig) has a strength above 0."""
    return any(getattr(config, f"{name}_strength", 0.0) > 0 for name in SIGNALS)


def _mlp(d_in: int, units: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, units), nn.ReLU(), nn.Linear(units, units), nn.ReLU(), nn.Linear(units, d_out))


class _Signal(nn.Module):
    """One reward signal: its networks, its reward for a batch of transitions, and its loss."""

    name = ""
    needs_next = False  # the reward reads the next observation (transitions that ended have none here)

    def __init__(self, strength: float) -> None:
        super().__init__()
        self.strength = float(strength)

    def reward(self, batch: dict[str, Any]) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def loss(
        self, batch: dict[str, Any], rng: np.random.Generator
    ) -> tuple[torch.Tensor, dict[str, float]]:  # pragma: no cover
        raise NotImplementedError


class RND(_Signal):
    """Random network distillation: reward = squared error of a trained predictor against a fixed random net."""

    name = "rnd"

    def __init__(self, strength: float, encoder: Any, units: int) -> None:
        super().__init__(strength)
        self.target_enc, self.pred_enc = encoder(), encoder()
        d = self.target_enc.out_dim
        self.target, self.predictor = _mlp(d, units, units), _mlp(d, units, units)
        for p in list(self.target_enc.parameters()) + list(self.target.parameters()):
            p.requires_grad_(False)
        self.obs_rms: dict[str, RunningMeanStd] = {}  # per vector entry; images are left as they are

    def observe(self, obs: dict[str, torch.Tensor]) -> None:
        """Merge a batch of observations into the running mean and std the networks' inputs use."""
        for k, v in obs.items():
            if v.is_floating_point() and v.dim() == 2:
                self.obs_rms.setdefault(k, RunningMeanStd(tuple(v.shape[1:]))).update(v.numpy())

    def normalized(self, obs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``obs`` with each vector entry seen so far standardised by its running statistics, clipped."""
        out = dict(obs)
        for k, rms in self.obs_rms.items():
            if k in out:
                out[k] = torch.from_numpy(rms.normalize(out[k].numpy(), OBS_CLIP))
        return out

    def _error(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        obs = self.normalized(obs)
        with torch.no_grad():
            target = self.target(self.target_enc(obs))
        return ((self.predictor(self.pred_enc(obs)) - target) ** 2).sum(dim=1)

    def reward(self, batch: dict[str, Any]) -> torch.Tensor:
        """The predictor's error on each observation."""
        return self._error(batch["obs"])

    def loss(self, batch: dict[str, Any], rng: np.random.Generator) -> tuple[torch.Tensor, dict[str, float]]:
        """Mean predictor error (what training lowers where the Brain has been)."""
        loss = self._error(batch["obs"]).mean()
        return loss, {"rnd_loss": loss.item()}


class Curiosity(_Signal):
    """ICM: an inverse model shapes the encoding, a forward model's error in that encoding is the reward."""

    name = "curiosity"
    needs_next = True
    FORWARD_WEIGHT = 0.2  # ML-Agents' (and the paper's) beta: 0.2 forward, 0.8 inverse

    def __init__(
        self, strength: float, encoder: Any, units: int, action_in: int, continuous: bool, nvec: tuple[int, ...]
    ) -> None:
        super().__init__(strength)
        self.enc = encoder()
        self.features = nn.Sequential(nn.Linear(self.enc.out_dim, units), nn.ReLU())
        self.inverse = _mlp(2 * units, units, action_in)
        self.forward_model = _mlp(units + action_in, units, units)
        self.continuous, self.nvec = continuous, nvec

    def _phi(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.features(self.enc(obs))

    def _forward_error(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        phi, phi_next = self._phi(batch["obs"]), self._phi(batch["next_obs"])
        pred = self.forward_model(torch.cat([phi, batch["action_in"]], dim=1))
        return 0.5 * ((pred - phi_next.detach()) ** 2).sum(dim=1), phi, phi_next

    def reward(self, batch: dict[str, Any]) -> torch.Tensor:
        """The forward model's error predicting the next encoding."""
        return self._forward_error(batch)[0]

    def loss(self, batch: dict[str, Any], rng: np.random.Generator) -> tuple[torch.Tensor, dict[str, float]]:
        """0.2 x forward error + 0.8 x inverse error (cross-entropy per branch, or squared error)."""
        fwd, phi, phi_next = self._forward_error(batch)
        fwd = fwd.mean()
        out = self.inverse(torch.cat([phi, phi_next], dim=1))
        if self.continuous:
            inv = ((out - batch["actions"]) ** 2).sum(dim=1).mean()
        else:
            parts = torch.split(out, list(self.nvec), dim=1)
            inv = sum(nn.functional.cross_entropy(p, batch["actions"][:, i]) for i, p in enumerate(parts))
        loss = self.FORWARD_WEIGHT * fwd + (1.0 - self.FORWARD_WEIGHT) * inv
        return loss, {"curiosity_forward_loss": fwd.item(), "curiosity_inverse_loss": float(inv.detach())}


class GAIL(_Signal):
    """A discriminator of demonstrated (1) against the policy's (0) decisions; reward -log(1 - D)."""

    name = "gail"

    def __init__(
        self, strength: float, encoder: Any, units: int, action_in: int, use_actions: bool, penalty: float
    ) -> None:
        super().__init__(strength)
        self.enc = encoder()
        self.use_actions, self.penalty = use_actions, float(penalty)
        self.disc = _mlp(self.enc.out_dim + (action_in if use_actions else 0), units, 1)
        self.expert: dict[str, Any] | None = None  # the demonstrations as a batch (set_demonstrations)

    def _logits(self, obs: dict[str, torch.Tensor], action_in: torch.Tensor) -> torch.Tensor:
        x = self.enc(obs)
        if self.use_actions:
            x = torch.cat([x, action_in], dim=1)
        return self.disc(x).squeeze(1)

    def reward(self, batch: dict[str, Any]) -> torch.Tensor:
        """-log(1 - D(obs[, action])): high where the discriminator takes the policy for the demonstrator."""
        d = torch.sigmoid(self._logits(batch["obs"], batch["action_in"]))
        return -torch.log(1.0 - d + _EPS)

    def loss(self, batch: dict[str, Any], rng: np.random.Generator) -> tuple[torch.Tensor, dict[str, float]]:
        """Binary cross-entropy (an equal batch of demonstrations drawn at random), plus the gradient penalty."""
        assert self.expert is not None
        n = len(batch["action_in"])
        idx = torch.from_numpy(rng.integers(0, len(self.expert["action_in"]), n))
        e_obs = {k: v[idx] for k, v in self.expert["obs"].items()}
        e_act = self.expert["action_in"][idx]
        pol, exp_ = self._logits(batch["obs"], batch["action_in"]), self._logits(e_obs, e_act)
        bce = nn.functional.binary_cross_entropy_with_logits
        loss = bce(exp_, torch.ones_like(exp_)) + bce(pol, torch.zeros_like(pol))
        stats = {
            "gail_expert_estimate": float(torch.sigmoid(exp_.detach()).mean()),
            "gail_policy_estimate": float(torch.sigmoid(pol.detach()).mean()),
        }
        if self.penalty > 0:  # on points between the two batches (WGAN-GP, as ML-Agents' GAIL)
            loss = loss + self.penalty * self._gradient_penalty(batch, e_obs, e_act)
        stats["gail_loss"] = loss.item()
        return loss, stats

    def _gradient_penalty(
        self, batch: dict[str, Any], e_obs: dict[str, torch.Tensor], e_act: torch.Tensor
    ) -> torch.Tensor:
        n = len(e_act)
        alpha = torch.rand(n, 1)
        mixed, leaves = {}, []
        for k, v in batch["obs"].items():
            a = alpha.reshape(n, *([1] * (v.dim() - 1)))
            m = (a * v.float() + (1 - a) * e_obs[k].float()).requires_grad_(True)
            mixed[k] = m
            leaves.append(m)
        act = (alpha * batch["action_in"] + (1 - alpha) * e_act).requires_grad_(True)
        leaves.append(act)
        out = self._logits(mixed, act)
        grads = torch.autograd.grad(
            out.sum(), leaves, create_graph=True, allow_unused=True
        )  # actions: unused without use_actions
        norm = torch.sqrt(sum((g.reshape(n, -1) ** 2).sum(dim=1) for g in grads if g is not None) + 1e-12)
        return ((norm - 1.0) ** 2).mean()


class IntrinsicCritic(nn.Module):
    """The value of the intrinsic stream (curiosity and RND): an encoder and an MLP to one output."""

    def __init__(self, encoder: Any, units: int) -> None:
        super().__init__()
        self.enc = encoder()
        self.head = _mlp(self.enc.out_dim, units, 1)

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """One value per row of ``obs``."""
        return self.head(self.enc(obs)).squeeze(1)


class _ReturnScale:
    """Divides a signal's rewards by the running std of each agent's discounted, non-episodic return."""

    def __init__(self, num_agents: int) -> None:
        self.rms = RunningMeanStd(())
        self.returns = np.zeros(num_agents, np.float64)

    def __call__(self, r: np.ndarray, active: np.ndarray) -> np.ndarray:
        """``r`` (T, N) scaled; inactive steps leave the returns alone and stay 0."""
        seen = []
        for t in range(len(r)):
            self.returns = np.where(active[t], self.returns * INTRINSIC_GAMMA + r[t], self.returns)
            seen.append(self.returns[active[t]])
        seen_all = np.concatenate(seen)
        if len(seen_all):
            self.rms.update(seen_all)
        return np.where(active, r / np.sqrt(self.rms.var + 1e-8), 0.0).astype(np.float32)


class RewardSignals:
    """The reward signals a PPO learner's config turns on; built by the learner, saved with it."""

    def __init__(self, learner: Any) -> None:
        cfg = learner.config
        self.continuous, self.nvec = bool(learner.continuous), tuple(learner.nvec)
        # hybrid actions: their continuous values come first in each action row, then the choices
        self.continuous_dim = int(learner.action_dim - sum(self.nvec)) if getattr(learner, "hybrid", False) else 0
        self.action_in = int(learner.action_dim)  # one-hot per branch, or the continuous action
        units = int(cfg.signal_units)

        space = network_space(learner.obs_space, int(cfg.stacked_observations))  # the rollout keeps the stacks

        def encoder() -> Encoder:
            return Encoder(space, cfg.vis_encoder, cfg.cnn_features)

        self.signals: dict[str, _Signal] = {}
        with torch.random.fork_rng():
            torch.manual_seed(learner.seed + 7919)  # the policy's own initialisation stays as without signals
            if cfg.curiosity_strength > 0:
                self.signals["curiosity"] = Curiosity(
                    cfg.curiosity_strength, encoder, units, self.action_in, self.continuous, self.nvec
                )
            if cfg.rnd_strength > 0:
                self.signals["rnd"] = RND(cfg.rnd_strength, encoder, units)
            if cfg.gail_strength > 0:
                self.signals["gail"] = GAIL(
                    cfg.gail_strength, encoder, units, self.action_in, cfg.gail_use_actions, cfg.gail_gradient_penalty
                )
            self.critic = IntrinsicCritic(encoder, units) if self._intrinsic() else None
        self.replace_reward = bool(cfg.gail_replace_reward) and "gail" in self.signals
        self.optimizers = {
            name: make_adam([p for p in s.parameters() if p.requires_grad], cfg.signal_learning_rate, 1e-8)
            for name, s in self.signals.items()
        }
        if self.critic is not None:  # a value head learns at the policy's pace
            self.optimizers["intrinsic"] = make_adam(list(self.critic.parameters()), cfg.learning_rate, cfg.adam_eps)
        self.scales = {name: _ReturnScale(learner.num_agents) for name in self._intrinsic()}
        self._int_adv: np.ndarray | None = None  # the rollout's intrinsic advantages and returns (add_rewards)
        self._int_ret: np.ndarray | None = None
        self._rng = np.random.default_rng(learner.seed + 7919)

    def _intrinsic(self) -> list[str]:
        return [name for name in INTRINSIC if name in self.signals]

    # -- demonstrations (GAIL) -----------------------------------------------------------------------
    def set_demonstrations(self, learner: Any, demos: Any) -> None:
        """Give GAIL its expert decisions (``training.demos.Demonstrations`` fitting the learner)."""
        from .bc import _raw_actions, check_fits

        if "gail" not in self.signals:
            raise ValueError("GAIL Strength is 0: there is no discriminator to give demonstrations to")
        check_fits(learner, demos)
        obs = learner.obs_proc(demos.obs, update=False, n=demos.steps)
        actions = _raw_actions(learner, demos).reshape(demos.steps, -1)
        gail = self.signals["gail"]
        assert isinstance(gail, GAIL)
        gail.expert = {"obs": {k: torch.from_numpy(v) for k, v in obs.items()}, "action_in": self._action_in(actions)}

    # -- the hook PPO calls ----------------------------------------------------------------------------
    def scene_reward(self, r: np.ndarray) -> np.ndarray:
        """The scene's reward as PPO learns from it: nothing when GAIL replaces it."""
        return np.zeros_like(r) if self.replace_reward else r

    def _action_in(self, actions: np.ndarray) -> torch.Tensor:
        a = torch.from_numpy(np.ascontiguousarray(actions))
        if self.continuous:
            return a.float()
        c = self.continuous_dim
        choices = a[:, c:].long()
        one_hot = [nn.functional.one_hot(choices[:, i], n).float() for i, n in enumerate(self.nvec)]
        return torch.cat([a[:, :c].float(), *one_hot], dim=1)

    def _transitions(self, learner: Any) -> dict[str, Any]:
        """The rollout's real steps as one flat batch; ``has_next`` marks those whose next observation is in it."""
        T, N = learner.config.num_steps, learner.num_agents
        active, dones = learner.buf_active, learner.buf_dones
        has_next = np.zeros((T, N), bool)
        has_next[:-1] = active[:-1] & ~dones[:-1] & active[1:]
        keep = np.flatnonzero(active.reshape(-1))
        nxt = np.flatnonzero(has_next.reshape(-1))  # row t*N+n's next observation is row (t+1)*N+n
        obs = {k: torch.from_numpy(v.reshape(T * N, *v.shape[2:])) for k, v in learner.buf_obs.items()}
        actions = learner.buf_actions.reshape(T * N, -1)
        return {
            "keep": keep,
            "next": nxt,
            "obs": obs,
            "actions": torch.from_numpy(actions),
            "action_in": self._action_in(actions),
            "N": N,
        }

    @staticmethod
    def _rows(data: dict[str, Any], idx: np.ndarray, with_next: bool) -> dict[str, Any]:
        i = torch.from_numpy(idx)
        out = {
            "obs": {k: v[i] for k, v in data["obs"].items()},
            "actions": data["actions"][i],
            "action_in": data["action_in"][i],
        }
        if with_next:
            j = torch.from_numpy(idx + data["N"])
            out["next_obs"] = {k: v[j] for k, v in data["obs"].items()}
        return out

    def add_rewards(self, learner: Any) -> tuple[np.ndarray, dict[str, float]]:
        """The rollout's rewards for PPO's own GAE (GAIL's added); each signal's mean per step.

        Curiosity's and RND's rewards go to the intrinsic stream instead: their advantages are
        ready for ``intrinsic_advantages`` after this call."""
        if "gail" in self.signals and self.signals["gail"].expert is None:  # type: ignore[union-attr]
            raise ValueError("GAIL Strength is above 0, but the Brain has no demonstrations to imitate")
        data = self._transitions(learner)
        shape = learner.buf_rewards.shape
        total = learner.buf_rewards.reshape(-1).astype(np.float32).copy()
        intrinsic = np.zeros(shape, np.float32)
        active = learner.buf_active.reshape(shape)
        stats: dict[str, float] = {}
        for name, sig in self.signals.items():
            rows = data["next"] if sig.needs_next else data["keep"]
            if isinstance(sig, RND) and len(rows):  # the inputs' statistics include what is judged now
                sig.observe(self._rows(data, rows, False)["obs"])
            got = np.zeros(len(total), np.float32)
            if len(rows):
                with torch.no_grad():
                    got[rows] = sig.reward(self._rows(data, rows, sig.needs_next)).numpy()
            if name in self.scales:
                got = self.scales[name](got.reshape(shape), active).reshape(-1) * sig.strength
                intrinsic += got.reshape(shape)
            else:
                got = got * sig.strength
                total += got
            stats[f"{name}_reward"] = float(got[data["keep"]].mean()) if len(data["keep"]) else 0.0
        if self.critic is not None:
            values = self._critic_values(data).reshape(shape)
            # the value after the rollout is estimated by the last step's (the next observation is not kept)
            self._int_adv, self._int_ret = compute_gae(
                intrinsic, values, np.zeros(shape, bool), values[-1], INTRINSIC_GAMMA,
                learner.config.gae_lambda, None if active.all() else active,
            )  # fmt: skip
            stats["intrinsic_value_estimate"] = float(values[active].mean()) if active.any() else 0.0
        return total.reshape(shape), stats

    def _critic_values(self, data: dict[str, Any]) -> np.ndarray:
        assert self.critic is not None
        with torch.no_grad():
            return self.critic(data["obs"]).numpy()

    def intrinsic_advantages(self, learner: Any) -> np.ndarray | np.floating:
        """The intrinsic stream's advantages (T, N) of the rollout ``add_rewards`` saw (0 without one)."""
        return np.float32(0.0) if self._int_adv is None else self._int_adv

    def update(self, learner: Any) -> dict[str, float]:
        """Train every signal's networks on the rollout (PPO's epochs and minibatch size); their losses."""
        data = self._transitions(learner)
        cfg = learner.config
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        nets: dict[str, Any] = dict(self.signals)
        if self.critic is not None and self._int_ret is not None:
            nets["intrinsic"] = self.critic
            returns = torch.from_numpy(self._int_ret.reshape(-1))
        for name, net in nets.items():
            needs_next = getattr(net, "needs_next", False)
            rows = data["next"] if needs_next else data["keep"]
            opt = self.optimizers[name]
            for _ in range(cfg.num_epochs if len(rows) else 0):
                perm = rows[self._rng.permutation(len(rows))]
                for start in range(0, len(perm), cfg.minibatch_size):
                    idx = perm[start : start + cfg.minibatch_size]
                    batch = self._rows(data, idx, needs_next)
                    if name == "intrinsic":
                        loss = ((net(batch["obs"]) - returns[torch.from_numpy(idx)]) ** 2).mean()
                        stats = {"intrinsic_value_loss": loss.item()}
                    else:
                        loss, stats = net.loss(batch, self._rng)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    if name == "intrinsic" and cfg.max_grad_norm > 0:
                        nn.utils.clip_grad_norm_(net.parameters(), cfg.max_grad_norm)
                    opt.step()
                    for k, v in stats.items():
                        sums[k], counts[k] = sums.get(k, 0.0) + v, counts.get(k, 0) + 1
        self._int_adv = self._int_ret = None
        return {k: sums[k] / counts[k] for k in sums}

    # -- persistence -----------------------------------------------------------------------------------
    def _nets(self) -> dict[str, nn.Module]:
        nets: dict[str, nn.Module] = dict(self.signals)
        if self.critic is not None:
            nets["intrinsic"] = self.critic
        return nets

    def state(self) -> dict[str, np.ndarray]:
        """Every signal's weights and Adam moments (and the intrinsic critic's), as ``signals/<name>/...``
        arrays; the running statistics under ``signals/<name>/obs_norm/`` and ``.../ret_norm/``."""
        arrays: dict[str, np.ndarray] = {}
        for name, net in self._nets().items():
            for k, v in net.state_dict().items():
                arrays[f"signals/{name}/net/{k}"] = v.detach().numpy().copy()
            opt_arrays, _ = optimizer_to_arrays(self.optimizers[name])
            arrays.update({f"signals/{name}/optim/{k}": v for k, v in opt_arrays.items()})
        for name, scale in self.scales.items():
            arrays.update({f"signals/{name}/ret_norm/{k}": np.asarray(v) for k, v in scale.rms.state().items()})
            arrays[f"signals/{name}/ret_norm/returns"] = scale.returns
        rnd = self.signals.get("rnd")
        if isinstance(rnd, RND):
            for key, rms in rnd.obs_rms.items():
                arrays.update({f"signals/rnd/obs_norm/{key}/{k}": np.asarray(v) for k, v in rms.state().items()})
        return arrays

    def load(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore the signals saved in ``arrays``; one saved with other sizes (or not saved) starts afresh.

        Raises StateError for a saved weight that is not finite float32, or a statistic that is not
        finite (damaged data, not other settings).
        """
        for key, arr in arrays.items():
            if not key.startswith("signals/"):
                continue
            if "_norm/" in key:
                if not np.isfinite(np.asarray(arr, np.float64)).all():
                    raise StateError(f"array '{key}' is not finite")
            elif arr.dtype != np.float32 or not np.isfinite(arr).all():
                raise StateError(f"array '{key}' is not finite float32")
        for name, net in self._nets().items():
            saved = prefixed(arrays, f"signals/{name}/net")
            own = net.state_dict()
            if set(saved) != set(own) or any(saved[k].shape != tuple(own[k].shape) for k in own):
                continue
            net.load_state_dict({k: torch.from_numpy(np.array(saved[k])) for k in own})
            opt = self.optimizers[name]
            moments = prefixed(arrays, f"signals/{name}/optim")
            if moments:
                try:
                    optimizer_from_arrays(opt, moments, opt.state_dict()["param_groups"])
                except (KeyError, ValueError, RuntimeError):
                    pass  # moments of another layout: the weights are what matters
        for name, scale in self.scales.items():
            saved = prefixed(arrays, f"signals/{name}/ret_norm")
            if {"mean", "var", "count"} <= set(saved):
                scale.rms.load_state(saved)
                if saved.get("returns", np.zeros(0)).shape == scale.returns.shape:  # same number of agents
                    scale.returns = np.array(saved["returns"], np.float64)
        rnd = self.signals.get("rnd")
        if isinstance(rnd, RND):
            saved = prefixed(arrays, "signals/rnd/obs_norm")
            for key in {k.rsplit("/", 1)[0] for k in saved}:
                rms = RunningMeanStd(np.shape(saved[f"{key}/mean"]))
                rms.load_state(prefixed(saved, key))
                rnd.obs_rms[key] = rms
