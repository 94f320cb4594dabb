import numpy as np
import pytest
import torch


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _single_thread():
    """Tests compare bit-exact results; keep the thread count fixed for them."""
    torch.set_num_threads(1)
    yield


def paper_data_layout(root):
    """Empty stand-ins for config/paper.yaml's data paths (relative), so its config checks pass."""
    from pathlib import Path

    for sub in ("data/mnist", "data/rendered_chairs", *(f"data/birdsong/bird{i}" for i in range(1, 5))):
        (Path(root) / sub).mkdir(parents=True, exist_ok=True)
    return root
