"""The naive reference: a plain PyTorch loop as the paper's prototype trained its VAEs.

One model per process, a ``DataLoader`` with shuffling over a ``TensorDataset`` (per-sample
indexing and collation), ``.item()`` on every batch, no ensembling. Same model, loss, seeds,
data order and noise as ``rvae.trainer.Trainer``, so both give the same losses (the harness
checks it) and only the speed differs.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

from rvae.losses import batch_loss
from rvae.models import build_vae
from rvae.trainer import TrainConfig, stream_seeds


def naive_train(spec, x: torch.Tensor, config: TrainConfig) -> list[float]:
    """Per-epoch mean losses; batches are moved to the device one at a time, as the prototype did."""
    device = torch.device(config.device)
    model = build_vae(spec, seed=config.seed).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    order_seed, noise_seed = stream_seeds(config.seed)
    sampler = RandomSampler(TensorDataset(x), generator=torch.Generator().manual_seed(order_seed))
    loader = DataLoader(TensorDataset(x), batch_size=config.batch_size, sampler=sampler)
    noise = torch.Generator(device=device).manual_seed(noise_seed)
    losses = []
    passes = -(-int(config.until) // len(loader))  # whole passes: the benchmark's budgets are
    for _ in range(passes):
        model.train()
        total = 0.0
        for (batch,) in loader:
            batch = batch.to(device)
            eps = torch.randn(batch.shape[0], model.latent_dim, generator=noise, device=device)
            loss = batch_loss(model, batch, eps, config.beta, config.obs_precision).total
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * batch.shape[0]
        losses.append(total / len(x))
    return losses
