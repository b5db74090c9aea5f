"""A linear pipeline's own operator, read off the pipeline by probing it with basis images.

Column i of the operator's matrix is the pipeline's response to basis image i (one pixel of one channel
on, 3,072 of them). Where the pipeline is row/column separable, as the target is (grayscale is a fixed
3-vector, the antialiased resize a fixed matrix on rows and another on columns, the flips permute rows and
columns), the matrix also factors as Y = A (w . X) B^T: a channel mix times one spatial map (the rank-1
SVD of its channel blocks), and that map as a Kronecker product A ⊗ B (the rank-1 SVD of its
rearrangement, lib.core.fit). Each factorisation's sigma_2 / sigma_1 is zero, up to float rounding, when
the structure holds exactly. No constant is copied from torchvision's source.
"""

from dataclasses import dataclass
from functools import lru_cache

import torch

from lib.core.constants import IN_SHAPE, TARGET
from lib.core.fit import LinearFit, factor_channels, nearest_kronecker
from lib.core.separable import SeparableParts
from lib.core.spec import Spec, parse

STRUCTURE_TOL = 1e-5  # a rank-1 ratio below this means the structure holds up to float rounding


@dataclass
class Operator:
    """A linear pipeline as one matrix and, where it is row/column separable, as separable parts."""

    text: str  # the pipeline, as lib.core.spec writes it
    out_shape: tuple[int, int, int]  # (C, H, W)
    matrix: torch.Tensor  # (C * H * W, 3 * 32 * 32) float64: column i is the response to basis image i
    channel_ratio: float  # sigma_2 / sigma_1 of the matrix as a channel mix times one spatial map
    kronecker_ratio: float  # sigma_2 / sigma_1 of that spatial map as A ⊗ B
    parts: SeparableParts | None  # float64, where both ratios are below STRUCTURE_TOL

    @property
    def separable(self) -> bool:
        return self.parts is not None

    def read_parts(self) -> SeparableParts:
        """The separable parts (lib.core.separable.parts_of); a TypeError for a pipeline without them."""
        if self.parts is None:
            raise TypeError(f"{self.text!r} is not row/column separable (Kronecker ratio {self.kronecker_ratio:.2g})")
        return self.parts

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The operator on float images (N, 3, 32, 32), in their dtype: (N, C, H, W)."""
        if self.parts is not None:
            return self.parts(x)
        return (x.flatten(1) @ self.matrix.T.to(x.dtype)).view(-1, *self.out_shape)


@torch.no_grad()
def operator_matrix(spec: Spec, chunk: int = 1024) -> torch.Tensor:
    """The pipeline's response to every basis image, as a (C * H * W, 3072) float64 matrix."""
    d = torch.Size(IN_SHAPE).numel()
    basis = torch.eye(d).view(d, *IN_SHAPE)
    return torch.cat([spec(basis[i : i + chunk]).flatten(1).double() for i in range(0, d, chunk)]).T


def probe(pipeline: Spec | str = TARGET) -> Operator:
    """The operator of a linear ``pipeline`` (a Spec or its text; the target pipeline by default).

    Probing and factoring take about a second, and every ``exact`` model built probes its pipeline, so the
    last few operators are kept: the same pipeline gives back the same object, to be read, not modified."""
    return _probe(pipeline.text if isinstance(pipeline, Spec) else parse(pipeline).text)


@lru_cache(maxsize=4)
@torch.no_grad()
def _probe(text: str) -> Operator:
    spec = parse(text)
    m = operator_matrix(spec)
    c, h, w = spec.out_shape
    mix, spatial, channel_ratio = factor_channels(LinearFit(m, torch.zeros(len(m)), "probe"), IN_SHAPE[0], c)
    a, b, kronecker_ratio = nearest_kronecker(spatial, (h, w), IN_SHAPE[1:])
    separable = max(channel_ratio, kronecker_ratio) < STRUCTURE_TOL
    parts = _scaled_parts(mix.view(c, -1), a, b) if separable else None
    return Operator(spec.text, spec.out_shape, m, channel_ratio, kronecker_ratio, parts)


def _scaled_parts(mix: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> SeparableParts:
    """The factors with the rows of A and of B summing to one on average, as each row of a resize does, and
    the scale they give up carried by the mix: the target's parts then read as torchvision's luma weights
    and its resize weights. (The factorisation itself fixes them only up to a scale shared among the three.)"""
    row_sum, col_sum = a.sum() / len(a), b.sum() / len(b)
    row_sum, col_sum = (s if s != 0 else torch.ones_like(s) for s in (row_sum, col_sum))
    bias = torch.zeros(len(mix), dtype=mix.dtype)  # a linear pipeline adds no constant
    return SeparableParts(mix * row_sum * col_sum, bias, a / row_sum, b / col_sum)
