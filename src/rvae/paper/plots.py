"""Figure plumbing: the Agg backend, dataset examples, atomic PNG/PDF writing (colours and labels: rvae.vocabulary)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from rvae.atomic import atomic_path  # noqa: E402


def _show(ax, x: np.ndarray, spectrogram: bool = False) -> None:
    """Spectrograms (rows: ascending frequency) get a colour map and low frequencies at the bottom."""
    x = np.asarray(x)
    if x.ndim == 1:  # vector data (8 Gaussians): draw the first two coordinates as a point
        ax.scatter([x[0]], [x[1]], s=30, c="k")
        ax.set_xlim(-6, 6)
        ax.set_ylim(-6, 6)
        ax.set_aspect("equal")
        return
    image = x[0]
    ax.imshow(image, cmap="magma" if spectrogram else "gray", origin="lower" if spectrogram else "upper", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_dataset_examples(datasets: dict, path, per_partition: int = 4, seed: int = 0) -> None:
    """Rows: dataset x partition; columns: random examples (vector data as a scatter of all points)."""
    rng = np.random.default_rng(seed)
    rows = [(name, part) for name in datasets for part in ("D1", "D2")]
    fig, axes = plt.subplots(len(rows), per_partition, figsize=(1.8 * per_partition, 1.9 * len(rows)), squeeze=False)
    for r, (name, part) in enumerate(rows):
        data = datasets[name]
        ids = data.rows(part)
        labels = data.points.set_index("point")["label_name"]
        if len(data.input_shape) == 1:
            ax = axes[r, 0]
            for other in ("D1", "D2"):
                pts = np.asarray(data.x[data.rows(other)])
                ax.scatter(pts[:, 0], pts[:, 1], s=2, c="#bbbbbb" if other != part else "#4C72B0")
            ax.set_aspect("equal")
            ax.set_title(f"{name} {part} (blue), dims 0-1", fontsize=7)
            for c in range(1, per_partition):
                axes[r, c].axis("off")
            continue
        for c, point in enumerate(rng.choice(ids, size=min(per_partition, len(ids)), replace=False)):
            _show(axes[r, c], data.x[point], spectrogram=data.info.get("dataset") == "birdsong")
            axes[r, c].set_title(f"{name} {part}: {labels[point]}", fontsize=7)
    fig.suptitle("Examples per dataset and partition", fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def save_figure(fig, path_png, path_pdf=None) -> None:
    """PNG (and PDF) written atomically; the figure is closed. The PDF carries no creation date,
    so a rerun writes the same bytes."""
    with atomic_path(path_png) as tmp:
        fig.savefig(tmp, dpi=110, format="png", bbox_inches="tight")
    if path_pdf is not None:
        with atomic_path(path_pdf) as tmp:
            fig.savefig(tmp, format="pdf", bbox_inches="tight", metadata={"CreationDate": None})
    plt.close(fig)


def strips(**kwargs) -> None:
    """``sns.stripplot`` with its jitter seeded: seaborn draws it from numpy's global generator,
    so an unseeded figure differs between reruns. The global state is put back afterwards, so
    drawing a figure leaves no trace on anyone else's draws."""
    import seaborn as sns

    state = np.random.get_state()
    np.random.seed(0)
    try:
        sns.stripplot(**kwargs)
    finally:
        np.random.set_state(state)
