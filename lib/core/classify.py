"""Is a pipeline linear, is it row/column separable, and what is its operator? Decided by measurement.

Linearity rests on two residuals over random images a, b: superposition |f(a + b) - f(a) - f(b)| and
scaling |f(s a) - s f(a)|, in gray levels (float rounding leaves about 1e-4; a saturating or curved step
leaves whole levels). For a linear pipeline the operator is read off by feeding it the 3,072 basis images
(one pixel of one channel on): column i of the matrix is the response to image i. That matrix is then
checked against the pipeline on random images, and factored as a channel mix times one spatial map (the
rank-1 ratio of its channel blocks) and the spatial map as a Kronecker product A ⊗ B, the row/column
separable form Y = A G B^T (the rank-1 ratio of its rearrangement). Ratios are sigma_2 / sigma_1: zero,
up to float rounding, when the structure holds exactly.
"""

from dataclasses import dataclass

import torch

from lib.core.constants import GRAY_LEVELS, IN_SHAPE
from lib.core.fit import LinearFit, factor_channels, nearest_kronecker
from lib.core.spec import Spec

LINEAR_TOL_GRAY = 1e-3  # residuals below this (gray levels) are float rounding, not non-linearity
STRUCTURE_TOL = 1e-5  # a rank-1 ratio below this means the structure holds up to float rounding


@dataclass
class Probe:
    """What the measurements say about one pipeline."""

    superposition_gray: float  # max |f(a + b) - f(a) - f(b)|, gray levels
    scaling_gray: float  # max |f(s a) - s f(a)|, gray levels
    linear: bool
    matrix: torch.Tensor | None = None  # (C * H * W, 3 * 32 * 32) float64, linear pipelines only
    operator_gray: float | None = None  # max |matrix @ x - f(x)| on random images, gray levels
    channel_ratio: float | None = None  # sigma_2 / sigma_1 of the channel factorisation
    kronecker_ratio: float | None = None  # sigma_2 / sigma_1 of the spatial map as A ⊗ B
    separable: bool | None = None

    def row(self) -> dict:
        """The decision and the residuals it rests on, for a table."""
        return {k: v for k, v in vars(self).items() if k != "matrix"}


@torch.no_grad()
def operator_matrix(spec: Spec, chunk: int = 1024) -> torch.Tensor:
    """The pipeline's response to every basis image, as a (C * H * W, 3072) float64 matrix."""
    d = torch.Size(IN_SHAPE).numel()
    basis = torch.eye(d).view(d, *IN_SHAPE)
    return torch.cat([spec(basis[i : i + chunk]).flatten(1).double() for i in range(0, d, chunk)]).T


@torch.no_grad()
def classify(spec: Spec, n: int = 64, seed: int = 0) -> Probe:
    """Measure linearity on ``n`` random image pairs; for a linear pipeline, probe and factor its operator."""
    gen = torch.Generator().manual_seed(seed)
    a, b = (torch.rand(n, *IN_SHAPE, generator=gen) / 2 for _ in range(2))  # a + b stays in [0, 1]
    superposition = (spec(a + b) - spec(a) - spec(b)).abs().max().item() * GRAY_LEVELS
    scaling = (spec(0.5 * a) - 0.5 * spec(a)).abs().max().item() * GRAY_LEVELS
    probe = Probe(superposition, scaling, max(superposition, scaling) < LINEAR_TOL_GRAY)
    if not probe.linear:
        return probe
    m = operator_matrix(spec)
    x = torch.rand(n, *IN_SHAPE, generator=gen)
    probe.matrix = m
    probe.operator_gray = (x.double().flatten(1) @ m.T - spec(x).double().flatten(1)).abs().max().item() * GRAY_LEVELS
    c, h, w = spec.out_shape
    _, spatial, probe.channel_ratio = factor_channels(LinearFit(m, torch.zeros(len(m)), "probe"), 3, c)
    _, _, probe.kronecker_ratio = nearest_kronecker(spatial, (h, w), IN_SHAPE[1:])
    probe.separable = max(probe.channel_ratio, probe.kronecker_ratio) < STRUCTURE_TOL
    return probe
