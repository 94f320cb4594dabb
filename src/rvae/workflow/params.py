"""The config values each job gets through ``params:`` (so editing one reruns exactly what it affects).

Values come from the validated config, whose defaults the schema filled in; nothing here
repeats a default. Dict keys are sorted (:func:`canonical`), so reordering YAML keys reruns nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

from rvae.convergence import PLATEAU
from rvae.paper.chains import HOP_OF_LAB, PLAIN
from rvae.paper.plan import all_retrainings, hyperparameter
from rvae.seeds import chain_role, retrain_role, role_seed, sweep_role, template_role
from rvae.vocabulary import MODEL_HYPERPARAMETER, VMAP_FAMILIES, block_mode
from rvae.workflow import paths


AUTO = "auto"  # training.steps: the budget is the joint template's plateau step


def canonical(value):
    """Config values with dict keys sorted, so reordering keys in the YAML reruns nothing."""
    return json.loads(json.dumps(value, sort_keys=True))


def plateau_rule(config: dict, dataset: str) -> dict:
    """The dataset's plateau rule (``rvae.convergence.PlateauRule``'s fields): the config's
    ``plateau`` with the dataset's own ``training.plateau`` keys over it."""
    return canonical({**config["plateau"], **config["datasets"][dataset]["training"].get("plateau", {})})


def training_params(config: dict, dataset: str, seed: int, beta: float = 1.0, rho: float = 0.0) -> dict:
    """Everything that decides a run (``TrainConfig``'s fields but threads and checkpoints), with
    its budget still as configured (``steps``, ``budget_factor``): :func:`resolve_until` turns it
    into the run's ``until`` once the joint template's budget is known."""
    settings = config["datasets"][dataset]["training"]
    return canonical(
        {
            "steps": settings["steps"],
            "budget_factor": settings.get("budget_factor", config["budget_factor"]),
            "rule": plateau_rule(config, dataset),
            "batch_size": settings["batch_size"],
            "lr": config["optimizer"]["lr"],
            "obs_precision": config["obs_precision"],
            "seed": int(seed),
            "beta": float(beta),
            "rho": float(rho),
            "device": config["device"],
            "deterministic": config["deterministic"],
            "precision": config["precision"],
            "compile": config["compile"],
            "memory_format": config["memory_format"],
        }
    )


def template_training_params(config: dict, dataset: str, which: str) -> dict:
    """A template's training params under its seed role. The joint template's budget is its own
    (``budget_factor`` scales the others'), so editing the factor does not rerun it."""
    training = training_params(config, dataset, seed_of(config, template_role(dataset, which)))
    return {**training, "budget_factor": 1} if which == "joint" else training


def resolve_until(steps, budget_factor: float, joint: bool, budget_steps: int | None = None) -> int | str:
    """What a run trains until (spec, "Training budget"), the one place ``steps: auto`` is read.

    The joint template: its plateau (``auto``) or the configured steps. Every other model: the
    joint template's budget (``budget_steps``, from its budget file, under ``auto``) or the
    configured steps, times ``budget_factor``, rounded up.
    """
    if joint:
        return PLATEAU if steps == AUTO else int(steps)
    base = budget_steps if steps == AUTO else steps
    if base is None:
        raise ValueError("steps: auto needs the joint template's budget (its budget file)")
    return max(1, math.ceil(float(budget_factor) * int(base)))


def seed_of(config: dict, role: str) -> int:
    """The seed of one role of randomness under the config's ``root_seed`` (``rvae.seeds``)."""
    return role_seed(config["root_seed"], role)


def sweep_parts(config: dict, dataset: str, param: str) -> list[list[float]]:
    """A grid's values, split into the jobs that train them.

    A vmapped grid (MLPs, GPUs) is one job: the whole grid costs about one run. A grid whose
    candidates train one after another (convolutions on a CPU) is split into near-equal parts of
    at most ``seed_block.size``, so its candidates train in parallel as seed blocks do; there a
    candidate's result does not depend on its part.
    """
    grid = [float(value) for value in hyperparameter(config, dataset, param)["grid"]]
    family = config["datasets"][dataset]["architecture"]["family"]
    # the DAG must not depend on the machine that builds it: `device: auto` counts as a CPU here
    # (a GPU then runs the parts as vmap blocks, which gives the same candidates to rounding)
    device_type = "cuda" if config["device"].startswith("cuda") else "cpu"
    if block_mode(config["seed_block"]["mode"], family, device_type) == "vmap":
        return [grid]
    parts = -(-len(grid) // config["seed_block"]["size"])
    return [grid[i * len(grid) // parts : (i + 1) * len(grid) // parts] for i in range(parts)]


def sweep_params(config: dict, experiment: str, dataset: str, param: str, part: int) -> dict:
    """One part of a sweep: its training settings and its candidates, each trained from a stream of
    its own for the sweep's own fixed budget, ``epochs`` passes over its own data (not the
    template's budget: the rho = 0 candidate would otherwise replay the template)."""
    setting = hyperparameter(config, dataset, param)
    candidates = [
        {
            "value": value,
            "seed": seed_of(config, sweep_role(experiment, dataset, param, value)),
            "checkpoint": paths.fill(paths.SWEEP_CHECKPOINT, experiment=experiment, dataset=dataset, param=param, value=value),
        }
        for value in sweep_parts(config, dataset, param)[int(part)]
    ]
    training = {k: v for k, v in training_params(config, dataset, 0).items() if k not in ("steps", "budget_factor")}
    return {"training": training, "epochs": setting["epochs"], "candidates": candidates}


def sweep_part_files(config: dict, experiment: str, dataset: str, param: str) -> list[str]:
    """The part files a sweep's gathered file is made of, in grid order."""
    n = len(sweep_parts(config, dataset, param))
    return [paths.fill(paths.SWEEP_PART, experiment=experiment, dataset=dataset, param=param, part=i) for i in range(n)]


def auto_budget(config: dict, dataset: str) -> bool:
    return config["datasets"][dataset]["training"]["steps"] == AUTO


def budget_input(config: dict, dataset: str, which: str | None = None) -> dict:
    """``{"budget": file}`` for a training job when the dataset's budget is set by the joint
    template's plateau (every model but the joint template itself waits for it), else nothing."""
    if not auto_budget(config, dataset) or which == "joint":
        return {}
    return budget_record(dataset)


def budget_record(dataset: str) -> dict:
    """``{"budget": file}``: the budget's record, which every dataset has (plateau or fixed); the
    convergence files take ``budget_converged`` from it."""
    return {"budget": paths.fill(paths.BUDGET, dataset=dataset)}


def paper_passes_of(config: dict, dataset: str) -> int:
    """The paper's passes over the dataset's joint training split (``rvae.paper.plan.paper_passes``)."""
    from rvae.paper.plan import paper_passes

    return paper_passes(config["datasets"][dataset]["kind"])


def fixed_steps(config: dict, dataset: str) -> int | None:
    """The joint template's configured steps, or None under ``steps: auto``."""
    steps = config["datasets"][dataset]["training"]["steps"]
    return None if steps == AUTO else int(steps)


def architecture_params(config: dict, dataset: str, variant: str = "same") -> dict:
    return canonical({**config["datasets"][dataset]["architecture"], "variant": variant})


def is_sweep(config: dict, dataset: str, param: str) -> bool:
    return "grid" in hyperparameter(config, dataset, param)


def fixed_hyperparameter(config: dict, dataset: str, model_kind: str) -> float | None:
    """beta for beta-VAE, rho for R-VAE when fixed in config; None when a sweep chooses it (or none applies)."""
    param = MODEL_HYPERPARAMETER.get(model_kind)
    if param is None or is_sweep(config, dataset, param):
        return None
    return float(hyperparameter(config, dataset, param)["value"])


def chosen_hyperparameter(config: dict, experiment: str, dataset: str, model_kind: str) -> dict:
    """``{"chosen": file}`` when a sweep chooses this model kind's hyperparameter, else nothing."""
    param = MODEL_HYPERPARAMETER.get(model_kind)
    if param and is_sweep(config, dataset, param):
        return {"chosen": paths.fill(paths.CHOSEN_HYPERPARAMETER, experiment=experiment, dataset=dataset, param=param)}
    return {}


def export_settings(config: dict, dataset: str) -> dict:
    return canonical(config["datasets"][dataset]["export"])


def shared_rho(config: dict, name: str) -> dict:
    """A shared run's own rho setting, else its dataset's."""
    run = config["shared"][name]
    return canonical(run.get("rho") or hyperparameter(config, run["dataset"], "rho"))


def export_preprocessing(config: dict, dataset: str) -> dict | None:
    """A folder dataset's ``preprocessing`` from its dataset.yaml, for its Rosetta file to record (None elsewhere)."""
    settings = config["datasets"][dataset]
    if settings["kind"] != "folder":
        return None
    from rvae.data.folder import read_meta

    preprocessing = read_meta(Path(str(settings["load"].get("path", "")))).get("preprocessing")
    return canonical(preprocessing) if preprocessing is not None else None


def shared_promise(config: dict, name: str) -> dict:
    """What a shared run's dataset says of its inputs, as :func:`rvae.sharing.check_promises`'s
    keywords: its preprocessing (a folder's dataset.yaml; none for built-in data), where that
    comes from, and ``shared.<name>.accept_preprocessing``."""
    run = config["shared"][name]
    dataset, settings = run["dataset"], config["datasets"][run["dataset"]]
    folder = settings["kind"] == "folder"
    return {
        "preprocessing": export_preprocessing(config, dataset), "folder_name": f"datasets.{dataset}",
        "meta_name": f"{settings['load'].get('path', '')}/dataset.yaml" if folder else f"datasets.{dataset} (built-in {settings['kind']} data)",
        "accept": bool(run.get("accept_preprocessing", False)), "accept_name": f"shared.{name}.accept_preprocessing: true",
    }  # fmt: skip


def raw_data_files(config: dict, dataset: str) -> dict:
    """A folder dataset's own files, so editing the user's data reruns what depends on it."""
    settings = config["datasets"][dataset]
    if settings["kind"] != "folder":
        return {}
    folder = Path(str(settings["load"].get("path", "")))
    files = {"raw_x": folder / "x.npy", "raw_meta": folder / "dataset.yaml"}
    for name in ("labels.parquet", "labels.npy"):
        if (folder / name).exists():
            files["raw_labels"] = folder / name
    return {key: str(path) for key, path in files.items()}


# -- seed blocks ------------------------------------------------------------------------------
def block_of(seed: int, block_size: int) -> int:
    """Fixed blocks: seed s is in block s // block_size, whatever the number of seeds."""
    if block_size < 1:
        raise ValueError(f"block size must be >= 1, got {block_size}")
    return int(seed) // int(block_size)


def seed_blocks(seeds: Sequence[int], block_size: int) -> list[list[int]]:
    blocks: dict[int, list[int]] = {}
    for seed in seeds:
        blocks.setdefault(block_of(seed, block_size), []).append(int(seed))
    return [blocks[b] for b in sorted(blocks)]


def block_seeds(config: dict, block) -> list[int]:
    """The seeds of one block (their output names)."""
    size = config["seed_block"]["size"]
    return [s for s in range(config["n_seeds"]) if block_of(s, size) == int(block)]


def retrain_roles(config: dict, retraining: str, model_kind: str, block) -> list[str]:
    """The role of each run of a block: ``retrain/<retraining>/<seed>``, where ``retraining`` is the
    run's ``{experiment}/{dataset}/{condition}/{model_kind}`` and seed its index; "VAE (same seed)"
    uses the one ``same_seed`` index for all its runs, so they are identical by design."""
    indices = [config["same_seed"] if model_kind == "vae_same_seed" else s for s in block_seeds(config, block)]
    return [retrain_role(retraining, index) for index in indices]


def training_seeds(config: dict, retraining: str, model_kind: str, block) -> list[int]:
    """The derived seed each run of a block trains with (initial weights, data order, noise)."""
    return [seed_of(config, role) for role in retrain_roles(config, retraining, model_kind, block)]


def block_of_seed(config: dict, seed) -> int:
    return block_of(int(seed), config["seed_block"]["size"])


# -- chains of labs -----------------------------------------------------------------------------
def chain_settings(config: dict, dataset: str) -> dict:
    """A dataset's ``chains`` entry: its three parts (labels) and k."""
    return canonical(config["chains"][dataset])


def chain_part(config: dict, dataset: str, lab: str) -> list:
    """The labels of one lab's part, all a job that reads only that part needs: editing another
    part, or k for Alice's template, reruns nothing of it."""
    return canonical(config["chains"][dataset]["parts"][HOP_OF_LAB[lab]])


def chain_rho(config: dict, dataset: str, run: str) -> float | None:
    """An R-VAE run's rho when fixed in config (the sequential experiment's R-VAE); None for a plain
    VAE (so editing rho reruns no plain run) and when a sweep chooses it (its file is an input)."""
    return None if run == PLAIN else fixed_hyperparameter(config, dataset, "rvae")


def chain_training_params(config: dict, dataset: str, lab: str, run: str | None = None, seed=None) -> dict:
    """A chain run's training params under its own seed role (``rvae.seeds.chain_role``): Alice's
    template (``lab`` alice), or seed index ``seed`` of one hop's ``run``. Same budget as every
    retraining of the dataset; an R-VAE's rho is added by its job (:func:`fixed_hyperparameter`)."""
    stage = lab if run is None else f"{lab}/{run}"
    return training_params(config, dataset, seed_of(config, chain_role(dataset, stage, seed)))


def chain_rosetta_seed(config: dict, dataset: str, anchors: str, seed=None) -> int:
    """The clustering seed of R1 (``origin``) or of Bob's export of seed index ``seed`` (``relay``)."""
    return seed_of(config, chain_role(dataset, anchors, seed))


# -- pools ------------------------------------------------------------------------------------
def pooled(config: dict, dataset: str) -> bool:
    """Whether a dataset's retraining runs train as pools (config ``pool``; MLP datasets, whose
    runs pay as one vmapped computation on a CPU)."""
    return bool(config["pool"]) and config["datasets"][dataset]["architecture"]["family"] in VMAP_FAMILIES


def pool_members(config: dict, dataset: str, variant: str) -> list[dict]:
    """Every run of one pool: each retraining of the dataset and variant the tables need, each seed;
    with its seed role and derived seed, its Rosetta file and, where a sweep chooses its
    hyperparameter, the sweep's file (else the fixed value), and its checkpoint."""
    members = []
    for r in all_retrainings(config["tables"]):
        if r.dataset != dataset or r.variant != variant:
            continue
        values = paths.retraining_values(r)
        retraining = paths.fill(paths.RETRAINING, **values)
        chosen = chosen_hyperparameter(config, r.experiment, dataset, r.model_kind).get("chosen")
        for seed in range(config["n_seeds"]):
            role = retrain_role(retraining, config["same_seed"] if r.model_kind == "vae_same_seed" else seed)
            members.append(
                {
                    "retraining": retraining,
                    "experiment": r.experiment,
                    "model_kind": r.model_kind,
                    "seed": seed,
                    "seed_role": role,
                    "training_seed": seed_of(config, role),
                    "rosetta": paths.fill(paths.ROSETTA, dataset=dataset, method=r.method, k=r.k),
                    "hyperparameter": fixed_hyperparameter(config, dataset, r.model_kind),
                    "chosen": chosen,
                    "checkpoint": paths.fill(paths.RUN_CHECKPOINT, seed=seed, **values),
                }
            )
    return members


def pool_inputs(config: dict, dataset: str, variant: str) -> dict:
    """A pool job's inputs: the data, the budget under ``steps: auto``, every Rosetta file and sweep file its runs read."""
    members = pool_members(config, dataset, variant)
    files = dict.fromkeys([m["rosetta"] for m in members] + [m["chosen"] for m in members if m["chosen"]])
    return {**paths.data_files(dataset), **budget_input(config, dataset), "runs": list(files)}


def seed_output(config: dict, wildcards: dict) -> str:
    """The folder the job that trains one retraining seed writes: its pool's, or its seed block's."""
    if pooled(config, wildcards["dataset"]):
        return paths.fill(paths.POOL, dataset=wildcards["dataset"], variant=wildcards["variant"])
    return paths.fill(paths.BLOCK, block=block_of_seed(config, wildcards["seed"]), **wildcards)


def seed_files_dir(config: dict, wildcards: dict, output: str) -> str:
    """Where one seed's files lie inside ``output`` (:func:`seed_output`): below its retraining's path in a pool."""
    if pooled(config, wildcards["dataset"]):
        return paths.pool_member_dir(output, paths.fill(paths.RETRAINING, **wildcards))
    return output


def seed_file(config: dict, wildcards, output: str, what: str) -> str:
    """One seed's ``what`` file (``paths.BLOCK_FILES``) in the folder its block's or pool's job wrote."""
    values = dict(wildcards.items())
    return paths.block_file(seed_files_dir(config, values, output), values["seed"], what)
