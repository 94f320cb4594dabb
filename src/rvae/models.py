"""Encoder/decoder pairs for each dataset family, with a full-covariance Gaussian posterior.

Families (paper Appendix C, spec "Architectures"):

- ``mlp``: 8 Gaussians (5-D input), fully connected.
- ``conv``: MNIST (28x28) and 3D Chairs (64x64): two stride-2 convolutions, a residual block,
  fully connected layers to the heads.
- ``ava``: birdsong spectrograms (128x128): four stride-2 convolutions with residual layers
  between them (AVA-like). Variants: ``same`` (the template's), ``simple`` (drops the first
  two residual layers), ``complex`` (adds a 96-hidden-unit residual layer between the third
  and fourth convolutions).

Decoders mirror encoders with transposed convolutions.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from rvae.layers import ResidualBlock, down, mlp, up
from rvae.vocabulary import FAMILIES, VARIANTS, input_shape_problem

MIN_DIAGONAL = 1e-4


@dataclass(frozen=True)
class ArchitectureSpec:
    """What a model needs to be rebuilt elsewhere: saved beside every checkpoint and weights file."""

    family: str
    input_shape: tuple[int, ...]
    latent_dim: int
    variant: str = "same"
    hidden: int = 64  # width of the MLP layers (mlp family only)
    residual_hidden: int = 32  # hidden filters of every residual layer except "complex"'s extra one
    complex_hidden: int = 96
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self):
        object.__setattr__(self, "input_shape", tuple(int(s) for s in self.input_shape))
        if self.family not in FAMILIES:
            raise ValueError(f"architecture family must be one of {FAMILIES}, got {self.family!r}")
        if self.variant not in VARIANTS:
            raise ValueError(f"architecture variant must be one of {VARIANTS}, got {self.variant!r}")
        if self.variant != "same" and self.family != "ava":
            raise ValueError(
                f"variant {self.variant!r} exists only for the 'ava' (birdsong) family, "
                f"not {self.family!r}"
            )
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {self.latent_dim}")
        problem = input_shape_problem(self.family, self.input_shape)
        if problem:
            raise ValueError(problem)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_shape"] = list(self.input_shape)
        d.pop("extra")
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ArchitectureSpec":
        return cls(**{k: v for k, v in d.items() if k != "extra"})


class GaussianHeads(nn.Module):
    """Mean ``mu``, strict lower triangle ``u`` and diagonal ``d`` of the Cholesky factor."""

    def __init__(self, features: int, latent_dim: int):
        super().__init__()
        k = latent_dim
        self.latent_dim = k
        self.mu = nn.Linear(features, k)
        self.u = nn.Linear(features, k * (k - 1) // 2) if k > 1 else None
        self.d = nn.Linear(features, k)
        rows, cols = torch.tril_indices(k, k, offset=-1)
        self.register_buffer("_lower_index", rows * k + cols, persistent=False)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # Always fp32, also under bf16 autocast: the Cholesky diagonal's floor (1e-4) and the KL's
        # log-determinant need more than bf16's 8 bits; the heads are a sliver of the compute.
        with torch.autocast(h.device.type, enabled=False):
            return self._heads(h.float() if h.dtype in (torch.bfloat16, torch.float16) else h)

    def _heads(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k = self.latent_dim
        mu = self.mu(h)
        diag = F.softplus(self.d(h)) + MIN_DIAGONAL
        scale = torch.diag_embed(diag)
        if k > 1:
            lower = torch.zeros(h.shape[0], k * k, dtype=h.dtype, device=h.device)
            lower = lower.index_copy(1, self._lower_index, self.u(h))
            scale = scale + lower.reshape(-1, k, k)
        return mu, scale


class VAE(nn.Module):
    """``q(z|x) = N(mu(x), L(x) L(x)^T)``; decoder mean ``m(z)``."""

    def __init__(self, spec: ArchitectureSpec, encoder: nn.Module, decoder: nn.Module, features: int):
        super().__init__()
        self.spec = spec
        self.encoder = encoder
        self.heads = GaussianHeads(features, spec.latent_dim)
        self.decoder = decoder

    @property
    def latent_dim(self) -> int:
        return self.spec.latent_dim

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean (B, k) and Cholesky factor (B, k, k)."""
        return self.heads(self.encoder(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor, eps: torch.Tensor):
        """One reparameterised sample ``z = mu + L eps``; returns (reconstruction mean, mu, L)."""
        mu, scale = self.encode(x)
        with torch.autocast(x.device.type, enabled=False):  # the sample in fp32, as the heads
            z = mu + (scale @ eps.to(mu.dtype).unsqueeze(-1)).squeeze(-1)
        return self.decode(z), mu, scale


class Reshape(nn.Module):
    def __init__(self, *shape: int):
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)


def _mlp_pair(spec: ArchitectureSpec):
    n, h, k = spec.input_shape[0], spec.hidden, spec.latent_dim
    encoder = mlp([n, h, h], final_activation=True)
    decoder = mlp([k, h, h, n], final_activation=False)
    return encoder, decoder, h


def _conv_pair(spec: ArchitectureSpec):
    _, height, width = spec.input_shape
    c1, c2, fc = 32, 64, 256
    flat = c2 * (height // 4) * (width // 4)
    encoder = nn.Sequential(
        down(1, c1), nn.ReLU(), down(c1, c2),
        ResidualBlock(c2, spec.residual_hidden), nn.ReLU(),
        nn.Flatten(), nn.Linear(flat, fc), nn.ReLU(),
    )  # fmt: skip
    decoder = nn.Sequential(
        nn.Linear(spec.latent_dim, fc), nn.ReLU(), nn.Linear(fc, flat), nn.ReLU(),
        Reshape(c2, height // 4, width // 4),
        ResidualBlock(c2, spec.residual_hidden), nn.ReLU(),
        up(c2, c1), nn.ReLU(), up(c1, 1),
    )  # fmt: skip
    return encoder, decoder, fc


def _ava_pair(spec: ArchitectureSpec):
    _, height, width = spec.input_shape
    chans = [1, 8, 16, 24, 32]
    fcs = [1024, 256]
    r = spec.residual_hidden
    flat = chans[-1] * (height // 16) * (width // 16)
    # Residual layer after each of the first three convolutions; "simple" drops the first two,
    # "complex" adds a wider one between the third and fourth convolutions.
    residual_after = {1: [r], 2: [r], 3: [r]}
    if spec.variant == "simple":
        residual_after[1] = []
        residual_after[2] = []
    if spec.variant == "complex":
        residual_after[3] = [r, spec.complex_hidden]

    enc: list[nn.Module] = []
    for i in range(1, 5):
        enc += [down(chans[i - 1], chans[i]), nn.ReLU()]
        enc += [ResidualBlock(chans[i], hid) for hid in residual_after.get(i, [])]
        if residual_after.get(i):
            enc.append(nn.ReLU())
    enc += [nn.Flatten(), nn.Linear(flat, fcs[0]), nn.ReLU(), nn.Linear(fcs[0], fcs[1]), nn.ReLU()]

    dec: list[nn.Module] = [
        nn.Linear(spec.latent_dim, fcs[1]), nn.ReLU(), nn.Linear(fcs[1], fcs[0]), nn.ReLU(),
        nn.Linear(fcs[0], flat), nn.ReLU(), Reshape(chans[-1], height // 16, width // 16),
    ]  # fmt: skip
    for i in range(4, 0, -1):
        dec.append(up(chans[i], chans[i - 1]))
        if i > 1:
            dec.append(nn.ReLU())
            hids = residual_after.get(i - 1, [])
            dec += [ResidualBlock(chans[i - 1], hid) for hid in reversed(hids)]
            if hids:
                dec.append(nn.ReLU())
    return nn.Sequential(*enc), nn.Sequential(*dec), fcs[1]


_BUILDERS = {"mlp": _mlp_pair, "conv": _conv_pair, "ava": _ava_pair}


def build_vae(spec: ArchitectureSpec, seed: int | None = None) -> VAE:
    """Build a VAE; with ``seed`` the initial weights depend on the seed alone (global RNG untouched)."""
    if seed is None:
        encoder, decoder, features = _BUILDERS[spec.family](spec)
        return VAE(spec, encoder, decoder, features)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder, decoder, features = _BUILDERS[spec.family](spec)
        return VAE(spec, encoder, decoder, features)


def fingerprint(model: nn.Module) -> str:
    """SHA-256 of the weights (names, shapes, bytes): names the template a Rosetta file came from."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        array = tensor.detach().cpu().contiguous().numpy()
        digest.update(name.encode())
        digest.update(str(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def save_model(model: VAE, path, extra: dict | None = None) -> None:
    """Weights plus the architecture spec, written atomically; readable with weights_only=True."""
    from rvae.atomic import atomic_path

    payload = {"spec": model.spec.to_dict(), "state_dict": model.state_dict(), "extra": extra or {}}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_model(path, map_location="cpu") -> VAE:
    """Rebuild a model saved by :func:`save_model`; never unpickles arbitrary objects.

    Anything else (another file type, a truncated or foreign checkpoint) is a one-line ValueError
    naming the file, not torch's multi-line unpickler message."""
    import warnings
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"model file {path} {'is a directory, not a file' if path.is_dir() else 'does not exist'}")
    try:
        with warnings.catch_warnings():  # torch warns about foreign pickles before refusing them
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch's unpickler errors span many lines; say what the file is
        with path.open("rb") as head:
            start = head.read(4)
        what = "a Parquet file" if start == b"PAR1" else "empty" if not start else f"unreadable by torch.load, {type(err).__name__}"
        raise ValueError(f"{path}: not an rvae model file ({what})") from err
    if not isinstance(payload, dict) or "spec" not in payload or "state_dict" not in payload:
        raise ValueError(f"{path}: not an rvae model file (no 'spec' or 'state_dict'; rvae.save_model writes both)")
    try:
        model = build_vae(ArchitectureSpec.from_dict(payload["spec"]))
        model.load_state_dict(payload["state_dict"])
    except (TypeError, KeyError, ValueError, RuntimeError) as err:
        first = (str(err).strip().splitlines() or [""])[0][:200]
        raise ValueError(f"{path}: its 'spec' and 'state_dict' do not make an rvae model ({type(err).__name__}: {first})") from err
    model.extra = dict(payload.get("extra") or {})  # what save_model's caller recorded (history, held-out pairs)
    return model.eval()
