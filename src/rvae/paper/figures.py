"""The paper's figures (2, 4, 5, 6, 7) and training curves, from embedding and metric files."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from rvae.embeddings import latents, read_embedding
from rvae.inference import encode_means
from rvae.metrics import fit_affine_map, normalise_rv
from rvae.paper.cells import REST_D1, cell_values
from rvae.paper.plots import plt, save_figure, strips
from rvae.vocabulary import MODEL_COLOURS, MODEL_LABELS

FIGURE_MODELS = ("rvae", "vae", "beta_vae")


class Projector:
    """One 2-D projection fitted on a reference embedding and applied to the others.

    UMAP (umap-learn) for latents wider than 2; 2-D latents are shown as they are.
    """

    def __init__(self, reference: np.ndarray, seed: int = 0):
        self.identity = reference.shape[1] <= 2
        if not self.identity:
            import umap

            self.umap = umap.UMAP(n_neighbors=15, min_dist=0.1, random_state=seed, n_jobs=1).fit(reference)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        if self.identity:
            return z if z.shape[1] == 2 else np.hstack([z, np.zeros((len(z), 1))])
        return self.umap.transform(z)

    @property
    def axis_names(self) -> tuple[str, str]:
        return ("z0", "z1") if self.identity else ("UMAP 1", "UMAP 2")


def scatter_by_label(ax, xy: np.ndarray, labels: np.ndarray, title: str, axis_names, legend: bool = False) -> None:
    points = ax.scatter(xy[:, 0], xy[:, 1], c=labels, cmap="tab10", s=3, linewidths=0, vmin=0, vmax=9)
    if legend:
        from matplotlib.lines import Line2D

        cmap = plt.get_cmap("tab10")
        handles = [
            Line2D([], [], marker="o", linestyle="", markersize=3, color=cmap(int(u)), label=str(int(u)))
            for u in np.unique(labels)
        ]
        ax.legend(handles=handles, fontsize=5, title="label", title_fontsize=5, loc="best", ncol=2)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(axis_names[0], fontsize=7)
    ax.set_ylabel(axis_names[1], fontsize=7)
    ax.tick_params(labelsize=6)


def figure_reproducibility(panels: dict, rv: dict, path_png, path_pdf) -> None:
    """Figure 2. ``panels[dataset] = {"template": file, model: file}``; ``rv[dataset][model]`` = RV file."""
    datasets = list(panels)
    fig = plt.figure(figsize=(13, 2.9 * len(datasets) + 0.4), layout="constrained")
    grid = fig.add_gridspec(len(datasets), 6, width_ratios=[1, 1, 1, 1, 0.15, 1.4])
    for r, dataset in enumerate(datasets):
        template = read_embedding(panels[dataset]["template"])
        d1 = template["partition"] == "D1"
        project = Projector(latents(template[d1]))
        columns = [("D1 template", template)] + [
            (f"{MODEL_LABELS[m]} (seed 0)", read_embedding(panels[dataset][m])) for m in FIGURE_MODELS
        ]
        for c, (title, frame) in enumerate(columns):
            frame = frame[frame["partition"] == "D1"]
            ax = fig.add_subplot(grid[r, c])
            scatter_by_label(ax, project(latents(frame)), frame["label"].to_numpy() % 10, f"{dataset}: {title}", project.axis_names, legend=c == 0)
        ax = fig.add_subplot(grid[r, 5])
        vae = pd.read_parquet(rv[dataset]["vae"])
        rows = []
        for model, file in rv[dataset].items():
            values = normalise_rv(cell_values(pd.read_parquet(file), "rv", REST_D1), cell_values(vae, "rv", REST_D1))
            rows += [{"model": MODEL_LABELS[model], "RV": v} for v in values[np.isfinite(values)]]
        table = pd.DataFrame(rows)
        order = [MODEL_LABELS[m] for m in rv[dataset] if MODEL_LABELS[m] in set(table["model"])]
        palette = {MODEL_LABELS[m]: MODEL_COLOURS[m] for m in rv[dataset]}
        import seaborn as sns

        sns.boxplot(data=table, x="model", y="RV", order=order, hue="model", palette=palette, ax=ax, fliersize=1, legend=False)
        ax.set_title(f"{dataset}: RV, rest of D1", fontsize=9)
        ax.set_ylabel("RV - median VAE RV (log volume)", fontsize=7)
        ax.set_xlabel("")
        ax.tick_params(labelsize=6)
    fig.suptitle("Figure 2: reproducibility. Latent spaces of D1 (colour: label) and retraining variability", fontsize=11)
    save_figure(fig, path_png, path_pdf)


def figure_sequential(panels: dict, corrected: bool, path_png, path_pdf) -> None:
    """Figures 4 (``corrected``: runs mapped by ``A z + b`` onto the joint template) and 5."""
    datasets = list(panels)
    titles = ["joint template", "D1 template"] + [MODEL_LABELS[m] for m in FIGURE_MODELS]
    fig, axes = plt.subplots(len(datasets), 5, figsize=(13, 2.7 * len(datasets)), squeeze=False)
    for r, dataset in enumerate(datasets):
        joint = read_embedding(panels[dataset]["joint"])
        z_joint = latents(joint)
        project = Projector(z_joint)
        frames = [joint, read_embedding(panels[dataset]["d1"])] + [read_embedding(panels[dataset][m]) for m in FIGURE_MODELS]
        for c, (title, frame) in enumerate(zip(titles, frames)):
            z = latents(frame)
            if corrected and c > 0:
                A, b = fit_affine_map(z, z_joint)
                z = z @ A.T + b
            scatter_by_label(axes[r, c], project(z), frame["label"].to_numpy() % 10, f"{dataset}: {title}", project.axis_names, legend=c == 0)
    kind = "after the linear correction A z + b" if corrected else "without linear correction"
    number = 4 if corrected else 5
    fig.suptitle(f"Figure {number}: sequential training, {kind} (all D1 and D2 points; colour: label)", fontsize=11)
    fig.tight_layout()
    save_figure(fig, path_png, path_pdf)


def figure_linear_maps(lsd_files: dict, path6_png, path6_pdf, path7_png, path7_pdf) -> None:
    """Figure 6 (spectra of P in A = U P, and ||I - A/||A||_2||_F) and Figure 7 (||b||)."""
    datasets = list(lsd_files)
    frames = []
    for dataset in datasets:
        for model, file in lsd_files[dataset].items():
            frame = pd.read_parquet(file)
            frame["dataset"], frame["model"] = dataset, MODEL_LABELS[model]
            frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    palette = {MODEL_LABELS[m]: c for m, c in MODEL_COLOURS.items()}
    fig, axes = plt.subplots(2, len(datasets), figsize=(max(6.0, 3.3 * len(datasets)), 6), squeeze=False)
    for c, dataset in enumerate(datasets):
        ax = axes[0, c]
        present = table[table["dataset"] == dataset]
        for model in [MODEL_LABELS[m] for m in MODEL_LABELS if MODEL_LABELS[m] in set(present["model"])]:
            group = present[present["model"] == model]
            spectra = np.stack([np.asarray(s) for s in group["spectrum"]])
            index = np.arange(1, spectra.shape[1] + 1)
            ax.plot(index, np.median(spectra, 0), color=palette[model], label=model)
            ax.fill_between(index, spectra.min(0), spectra.max(0), color=palette[model], alpha=0.2)
        ax.set_title(f"{dataset}: eigenvalues of P", fontsize=9)
        ax.set_xlabel("eigenvalue index (descending)", fontsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("eigenvalue (log scale)", fontsize=7)
        ax.set_yscale("log")
        ax.legend(fontsize=6)
        ax = axes[1, c]
        sub = table[table["dataset"] == dataset]
        strips(data=sub, x="model", y="distance_from_identity", hue="model", palette=palette, ax=ax, legend=False)
        ax.set_title(f"{dataset}: distance of A from identity", fontsize=9)
        ax.set_ylabel("||I - A/||A||_2||_F", fontsize=7)
        ax.set_xlabel("")
    fig.suptitle("Figure 6: linear maps from sequentially trained latent spaces to the joint template", fontsize=11)
    fig.tight_layout()
    save_figure(fig, path6_png, path6_pdf)

    fig, axes = plt.subplots(1, len(datasets), figsize=(max(6.0, 3.3 * len(datasets)), 3), squeeze=False)
    for c, dataset in enumerate(datasets):
        sub = table[table["dataset"] == dataset]
        strips(data=sub, x="model", y="bias_norm", hue="model", palette=palette, ax=axes[0, c], legend=False)
        axes[0, c].set_title(f"{dataset}: bias of the linear map", fontsize=9)
        axes[0, c].set_ylabel("||b||_2 (latent units)", fontsize=7)
        axes[0, c].set_xlabel("")
    fig.suptitle("Figure 7: biases of the linear maps", fontsize=11)
    fig.tight_layout()
    save_figure(fig, path7_png, path7_pdf)


def figure_training_curves(histories: dict, path_png, path_pdf) -> None:
    """Loss parts by optimiser step (the budget's unit), median and range over seeds; on the loss
    panel the validation negative ELBO (dashed), the curve the plateau rule judges.
    ``histories[(dataset, model)] = [files]``."""
    parts = ["loss", "recon", "kl", "rosetta"]
    datasets = list(dict.fromkeys(d for d, _ in histories))
    fig, axes = plt.subplots(len(datasets), len(parts), figsize=(12, 2.6 * len(datasets)), squeeze=False)
    for (dataset, model), files in histories.items():
        r = datasets.index(dataset)
        runs = [pd.read_parquet(f) for f in files]
        steps = runs[0]["step"].to_numpy()
        for c, part in enumerate(parts):
            ax = axes[r, c]
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if part == "rosetta" and model != "rvae":
                continue  # only the R-VAE has an anchor term
            values = np.stack([run[part].to_numpy() for run in runs])
            ax.plot(steps, np.median(values, 0), color=MODEL_COLOURS[model], label=MODEL_LABELS[model])
            ax.fill_between(steps, values.min(0), values.max(0), color=MODEL_COLOURS[model], alpha=0.2)
            if part == "loss" and all("val_neg_elbo" in run for run in runs):
                val = np.stack([run["val_neg_elbo"].to_numpy() for run in runs])
                ax.plot(steps, np.median(val, 0), color=MODEL_COLOURS[model], linestyle="--", linewidth=0.8)
            ax.set_title(f"{dataset}: {part}" + (" (dashed: validation)" if part == "loss" else ""), fontsize=9)
            ax.set_xlabel("optimiser step", fontsize=7)
            ax.set_ylabel("per-point mean (nats)" if part != "rosetta" else "anchor error (squared units)", fontsize=7)
            ax.tick_params(labelsize=6)
    axes[0, 0].legend(fontsize=6)
    fig.suptitle("Training curves of the sequential runs (median and range over seeds)", fontsize=11)
    fig.tight_layout()
    save_figure(fig, path_png, path_pdf)


def figure_sweeps(candidates: list[dict], path_png, path_pdf) -> None:
    """Hyperparameter sweeps: validation yardstick per candidate value, chosen value marked.

    Each candidate dict carries ``experiment``, ``dataset``, ``param``, ``value``, ``score``.
    """
    table = pd.DataFrame(candidates)
    panels = list(table.groupby(["dataset", "param"]).groups)
    fig, axes = plt.subplots(1, len(panels), figsize=(max(6.0, 3.6 * len(panels)), 3.2), squeeze=False)
    for ax, (dataset, param) in zip(axes[0], panels):
        sub = table[(table["dataset"] == dataset) & (table["param"] == param)]
        for experiment, group in sub.groupby("experiment"):
            group = group.sort_values("value")
            ax.plot(group["value"], group["score"], marker="o", label=experiment)
            best = group.loc[group["score"].idxmin()]
            ax.scatter([best["value"]], [best["score"]], s=120, facecolors="none", edgecolors="k")
        yardstick = "val. neg. ELBO at beta=1" if param == "beta" else "val. neg. ELBO + anchor error"
        ax.set_title(f"{dataset}: {param} sweep", fontsize=9)
        ax.set_xlabel(param, fontsize=8)
        ax.set_ylabel(f"{yardstick} (nats)", fontsize=7)
        ax.legend(fontsize=6)
    fig.suptitle("Hyperparameter sweeps (circled: chosen value)", fontsize=11)
    fig.tight_layout()
    save_figure(fig, path_png, path_pdf)


def figure_shared(z: np.ndarray, labels: np.ndarray, points, model, name: str, align: str = "none"):
    """A receiving lab's points in the sender's latent space, the shared points marked.

    ``z``: the points as the run's embedding holds them, mapped by the arm ``align`` (fitted on
    the file's pairs); the model's encodings of the Rosetta inputs are mapped by the same arm. A
    linear view (the two principal axes of the sender's Rosetta latents), so distances to the
    anchors are not distorted the way a UMAP would distort them.
    """
    from rvae.sharing import choose_alignment

    own = encode_means(model, points.x)
    mapped = choose_alignment(own, points.z, align)(own)
    if z.shape[1] <= 2:
        project = (lambda a: a if a.shape[1] == 2 else np.hstack([a, np.zeros((len(a), 1))]))
        axis_names = ("z0", "z1")
    else:
        centre = points.z.mean(0)
        _, _, vt = np.linalg.svd(points.z - centre, full_matrices=False)
        project = (lambda a: (a - centre) @ vt[:2].T)
        axis_names = ("PC 1 of the shared latents", "PC 2")
    fig, ax = plt.subplots(figsize=(6, 5))
    scatter_by_label(ax, project(z), labels % 10, f"{name}: own points in the shared latent space", axis_names, legend=True)
    target, got = project(points.z), project(mapped)
    for a, b in zip(target, got):
        ax.plot([a[0], b[0]], [a[1], b[1]], color="0.3", linewidth=0.6)
    ax.scatter(target[:, 0], target[:, 1], marker="*", s=70, color="black", label="sender's Rosetta latents")
    ax.scatter(got[:, 0], got[:, 1], marker="o", s=25, facecolors="none", edgecolors="crimson",
               label="this model's encoding of them")  # fmt: skip
    label_legend = ax.get_legend()
    handles, names = ax.get_legend_handles_labels()
    ax.legend(handles[-2:], names[-2:], fontsize=6, loc="lower right")
    if label_legend is not None:
        ax.add_artist(label_legend)
    return fig
