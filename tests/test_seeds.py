"""Randomness has roles (spec): no two roles share a stream; runs meant to be identical share one."""

from pathlib import Path

import numpy as np
import pytest
import yaml
from rvae.workflow.config_checks import validate_config

from rvae.paper.plan import all_retrainings
from rvae import seeds
from rvae.seeds import role_seed, spawn_key
from rvae.workflow import params, paths

ROOT = Path(__file__).resolve().parents[1]


def test_role_seed_is_a_seedsequence_spawn_of_the_root():
    key = spawn_key("template/mnist/joint")
    assert len(key) == 3 and all(0 <= word < 2**32 for word in key)
    expected = int(np.random.SeedSequence(7, spawn_key=key).generate_state(1, np.uint64)[0] >> np.uint64(1))
    assert role_seed(7, "template/mnist/joint") == expected
    assert role_seed(7, "template/mnist/joint") != role_seed(8, "template/mnist/joint")
    assert role_seed(0, "a/b") != role_seed(0, "b/a") and role_seed(0, "a/b") != role_seed(0, "ab")
    with pytest.raises(ValueError):
        role_seed(0, "//")


def _every_role(config) -> dict[str, str]:
    """Every seeded role the tiny config's DAG uses, with what it seeds."""
    roles = {}
    for dataset in config["datasets"]:
        for which in ("joint", "d1"):
            roles[seeds.template_role(dataset, which)] = "template"
    for retraining in all_retrainings(config["tables"]):
        path = paths.fill(paths.RETRAINING, **paths.retraining_values(retraining))
        for block in range(-(-config["n_seeds"] // config["seed_block"]["size"])):
            for role in params.retrain_roles(config, path, retraining.model_kind, block):
                roles[role] = "retrain"
        roles[seeds.rosetta_role(retraining.dataset, f"{retraining.method}-k{retraining.k}")] = "rosetta"
    for experiment in ("reproducibility", "sequential"):
        for value in (0.0, 2.5, 5.0):
            roles[seeds.sweep_role(experiment, "gaussians", "rho", value)] = "sweep"
    for value in (0.0, 2.5, 5.0):  # the CLI's rho grid (rvae.sharing)
        roles[seeds.sweep_role("shared", "gaussians", "rho", value)] = "sweep"
    for index in range(3):
        roles[seeds.shared_role("bob", index)] = "shared"
    return roles


def test_no_two_roles_of_the_tiny_run_share_a_seed():
    config = yaml.safe_load((ROOT / "tests/workflow/config.yaml").read_text())
    validate_config(config)
    roles = _every_role(config)
    seed = {role: params.seed_of(config, role) for role in roles}
    assert len(roles) > 50
    assert len(set(seed.values())) == len(seed), "two roles share a seed"
    # the collisions distinct roles rule out: retraining seed 0 is not a template's, VAE and beta-VAE seed 0 differ,
    # the rho = 0 sweep candidate is not the D1 template
    base = "retrain/reproducibility/gaussians/kmeans-k8-same"
    d1 = seed[seeds.template_role("gaussians", "d1")]
    assert seed[f"{base}/rvae/0"] != d1 and seed[seeds.template_role("gaussians", "joint")] != d1
    assert seed[f"{base}/vae/0"] != seed[f"{base}/beta_vae/0"]
    assert seed[seeds.sweep_role("reproducibility", "gaussians", "rho", 0)] != d1


def test_changing_the_root_moves_every_seed_and_nothing_else_moves_a_role():
    config = yaml.safe_load((ROOT / "tests/workflow/config.yaml").read_text())
    validate_config(config)
    roles = list(_every_role(config))
    before = [params.seed_of(config, role) for role in roles]
    config["n_seeds"] += 2  # more seeds: the existing runs keep theirs
    assert [params.seed_of(config, role) for role in roles] == before
    config["root_seed"] = 1
    after = [params.seed_of(config, role) for role in roles]
    assert all(a != b for a, b in zip(before, after))


def test_roles_are_named_in_rvae_seeds_only():
    """A role spelled anywhere else could collide with one named here without any test noticing."""
    import re

    pattern = re.compile(r"""f?["'](template|retrain|sweep|rosetta|shared|bootstrap|chain)/""")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in ("src", "workflow")
        for path in sorted((ROOT / folder).rglob("*"))
        if path.suffix in {".py", ".smk"} and path.name != "seeds.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line) and "results/" not in line
    ]
    assert not offenders, f"seed roles spelled outside rvae.seeds: {offenders}"
    assert pattern.search('f"rosetta/{dataset}/export"')  # the pattern finds a role spelled inline
