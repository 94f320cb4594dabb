"""The words the paper, the code, the config and the output files share: one list of each.

Every other module, the workflow's wildcard constraints and the config schema's enums take
their lists from here (tests/test_layers.py checks the schema against this module), so a new
model kind, selection method or architecture is added in one place.

Meanings, one per word:

- **model kind**: ``vae``, ``beta_vae``, ``rvae``, ``vae_same_seed`` (an ``nn.Module`` is a *model*).
- **experiment**: ``reproducibility`` (retrain on D1) or ``sequential`` (retrain on D2).
- **family** (``mlp``, ``conv``, ``ava``) and **variant** (``same``, ``simple``, ``complex``) of
  an architecture; the *architecture* is the whole ``ArchitectureSpec``.
- **condition**: ``{method}-k{k}-{variant}``: how the Rosetta points were chosen and which
  variant is retrained.
- **run**: one seed of one model kind; **retraining**: the M runs of one model kind under one
  condition, what RV and LSD summarise.
- **partition**: ``D1`` or ``D2``; a table cell's point set is one of these or a part of D1
  (``rvae.paper.cells``).
"""

from __future__ import annotations

EXPERIMENTS = ("reproducibility", "sequential")
TEMPLATES = ("joint", "d1")
PARTITIONS = ("D1", "D2")

MODEL_KINDS = ("vae", "beta_vae", "rvae", "vae_same_seed")
# The three models trained with independent seeds (every table but Table 1 compares these).
MAIN_MODELS = ("vae", "beta_vae", "rvae")
# Labels as the tables print them (matching the paper's values, rvae/paper/resources/paper_values.csv) and the figures show them.
MODEL_LABELS = {"vae": "VAE", "beta_vae": "beta-VAE", "rvae": "R-VAE", "vae_same_seed": "VAE (same seed)"}
MODEL_COLOURS = {"vae": "#4C72B0", "beta_vae": "#DD8452", "rvae": "#55A868", "vae_same_seed": "#8172B3"}

HYPERPARAMETERS = ("beta", "rho")
# The hyperparameter that defines each model kind (beta-VAE: beta, R-VAE: rho) and the kind a sweep trains.
MODEL_HYPERPARAMETER = {"beta_vae": "beta", "rvae": "rho"}
SWEPT_MODEL = {param: kind for kind, param in MODEL_HYPERPARAMETER.items()}

SELECTION_METHODS = ("kmeans", "agglomerative", "gmm", "random")
FAMILIES = ("mlp", "conv", "ava")
# Image families halve the side this many times (stride-2 convolutions): H and W must divide by it.
IMAGE_SIDE_DIVISOR = {"conv": 4, "ava": 16}


def input_shape_problem(family: str, input_shape) -> str | None:
    """Why a family cannot take inputs of this shape, or None; torch-free, so the config check can ask."""
    shape = tuple(int(s) for s in input_shape)
    if family == "mlp" and len(shape) != 1:
        return f"'mlp' needs a 1-D input shape, got {shape}"
    if family in IMAGE_SIDE_DIVISOR:
        if len(shape) != 3 or shape[0] != 1:
            return f"{family!r} needs input shape (1, H, W), got {shape}"
        need = IMAGE_SIDE_DIVISOR[family]
        if shape[1] % need or shape[2] % need:
            return f"{family!r} needs H and W divisible by {need}, got {shape}"
    return None
VARIANTS = ("same", "simple", "complex")
# Arithmetic of the training step (``fp32``, or bf16 autocast with fp32 weights and loss sums);
# ``auto`` resolves per machine and family (rvae.device.resolve_precision).
PRECISIONS = ("fp32", "bf16")
PRECISION_CHOICES = PRECISIONS + ("auto",)
# Families where bf16 autocast pays on a CPU with native bf16 (benchmarks/results.md: AVA and conv
# nets train faster and reach the fp32 validation loss; the tiny MLP is slower in bf16).
BF16_FAMILIES = ("conv", "ava")
COMPILE_CHOICES = ("auto", "on", "off")
# How Bob's latents reach a Rosetta file's coordinates: no map, a map fitted on its pairs, or the
# one of those with the lowest leave-one-out error there (rvae.sharing.choose_alignment).
ALIGN_ARMS = ("none", "procrustes", "affine")
ALIGN_CHOICES = ALIGN_ARMS + ("auto",)
# Memory layout of the convolutions' weights and activations during training (a layout, not a
# precision: the same arithmetic in another order, so another rounding); ``auto`` resolves per
# device and family (rvae.device.resolve_memory_format).
MEMORY_FORMATS = ("channels_last", "contiguous")
MEMORY_FORMAT_CHOICES = MEMORY_FORMATS + ("auto",)
# Families where channels_last pays on a CPU: the AVA net's epoch (training plus validation) ran
# 1.14-1.23x faster in bf16 and in fp32 with oneDNN capped at AVX2; the conv nets of MNIST and
# chairs showed no consistent gain, so they keep the default layout (benchmarks/README.md).
CHANNELS_LAST_FAMILIES = ("ava",)
DATASET_KINDS = ("gaussians", "mnist", "birdsong", "chairs", "folder")
RV_ESTIMATORS = ("exact", "ledoit_wolf", "pseudo")
SEED_BLOCK_MODES = ("auto", "vmap", "loop")
# Families whose seed blocks and grids pay as one vmapped computation on a CPU; on a GPU all do.
# A batched convolution runs as a slower grouped one on a CPU (benchmarks/README.md).
VMAP_FAMILIES = ("mlp",)


def block_mode(mode: str, family: str, device_type: str) -> str:
    """``vmap`` or ``loop`` for a block of ``family`` nets on a ``cpu`` or ``cuda`` device; ``auto``
    takes vmap where it pays. Torch-free, so the workflow can shape its DAG with it."""
    if mode not in SEED_BLOCK_MODES:
        raise ValueError(f"seed block mode must be one of {SEED_BLOCK_MODES}, got {mode!r}")
    if mode != "auto":
        return mode
    return "vmap" if device_type == "cuda" or family in VMAP_FAMILIES else "loop"


def condition(method: str, k: int, variant: str) -> str:
    """The condition's name as it appears in paths and tables: ``kmeans-k8-same``."""
    return f"{method}-k{int(k)}-{variant}"
