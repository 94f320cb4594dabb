# Config validation and the input functions of every rule (no rules here).
import json
import sys
from argparse import Namespace
from pathlib import Path

from snakemake.utils import validate

from rvae.config_checks import check_config, hyperparameter
from rvae.plan import TABLE_NUMBERS, all_runs, block_of, rosetta_needs, table_runs
from rvae.user_config import apply_extends, describe

CONFIG_FILES = [
    *workflow.configfiles,
    *apply_extends(config, workflow.config_settings.configfiles),
]
# validate() also fills in every default the schema documents.
validate(config, "../schemas/config.schema.yaml")
check_config(config)
if workflow.is_main_process:  # once per run, not in every job's own Snakemake
    print("\n".join(describe(config, CONFIG_FILES)), file=sys.stderr)

DATASETS = list(config["datasets"])
TABLES = [n for n in TABLE_NUMBERS if f"table{n}" in config["tables"]]
SEEDS = list(range(config["n_seeds"]))
SEED_BLOCK = config["seed_block"]["size"]
GPU = 0 if config["device"] == "cpu" else 1
PORTABLE = config["portable"]
EXPORTS = [d for d, settings in config["datasets"].items() if "export" in settings]
PAPER_VALUES = str(
    Path(workflow.basedir) / "workflow" / "resources" / "paper_values.csv"
)


wildcard_constraints:
    dataset="|".join(DATASETS),
    experiment="reproducibility|sequential",
    model="vae|beta_vae|rvae|vae_same_seed",
    method="kmeans|agglomerative|gmm|random",
    arch="same|simple|complex",
    which="joint|d1",
    k=r"\d+",
    seed=r"\d+",
    block=r"\d+",
    n=r"\d+",
    param="beta|rho",
    value=r"[0-9]+(\.[0-9]+)?",
    name=r"[A-Za-z][A-Za-z0-9_]*",


def canonical(value):
    """Config values with dict keys sorted, so reordering keys in the YAML reruns nothing."""
    return json.loads(json.dumps(value, sort_keys=True))


def all_targets():
    return (
        [
            f"results/tables/table{n}.{ext}"
            for n in TABLES
            for ext in ("csv", "parquet", "md")
        ]
        + figure_targets()
        + sharing_targets()
    )


def sharing_targets():
    """Exports of datasets with an `export:` entry, and every `portable:` run with its figure."""
    return [f"results/export/{d}/rosetta.parquet" for d in EXPORTS] + [
        f"results/portable/{name}/{file}"
        for name in PORTABLE
        for file in ("embedding.parquet", "latent_space.png")
    ]


def raw_data_files(wildcards):
    """A folder dataset's own files, so editing the user's data reruns what depends on it."""
    settings = config["datasets"][wildcards.dataset]
    if settings["kind"] != "folder":
        return {}
    folder = Path(str(settings["load"].get("path", "")))
    files = {"raw_x": folder / "x.npy", "raw_meta": folder / "dataset.yaml"}
    for name in ("labels.parquet", "labels.npy"):
        if (folder / name).exists():
            files["raw_labels"] = folder / name
    return {key: str(path) for key, path in files.items()}


def export_settings(dataset):
    return canonical(config["datasets"][dataset]["export"])


def portable_inputs(wildcards):
    run = PORTABLE[wildcards.name]
    return {**data_files(run["dataset"]), "rosetta": run["rosetta"]}


def portable_rho(wildcards):
    run = PORTABLE[wildcards.name]
    return canonical(run.get("rho") or hyperparameter(config, run["dataset"], "rho"))


def data_files(dataset):
    return {
        "x": f"results/data/{dataset}/x.npy",
        "points": f"results/data/{dataset}/points.parquet",
    }


def dataset_data(wildcards):
    return data_files(wildcards.dataset)


def training_params(dataset, seed, beta=1.0, rho=0.0):
    """Everything that changes a run's trajectory, so editing any of it reruns that run."""
    settings = config["datasets"][dataset]["training"]
    return canonical(
        {
            "epochs": settings["epochs"],
            "batch_size": settings["batch_size"],
            "lr": config["optimizer"]["lr"],
            "obs_precision": config["obs_precision"],
            "seed": int(seed),
            "beta": float(beta),
            "rho": float(rho),
            "device": config["device"],
            "deterministic": config["deterministic"],
        }
    )


def architecture_params(dataset, arch="same"):
    spec = dict(config["datasets"][dataset]["architecture"])
    spec["variant"] = arch
    return canonical(spec)


def is_sweep(dataset, param):
    return "grid" in hyperparameter(config, dataset, param)


MODEL_PARAM = {"beta_vae": "beta", "rvae": "rho"}


def hyperparameter_input(wildcards):
    param = MODEL_PARAM.get(wildcards.model)
    if param and is_sweep(wildcards.dataset, param):
        return {
            "chosen": f"results/hyperparameters/{wildcards.experiment}/{wildcards.dataset}/{param}.json"
        }
    return {}


def fixed_hyperparameter(wildcards):
    """beta for beta-VAE, rho for R-VAE when fixed in config; None when a sweep chooses it."""
    param = MODEL_PARAM.get(wildcards.model)
    if param is None or is_sweep(wildcards.dataset, param):
        return None
    return float(hyperparameter(config, wildcards.dataset, param)["value"])


def main_k(experiment, dataset):
    """k of the sweep's Rosetta points: Table 1's (reproducibility) or Table 2's (sequential)."""
    table = config["tables"].get(
        "table1" if experiment == "reproducibility" else "table2", {}
    )
    if dataset in table:
        value = table[dataset]
        return value if isinstance(value, int) else value[0]
    ks = sorted(
        k for _, k in rosetta_needs(config["tables"]).get(dataset, {("kmeans", 8)})
    )
    return ks[0]


def sweep_candidates(wildcards):
    grid = hyperparameter(config, wildcards.dataset, wildcards.param)["grid"]
    return [
        f"results/sweeps/{wildcards.experiment}/{wildcards.dataset}/{wildcards.param}/{float(v)}.json"
        for v in grid
    ]


def sweep_rosetta(wildcards):
    k = main_k(wildcards.experiment, wildcards.dataset)
    return f"results/rosetta/{wildcards.dataset}/kmeans-k{k}.parquet"


def block_seeds(block):
    """Seeds of a fixed block: seed s is in block s // size, however many seeds exist."""
    return [s for s in SEEDS if block_of(s, SEED_BLOCK) == int(block)]


def run_seeds(wildcards):
    """The seed each run of a block trains with: its own, or VAE (same seed)'s shared one."""
    return [
        config["same_seed"] if wildcards.model == "vae_same_seed" else s
        for s in block_seeds(wildcards.block)
    ]


def run_dir(wildcards):
    return f"{wildcards.experiment}/{wildcards.dataset}/{wildcards.method}-k{wildcards.k}-{wildcards.arch}/{wildcards.model}"


def seed_block_output(wildcards):
    return f"results/blocks/{run_dir(wildcards)}/block{block_of(wildcards.seed, SEED_BLOCK)}"


def run_embeddings(wildcards):
    base = f"results/embeddings/{wildcards.experiment}/{wildcards.dataset}/{wildcards.method}-k{wildcards.k}-{wildcards.arch}/{wildcards.model}"
    return [f"{base}/seed{s}.parquet" for s in SEEDS]


def table_inputs(wildcards):
    return [
        f"results/metrics/{metric}/{run.path}.parquet"
        for metric, run in table_runs(int(wildcards.n), config["tables"])
    ]


def gpu_resource(wildcards):
    return GPU


def _first_k(value):
    return value if isinstance(value, int) else value[0]


def figure2_inputs(wildcards):
    files = {}
    for dataset, k in config["tables"].get("table1", {}).items():
        base = f"{dataset}/kmeans-k{_first_k(k)}-same"
        files[f"{dataset}__template"] = (
            f"results/embeddings/templates/{dataset}/d1.parquet"
        )
        for model in ("vae", "beta_vae", "rvae"):
            files[f"{dataset}__{model}"] = (
                f"results/embeddings/reproducibility/{base}/{model}/seed0.parquet"
            )
        for model in ("vae", "beta_vae", "vae_same_seed", "rvae"):
            files[f"{dataset}__rv__{model}"] = (
                f"results/metrics/rv/reproducibility/{base}/{model}.parquet"
            )
    return files


def sequential_figure_inputs(wildcards):
    files = {}
    for dataset, k in config["tables"].get("table2", {}).items():
        base = f"{dataset}/kmeans-k{_first_k(k)}-same"
        files[f"{dataset}__joint"] = (
            f"results/embeddings/templates/{dataset}/joint.parquet"
        )
        files[f"{dataset}__d1"] = f"results/embeddings/templates/{dataset}/d1.parquet"
        for model in ("vae", "beta_vae", "rvae"):
            files[f"{dataset}__{model}"] = (
                f"results/embeddings/sequential/{base}/{model}/seed0.parquet"
            )
    return files


def linear_map_inputs(wildcards):
    return {
        f"{dataset}__{model}": f"results/metrics/lsd/sequential/{dataset}/kmeans-k{_first_k(k)}-same/{model}.parquet"
        for dataset, k in config["tables"].get("table2", {}).items()
        for model in ("vae", "beta_vae", "rvae")
    }


def history_inputs(wildcards):
    return {
        f"{dataset}__{model}__{seed}": f"results/history/sequential/{dataset}/kmeans-k{_first_k(k)}-same/{model}/seed{seed}.parquet"
        for dataset, k in config["tables"].get("table2", {}).items()
        for model in ("vae", "beta_vae", "rvae")
        for seed in SEEDS
    }


def sweeps():
    """(dataset, param) pairs whose value a sweep chooses."""
    return [
        (dataset, param)
        for dataset in DATASETS
        for param in ("beta", "rho")
        if "grid"
        in config["datasets"][dataset].get("hyperparameters", {}).get(param, {})
        or (
            "grid" in config.get("hyperparameters", {}).get(param, {})
            and param not in config["datasets"][dataset].get("hyperparameters", {})
        )
    ]


def sweep_figure_inputs(wildcards):
    return [
        path
        for dataset, param in sweeps()
        for experiment in ("reproducibility", "sequential")
        for path in sweep_candidates(
            Namespace(experiment=experiment, dataset=dataset, param=param)
        )
    ]


def figure_targets():
    """The paper's figures for the tables the config builds (none for a sharing-only config)."""
    if not TABLES:
        return []
    targets = ["results/figures/datasets.png"]
    if sweeps():
        targets += [f"results/figures/sweeps.{ext}" for ext in ("png", "pdf")]
    if "table1" in config["tables"]:
        targets += [f"results/figures/figure2.{ext}" for ext in ("png", "pdf")]
    if "table2" in config["tables"]:
        targets += [
            f"results/figures/{name}.{ext}"
            for name in ("figure4", "figure5", "figure6", "figure7", "training_curves")
            for ext in ("png", "pdf")
        ]
    return targets
