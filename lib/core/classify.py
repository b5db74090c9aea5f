"""Is a pipeline linear, affine, row/column separable, and what is its operator? Decided by measurement.

Linearity rests on two residuals over random images a, b: superposition |f(a + b) - f(a) - f(b)| and
scaling |f(s a) - s f(a)|, in gray levels (float rounding leaves about 1e-4; a saturating or curved step
leaves whole levels). An *affine* pipeline (``Normalize``, a scaling ``ToDtype``) fails both by its offset
f(0) and passes both about it: |f(a + b) - f(a) - f(b) + f(0)| and |f(s a) - f(0) - s (f(a) - f(0))|. An
affine pipeline's operator is then read off (lib.core.probe, which says whether it is separable), and checked
against the pipeline on random images.
"""

from dataclasses import dataclass

import torch

from lib.core.constants import GRAY_LEVELS
from lib.core.probe import Operator, probe
from lib.core.spec import Spec

LINEAR_TOL_GRAY = 1e-3  # residuals below this (gray levels) are float rounding, not non-linearity


@dataclass
class Classification:
    """What the measurements say about one pipeline."""

    superposition_gray: float  # max |f(a + b) - f(a) - f(b) + f(0)|, gray levels
    scaling_gray: float  # max |f(s a) - f(0) - s (f(a) - f(0))|, gray levels
    offset_gray: float  # max |f(0)|, gray levels: 0 for a linear pipeline
    affine: bool  # both residuals below LINEAR_TOL_GRAY
    operator: Operator | None = None  # affine pipelines only: the probed operator (matrix, and parts if separable)
    operator_gray: float | None = None  # max |operator(x) - f(x)| on random images, gray levels

    @property
    def linear(self) -> bool:
        """Affine with no offset: f(a + b) = f(a) + f(b) and f(s a) = s f(a)."""
        return self.affine and self.offset_gray < LINEAR_TOL_GRAY

    @property
    def separable(self) -> bool | None:
        return None if self.operator is None else self.operator.separable

    def row(self) -> dict:
        """The decision and the residuals it rests on, for a table (None where the pipeline has no operator)."""
        op = self.operator
        return {
            "superposition_gray": self.superposition_gray, "scaling_gray": self.scaling_gray,
            "offset_gray": self.offset_gray, "linear": self.linear, "affine": self.affine,
            "operator_gray": self.operator_gray, "channel_ratio": None if op is None else op.channel_ratio,
            "kronecker_ratio": None if op is None else op.kronecker_ratio, "separable": self.separable,
        }  # fmt: skip


@torch.no_grad()
def residuals(spec: Spec, n: int = 64, seed: int = 0) -> tuple[float, float, float]:
    """(superposition, scaling, offset) in gray levels, on ``n`` random image pairs (see the module's notes)."""
    gen = torch.Generator().manual_seed(seed)
    a, b = (torch.rand(n, *spec.in_shape, generator=gen) / 2 for _ in range(2))  # a + b stays in [0, 1]
    f0 = spec(torch.zeros(1, *spec.in_shape))
    fa = spec(a)
    superposition = (spec(a + b) - fa - spec(b) + f0).abs().max().item() * GRAY_LEVELS
    scaling = (spec(0.5 * a) - f0 - 0.5 * (fa - f0)).abs().max().item() * GRAY_LEVELS
    return superposition, scaling, f0.abs().max().item() * GRAY_LEVELS


@torch.no_grad()
def classify(spec: Spec, n: int = 64, seed: int = 0) -> Classification:
    """Measure linearity about f(0) on ``n`` random image pairs; for an affine pipeline, probe its operator and
    measure how far it is from the pipeline on ``n`` more random images."""
    superposition, scaling, offset = residuals(spec, n, seed)
    found = Classification(superposition, scaling, offset, max(superposition, scaling) < LINEAR_TOL_GRAY)
    if not found.affine:
        return found
    found.operator = op = probe(spec)
    x = torch.rand(n, *spec.in_shape, generator=torch.Generator().manual_seed(seed + 1))
    found.operator_gray = (op(x.double()) - spec(x).double()).abs().max().item() * GRAY_LEVELS
    return found
