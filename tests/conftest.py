"""Shared fixtures. The fast path is ``bash test.sh -m fast``: every test not marked ``slow``
(docs/testing.md gives its time and what it leaves out); ``bash test.sh`` runs everything."""

import numpy as np
import pytest
import torch


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def step_agrees_to_rounding():
    """``check(build, x, eps, model=..., loss=...)``: a float32 training step computed another way
    (another loss function, e.g. compiled, or the model transformed, e.g. another layout) is the
    eager step up to rounding. Bound from the computation: the float64 loss and gradient are
    exact; the variant may be off them by at most 4x the eager float32 step plus 8 float32 ulps
    (fused or reordered kernels sum in another order)."""
    from rvae.losses import batch_loss

    def check(build, x, eps, model=lambda m: m, loss=batch_loss):
        def loss_and_grad(net, fn):
            dtype = next(net.parameters()).dtype
            parts = fn(net, x.to(dtype), eps.to(dtype), 2.0, 10.0)
            parts.total.backward()
            return float(parts.total.detach()), torch.cat([p.grad.flatten().double() for p in net.parameters()])

        loss_v, grad_v = loss_and_grad(model(build()), loss)
        loss_e, grad_e = loss_and_grad(build(), batch_loss)
        loss_x, grad_x = loss_and_grad(build().double(), batch_loss)
        ulps = 8 * np.finfo(np.float32).eps
        assert abs(loss_v - loss_x) <= 4 * abs(loss_e - loss_x) + ulps * abs(loss_x)
        assert float((grad_v - grad_x).norm()) <= 4 * float((grad_e - grad_x).norm()) + ulps * float(grad_x.norm())

    return check


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

    def killed_at(self, text: str, train) -> None:
        """Run ``train()`` and kill it at the first log line holding ``text`` (as a kill would, after
        its last checkpoint); then clear the lines, so the next run's are its own."""

        class Killed(Exception):
            pass

        def kill(line):
            if text in line:
                raise Killed

        self.on_line = kill
        try:
            train()
        except Killed:
            pass
        else:
            raise AssertionError(f"the run never logged {text!r}")
        finally:
            self.on_line = None
        self.lines.clear()


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


def pytest_collection_modifyitems(config, items):
    """Mark every test that is not ``slow`` as ``fast``, so the fast path is one name."""
    for item in items:
        if item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.fast)


def string_literals(path):
    """String constants of a Python file that are not docstrings, f-strings joined (the one-home tests)."""
    import ast
    from pathlib import Path

    path = Path(path)
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.value
        elif isinstance(node, ast.JoinedStr):
            yield "".join(v.value for v in node.values if isinstance(v, ast.Constant))
