"""Do Bob's per-point scores predict his error? Checked where the answer is known (beyond the paper).

On the workflow's portability runs (each Table 2 dataset's sequential R-VAEs, one per seed) every
held-out point has a true distance to Alice's coordinates (her D1 template's mean). Bob's side is
replayed exactly as `rvae embed --rosetta --align auto` does it: each seed's latents mapped by
:func:`rvae.sharing.choose_alignment` (fitted on the Rosetta pairs only), the scores of
:mod:`rvae.confidence` computed from his latents and the file's alone. The table gives Spearman's
rank correlation between each score and the true distance, per dataset and partition (D1: Alice's
held-out points, D2: Bob's own data); the figure the true distance by decile of each score. It
also records, per seed and partition, whether ``auto``'s arm was the truly best on the held-out
points, and each arm's (and auto's) median held-out distance over seeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rvae import defaults
from rvae.alignment import normalised_distance
from rvae.confidence import anchor_distance, anchor_spacing, model_spread, rank_correlation
from rvae.embeddings import latents, read_embedding
from rvae.paper.portability import check_same_points, rosetta_positions
from rvae.rosetta_file import load_rosetta_points
from rvae.sharing import choose_alignment
from rvae.vocabulary import ALIGN_ARMS

# (score, models): a single model's anchor distance (each seed alone, the median correlation over
# seeds), and the seeds together as `rvae embed` with repeated --model writes them.
SCORES = (("anchor_distance", "one"), ("anchor_distance", "all"), ("model_spread", "all"))
CONFIDENCE_COLUMNS = ["dataset", "partition", "score", "models", "n_models", "n_points", "spearman", "spearman_min", "spearman_max", "align"]
DECILES = 10


def replay(run_files: list, template_file, rosetta_file, align: str = defaults.ALIGN) -> dict:
    """Bob's side of one dataset's runs, with the truth beside it.

    Returns ``{"partition", "true_one" (seeds, N), "anchor_one" (seeds, N), "true_all" (N,),
    "anchor_all" (N,), "spread" (N,), "arms" [per seed], "arm_distance" [per seed: {partition (all,
    D1, D2): {arm: held-out distance}}]}`` over the held-out points (every point but the Rosetta inputs). A point's true
    distance is its squared distance to Alice's latent over her latents' total variance there, so
    the mean over points is the portability table's normalised distance.
    """
    template = read_embedding(template_file)
    rosetta = load_rosetta_points(rosetta_file)
    rows = rosetta_positions(template["point"].to_numpy(), rosetta.point_ids, rosetta_file)
    held = np.ones(len(template), dtype=bool)
    held[rows] = False
    z_alice = latents(template)[held]
    total = float(((z_alice - z_alice.mean(axis=0)) ** 2).sum(axis=1).mean())
    spacing = anchor_spacing(rosetta.z)
    partition = template["partition"].to_numpy().astype(str)[held]
    mapped, arms, arm_distance = [], [], []
    for path in run_files:
        frame = read_embedding(path)
        check_same_points(frame, template, path, template_file)
        z = latents(frame)
        choice = choose_alignment(z[rows], rosetta.z, align, str(path))
        mapped.append(choice(z[held]))
        arms.append(choice.arm)
        arm_distance.append(_arm_distances(z[rows], z[held], rosetta.z, z_alice, partition))
    mapped = np.stack(mapped)
    mean = mapped.mean(axis=0)
    return {
        "partition": partition,
        "true_one": ((mapped - z_alice) ** 2).sum(-1) / total,
        "anchor_one": np.stack([anchor_distance(m, rosetta.z, spacing) for m in mapped]),
        "true_all": ((mean - z_alice) ** 2).sum(-1) / total,
        "anchor_all": anchor_distance(mean, rosetta.z, spacing),
        "spread": model_spread(list(mapped), spacing) if len(mapped) > 1 else np.full(len(mean), np.nan),
        "arms": arms,
        "arm_distance": arm_distance,
    }


def _arm_distances(z_rosetta_model, z_held, z_rosetta, z_alice, partition) -> dict:
    """{partition (all, then each): {arm: normalised distance to Alice's latents there}} for one seed."""
    mapped = {arm: choose_alignment(z_rosetta_model, z_rosetta, arm)(z_held) for arm in ALIGN_ARMS}
    groups = {"all": np.ones(len(partition), dtype=bool), **{p: partition == p for p in sorted(set(partition))}}
    return {g: {arm: normalised_distance(m[mask], z_alice[mask]) for arm, m in mapped.items()} for g, mask in groups.items()}


def _pairs(replayed: dict, score: str, models: str, mask: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(score, true distance) per model (one) or once (all), on the points of ``mask``."""
    if models == "one":
        return [(s[mask], t[mask]) for s, t in zip(replayed["anchor_one"], replayed["true_one"])]
    key = "anchor_all" if score == "anchor_distance" else "spread"
    return [(replayed[key][mask], replayed["true_all"][mask])]


def confidence_table(replayed: dict) -> pd.DataFrame:
    """One row per dataset, partition (all, D1, D2), score and models: Spearman's rho with the true distance."""
    records = []
    for dataset, r in replayed.items():
        groups = {"all": np.ones(len(r["partition"]), dtype=bool), **{p: r["partition"] == p for p in sorted(set(r["partition"]))}}
        for partition, mask in groups.items():
            for score, models in SCORES:
                if score == "model_spread" and len(r["arms"]) < 2:
                    continue
                rhos = [rank_correlation(s, t) for s, t in _pairs(r, score, models, mask)]
                records.append({
                    "dataset": dataset, "partition": partition, "score": score, "models": models,
                    "n_models": 1 if models == "one" else len(r["arms"]), "n_points": int(mask.sum()),
                    "spearman": float(np.median(rhos)), "spearman_min": float(np.min(rhos)), "spearman_max": float(np.max(rhos)),
                    "align": ", ".join(f"{a} x{r['arms'].count(a)}" for a in ALIGN_ARMS if a in r["arms"]),
                })  # fmt: skip
    return pd.DataFrame.from_records(records, columns=CONFIDENCE_COLUMNS)


def auto_choices(replayed: dict) -> pd.DataFrame:
    """Per dataset, seed and partition (all, D1, D2): auto's arm, the truly best arm on those
    held-out points, each arm's distance and auto's (its arm's)."""
    rows = []
    for dataset, r in replayed.items():
        for seed, (arm, by_partition) in enumerate(zip(r["arms"], r["arm_distance"])):
            for partition, distances in by_partition.items():
                best = min(distances, key=lambda a: (distances[a], ALIGN_ARMS.index(a)))
                rows.append({"dataset": dataset, "seed": seed, "partition": partition, "auto": arm, "best": best,
                             **{f"distance_{a}": distances[a] for a in ALIGN_ARMS}, "distance_auto": distances[arm]})  # fmt: skip
    return pd.DataFrame(rows, columns=["dataset", "seed", "partition", "auto", "best", *(f"distance_{a}" for a in (*ALIGN_ARMS, "auto"))])


def arm_medians(choices: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and partition: each arm's (and auto's) median held-out distance over seeds, and
    how many seeds auto chose the truly best arm."""
    columns = [f"distance_{a}" for a in (*ALIGN_ARMS, "auto")]
    grouped = choices.assign(hit=choices["auto"] == choices["best"]).groupby(["dataset", "partition"], sort=False)
    return grouped[columns].median().join(grouped["hit"].agg(["sum", "size"]).rename(columns={"sum": "hits", "size": "seeds"})).reset_index()


def confidence_markdown(table: pd.DataFrame, choices: pd.DataFrame) -> str:
    """The table as Markdown: the correlations, then auto's choices against the truly best arm."""
    lines = [
        "# Do Bob's per-point scores predict his error?",
        "",
        "Each Table 2 dataset's sequential R-VAEs, replayed as `rvae embed --rosetta --align auto`: each",
        "seed's latents mapped by the arm auto chose on the Rosetta pairs, then per held-out point the",
        "scores Bob computes alone (`anchor_distance`: to the nearest Rosetta latent; `model_spread`: how",
        "far the seeds disagree; both in units of the Rosetta latents' spacing) against the true distance",
        "to Alice's coordinates. Spearman's rank correlation: 1 = the score orders the points by their",
        "error, 0 = it says nothing about it. `one`: each seed alone (median, min and max over seeds);",
        "`all`: the seeds' mean, as `rvae embed` writes with several --model.",
        "",
        "| dataset | points | score | models | n | Spearman | min | max | maps |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in table.itertuples():
        lines.append(f"| {row.dataset} | {row.partition} | {row.score} | {row.models} ({row.n_models}) | {row.n_points} | "
                     f"{row.spearman:.3f} | {row.spearman_min:.3f} | {row.spearman_max:.3f} | {row.align} |")  # fmt: skip
    lines += ["", "## Did auto choose the truly best map?", "",
              "Median over seeds of the held-out distance to Alice's coordinates for each arm and for auto (each",
              "seed's chosen arm), per partition (D1: Alice's held-out points, D2: Bob's own data), and in how",
              "many seeds auto's arm, chosen by leave-one-out on the Rosetta pairs alone, was the truly best",
              "there. Leave-one-out is optimistic for a model trained on those pairs, most for `none`.", "",
              "| dataset | points | none | procrustes | affine | auto | auto truly best |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for row in arm_medians(choices).itertuples():
        lines.append(f"| {row.dataset} | {row.partition} | {row.distance_none:.3f} | {row.distance_procrustes:.3f} | {row.distance_affine:.3f} | "
                     f"{row.distance_auto:.3f} | {row.hits} of {row.seeds} |")  # fmt: skip
    lines += ["", "Per seed:", "", "| dataset | seed | points | auto | truly best | none | procrustes | affine |", "|---|---|---|---|---|---|---|---|"]
    for row in choices.itertuples():
        lines.append(f"| {row.dataset} | {row.seed} | {row.partition} | {row.auto} | {row.best} | {row.distance_none:.3f} | "
                     f"{row.distance_procrustes:.3f} | {row.distance_affine:.3f} |")  # fmt: skip
    lines.append("")
    for partition in dict.fromkeys(choices["partition"]):
        hit = choices[choices["partition"] == partition]
        lines += [f"On {'all held-out points' if partition == 'all' else partition}, auto chose the truly best arm in "
                      f"{int((hit['auto'] == hit['best']).sum())} of {len(hit)} runs."]  # fmt: skip
    return "\n".join(lines) + "\n"


def figure_confidence(replayed: dict, path_png, path_pdf) -> None:
    """Per dataset: the true distance (median and IQR) of the held-out points in each decile of each score."""
    from rvae.paper.plots import plt, save_figure

    datasets = list(replayed)
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 3.4), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        r = replayed[dataset]
        shown = [("anchor distance, seed 0", r["anchor_one"][0], r["true_one"][0]), ("anchor distance, seeds' mean", r["anchor_all"], r["true_all"])]
        if len(r["arms"]) > 1:
            shown.append(("model spread, seeds' mean", r["spread"], r["true_all"]))
        for offset, (label, score, truth) in enumerate(shown):
            bins = decile_of(score)
            stats = np.array([np.percentile(truth[bins == d], [25, 50, 75]) if (bins == d).any() else [np.nan] * 3 for d in range(DECILES)])
            x = np.arange(1, DECILES + 1) + (offset - 1) * 0.12
            ax.errorbar(x, stats[:, 1], yerr=[stats[:, 1] - stats[:, 0], stats[:, 2] - stats[:, 1]], marker="o", ms=3, capsize=2, label=label)
        ax.set_yscale("log")
        ax.set_xticks(range(1, DECILES + 1))
        ax.set_xlabel("decile of the score (1: lowest)", fontsize=7)
        ax.set_ylabel("true distance to Alice's coordinates", fontsize=7)
        ax.set_title(dataset, fontsize=9)
        ax.tick_params(labelsize=6)
        ax.legend(fontsize=6)
    fig.suptitle("Held-out points' true distance by decile of Bob's per-point scores (median, IQR)", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path_png, path_pdf)


def decile_of(score: np.ndarray) -> np.ndarray:
    """0..9: which tenth of the points by rank each score falls in (ties by order of appearance)."""
    ranks = np.argsort(np.argsort(score, kind="stable"), kind="stable")
    return (ranks * DECILES // max(1, len(score))).astype(int)
