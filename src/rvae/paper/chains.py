"""Chains of labs (spec, "Chains"): does the shared space drift as it is handed on, and by how much per hop?

A dataset is split by label into three parts: Alice trains a template on P1 and exports R1 (k
points); Bob trains on P2, an R-VAE anchored on R1 and a plain VAE; Bob exports k points of his
R-VAE (the relay points); Carol trains on P3 anchored on the relay points, on R1 and the relay
points together, or on R1 alone, and a plain VAE. Every hop's model is then scored in Alice's
coordinates on her held-out P1 points, as trained (R-VAEs) or after a map fitted on the anchor
pairs it received (plain VAEs), and by LSD against the joint template.

The workflow's chain rules call these functions; a lab without Snakemake can call them too.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rvae import defaults
from rvae.alignment import RIDGE_GRID, fit_map, normalised_distance
from rvae.convergence import PlateauRule, diagnostics
from rvae.embeddings import latents, read_embedding
from rvae.metrics import lsd, quartiles
from rvae.paper.portability import check_same_points, rosetta_positions
from rvae.rosetta_file import RosettaPoints, load_rosetta_points

if TYPE_CHECKING:  # torch only where a model trains: the workflow reads this module's names at parse time
    import torch

    from rvae.data.store import PreparedDataset
    from rvae.losses import RosettaLoss
    from rvae.models import VAE, ArchitectureSpec
    from rvae.trainer import TrainConfig

log = logging.getLogger(__name__)

LABS = ("alice", "bob", "carol")  # the lab of part P1, P2, P3
TEMPLATE = "template"  # Alice's one model (a plain VAE on P1)
PLAIN = "vae"  # a lab's plain VAE: trained on its part plus the anchor inputs, aligned afterwards
# The anchor sets and the (lab, run) whose latents each is chosen from: Alice's R1 (``origin``)
# and Bob's export from his R-VAE (``relay``, one per seed).
EXPORTS = {"origin": ("alice", TEMPLATE), "relay": ("bob", "rvae")}
# Each hop's runs and the anchor sets each receives (an R-VAE's Rosetta term; a plain VAE gets
# the inputs appended once, as the paper's VAE does, and is aligned on these pairs afterwards).
RUNS = {
    "bob": {"rvae": ("origin",), PLAIN: ("origin",)},
    "carol": {"relay": ("relay",), "relay+origin": ("origin", "relay"), "origin": ("origin",), PLAIN: ("relay",)},
}
HOP_OF_LAB = {lab: hop for hop, lab in enumerate(LABS)}
# The table's arms: (hop, arm) -> the runs its numbers depend on (lab, run), Alice's template always.
ARMS = {
    (0, "alice"): (),
    (1, "rvae"): (("bob", "rvae"),),
    (1, "posthoc"): (("bob", PLAIN),),
    (2, "relay"): (("bob", "rvae"), ("carol", "relay")),
    (2, "relay+origin"): (("bob", "rvae"), ("carol", "relay+origin")),
    (2, "origin"): (("carol", "origin"),),
    (2, "baseline"): (("bob", "rvae"), ("carol", PLAIN)),
    (2, "posthoc"): (("bob", "rvae"), ("bob", PLAIN), ("carol", PLAIN)),
}
ARM_NOTES = {
    "alice": "Alice's template on P1 (the coordinates every hop is scored in; distance 0 by construction)",
    "rvae": "Bob's R-VAE on P2 anchored on R1, as trained",
    "posthoc": (
        "plain VAEs aligned afterwards: hop 1, Bob's VAE mapped on R1's pairs to Alice; hop 2, Carol's VAE "
        "mapped on the relay inputs to Bob's VAE's aligned coordinates there (a chain of maps; the relay inputs "
        "are the ones Bob's R-VAE chose, so this chain shares its anchor inputs with the anchored one)"
    ),
    "relay": "Carol's R-VAE on P3 anchored on Bob's relay points (k from his R-VAE), as trained",
    "relay+origin": "Carol's R-VAE anchored on R1 and Bob's relay points together, as trained",
    "origin": "Carol's R-VAE anchored on R1 only, as trained",
    "baseline": "Carol's plain VAE mapped on the relay pairs (her latents at the relay inputs -> Bob's R-VAE's)",
}
# How each arm reaches Alice's coordinates from the hop before (the figure's lines).
PARENT = {(2, "relay"): (1, "rvae"), (2, "relay+origin"): (1, "rvae"), (2, "baseline"): (1, "rvae"), (2, "posthoc"): (1, "posthoc")}
METRICS = {"distance": "held-out distance to Alice's coordinates on P1", "lsd": "LSD to the joint template, all points"}
MAP_KIND = "affine"  # the post-hoc maps: ridge affine after standard scaling on the anchors, as the anchor budget
PER_SEED_COLUMNS = ["dataset", "hop", "arm", "seed", "distance", "lsd", "n_heldout", "converged", "collapsed", "not_converged"]
TIDY_COLUMNS = ["dataset", "hop", "arm", "metric", "median", "iqr", "q25", "q75", "n", "converged", "collapsed_runs", "not_converged", "k", "parts", "reference"]


class ChainError(ValueError):
    """A chain that cannot run on this data; the message names the config key."""


def lab_runs() -> list[tuple[str, str]]:
    """Every (lab, run) of one seed of a chain, in training order (Bob before Carol)."""
    return [(lab, run) for lab, runs in RUNS.items() for run in runs]


def in_part(points: pd.DataFrame, labels) -> np.ndarray:
    """Which rows of a points (or embedding) table carry one of ``labels``."""
    return points["label"].isin([int(label) for label in labels]).to_numpy()


def part_rows(data: PreparedDataset, labels, split: str) -> np.ndarray:
    """Point ids of one part's ``train`` or ``val`` split."""
    mask = in_part(data.points, labels) & (data.points["split"] == split).to_numpy()
    return data.points["point"].to_numpy()[mask]


def check_parts(points: pd.DataFrame, parts, where: str, k: int | None = None, max_fraction: float | None = None) -> None:
    """Refuse, before a chain run trains, parts the prepared data cannot hold: a label it does not
    have, a part without training or validation points, or (given ``k``) P1 or P2 (the parts
    Rosetta points are chosen from) with k above ``max_fraction`` of its training split. ``where``
    is the chain's config entry (``chains.<dataset>``); the message names its ``parts`` or ``k``."""
    present = set(points["label"].astype(int).tolist())
    train = (points["split"] == "train").to_numpy()
    for number, labels in enumerate(parts, 1):
        missing = sorted(set(int(label) for label in labels) - present)
        if missing:
            raise ChainError(f"{where}.parts: part {number} names labels {missing} that the prepared data does not have (labels: {sorted(present)})")
        for split in ("train", "val"):
            if not (in_part(points, labels) & (points["split"] == split).to_numpy()).any():
                raise ChainError(f"{where}.parts: part {number} (labels {list(labels)}) has no {split} points in the prepared data")
        n_train = int((in_part(points, labels) & train).sum())
        if k is not None and number < 3 and k > max_fraction * n_train:
            raise ChainError(
                f"{where}.k: {k} Rosetta points are {k / n_train:.0%} of the {n_train} training points of part {number} "
                f"(labels {list(labels)}), above max_rosetta_fraction = {max_fraction:g}; lower k, enlarge the part, or raise max_rosetta_fraction"
            )


def training_set(data: PreparedDataset, labels, anchors: list[RosettaPoints], plain: bool) -> tuple[torch.Tensor, torch.Tensor, RosettaLoss | None]:
    """Training inputs, validation inputs and the Rosetta term of one chain run on its part.

    An R-VAE trains on the part's train split with the Rosetta term of all its anchors; a plain
    VAE on the train split plus the anchors' inputs appended once (the paper's VAE), no latent
    constraint. Alice (no anchors) trains on her part alone.
    """
    import torch

    from rvae.data.store import take_rows
    from rvae.losses import RosettaLoss

    x_train = take_rows(data, part_rows(data, labels, "train"))
    x_val = take_rows(data, part_rows(data, labels, "val"))
    if not anchors:
        return x_train, x_val, None
    x_r = torch.from_numpy(np.concatenate([a.x for a in anchors]))
    if plain:
        return torch.cat([x_train, x_r]), x_val, None
    z_r = torch.from_numpy(np.concatenate([a.z for a in anchors]))
    return x_train, x_val, RosettaLoss(x_r, z_r)


def train_chain_run(
    data: PreparedDataset, labels, spec: ArchitectureSpec, config: TrainConfig, anchors: list[RosettaPoints], plain: bool, checkpoint=None
) -> tuple[VAE, list[dict]]:
    """One hop's model (or Alice's template) on its part, for the dataset's step budget (``config.until``)."""
    from rvae.trainer import train_vae

    for points in anchors:
        points.check_compatible(spec.input_shape, spec.latent_dim, "chain anchors")
    x_train, x_val, rosetta = training_set(data, labels, anchors, plain)
    log.info(
        f"chain run on labels {list(labels)}: {len(x_train)} training points, {len(x_val)} validation points, "
        f"{sum(len(a) for a in anchors)} anchors ({'appended' if plain else 'Rosetta term'}), {config.until} steps, rho={config.rho if rosetta else 0}"
    )
    return train_vae(spec, config, x_train, x_val, rosetta, checkpoint)


def select_part_rosetta(
    data: PreparedDataset, model: VAE, embedding: pd.DataFrame, labels, k: int, seed: int, dataset: str, max_fraction: float, key: str
) -> RosettaPoints:
    """k Rosetta points by k-means on a model's latent means of one part's training points.

    Refused (naming ``key``, the chain's ``k``) above ``max_fraction`` of those points, as R1 of D1 is.
    """
    from rvae.models import fingerprint
    from rvae.rosetta import make_rosetta_points

    train = embedding[in_part(embedding, labels) & (embedding["split"] == "train").to_numpy()]
    ids = train["point"].to_numpy()
    if k > max_fraction * len(ids):
        raise ChainError(
            f"{key}: {k} Rosetta points are {k / max(len(ids), 1):.0%} of the {len(ids)} training points of the part with labels "
            f"{list(labels)}, above max_rosetta_fraction = {max_fraction:g}; lower k, enlarge the part, or raise max_rosetta_fraction"
        )
    return make_rosetta_points(
        x=np.asarray(data.x[ids]), z=latents(train), k=int(k), method=defaults.SELECTION_METHOD, seed=seed,
        dataset=dataset, template_fingerprint=fingerprint(model), point_ids=ids,
    )  # fmt: skip


# -- metrics ----------------------------------------------------------------------------------
def chain_latents(
    z_alice: np.ndarray, runs: dict, origin_rows: np.ndarray, origin_z: np.ndarray, relay_rows: np.ndarray, relay_z: np.ndarray, grid=RIDGE_GRID
) -> dict:
    """Every arm's latents of every point in what should be Alice's coordinates, ``{(hop, arm): z}``.

    ``runs[(lab, run)]``: that run's latent means of all N points (rows as ``z_alice``);
    ``origin_rows``/``origin_z``: R1's rows and Alice's latents there; ``relay_rows``/``relay_z``:
    the relay points' rows and Bob's R-VAE's latents there. The post-hoc maps are fitted on those
    pairs only (``fit_map("affine", ..., standardise=True)``, as the anchor budget): hop 1, Bob's
    VAE -> R1's z; hop 2 ``baseline``, Carol's VAE -> the relay points' z; hop 2 ``posthoc``, Carol's
    VAE -> Bob's VAE's aligned latents at the relay inputs, so her map composes with his.
    ``grid``: the ridge weights the maps choose from (``rvae.alignment.RIDGE_GRID``).
    """
    bob_map = fit_map(MAP_KIND, runs["bob", PLAIN][origin_rows], origin_z, standardise=True, grid=grid)
    bob_aligned = bob_map(runs["bob", PLAIN])
    carol = runs["carol", PLAIN]
    baseline = fit_map(MAP_KIND, carol[relay_rows], relay_z, standardise=True, grid=grid)
    chained = fit_map(MAP_KIND, carol[relay_rows], bob_aligned[relay_rows], standardise=True, grid=grid)
    return {
        (0, "alice"): z_alice,
        (1, "rvae"): runs["bob", "rvae"],
        (1, "posthoc"): bob_aligned,
        (2, "relay"): runs["carol", "relay"],
        (2, "relay+origin"): runs["carol", "relay+origin"],
        (2, "origin"): runs["carol", "origin"],
        (2, "baseline"): baseline(carol),
        (2, "posthoc"): chained(carol),
    }


def chain_scores(arms: dict, z_alice: np.ndarray, z_joint: np.ndarray, heldout: np.ndarray) -> dict:
    """``{(hop, arm): {"distance", "lsd"}}``: the normalised distance to Alice's latents on the
    ``heldout`` rows (P1 but R1's inputs) and the paper's LSD to the joint template on all rows."""
    return {
        key: {"distance": normalised_distance(z[heldout], z_alice[heldout]), "lsd": lsd(z, z_joint).values["all"]}
        for key, z in arms.items()
    }


def chain_per_seed(dataset: str, files: dict, seeds: list[int], parts, convergence: pd.DataFrame) -> pd.DataFrame:
    """Every arm's numbers per seed of one dataset's chain, with each seed's convergence flag.

    ``files``: ``{"alice", "joint", "origin"}`` (embeddings, R1's file), ``"relay": [file per seed]``
    and ``"runs": {"<lab>/<run>": [embedding per seed]}``; ``convergence``: :func:`chain_convergence`'s
    frame. An arm's seed is converged when Alice, every run behind it and the dataset's budget are.
    """
    alice = read_embedding(files["alice"])
    joint = read_embedding(files["joint"])
    points = alice["point"].to_numpy()
    if not np.array_equal(points, joint["point"].to_numpy()):
        raise ValueError(f"{files['alice']} and {files['joint']} cover different points")
    z_alice, z_joint = latents(alice), latents(joint)
    origin = load_rosetta_points(files["origin"])
    origin_rows = rosetta_positions(points, origin.point_ids, files["origin"])
    heldout = in_part(alice, parts[0]).copy()
    heldout[origin_rows] = False
    rows = []
    for index, seed in enumerate(seeds):
        relay = load_rosetta_points(files["relay"][index])
        runs = {}
        for lab, run in lab_runs():
            frame = read_embedding(files["runs"][f"{lab}/{run}"][index])
            check_same_points(frame, alice, files["runs"][f"{lab}/{run}"][index], files["alice"])
            runs[lab, run] = latents(frame)
        arms = chain_latents(z_alice, runs, origin_rows, origin.z.astype(np.float64), rosetta_positions(points, relay.point_ids, files["relay"][index]), relay.z.astype(np.float64))
        for (hop, arm), score in chain_scores(arms, z_alice, z_joint, heldout).items():
            state = _arm_state(convergence, (hop, arm), seed)
            rows.append({"dataset": dataset, "hop": hop, "arm": arm, "seed": int(seed), **score, "n_heldout": int(heldout.sum()), **state})
    frame = pd.DataFrame(rows, columns=PER_SEED_COLUMNS)
    # Alice is one model, not one per seed: keep her row once
    return frame[(frame["hop"] > 0) | (frame["seed"] == seeds[0])].reset_index(drop=True)


def _arm_state(convergence: pd.DataFrame, key: tuple, seed: int) -> dict:
    """Whether every run behind one arm's seed converged (Alice, the runs of ``ARMS``, the budget)."""
    wanted = [("alice", TEMPLATE, None), *((lab, run, seed) for lab, run in ARMS[key])]
    rows = []
    for lab, run, s in wanted:
        match = convergence[(convergence["lab"] == lab) & (convergence["run"] == run)]
        if s is not None:
            match = match[match["seed"] == s]
        if len(match) != 1:
            raise ValueError(f"the convergence file has {len(match)} rows for {lab}/{run} seed {s}, expected 1")
        rows.append(match.iloc[0])
    failed = [f"{r['lab']}/{r['run']}" + (" (collapsed)" if r["collapsed"] else "") for r in rows if not r["converged"] or r["collapsed"]]
    budget = all(bool(r["budget_converged"]) for r in rows)
    return {
        "converged": not failed and budget,
        "collapsed": sum(bool(r["collapsed"]) for r in rows),
        "not_converged": ", ".join(([] if budget else [BUDGET_SHORT]) + failed),
    }


BUDGET_SHORT = "the budget"  # the dataset's joint template did not plateau within it


def _collapsed_runs(group: pd.DataFrame) -> int:
    """Distinct collapsed runs behind an arm over its seeds (Alice's template counted once)."""
    items = {(item, 0 if item.startswith("alice/") else seed) for seed, what in zip(group["seed"], group["not_converged"]) for item in str(what).split(", ")}
    return sum(item.endswith("(collapsed)") for item, _ in items)


def _failed_runs(group: pd.DataFrame) -> str:
    """The runs behind an arm that did not converge, each with the seeds where it did not."""
    seeds: dict[str, list[int]] = {}
    for seed, what in zip(group["seed"], group["not_converged"]):
        for item in filter(None, str(what).split(", ")):
            seeds.setdefault(item, []).append(int(seed))
    one = len(group) == 1
    return "; ".join(
        item if one or item == BUDGET_SHORT or item.startswith("alice/") else f"{item} (seed{'s' if len(s) > 1 else ''} {', '.join(map(str, s))})"
        for item, s in seeds.items()
    )


def chain_convergence(histories: dict, embeddings: dict, parts, rule: PlateauRule, budget: dict) -> pd.DataFrame:
    """Convergence diagnostics (``rvae.convergence.diagnostics``) of every run of a chain.

    ``histories``/``embeddings``: ``{(lab, run, seed): file}`` (Alice: ``("alice", "template", None)``);
    each run is judged on its own validation curve and its latents of its own part's training
    points; ``budget``: the dataset's budget record (its ``converged`` goes on every row).
    """
    rows = []
    for (lab, run, seed), history in histories.items():
        frame = read_embedding(embeddings[lab, run, seed])
        train = in_part(frame, parts[HOP_OF_LAB[lab]]) & (frame["split"] == "train").to_numpy()
        report = diagnostics(pd.read_parquet(history).to_dict("records"), latents(frame)[train], rule)
        rows.append({"lab": lab, "run": run, "seed": -1 if seed is None else int(seed), **report, "budget_converged": bool(budget["converged"])})
    return pd.DataFrame(rows)


# -- the table and the figure ------------------------------------------------------------------
def covers_all_labels(parts, labels) -> bool:
    """Whether the three parts together hold every label of the dataset (else the joint template saw more)."""
    return set(int(label) for part in parts for label in part) >= set(int(label) for label in labels)


def summarise_chain(per_seed: dict, settings: dict, covers: dict) -> pd.DataFrame:
    """The tidy chain table: one row per dataset, hop, arm and metric; median and IQR over seeds.

    ``per_seed[dataset]``: :func:`chain_per_seed`'s frame; ``settings[dataset]``: its ``chains``
    entry (``parts``, ``k``); ``covers[dataset]``: :func:`covers_all_labels`. ``converged`` holds
    when every seed's runs behind the arm did; ``not_converged`` lists those that did not.
    """
    rows = []
    for dataset, frame in per_seed.items():
        reference = "the joint template (P1-P3)" if covers[dataset] else "the joint template of the whole dataset (the parts do not cover every label)"
        for (hop, arm), group in frame.groupby(["hop", "arm"], sort=False):
            for metric in METRICS:
                q25, median, q75 = quartiles(group[metric].to_numpy(dtype=np.float64))
                rows.append(
                    {
                        "dataset": dataset, "hop": int(hop), "arm": arm, "metric": metric, "median": float(median), "iqr": float(q75 - q25), "q25": float(q25), "q75": float(q75),
                        "n": len(group), "converged": bool(group["converged"].all()), "collapsed_runs": _collapsed_runs(group),
                        "not_converged": _failed_runs(group), "k": int(settings[dataset]["k"]),
                        "parts": " / ".join(",".join(str(int(x)) for x in part) for part in settings[dataset]["parts"]),
                        "reference": reference,
                    }
                )  # fmt: skip
    return pd.DataFrame(rows, columns=TIDY_COLUMNS)


def _cell(median: float, iqr: float) -> str:
    return "n/a" if not np.isfinite(median) else f"{median:.3f} ({iqr:.3f})"


def chain_markdown(table: pd.DataFrame) -> str:
    """Per dataset, arms as rows (by hop) and the two metrics as columns: median (IQR) over seeds."""
    lines = [
        "# Chains: Alice -> Bob -> Carol, in Alice's coordinates",
        "",
        "Each dataset is split by label into P1 (Alice), P2 (Bob), P3 (Carol). distance: mean squared distance",
        "to Alice's template latents on every P1 point but R1's inputs, divided by their total variance (0 best,",
        "1 no better than her mean). LSD: the paper's latent space distortion against the joint template on all",
        "points, as the paper defines it (not normalised by a reference cell): an affine map fitted on every",
        "point, so a full-rank post-hoc map does not change it (one fitted on k pairs at or below the latent",
        "size is rank-deficient and does). Each cell: median (IQR) over Bob's and Carol's seeds (Alice's",
        "template and R1 are one run, shared by every seed); n/a: a seed not scored (Alice's held-out latents",
        "without spread). Post-hoc maps are affine (ridge chosen by leave-one-out), fitted after standard",
        "scaling on the anchor pairs only.",
        "",
        "Arms:",
        "",
        *(f"- `{arm}`: {note}" for arm, note in ARM_NOTES.items()),
    ]
    for dataset, part in table.groupby("dataset", sort=False):
        first = part.iloc[0]
        lines += ["", f"## {dataset} (parts {first['parts']}, k = {first['k']})", "", f"LSD against {first['reference']}.", ""]
        lines += ["| hop | arm | distance to Alice (0 best) | LSD (0 best) | n | converged |", "|---|---|---|---|---|---|"]
        grid = part.set_index(["hop", "arm", "metric"])
        for hop, arm in dict.fromkeys(zip(part["hop"], part["arm"])):
            cells = [_cell(grid.loc[(hop, arm, m), "median"], grid.loc[(hop, arm, m), "iqr"]) for m in METRICS]
            row = grid.loc[(hop, arm, "distance")]
            lines.append(f"| {hop} | {arm} | {cells[0]} | {cells[1]} | {row['n']} | {'yes' if row['converged'] else 'no'} |")
        flagged = part[(part["metric"] == "distance") & ~part["converged"].astype(bool)]
        if len(flagged):
            lines += ["", f"Not converged (a run behind the arm short of its plateau on its own curve, or collapsed; '{BUDGET_SHORT}': the joint template did not plateau within the dataset's budget):", ""]
            lines += [f"- hop {row.hop} `{row.arm}`: {row.not_converged}" for row in flagged.itertuples()]
    return "\n".join(lines) + "\n"


def figure_chain(table: pd.DataFrame, path_png, path_pdf) -> None:
    """Per dataset (columns): distance to Alice's space (top) and LSD (bottom) after each hop, one
    line per arm through the arm it was handed on from; bars from the 25th to the 75th percentile."""
    from rvae.paper.plots import plt, save_figure

    datasets = list(dict.fromkeys(table["dataset"]))
    fig, axes = plt.subplots(2, len(datasets), figsize=(max(6.0, 4.6 * len(datasets)), 6.8), squeeze=False)
    colours = dict(zip([arm for hop, arm in ARMS if hop == 2], plt.get_cmap("tab10").colors))
    for col, dataset in enumerate(datasets):
        mine = table[table["dataset"] == dataset]
        for row, metric in enumerate(METRICS):
            ax = axes[row, col]
            cells = mine[mine["metric"] == metric].set_index(["hop", "arm"])
            for hop, arm in ARMS:
                if hop != 2:
                    continue
                path = [(hop, arm)]
                while path[0] in PARENT:
                    path.insert(0, PARENT[path[0]])
                path.insert(0, (0, "alice"))
                shown = [key for key in path if key in cells.index]
                x = [key[0] + 0.04 * (list(ARMS).index((hop, arm)) - len(ARMS) // 2) for key in shown]
                y = [cells.loc[key, "median"] for key in shown]
                err = np.array([[cells.loc[key, "median"] - cells.loc[key, "q25"], cells.loc[key, "q75"] - cells.loc[key, "median"]] for key in shown]).T
                ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=arm, color=colours[arm])
            ax.set_xticks([0, 1, 2], ["Alice", "Bob", "Carol"])
            if metric == "distance":  # Alice's 0 and a post-hoc map's outliers on one axis
                ax.set_yscale("symlog", linthresh=0.01)
                ax.set_ylim(bottom=0)
            ax.set_title(f"{dataset}: {METRICS[metric]}", fontsize=8)
            ax.tick_params(labelsize=7)
            if col == 0:
                ax.set_ylabel("distance (0 best; symlog)" if metric == "distance" else "LSD (0 best)", fontsize=8)
            if row == 0 and col == len(datasets) - 1:
                ax.legend(fontsize=7, title="hop-2 arm (line: its chain)", title_fontsize=7)
    fig.suptitle("Chains: each hop's distance to Alice's coordinates (top) and LSD to the joint template (bottom)\n(median over seeds; bars: 25th to 75th percentile)", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path_png, path_pdf)
