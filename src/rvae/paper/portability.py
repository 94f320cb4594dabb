"""Portability of Bob's sequential runs: his latents in Alice's coordinates, against aligning afterwards.

The paper's LSD fits an affine map on every point, so it cannot tell an R-VAE from a plain VAE
aligned post hoc; here every fitted map is fitted on the R Rosetta pairs only and scored on the
held-out points (``rvae.alignment.portability``), for two references: Alice's D1 template on her
D1 points (the coordinates Bob was promised) and the joint template on all points.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rvae.alignment import heldout_alignment
from rvae.embeddings import latents, read_embedding
from rvae.metrics import median_iqr, normalisable, normalised_median_iqr
from rvae.paper.tables import runs_state
from rvae.rosetta_file import load_rosetta_points
from rvae.vocabulary import MODEL_LABELS

# (model kind, alignment): the arms the table shows, in order; alignment as rvae.alignment names it.
ARMS = (
    ("rvae", "raw"),
    ("vae", "raw"),
    ("beta_vae", "raw"),
    ("vae", "procrustes"),
    ("vae", "affine"),
    ("vae", "relative"),
    ("rvae", "procrustes"),
    ("rvae", "affine"),
    ("rvae", "relative"),
)
ALIGNMENT_LABELS = {"raw": "", "procrustes": " + Procrustes", "affine": " + affine", "relative": " relative"}
# The reference each row is scored against; partition D1 of "d1" is Alice's own points in her coordinates.
REFERENCES = {"d1": "Alice's D1 template", "joint": "the joint template"}
# Each metric and whether smaller is better (distance) or larger (similarity).
METRICS = {"distance": "distance", "angular_procrustes": "distance", "linear_cka": "similarity"}
METRIC_LABELS = {"distance": "normalised distance", "angular_procrustes": "angular Procrustes", "linear_cka": "linear CKA"}
NORMALISER = ("vae", "raw")  # the paper's tables divide by the plain VAE, here with no map

PORTABILITY_TIDY = [
    "table", "row", "column", "dataset", "experiment", "reference", "partition", "model", "alignment", "arm",
    "condition", "method", "k", "architecture", "metric", "kind", "median", "iqr", "raw_median", "raw_iqr", "n", "normaliser",
    "converged", "collapsed_runs",
]  # fmt: skip


def arm_label(model_kind: str, alignment: str) -> str:
    """'R-VAE', 'VAE + Procrustes', ...: what the Markdown and the figure call an arm."""
    suffix = ALIGNMENT_LABELS[alignment]
    return MODEL_LABELS[model_kind] + (suffix if suffix or model_kind != "rvae" else " (as trained)")


def check_same_points(frame: pd.DataFrame, template: pd.DataFrame, path, template_path) -> None:
    """An embedding must cover the template's points, in its order: every score pairs rows."""
    if not np.array_equal(frame["point"].to_numpy(), template["point"].to_numpy()):
        raise ValueError(f"embedding {path} covers other points than the template {template_path}")


def rosetta_positions(points: np.ndarray, ids: np.ndarray, rosetta_path) -> np.ndarray:
    """Where each Rosetta point (``ids``) sits among an embedding's ``points``; a missing one is an error."""
    position = pd.Series(np.arange(len(points)), index=points)
    missing = sorted(set(ids.tolist()) - set(points.tolist()))
    if missing:
        raise ValueError(f"Rosetta file {rosetta_path}: points {missing[:5]} are not among the embedding's points")
    return position.loc[ids].to_numpy()


def portability_per_seed(runs: dict, seeds: list[int], templates: dict, rosetta_path) -> pd.DataFrame:
    """Every arm's numbers per seed and reference.

    ``runs[model_kind]``: embedding files in ``seeds`` order; ``templates``: ``{"d1": file,
    "joint": file}``; ``rosetta_path``: the Rosetta file whose pairs the maps are fitted on (for
    the D1 reference, its ``z`` are Alice's Rosetta latents; for the joint one, the joint
    template's latents at the same inputs).
    """
    rosetta = load_rosetta_points(rosetta_path)
    frames = {which: read_embedding(path) for which, path in templates.items()}
    points = frames["joint"]["point"].to_numpy()
    check_same_points(frames["d1"], frames["joint"], templates["d1"], templates["joint"])
    partition = frames["joint"]["partition"].to_numpy().astype(str)
    d1 = partition == "D1"
    rows = rosetta_positions(points, rosetta.point_ids, rosetta_path)
    if not d1[rows].all():
        raise ValueError(f"Rosetta file {rosetta_path}: some Rosetta points are not in D1")
    z_templates = {which: latents(frame) for which, frame in frames.items()}
    records = []
    for model_kind, paths in runs.items():
        for seed, path in zip(seeds, paths):
            frame = read_embedding(path)
            check_same_points(frame, frames["joint"], path, templates["joint"])
            z = latents(frame)
            scored = {
                "d1": heldout_alignment(z_templates["d1"], z, rows, z_rosetta=rosetta.z, partition=partition),
                "joint": heldout_alignment(z_templates["joint"], z, rows, partition=partition),
            }
            for reference, result in scored.items():
                records.append(result.assign(reference=reference, model=model_kind, seed=int(seed)))
    out = pd.concat(records, ignore_index=True).rename(columns={"arm": "alignment"})
    return out[["reference", "model", "seed", "partition", "alignment", "n", "distance", "mse", "angular_procrustes", "linear_cka", "scale", "ridge"]]


def _normalised_median_iqr(values: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """Median and IQR of value / median(reference): 1 is the plain VAE, below 1 a smaller distance
    (or similarity); NaN where the reference's median cannot divide."""
    if not normalisable("ratio", np.median(reference)):
        return float("nan"), float("nan")
    return normalised_median_iqr("ratio", values, reference)


def summarise_portability(per_seed: dict, conditions: dict, convergence: dict | None = None) -> pd.DataFrame:
    """The tidy portability table: one row per dataset, reference, partition, arm and metric.

    ``per_seed[dataset]``: :func:`portability_per_seed`'s frame; ``conditions[dataset]``: its
    sequential retraining's ``{"method", "k", "variant", "condition"}``; ``convergence[dataset]``
    (optional): ``{model kind: diagnostics frame}`` of those runs. ``median``/``iqr`` are
    normalised by the plain VAE with no map (value / its median over seeds, so the VAE row is 1);
    ``raw_median``/``raw_iqr`` are the metric itself; ``converged`` holds when every run behind
    the arm and the plain VAE reached the plateau and none collapsed.
    """
    rows = []
    for dataset, frame in per_seed.items():
        c = conditions[dataset]
        state = convergence.get(dataset) if convergence else None
        for reference in REFERENCES:
            ours = frame[frame["reference"] == reference]
            for partition in dict.fromkeys(ours["partition"]):
                part = ours[ours["partition"] == partition]
                base = part[(part["model"] == NORMALISER[0]) & (part["alignment"] == NORMALISER[1])]
                for model_kind, alignment in ARMS:
                    arm = part[(part["model"] == model_kind) & (part["alignment"] == alignment)].sort_values("seed")
                    # as the tables count a cell: the arm's runs and the normalising plain VAE's
                    converged, collapsed = runs_state(state[model_kind], state[NORMALISER[0]]) if state else (None, None)
                    for metric, kind in METRICS.items():
                        values = arm[metric].to_numpy(dtype=np.float64)
                        median, iqr = _normalised_median_iqr(values, base[metric].to_numpy(dtype=np.float64))
                        raw_median, raw_iqr = median_iqr(values)
                        rows.append(
                            {
                                "table": "portability",
                                "row": arm_label(model_kind, alignment),
                                "column": f"{dataset} {reference} {partition} {metric}",
                                "dataset": dataset,
                                "experiment": "sequential",
                                "reference": reference,
                                "partition": partition,
                                "model": model_kind,
                                "alignment": alignment,
                                "arm": arm_label(model_kind, alignment),
                                "condition": c["condition"],
                                "method": c["method"],
                                "k": int(c["k"]),
                                "architecture": c["variant"],
                                "metric": metric,
                                "kind": kind,
                                "median": median,
                                "iqr": iqr,
                                "raw_median": raw_median,
                                "raw_iqr": raw_iqr,
                                "n": len(values),
                                "normaliser": f"{c['condition']}/{NORMALISER[0]} ({NORMALISER[1]})",
                                "converged": converged,
                                "collapsed_runs": collapsed,
                            }
                        )
    return pd.DataFrame(rows, columns=PORTABILITY_TIDY)


def _cell(median: float, iqr: float) -> str:
    return "n/a" if not np.isfinite(median) else f"{median:.3f} ({iqr:.3f})"


def _not_converged_line(part: pd.DataFrame) -> list[str]:
    """The arms of one section whose runs (or the plain VAE's) did not all plateau, or collapsed."""
    if part["converged"].isna().all():
        return []
    flagged = part[part["converged"] == False]  # noqa: E712 (a column of True/False/None)
    if flagged.empty:
        return []
    arms = ", ".join(dict.fromkeys(flagged["arm"]))
    collapsed = int(part.groupby("model")["collapsed_runs"].first().fillna(0).sum())
    tail = f"; {collapsed} collapsed run(s)" if collapsed else ""
    return ["", f"Not converged (a run behind the arm or the plain VAE short of its plateau, or a budget not enough for the joint template{tail}): {arms}."]


def portability_markdown(table: pd.DataFrame) -> str:
    """Per dataset and reference, arms as rows and metrics as columns; each cell raw [normalised]."""
    lines = [
        "# Portability: Bob's sequential runs in Alice's coordinates",
        "",
        "Every fitted map (Procrustes with scale and translation, ridge-regularised affine) is fitted on",
        "the R Rosetta pairs only and scored on the held-out points; 'relative' compares cosine",
        "similarities to the Rosetta anchors on both sides. Each cell: median (IQR) over seeds of the",
        "metric itself, then in brackets normalised by the plain VAE with no map (its median is 1).",
        "distance: mean squared distance / the reference's total variance (0 best); angular Procrustes",
        "distance (0 best); linear CKA (a similarity, 1 best).",
    ]
    for (dataset, reference, partition), part in table.groupby(["dataset", "reference", "partition"], sort=False):
        condition = part["condition"].iloc[0]
        points = "all held-out points" if partition == "all" else f"held-out {partition} points"
        lines += ["", f"## {dataset} ({condition}): against {REFERENCES[reference]}, {points}", ""]
        metrics = list(METRICS)
        lines.append("| arm | " + " | ".join(f"{METRIC_LABELS[m]} ({'0' if METRICS[m] == 'distance' else '1'} best)" for m in metrics) + " |")
        lines.append("|---" * (len(metrics) + 1) + "|")
        grid = part.set_index(["arm", "metric"])
        for arm in dict.fromkeys(part["arm"]):
            cells = [
                f"{_cell(grid.loc[(arm, m), 'raw_median'], grid.loc[(arm, m), 'raw_iqr'])}"
                f" [{_cell(grid.loc[(arm, m), 'median'], grid.loc[(arm, m), 'iqr'])}]"
                for m in metrics
            ]
            lines.append(f"| {arm} | " + " | ".join(cells) + " |")
        lines += _not_converged_line(part)
    return "\n".join(lines) + "\n"


def figure_portability(files: dict, path_png, path_pdf) -> None:
    """Per dataset: each arm's distance to Alice's D1 space (box over seeds), then Alice's D1
    points, Bob's R-VAE as trained and Bob's VAE + Procrustes on the shared points, in Alice's
    coordinates (seed 0; a UMAP fitted on Alice's latents where they are wider than 2).

    ``files[dataset]``: ``{"per_seed", "template", "rosetta", "rvae", "vae"}`` (the last two seed 0).
    """
    from matplotlib.ticker import NullFormatter

    from rvae.alignment import procrustes_alignment
    from rvae.paper.figures import Projector, scatter_by_label
    from rvae.paper.plots import plt, save_figure
    from rvae.vocabulary import MODEL_COLOURS

    datasets = list(files)
    fig, axes = plt.subplots(len(datasets), 4, figsize=(15, 3.2 * len(datasets)), squeeze=False)
    for row, dataset in enumerate(datasets):
        f = files[dataset]
        per_seed = pd.read_parquet(f["per_seed"])
        shown = per_seed[(per_seed["reference"] == "d1") & (per_seed["partition"] == "D1")]
        ax = axes[row, 0]
        groups = [shown[(shown["model"] == m) & (shown["alignment"] == a)]["distance"].to_numpy() for m, a in ARMS]
        box = ax.boxplot(groups, vert=False, patch_artist=True, widths=0.6)
        for patch, (model_kind, _) in zip(box["boxes"], ARMS):
            patch.set_facecolor(MODEL_COLOURS[model_kind])
            patch.set_alpha(0.6)
        ax.set_yticks(range(1, len(ARMS) + 1), [arm_label(m, a) for m, a in ARMS], fontsize=6)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # a range under a decade labels every minor tick, overlapping
        ax.set_xlabel("held-out D1 distance to Alice's space (log)", fontsize=7)
        ax.set_title(f"{dataset}: arms over seeds", fontsize=9)
        ax.tick_params(labelsize=6)

        template = read_embedding(f["template"])
        d1 = (template["partition"] == "D1").to_numpy()
        z_alice = latents(template)[d1]
        labels = template["label"].to_numpy()[d1]
        rosetta = load_rosetta_points(f["rosetta"])
        rows = rosetta_positions(template["point"].to_numpy()[d1], rosetta.point_ids, f["rosetta"])
        z_rvae = latents(read_embedding(f["rvae"]))[d1]
        z_vae = latents(read_embedding(f["vae"]))[d1]
        z_vae_aligned = procrustes_alignment(z_vae[rows], rosetta.z)(z_vae)
        project = Projector(z_alice)
        panels = (
            (z_alice, "Alice: D1 template"),
            (z_rvae, "Bob: R-VAE as trained"),
            (z_vae_aligned, "Bob: VAE + Procrustes on the Rosetta pairs"),
        )
        xy = [project(z) for z, _ in panels]
        lo, hi = np.percentile(np.vstack(xy), [0.5, 99.5], axis=0)
        pad = 0.05 * (hi - lo)
        for col, (points, (_, title)) in enumerate(zip(xy, panels), start=1):
            ax = axes[row, col]
            scatter_by_label(ax, points, labels, title, project.axis_names, legend=col == 1)
            ax.scatter(*project(rosetta.z.astype(np.float64)).T[:2], marker="x", c="k", s=12, linewidths=0.8)
            ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
            ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
    fig.suptitle("Portability: Bob's latents in Alice's coordinates (x: Alice's Rosetta points)", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path_png, path_pdf)
