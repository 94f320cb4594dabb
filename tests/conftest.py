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


class LogLines:
    """The messages of the ``rvae`` loggers, in order; ``on_line`` may raise to stop a run mid-way."""

    def __init__(self):
        import logging

        self.lines: list[str] = []
        self.on_line = None
        outer = self

        class Handler(logging.Handler):
            def emit(self, record):
                outer.lines.append(record.getMessage())
                if outer.on_line is not None:
                    outer.on_line(outer.lines[-1])

        self.handler = Handler()


@pytest.fixture
def log_lines():
    import logging

    capture = LogLines()
    logger = logging.getLogger("rvae")
    level = logger.level
    logger.addHandler(capture.handler)
    logger.setLevel(logging.INFO)
    yield capture
    logger.removeHandler(capture.handler)
    logger.setLevel(level)
