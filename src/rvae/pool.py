"""Runs of many conditions trained as one computation: a pool.

A pool is every run of one architecture, batch size and step budget, whatever its condition: each
member has its own seed, beta and rho, its own training set (the VAE and beta-VAE train on the data
plus the R Rosetta inputs, the R-VAE on the data alone), validation set and Rosetta points (any
number k of them). One vmapped forward and backward (``torch.func.vmap``) and one Adam step train
them all, so the per-step cost of launching small kernels from Python is paid once per pool rather
than once per seed block.

**A member's result depends on nothing but itself.** Its data order and noise come from its own
streams (``rvae.trainer.stream_seeds``), exactly as ``Trainer`` draws them. Its arithmetic is laid
out so that no kernel rounds it differently for sitting beside other members:

- each step, members are grouped by what they compute alike (their batch rounded up to a whole
  number of ``LANES`` rows, their Rosetta points rounded up likewise, or none), and each group is
  one vmapped call; the padded rows are real points, masked out of the means. So every elementwise
  tensor holds a whole number of ``LANES``-element blocks per member, and each element goes through
  the vectorised kernels whatever the group's size: CPU kernels take the last elements of a tensor
  that do not fill a vector through scalar code, whose exp, log and fused multiply-adds round
  differently. A group of one runs beside a detached copy of itself (torch's batched matmul takes
  another kernel for a batch of one);
- the means are masked sums over the padded rows divided by the member's own count;
- the parameters live in one flat ``(members, width)`` tensor, ``width`` a multiple of
  ``LANES``, updated by one elementwise (single-tensor) Adam.

So a member is bit-identical to a pool of that member alone: on one thread, on each CPU kernel
path (tests/test_pool.py, rerun on the AVX2 and baseline paths by tests/test_cpu_paths.py). With
several threads the elementwise kernels split a tensor at boundaries that depend on its total
size, which this does not guard. A member is *not* bit-identical to ``Trainer`` on the same seed:
its first step agrees to a few float32 ulps (tests/test_pool.py), and then the two separate like two
valid float32 runs (as a seed block's vmap slot does, ``rvae.ensemble``).

Members finished by an earlier run are not trained again: :func:`fit_pool` reads each member's
final checkpoint first and trains only the others, which a member's independence makes the same
as training them all.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import torch
from torch.func import functional_call, vmap

from rvae.checkpoints import data_identity, read_checkpoint
from rvae.convergence import PLATEAU
from rvae.device import autocast
from rvae.ensemble import Trained
from rvae.inference import evaluate
from rvae.losses import RosettaLoss, gaussian_nll, kl_full_covariance
from rvae.models import ArchitectureSpec, VAE, build_vae
from rvae.trainer import TrainConfig, TrainingLoop, checked_training_data

log = logging.getLogger(__name__)

# Elements per block of a member's tensors: a multiple of every CPU kernel path's vector loop
# (2 vectors of 16 floats on AVX-512, 2 of 8 on AVX2 and the baseline).
LANES = 64


def padded(n: int) -> int:
    return -(-int(n) // LANES) * LANES


@dataclass
class PoolMember:
    """One run of a pool: its config (seed, beta, rho may differ between members), its own data and checkpoint."""

    config: TrainConfig
    x_train: torch.Tensor
    x_val: torch.Tensor | None = None
    rosetta: RosettaLoss | None = None
    checkpoint: str | Path | None = None


def masked_loss(model: VAE, x, eps, mask, beta, obs_precision, x_r=None, z_r=None, anchor_mask=None, rho=None, precision: str = "fp32") -> torch.Tensor:
    """``rvae.losses.batch_loss`` over padded rows: (total, recon, KL, anchor), each a mean over the
    rows ``mask`` (the batch) and ``anchor_mask`` (the Rosetta points) keep; without anchors
    (``x_r`` None) the anchor term is 0 and not computed."""
    with autocast(x.device, precision):
        outputs = model(x, eps)
        if x_r is not None:
            decoded = model.decode(z_r)
            mu_r, _ = model.encode(x_r)
    recon_mean, mu, scale = (t.float() for t in outputs)
    count = mask.sum()
    recon = (gaussian_nll(x, recon_mean, obs_precision) * mask).sum() / count
    kl = (kl_full_covariance(mu, scale) * mask).sum() / count
    total = recon + beta * kl
    if x_r is None:
        return torch.stack([total, recon, kl, torch.zeros_like(total)])
    error = (x_r - decoded.float()).pow(2).flatten(1).sum(-1) + (z_r - mu_r.float()).pow(2).sum(-1)
    anchor = (error * anchor_mask).sum() / anchor_mask.sum()
    return torch.stack([total + rho * anchor, recon, kl, anchor])


class PoolTrainer(TrainingLoop):
    """Train a pool of members as one computation (the module's docstring says how and why)."""

    kind = "pool"
    free_fields = ("seed", "beta", "rho")

    def __init__(self, models: Sequence[VAE], members: Sequence[PoolMember]):
        super().__init__(models, [m.config for m in members], [m.checkpoint for m in members], label_seeds=True)
        if self.config.until == PLATEAU:
            raise ValueError("a pool trains a number of steps, not until='plateau'; train each model alone to its plateau")
        # the vmapped step is not compiled and keeps the default layout: say so in histories and identities
        self.configs = [replace(c, compile="off", memory_format="contiguous") for c in self.configs]
        self.config = self.configs[0]
        self.members = list(members)
        shapes = [(name, p.shape) for name, p in models[0].named_parameters()]
        self.layout, offset = [], 0
        for name, shape in shapes:
            self.layout.append((name, offset, shape))
            offset += shape.numel()
        self.numel, self.width = offset, padded(offset)
        flat = torch.zeros(len(models), self.width, device=self.device)
        for i, model in enumerate(self.models):
            flat[i, : self.numel] = torch.cat([p.detach().flatten() for p in model.parameters()])
        self.flat = flat.requires_grad_(True)
        self.buffers = {f"vae.{name}": torch.stack([dict(m.named_buffers())[name] for m in self.models]) for name, _ in models[0].named_buffers()}
        # one elementwise Adam over the flat tensor: the single-tensor kernel, whose arithmetic per
        # element does not depend on the tensor's size (the fused one splits vectors and tails by size)
        self.optimizer = torch.optim.Adam([self.flat], lr=self.config.lr, foreach=False, fused=False)
        self.optimizer.state[self.flat] = {
            "step": torch.tensor(0.0),
            "exp_avg": torch.zeros_like(self.flat, memory_format=torch.preserve_format),
            "exp_avg_sq": torch.zeros_like(self.flat, memory_format=torch.preserve_format),
        }
        # each member's pass over its own data: its permutation, how far into it, how many drawn
        n = len(models)
        self.member_orders: list[torch.Tensor | None] = [None] * n
        self.cursors, self.member_passes = [0] * n, [0] * n
        self._base = copy.deepcopy(self.models[0])  # the module vmap calls with each member's weights

    # -- per-member views of the flat state ------------------------------------------------
    def _params(self, flat: torch.Tensor) -> dict:
        return {f"vae.{name}": flat[:, offset : offset + shape.numel()].unflatten(1, shape) for name, offset, shape in self.layout}

    def _sync_models(self) -> None:
        with torch.no_grad():
            for i, model in enumerate(self.models):
                for (name, offset, shape), param in zip(self.layout, model.parameters()):
                    param.copy_(self.flat[i, offset : offset + shape.numel()].view(shape))

    def _step_state(self, i: int) -> dict:
        state = self.optimizer.state[self.flat]
        return {
            "step": state["step"].clone(),
            "exp_avg": state["exp_avg"][i, : self.numel].detach().clone(),
            "exp_avg_sq": state["exp_avg_sq"][i, : self.numel].detach().clone(),
            "order": None if self.member_orders[i] is None else self.member_orders[i].cpu(),
            "cursor": self.cursors[i],
            "passes": self.member_passes[i],
        }

    def _load_step_state(self, i: int, state: dict) -> None:
        with torch.no_grad():
            self.flat[i, : self.numel] = torch.cat([p.detach().flatten() for p in self.models[i].parameters()])
            slot = self.optimizer.state[self.flat]
            slot["step"] = state["step"].clone()
            slot["exp_avg"][i, : self.numel] = state["exp_avg"].to(self.device)
            slot["exp_avg_sq"][i, : self.numel] = state["exp_avg_sq"].to(self.device)
        self.member_orders[i] = None if state["order"] is None else state["order"].to(self.device)
        self.cursors[i], self.member_passes[i] = int(state["cursor"]), int(state["passes"])

    def _train_mode(self) -> None:
        """The step calls the models functionally; nothing to switch."""

    # -- data: a pool of every member's points, each member drawing its own --------------------
    def _prepare(self) -> list[str]:
        """Every member's data on the device, the pool of training points, the padded anchors; the data identities."""
        dev, members = self.device, self.members
        xs = [checked_training_data(m.x_train, dev) for m in members]
        self.sizes = [x.shape[0] for x in xs]
        starts = torch.tensor([0] + self.sizes[:-1]).cumsum(0).tolist()
        self.offsets = [int(s) for s in starts]
        self.pool = torch.cat(xs)
        self.x_vals = [m.x_val.to(dev, torch.float32) if m.x_val is not None else None for m in members]
        self.rosettas = [m.rosetta.to(dev) if m.rosetta is not None else None for m in members]
        shape, k = tuple(self.pool.shape[1:]), self.models[0].latent_dim
        rows = max([padded(len(r.x_r)) for r in self.rosettas if r is not None] or [LANES])
        self.x_r = torch.zeros(len(members), rows, *shape, device=dev)
        self.z_r = torch.zeros(len(members), rows, k, device=dev)
        self.anchor_mask = torch.zeros(len(members), rows, device=dev)
        for i, r in enumerate(self.rosettas):
            if r is not None:
                self.x_r[i, : len(r.x_r)], self.z_r[i, : len(r.z_r)], self.anchor_mask[i, : len(r.x_r)] = r.x_r, r.z_r, 1.0
        # the anchor rows each member computes: its k rounded up to whole blocks, none without points
        self.anchor_rows = [padded(len(r.x_r)) if r is not None else 0 for r in self.rosettas]
        self.beta = torch.tensor([c.beta for c in self.configs], device=dev)
        self.rho = torch.tensor([c.rho if r is not None else 0.0 for c, r in zip(self.configs, self.rosettas)], device=dev)
        loss = _PoolLoss(self._base, self.config)

        def with_anchors(params, buffers, x, eps, mask, beta, x_r, z_r, anchor_mask, rho):
            return functional_call(loss, (params, buffers), (x, eps, mask, beta, x_r, z_r, anchor_mask, rho))

        def without(params, buffers, x, eps, mask, beta):
            return functional_call(loss, (params, buffers), (x, eps, mask, beta))

        self._batched = {True: vmap(with_anchors), False: vmap(without)}
        return [data_identity(x, r, v) for x, r, v in zip(xs, self.rosettas, self.x_vals)]

    def _member_batches(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Each member's next batch (rows of the pool) and its noise, from its own streams as
        ``Trainer`` draws them: a fresh permutation at the start of each pass over its own points."""
        b, k = self.config.batch_size, self.models[0].latent_dim
        out = []
        for i, n in enumerate(self.sizes):
            if self.member_orders[i] is None or self.cursors[i] >= n:
                self.member_orders[i] = torch.randperm(n, generator=self.order_rngs[i]).to(self.device)
                self.cursors[i] = 0
                self.member_passes[i] += 1
            first = self.cursors[i]
            self.cursors[i] = min(n, first + b)
            index = self.member_orders[i][first : self.cursors[i]] + self.offsets[i]
            out.append((index, torch.randn(index.shape[0], k, generator=self.noise_rngs[i], device=self.device)))
        return out

    def _train_steps(self, x_train, rosetta, count):
        sums = torch.zeros(len(self.members), 4, device=self.device, dtype=torch.float64)
        seen = torch.zeros(len(self.members), device=self.device, dtype=torch.float64)
        for _ in range(count):
            batches = self._member_batches()
            # members that compute alike this step: the same padded batch, the same anchor rows
            groups: dict[tuple[int, int], list[int]] = {}
            for i, (index, _) in enumerate(batches):
                groups.setdefault((padded(index.shape[0]), self.anchor_rows[i]), []).append(i)
            parts = torch.zeros(len(self.members), 4, device=self.device)
            self.optimizer.zero_grad(set_to_none=True)
            total = 0
            for (rows, anchors), members in groups.items():
                group = self._group_parts(members, rows, anchors, batches)
                total = total + group[:, 0].sum()
                parts[members] = group.detach()
            total.backward()
            self.optimizer.step()
            size = torch.tensor([index.shape[0] for index, _ in batches], device=self.device, dtype=torch.float64)
            sums += parts.double() * size[:, None]
            seen += size
        return (sums / seen[:, None]).tolist(), float(seen.sum()) / len(self.members)

    def _group_parts(self, members: list[int], rows: int, anchors: int, batches) -> torch.Tensor:
        """(total, recon, KL, anchor) of the ``members`` for one step, each batch padded to ``rows``
        (real points, masked out) and its anchors to ``anchors`` rows; gradients land in ``self.flat``.

        A group of one runs beside a detached copy of itself: torch's batched matmul takes another
        kernel for a batch of one (a matrix-vector product for a 1-wide layer, which rounds
        differently), so no group holds fewer than two."""
        k = self.models[0].latent_dim
        index = torch.stack([torch.cat([b[0], b[0][:1].expand(rows - b[0].shape[0])]) for b in (batches[i] for i in members)])
        eps = torch.stack([torch.cat([b[1], b[1].new_zeros(rows - b[1].shape[0], k)]) for b in (batches[i] for i in members)])
        mask = torch.stack([(torch.arange(rows, device=self.device) < batches[i][0].shape[0]).float() for i in members])
        if len(members) == len(self.members):
            flat, buffers, beta, rho = self.flat, self.buffers, self.beta, self.rho
        else:
            at = torch.tensor(members, device=self.device)
            flat, beta, rho = self.flat.index_select(0, at), self.beta[at], self.rho[at]
            buffers = {name: value.index_select(0, at) for name, value in self.buffers.items()}
        inputs = [flat, buffers, self.pool[index], eps, mask, beta]
        if anchors:
            inputs += [self.x_r[members, :anchors], self.z_r[members, :anchors], self.anchor_mask[members, :anchors], rho]
        if len(members) == 1:
            twin = [flat.detach()] + inputs[1:]
            inputs = [torch.cat([a, b]) if isinstance(a, torch.Tensor) else {n: torch.cat([a[n], b[n]]) for n in a} for a, b in zip(inputs, twin)]
        return self._batched[bool(anchors)](self._params(inputs[0]), *inputs[1:])[: len(members)]

    def _passes(self, i: int, n: int) -> float:
        return self.member_passes[i] - 1 + self.cursors[i] / self.sizes[i]

    def _validation(self, i: int, x_val, rosetta) -> dict:
        if self.x_vals[i] is None:
            return {}
        val = evaluate(self.models[i], self.x_vals[i], self.rosettas[i], self.config.obs_precision, seed=self.configs[i].seed)
        return {f"val_{key}": value for key, value in val.items()}

    def fit(self) -> list[list[dict]]:
        """Train every member until the config's steps; returns each member's history."""
        data_ids = self._prepare()
        return self._fit(self.pool, None, None, data_ids)



def fit_pool(spec: ArchitectureSpec, members: Sequence[PoolMember]) -> list[Trained]:
    """Train a pool; one :class:`rvae.ensemble.Trained` per member, in order.

    Members with the same configuration and data ("VAE (same seed)": one run repeated by design)
    are trained once and copied. A member whose checkpoint holds its whole budget (an earlier run
    of a pool it was part of) is read back, not trained; the others train together, resuming where
    their checkpoints, all at one step, say. A member's independence of its companions makes this
    the same as training them all.
    """
    models = [build_vae(spec, seed=m.config.seed) for m in members]
    probe = PoolTrainer(models, members)
    data_ids = probe._prepare()
    first: dict[tuple[str, str], int] = {}
    same = [first.setdefault((probe.configs[i].identity(), data_ids[i]), i) for i in range(len(members))]
    unique = [i for i in range(len(members)) if same[i] == i]
    todo = []
    for i in unique:
        path = Path(members[i].checkpoint) if members[i].checkpoint else None
        state = read_checkpoint(path, probe.configs[i], data_ids[i], probe.kind) if path is not None and path.exists() else None
        if state is not None and state["step"] == probe.config.max_steps:
            models[i].load_state_dict(state["model"])
            probe.histories[i], probe.snapshots[i] = list(state["history"]), state.get("snapshot")
        else:
            todo.append(i)
    log.info(
        f"pool of {len(members)} runs: {len(unique) - len(todo)} read back from their finished checkpoints, "
        f"{len(todo)} to train, {len(members) - len(unique)} the same run as another (copied)"
    )
    out: dict[int, Trained] = {i: Trained(models[i].eval(), probe.histories[i], half) for i, half in zip(range(len(members)), probe.snapshot_models()) if i in unique}
    if todo:
        trainer = PoolTrainer([models[i] for i in todo], [members[i] for i in todo])
        for i, history, half in zip(todo, trainer.fit(), trainer.snapshot_models()):
            out[i] = Trained(models[i], history, half)
    return [out[i] if same[i] == i else Trained(copy.deepcopy(out[same[i]].model), list(out[same[i]].history), copy.deepcopy(out[same[i]].half)) for i in range(len(members))]


class _PoolLoss(torch.nn.Module):
    """One member's :func:`masked_loss` as a module, so ``functional_call`` + ``vmap`` can batch it."""

    def __init__(self, vae: VAE, cfg: TrainConfig):
        super().__init__()
        self.vae = vae
        self.cfg = cfg

    def forward(self, x, eps, mask, beta, x_r=None, z_r=None, anchor_mask=None, rho=None):
        return masked_loss(self.vae, x, eps, mask, beta, self.cfg.obs_precision, x_r, z_r, anchor_mask, rho, self.cfg.precision)
