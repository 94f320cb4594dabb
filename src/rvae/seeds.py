"""Randomness has roles: every run's seed is derived from one root seed and the run's role.

A seed fixes a run's initial weights, data order and reparameterisation noise. If two roles
shared a seed, one run would replay another's trajectory: a reproducibility R-VAE with the D1
template's seed starts from the template's own weights, the rho = 0 sweep candidate replays the
template, the joint and D1 templates share initial weights. So each role is a path such as
``template/mnist/joint`` or ``retrain/sequential/mnist/kmeans-k64-same/vae/3``, each path
component becomes one word of a ``numpy.random.SeedSequence`` spawn key, and the derived seed
depends on the root and the whole path. Changing one role's path or the root changes that seed
only; runs meant to be identical ("VAE (same seed)") simply share a role.
"""

from __future__ import annotations

import hashlib

import numpy as np


def spawn_key(role: str) -> tuple[int, ...]:
    """One 32-bit word per component of ``role`` (``a/b/c``), from its SHA-256."""
    parts = [part for part in str(role).split("/") if part]
    if not parts:
        raise ValueError(f"a seed role needs at least one component, got {role!r}")
    return tuple(int.from_bytes(hashlib.sha256(part.encode()).digest()[:4], "little") for part in parts)


def role_stream(root: int, role: str) -> np.random.SeedSequence:
    """The stream of ``role`` under ``root``, for a numpy generator (the findings' resampling)."""
    if int(root) < 0:
        raise ValueError(f"the root seed must be >= 0, got {root}")
    return np.random.SeedSequence(int(root), spawn_key=spawn_key(role))


def role_seed(root: int, role: str) -> int:
    """The seed of ``role`` under ``root``: a 63-bit integer (fits torch and numpy seeds)."""
    state = role_stream(root, role).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))


# -- the roles: every stream of randomness the workflow, the paper's reproduction and the CLI use.
# A role is named here and nowhere else, so two roles cannot collide by accident (tests/test_seeds.py).
def template_role(dataset: str, which: str) -> str:
    """A template: ``joint`` (D1 and D2) or ``d1``."""
    return f"template/{dataset}/{which}"


def retrain_role(retraining: str, index: int) -> str:
    """Seed ``index`` of one retraining (``{experiment}/{dataset}/{condition}/{model_kind}``)."""
    return f"retrain/{retraining}/{int(index)}"


def sweep_role(experiment: str, dataset: str, param: str, value) -> str:
    """One candidate of a hyperparameter grid; the CLI's rho grid is experiment ``shared``."""
    return f"sweep/{experiment}/{dataset}/{param}/{float(value)}"


def rosetta_role(dataset: str, selection: str) -> str:
    """Clustering of one Rosetta set (``{method}-k{k}``) or of an export (``export``)."""
    return f"rosetta/{dataset}/{selection}"


def shared_role(name: str, index: int) -> str:
    """A model trained on another lab's Rosetta file (the workflow's ``shared`` runs)."""
    return f"shared/{name}/{int(index)}"



def bootstrap_role(metric: str, *cell) -> str:
    """The resampling of one findings cell's values: LSD by its run (``lsd, <run>``), RV by its
    points (``rv, <experiment>, <dataset>, <point set>`` where models share them, else per run)."""
    return "/".join(("bootstrap", metric, *(str(part) for part in cell)))


def chain_role(dataset: str, stage: str, index: int | None = None) -> str:
    """One stream of a chain of labs (spec, "Chains"): ``stage`` is ``alice`` (her template),
    ``origin`` (clustering R1), ``<lab>/<run>`` (a hop's model, ``index`` its seed index) or
    ``relay`` (clustering Bob's export of seed ``index``)."""
    return f"chain/{dataset}/{stage}" + ("" if index is None else f"/{int(index)}")
