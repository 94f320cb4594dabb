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
