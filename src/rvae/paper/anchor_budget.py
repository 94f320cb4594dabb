"""The anchor budget (spec, "Anchor budget"): how many Rosetta points Bob needs, and when training
with them beats aligning a plain VAE afterwards.

For each k of a dataset's grid, the sequential experiment's runs at the k-means condition with k
Rosetta points: Bob's R-VAE as trained and aligned afterwards by an affine map (``rvae+affine``:
does training with anchors add to aligning, or only replace it?), against his plain VAE aligned
post hoc on the same k pairs by each map class of latent-space translation (Maiorca et al. 2023),
each fitted after standard scaling on the anchors as those authors do
(``rvae.alignment.fit_map(..., standardise=True)``), and by relative representations. Every map
is fitted on the k pairs only and scored on the held-out points, as under "Portability"; the
distance is to Alice's coordinates, her D1 template's latent means.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rvae import defaults
from rvae.alignment import MAP_KINDS, heldout_distances
from rvae.embeddings import latents, read_embedding
from rvae.metrics import quartiles
from rvae.paper.cells import REST_D1, point_mask
from rvae.paper.portability import check_same_points, rosetta_positions
from rvae.rosetta_file import load_rosetta_points
from rvae.vocabulary import MODEL_LABELS

# (model kind, alignment) of every arm, in the order the table and the figure show them
ARMS = (
    ("rvae", "raw"),
    ("rvae", "affine"),
    *(("vae", kind) for kind in MAP_KINDS),
    ("vae", "relative"),
    ("vae", "raw"),
)
ALIGNMENT_LABELS = {"raw": "", "relative": " relative", **{kind: f" + {kind}" for kind in MAP_KINDS}}
# held-out points scored: Alice's own (D1 but the anchors), Bob's (D2), and both
PARTITIONS = {REST_D1: "held-out D1", "D2": "D2", "all": "all held-out"}
STANDARDISE = True  # per-dimension standard scaling on each side's anchors, as Maiorca et al.
PER_SEED_COLUMNS = ["partition", "model", "alignment", "seed", "k", "n", "distance", "rank", "determined", "reason"]
TIDY = [
    "table", "dataset", "experiment", "condition", "method", "k", "latent_dim", "partition", "model", "alignment", "arm",
    "metric", "median", "iqr", "q1", "q3", "n", "n_scored", "determined", "converged", "collapsed_runs", "note",
]  # fmt: skip


def arm_label(model_kind: str, alignment: str) -> str:
    """'R-VAE', 'R-VAE + affine', 'VAE + orthogonal', 'VAE relative', 'VAE' (no map)."""
    return MODEL_LABELS[model_kind] + ALIGNMENT_LABELS[alignment]


def per_seed(runs: dict, seeds: list[int], template_path, rosetta_path) -> pd.DataFrame:
    """Every arm's held-out distance to Alice's coordinates, per seed and partition.

    ``runs[model_kind]``: embedding files of the ``vae`` and ``rvae`` runs in ``seeds`` order;
    ``template_path``: Alice's D1 template embedding (every point); ``rosetta_path``: the k
    Rosetta points, whose ``z`` (Alice's latents at their inputs) the maps are fitted to.
    """
    rosetta = load_rosetta_points(rosetta_path)
    template = read_embedding(template_path)
    points = template["point"].to_numpy()
    partition = template["partition"].to_numpy().astype(str)
    anchors = rosetta_positions(points, rosetta.point_ids, rosetta_path)
    if not (partition[anchors] == "D1").all():
        raise ValueError(f"Rosetta file {rosetta_path}: some Rosetta points are not in D1")
    held = np.ones(len(points), dtype=bool)
    held[anchors] = False
    is_anchor = template.assign(is_rosetta=~held)  # the cells' point sets, with this file's points as R1
    scored = {REST_D1: point_mask(is_anchor, REST_D1), "D2": point_mask(is_anchor, "D2"), "all": held}
    z_alice = latents(template)
    records = []
    for model_kind, files in runs.items():
        arms = [alignment for kind, alignment in ARMS if kind == model_kind]
        for seed, path in zip(seeds, files):
            frame = read_embedding(path)
            check_same_points(frame, template, path, template_path)
            z = latents(frame)
            for name, rows in scored.items():
                # the anchors first, then the partition's held-out points: the maps see only the anchors
                keep = np.concatenate([anchors, np.flatnonzero(rows)])
                result = heldout_distances(
                    z[keep], z_alice[keep], np.arange(len(anchors)), arms, target_anchors=rosetta.z, standardise=STANDARDISE
                )
                records.append(result.rename(columns={"arm": "alignment"}).assign(partition=name, model=model_kind, seed=int(seed)))
    return pd.concat(records, ignore_index=True)[PER_SEED_COLUMNS]


def template_converged(diagnostics: dict | None) -> bool:
    """Alice's D1 template, whose latents every distance is measured to: converged and not
    collapsed (its diagnostics' ``d1`` entry, ``results/metrics/templates/<dataset>.json``)."""
    return True if diagnostics is None else bool(diagnostics["converged"] and not diagnostics["collapsed"])


def read_inputs(files: dict) -> tuple[dict, dict, dict]:
    """The per-seed frames, the runs' convergence and Alice's D1 template diagnostics that
    ``rvae.workflow.targets.anchor_budget_table`` names: what the table and the findings read."""
    import json
    from pathlib import Path

    per_seed = {d: {int(k): pd.read_parquet(path) for k, path in by_k.items()} for d, by_k in files["per_seed"].items()}
    convergence = {
        d: {int(k): {kind: pd.read_parquet(path) for kind, path in runs.items()} for k, runs in by_k.items()}
        for d, by_k in files["convergence"].items()
    }
    templates = {d: json.loads(Path(path).read_text())["d1"] for d, path in files["templates"].items()}
    return per_seed, convergence, templates


def summarise(per_seed_files: dict, conditions: dict, latent_dims: dict, convergence: dict | None = None, templates: dict | None = None) -> pd.DataFrame:
    """The tidy anchor-budget table: one row per dataset, k, partition and arm (median, IQR over seeds).

    ``per_seed_files[dataset][k]``: a :func:`per_seed` frame; ``conditions[dataset][k]``: the
    retraining's condition name; ``convergence[dataset][k]`` (optional): ``{model kind:
    diagnostics}``; ``templates[dataset]`` (optional): Alice's D1 template's diagnostics, which must
    have converged too. An arm with a seed it cannot score at this k (too few pairs for its class)
    has no median: the curve starts where every seed is scored.
    """
    from rvae.paper.tables import runs_state

    rows = []
    for dataset, by_k in per_seed_files.items():
        for k, frame in sorted(by_k.items()):
            state = convergence.get(dataset, {}).get(k) if convergence else None
            for partition in PARTITIONS:
                part = frame[frame["partition"] == partition]
                for model_kind, alignment in ARMS:
                    arm = part[(part["model"] == model_kind) & (part["alignment"] == alignment)].sort_values("seed")
                    values = arm["distance"].to_numpy(dtype=np.float64)
                    scored = np.isfinite(values)
                    if scored.all() and len(values):
                        q1, median, q3 = quartiles(values)
                        iqr = q3 - q1
                        note = ""
                    else:
                        median = iqr = q1 = q3 = float("nan")
                        reasons = sorted(set(arm.loc[~scored, "reason"]) - {""})
                        note = "; ".join(reasons) or ("no runs" if not len(values) else "a distance is not finite")
                    converged, collapsed = runs_state(state[model_kind], state[model_kind]) if state else (None, None)
                    if converged is not None:
                        converged = converged and template_converged((templates or {}).get(dataset))
                    rows.append(
                        {
                            "table": "anchor_budget", "dataset": dataset, "experiment": "sequential",
                            "condition": conditions[dataset][k], "method": defaults.SELECTION_METHOD, "k": int(k),
                            "latent_dim": int(latent_dims[dataset]), "partition": partition, "model": model_kind,
                            "alignment": alignment, "arm": arm_label(model_kind, alignment), "metric": "distance",
                            "median": median, "iqr": iqr, "q1": q1, "q3": q3, "n": len(values), "n_scored": int(scored.sum()),
                            "determined": bool(arm["determined"].all()) if len(arm) else False,
                            "converged": converged, "collapsed_runs": collapsed, "note": note,
                        }
                    )  # fmt: skip
    return pd.DataFrame(rows, columns=TIDY)


def best_posthoc(table: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, partition and k: the plain VAE's best map (lowest median) beside the R-VAE.
    ``relative`` is not a map into Alice's coordinates (its distance is between cosine vectors)."""
    out = []
    for (dataset, partition, k), part in table.groupby(["dataset", "partition", "k"], sort=False):
        posthoc = part[(part["model"] == "vae") & part["alignment"].isin(MAP_KINDS) & part["median"].notna()]
        rvae = part[(part["model"] == "rvae") & (part["alignment"] == "raw")]
        if posthoc.empty or rvae.empty:
            continue
        best = posthoc.loc[posthoc["median"].idxmin()]
        out.append({"dataset": dataset, "partition": partition, "k": k, "rvae": float(rvae["median"].iloc[0]),
                    "best_posthoc": best["arm"], "best_posthoc_alignment": best["alignment"], "best_posthoc_median": float(best["median"])})  # fmt: skip
    return pd.DataFrame(out)


def _cell(row) -> str:
    if not np.isfinite(row["median"]):
        return "n/a" if "anchor pairs" in row["note"] else "-"
    mark = "" if row["determined"] else "*"
    return f"{row['median']:.3f} ({row['iqr']:.3f}){mark}"


def markdown(table: pd.DataFrame) -> str:
    """Per dataset and partition, arms as rows and k as columns: median (IQR) over seeds."""
    lines = [
        "# Anchor budget: held-out distance to Alice's coordinates against the number of Rosetta points",
        "",
        "Bob's sequential runs at each k (k-means Rosetta points of Alice's D1 template). Every map is",
        "fitted on the k pairs only, after standard scaling of each side by its own anchors (per",
        "dimension, as Maiorca et al. 2023), and scored on the points that are not anchors. Each cell:",
        "median (IQR) over seeds of the mean squared distance to Alice's latent means divided by their",
        "total variance there (0: her coordinates; 1: no better than her mean). `*`: the k pairs do not",
        "determine the map (the anchors' rank is below the latent size); n/a: too few pairs for the class;",
        "-: a seed not scored (the note under the section says why). Scaling first gives every class the",
        "centring's translation: 'linear' is then least squares with an intercept (affine without its",
        "ridge), 'orthogonal' a rotation between the standardised coordinates. 'VAE relative' is not a",
        "map: its distance is between the two sides' cosines to their anchors (k numbers per point),",
        "normalised the same way, so compare it across k, not with the other rows.",
    ]
    for (dataset, partition), part in table.groupby(["dataset", "partition"], sort=False):
        ks = sorted(part["k"].unique())
        latent_dim = int(part["latent_dim"].iloc[0])
        lines += ["", f"## {dataset} (latent size {latent_dim}): {PARTITIONS[partition]} points", ""]
        lines.append("| arm | " + " | ".join(f"k = {k}" for k in ks) + " |")
        lines.append("|---" * (len(ks) + 1) + "|")
        for arm in dict.fromkeys(part["arm"]):
            cells = [_cell(part[(part["arm"] == arm) & (part["k"] == k)].iloc[0]) for k in ks]
            lines.append(f"| {arm} | " + " | ".join(cells) + " |")
        best = best_posthoc(part)
        if not best.empty:
            lines += ["", "Best post-hoc map per k: " + ", ".join(f"k = {r.k}: {r.best_posthoc} ({r.best_posthoc_median:.3f}) vs R-VAE {r.rvae:.3f}" for r in best.itertuples()) + "."]
        unscored = part[part["median"].isna() & ~part["note"].str.contains("anchor pairs")]
        if not unscored.empty:
            lines += ["", "Not scored: " + "; ".join(f"{r.arm} at k = {r.k} ({r.note})" for r in unscored.itertuples()) + "."]
        flagged = part[part["converged"] == False]  # noqa: E712 (True/False/None)
        if not flagged.empty:
            ks_flagged = sorted(set(flagged["k"]))
            lines += ["", f"Not converged (a run or Alice's D1 template short of its plateau, collapsed, or a budget not enough for the joint template) at k = {', '.join(map(str, ks_flagged))}."]
    return "\n".join(lines) + "\n"


def figure(table: pd.DataFrame, path_png, path_pdf=None) -> None:
    """Held-out distance against k, one line per arm with its IQR band; one row per dataset, one
    column per partition; the dotted line is the latent size (an affine map needs k > it)."""
    from rvae.paper.plots import plt, save_figure
    from rvae.vocabulary import MODEL_COLOURS

    datasets = list(dict.fromkeys(table["dataset"]))
    partitions = [p for p in PARTITIONS if p != "all"]
    fig, axes = plt.subplots(len(datasets), len(partitions), figsize=(5.2 * len(partitions), 3.2 * len(datasets) + 0.6), squeeze=False)
    # the R-VAE in its model colour; every post-hoc arm a colour of its own
    palette = [colour for i, colour in enumerate(plt.get_cmap("tab10").colors) if i != 2]  # no second green
    colours = {("rvae", "raw"): MODEL_COLOURS["rvae"], **{arm: palette[i % len(palette)] for i, arm in enumerate(ARMS[1:])}}
    handles = {}
    for r, dataset in enumerate(datasets):
        for c, partition in enumerate(partitions):
            ax = axes[r, c]
            part = table[(table["dataset"] == dataset) & (table["partition"] == partition)]
            for model_kind, alignment in ARMS:
                arm = part[(part["model"] == model_kind) & (part["alignment"] == alignment)].sort_values("k")
                if arm["median"].notna().sum() == 0:
                    continue
                colour = colours[(model_kind, alignment)]
                main = (model_kind, alignment) == ("rvae", "raw")
                (line,) = ax.plot(arm["k"], arm["median"], linestyle="-" if model_kind == "rvae" else "--", marker="o", ms=3,
                                  color=colour, lw=2.2 if main else 1.1)  # fmt: skip
                ax.fill_between(arm["k"], arm["q1"], arm["q3"], color=colour, alpha=0.12)
                handles.setdefault(arm_label(model_kind, alignment), line)
            ax.axvline(int(part["latent_dim"].iloc[0]), color="grey", linestyle=":", lw=0.8)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("Rosetta points k (log2)", fontsize=8)
            ax.set_ylabel("held-out distance to Alice (log)", fontsize=8)
            ax.set_title(f"{dataset}: {PARTITIONS[partition]} points", fontsize=9)
            ax.tick_params(labelsize=7)
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=4, fontsize=7, frameon=False)
    fig.suptitle("Anchor budget: median and IQR over seeds (dotted: latent size)", fontsize=10)
    fig.tight_layout(rect=(0, 0.55 / fig.get_figheight(), 1, 1))
    save_figure(fig, path_png, path_pdf)
