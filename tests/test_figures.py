"""Figures are outputs too: drawn again from the same inputs, they are the same bytes."""

import numpy as np
import pandas as pd

from rvae.paper.plots import plt, save_figure, strips


def test_a_strip_figure_is_the_same_bytes_when_drawn_again(tmp_path):
    table = pd.DataFrame({"model": ["vae"] * 20 + ["rvae"] * 20, "value": np.linspace(0.0, 1.0, 40)})

    def draw(name):
        fig, ax = plt.subplots(figsize=(3, 2))
        strips(data=table, x="model", y="value", ax=ax)
        save_figure(fig, tmp_path / f"{name}.png", tmp_path / f"{name}.pdf")

    draw("first")
    np.random.rand(7)  # other code moved numpy's global generator on in between
    draw("second")
    for ext in ("png", "pdf"):
        assert (tmp_path / f"first.{ext}").read_bytes() == (tmp_path / f"second.{ext}").read_bytes(), ext
    assert b"CreationDate" not in (tmp_path / "first.pdf").read_bytes()
