"""Is a pipeline linear, is it row/column separable, and what is its operator? Decided by measurement.

Linearity rests on two residuals over random images a, b: superposition |f(a + b) - f(a) - f(b)| and
scaling |f(s a) - s f(a)|, in gray levels (float rounding leaves about 1e-4; a saturating or curved step
leaves whole levels). A linear pipeline's operator is then read off by basis images and factored
(lib.core.probe, which says whether it is separable), and its matrix checked against the pipeline on
random images.
"""

from dataclasses import dataclass

import torch

from lib.core.constants import GRAY_LEVELS, IN_SHAPE
from lib.core.probe import Operator, probe
from lib.core.spec import Spec

LINEAR_TOL_GRAY = 1e-3  # residuals below this (gray levels) are float rounding, not non-linearity


@dataclass
class Classification:
    """What the measurements say about one pipeline."""

    superposition_gray: float  # max |f(a + b) - f(a) - f(b)|, gray levels
    scaling_gray: float  # max |f(s a) - s f(a)|, gray levels
    linear: bool
    operator: Operator | None = None  # linear pipelines only: the probed operator (matrix, and parts if separable)
    operator_gray: float | None = None  # max |matrix @ x - f(x)| on random images, gray levels

    @property
    def separable(self) -> bool | None:
        return None if self.operator is None else self.operator.separable

    def row(self) -> dict:
        """The decision and the residuals it rests on, for a table (None where the pipeline has no operator)."""
        op = self.operator
        return {
            "superposition_gray": self.superposition_gray, "scaling_gray": self.scaling_gray, "linear": self.linear,
            "operator_gray": self.operator_gray, "channel_ratio": None if op is None else op.channel_ratio,
            "kronecker_ratio": None if op is None else op.kronecker_ratio, "separable": self.separable,
        }  # fmt: skip


@torch.no_grad()
def classify(spec: Spec, n: int = 64, seed: int = 0) -> Classification:
    """Measure linearity on ``n`` random image pairs; for a linear pipeline, probe its operator and measure
    how far the operator's matrix is from the pipeline on ``n`` more random images."""
    gen = torch.Generator().manual_seed(seed)
    a, b = (torch.rand(n, *IN_SHAPE, generator=gen) / 2 for _ in range(2))  # a + b stays in [0, 1]
    superposition = (spec(a + b) - spec(a) - spec(b)).abs().max().item() * GRAY_LEVELS
    scaling = (spec(0.5 * a) - 0.5 * spec(a)).abs().max().item() * GRAY_LEVELS
    found = Classification(superposition, scaling, max(superposition, scaling) < LINEAR_TOL_GRAY)
    if not found.linear:
        return found
    found.operator = op = probe(spec)
    x = torch.rand(n, *IN_SHAPE, generator=gen)
    residual = x.double().flatten(1) @ op.matrix.T - spec(x).double().flatten(1)
    found.operator_gray = residual.abs().max().item() * GRAY_LEVELS
    return found
