"""Does a model still reproduce a Rosetta file's latents? (`rvae verify`)

The model encodes the file's inputs and each result is compared with the file's latent. For the
file's own template (fingerprints equal: Alice on a new machine or torch version) the only
honest difference is float rounding, and :func:`rounding_bound` computes how large it can be;
for any other model (Bob's R-VAE) the distances are reported and the caller sets the bar.

The bound assumes what the CPU kernel paths tested do (tests/test_cpu_paths.py): every Linear
and Conv2d output summed directly (any order, blocked or vectorised, GEMM or im2col, with or
without FMA) in the file's precision. A Winograd or FFT convolution rounds transformed operands
and TF32 matrix units round each product to 10 mantissa bits: both exceed it, so a verdict on
such kernels (some GPU paths) may fail a model that is unchanged. ``export_rosetta`` encodes on
the CPU for that reason. The portability distance is measured on the file's own inputs: for a
model trained on them (Bob's R-VAE) it is in-sample, a lower bound on its distance elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from rvae.alignment import normalised_distance
from rvae.inference import encode_means
from rvae.layers import ResidualBlock
from rvae.models import VAE, fingerprint
from rvae.rosetta_file import RosettaPoints


def unit_roundoff(dtype) -> float:
    """``u``: half the spacing of floats at 1 (2^-24 for float32)."""
    return float(np.finfo(dtype).eps) / 2


def rounding_bound(model: VAE, x: np.ndarray, dtype=np.float32) -> np.ndarray:
    """(R, k): per input and latent coordinate, how far rounding can move one forward pass's mean.

    The derivation (forward error analysis, Higham, *Accuracy and Stability of Numerical
    Algorithms*, 2nd ed., Sec. 3.1): in a float format of unit roundoff ``u`` (the file's latents
    are float32, and ``encode_means`` computes in float32), a computed sum of ``n`` products
    satisfies ``|fl(s) - s| <= gamma_n sum |a_i b_i|`` with ``gamma_n = n u / (1 - n u)``, in
    *any* order of summation: blocked, vectorised, with or without FMA, which is all a kernel
    path changes. Each ``Linear`` and ``Conv2d`` output ``y = b + sum w x`` (fan-in ``n``:
    in_features, or in_channels x kernel height x width) therefore carries a rounding error at
    most ``e = gamma_{n+1} (|b| + |W| |x|)``, computed here from the model's own weights and the
    actual operands (a forward pass with absolute values); the residual addition adds at most
    ``u |y|``; ReLU and reshapes are exact. An error ``e_l`` made at layer ``l`` reaches the mean
    ``mu_j`` through the rest of the network, to first order by ``|d mu_j / d y_l| e_l``
    (the Jacobian, computed by autograd in float64), so
    ``|mu_j~ - mu_j| <= sum_l |J_l[j]| . e_l + O(u^2)``. Two machines each stay within this of
    the exact value, so they differ by at most twice it: that is :func:`verify_points`'s default
    tolerance. Worst case by construction (typical errors grow like ``sqrt(n) u``, not ``n u``);
    the first-order term ignores a pre-activation within its own error of 0 switching ReLU sides.
    """
    u = unit_roundoff(dtype)
    net = _double_copy(model)
    probes: list[torch.Tensor] = []
    errors: list[torch.Tensor] = []

    def gamma(n: int) -> float:
        return n * u / (1 - n * u)

    def hook(module, inputs, output):
        (given,) = inputs
        if isinstance(module, nn.Linear):
            size = gamma(module.in_features + 1) * nn.functional.linear(given.abs(), module.weight.abs(), _abs(module.bias))
        elif isinstance(module, nn.Conv2d):
            fan_in = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            size = gamma(fan_in + 1) * nn.functional.conv2d(given.abs(), module.weight.abs(), _abs(module.bias),
                                                            module.stride, module.padding, module.dilation, module.groups)  # fmt: skip
        else:  # the residual block's addition
            size = u * output.abs()
        probe = torch.zeros_like(output, requires_grad=True)
        probes.append(probe)
        errors.append(size.detach())
        return output + probe

    kinds = (nn.Linear, nn.Conv2d, ResidualBlock)
    handles = [m.register_forward_hook(hook) for m in (*net.encoder.modules(), net.heads.mu) if isinstance(m, kinds)]
    unknown = [type(m).__name__ for m in net.encoder.modules() if isinstance(m, nn.modules.conv._ConvNd) and not isinstance(m, nn.Conv2d)]
    if unknown:
        raise ValueError(f"no rounding bound for layers {sorted(set(unknown))}")
    try:
        mu = net.heads.mu(net.encoder(torch.as_tensor(np.asarray(x, dtype=np.float32)).double()))
    finally:
        for handle in handles:
            handle.remove()
    bound = np.zeros(tuple(mu.shape))
    for j in range(mu.shape[1]):
        grads = torch.autograd.grad(mu[:, j].sum(), probes, retain_graph=True)
        bound[:, j] = sum((g.abs() * e).flatten(1).sum(1) for g, e in zip(grads, errors)).numpy()
    return bound


def _abs(bias):
    return None if bias is None else bias.abs()


def _double_copy(model: VAE) -> VAE:
    import copy

    net = copy.deepcopy(model).double().eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


@dataclass(frozen=True)
class Verification:
    """A model against a Rosetta file's latents: per point, in summary, and the verdict."""

    points: pd.DataFrame  # point, error (||mu(x_r) - z_r||), bound (the point's tolerance)
    portability_distance: float  # normalised distance to the file's latents on the file's inputs (0 best; in-sample for Bob's model)
    max_error: float
    worst_point: int
    tolerance: float | None  # None: no bar (another model, no --tol)
    tolerance_source: str
    same_template: bool

    @property
    def passed(self) -> bool | None:
        if self.tolerance is None:
            return None
        return bool((self.points["error"] <= self.points["bound"]).all())


def verify_points(
    model: VAE, points: RosettaPoints, tol: float | None = None, where: str = "the Rosetta file", rounding: bool | None = None
) -> Verification:  # fmt: skip
    """Encode the file's inputs with ``model`` and compare with its latents.

    Tolerance: ``tol`` (a distance in latent units, for every point) where given; else, for the
    file's own template, per point twice the Euclidean norm of :func:`rounding_bound` (the file
    holds float32 latents); else none, and the result only reports. ``rounding=True`` holds any
    model to its own rounding bound (is this model, whatever its fingerprint, the one that wrote
    the file?); ``False`` never does.
    """
    if tol is not None and not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"--tol must be a number >= 0, got {tol}")
    points.check_compatible(model.spec.input_shape, model.latent_dim, where)
    z = encode_means(model, points.x).astype(np.float64)
    error = np.linalg.norm(z - points.z.astype(np.float64), axis=1)
    same = points.metadata.get("template_kind", "rvae") == "rvae" and points.metadata["template_fingerprint"] == fingerprint(model)
    if tol is not None:
        bound, source = np.full(len(points), float(tol)), f"--tol {tol:g}"
    elif same if rounding is None else rounding:
        bound = 2 * np.linalg.norm(rounding_bound(model, points.x, points.z.dtype), axis=1)
        source = "float32 rounding of one forward pass, twice (two machines), per point"
    else:
        bound, source = np.full(len(points), np.nan), "none (not the file's template; give --tol)"
    worst = int(np.argmax(error))
    frame = pd.DataFrame({"point": points.point_ids, "error": error, "bound": bound})
    distance = normalised_distance(z, points.z) if len(points) > 1 else float("nan")
    tolerance = float(bound.max()) if np.isfinite(bound).all() else None
    return Verification(frame, distance, float(error[worst]), int(points.point_ids[worst]), tolerance, source, same)


def verdict_line(result: Verification) -> str:
    """The one line `rvae verify` ends with."""
    template = "the file's template" if result.same_template else "not the file's template"
    summary = (f"largest per-point error {result.max_error:.3g} (point {result.worst_point}), portability distance on the file's "
               f"{len(result.points)} inputs {result.portability_distance:.3g}")  # fmt: skip
    if result.passed is None:
        return f"REPORTED ({template}): {summary}; no tolerance set (give --tol)"
    over = int((result.points["error"] > result.points["bound"]).sum())
    if result.passed:
        return f"PASS ({template}): {summary}, every point within its tolerance ({result.tolerance_source})"
    return f"FAIL ({template}): {summary}; {over} of {len(result.points)} points outside the tolerance ({result.tolerance_source})"
