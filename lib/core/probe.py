"""A linear or affine pipeline's own operator, read off the pipeline by probing it with chosen images.

An affine pipeline is f(x) = L x + f(0): its *offset* f(0) is the response to a blank image, and L is linear
(a pipeline of resizes, crops, flips and grayscale has f(0) = 0; ``Normalize`` adds a constant per channel).
Two ways read L:

- *By basis images*, where the matrix fits in memory (:data:`DENSE_LIMIT` entries): column i of L is the
  response to basis image i (one pixel of one channel on, C * H * W of them). Where the pipeline is
  row/column separable, as the target is (grayscale is a fixed 3-vector, the antialiased resize a fixed
  matrix on rows and another on columns, the flips permute rows and columns), the matrix also factors as
  Y = A (w . X) B^T: a channel mix times one spatial map (the rank-1 SVD of its channel blocks), and that map
  as a Kronecker product A ⊗ B (the rank-1 SVD of its rearrangement, lib.core.fit). Each factorisation's
  sigma_2 / sigma_1 is zero, up to float rounding, when the structure holds exactly.
- *By axis*, at any size: if f is separable, the response to input row i lit (every column, every channel)
  is column i of A times a fixed pattern, the response to input column j lit column j of B times another, and
  the response to channel k lit gives the mix: H + W + C images instead of C * H * W (3x256x256 images: 515
  instead of 196,608). The parts found are then checked against the pipeline on random images; their
  largest error relative to the output's size is what says whether the structure holds.

No constant is copied from torchvision's source.
"""

from dataclasses import dataclass
from functools import lru_cache

import torch

from lib.core.constants import IN_SHAPE, TARGET
from lib.core.fit import LinearFit, factor_channels, nearest_kronecker
from lib.core.separable import SeparableParts, balanced
from lib.core.spec import Spec, wrap

STRUCTURE_TOL = 1e-5  # a rank-1 ratio (or relative error of axis-probed parts) below this: the structure holds
DENSE_LIMIT = 50_000_000  # entries of the probed matrix (400 MB in float64) above which only the axis probe runs
CHUNK = 256  # probe images per call of the pipeline


@dataclass
class Operator:
    """An affine pipeline as one matrix (where it fits in memory) and, where it is row/column separable, as
    separable parts; with its offset f(0)."""

    text: str  # the pipeline, as lib.core.spec writes it
    out_shape: tuple[int, int, int]  # (C, H, W)
    matrix: torch.Tensor | None  # (C * H * W, c * h * w) float64, column i the response to basis image i
    channel_ratio: float  # sigma_2 / sigma_1 of the matrix as a channel mix times one spatial map
    kronecker_ratio: float  # ... of that spatial map as A ⊗ B (by axis: the parts' relative error, both)
    parts: SeparableParts | None  # float64, where the structure holds (the offset in their bias)
    in_shape: tuple[int, int, int] = IN_SHAPE  # (c, h, w)
    offset: torch.Tensor | None = None  # (C, H, W) float64: f(0); None for zero

    @property
    def separable(self) -> bool:
        return self.parts is not None

    def read_parts(self) -> SeparableParts:
        """The separable parts (lib.core.separable.parts_of); a TypeError for a pipeline without them."""
        if self.parts is None:
            raise TypeError(f"{self.text!r} is not row/column separable (Kronecker ratio {self.kronecker_ratio:.2g})")
        return self.parts

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The operator on float images (N, c, h, w), in their dtype: (N, C, H, W)."""
        if self.parts is not None:
            return self.parts(x)
        y = (x.flatten(1) @ self.matrix.T.to(x.dtype)).view(-1, *self.out_shape)
        return y if self.offset is None else y + self.offset.to(x.dtype)


def operator_matrix(spec: Spec, chunk: int = 1024) -> torch.Tensor:
    """The pipeline's response to every basis image less its response to a blank one, as a (C * H * W, c * h * w)
    float64 matrix."""
    d = torch.Size(spec.in_shape).numel()
    blank = blank_response(spec).flatten()
    basis = torch.eye(d).view(d, *spec.in_shape)
    with torch.no_grad():
        columns = [spec(basis[i : i + chunk]).flatten(1).double() - blank for i in range(0, d, chunk)]
    return torch.cat(columns).T


def probe(pipeline: Spec | str = TARGET, in_shape: tuple[int, int, int] | None = None) -> Operator:
    """The operator of an affine ``pipeline``: a Spec, its text, or any callable ``lib.core.spec.wrap`` takes
    (the target pipeline by default), on images of ``in_shape`` (the Spec's own, else CIFAR-10's).

    Probing and factoring take about a second at 32x32, and every ``exact`` model built probes its pipeline,
    so the last few operators are kept: the same pipeline gives back the same object, to be read, not modified."""
    spec = pipeline if isinstance(pipeline, Spec) and in_shape is None else wrap(pipeline, in_shape or IN_SHAPE)
    return _probe(spec)  # a parsed pipeline is one object per text and shape (lib.core.spec.parse)


@lru_cache(maxsize=4)
@torch.no_grad()
def _probe(spec: Spec) -> Operator:
    offset = blank_response(spec)
    if torch.Size(spec.in_shape).numel() * torch.Size(spec.out_shape).numel() > DENSE_LIMIT:
        parts, error = axis_parts(spec, offset)
        return Operator(spec.text, spec.out_shape, None, error, error, parts, spec.in_shape, _nonzero(offset))
    m = operator_matrix(spec)
    c, h, w = spec.out_shape
    in_c, in_h, in_w = spec.in_shape
    mix, spatial, channel_ratio = factor_channels(LinearFit(m, torch.zeros(len(m)), "probe"), in_c, c)
    a, b, kronecker_ratio = nearest_kronecker(spatial, (h, w), (in_h, in_w))
    separable = max(channel_ratio, kronecker_ratio) < STRUCTURE_TOL
    parts = with_offset_bias(_linear_parts(mix.view(c, -1), a, b), offset) if separable else None
    return Operator(spec.text, spec.out_shape, m, channel_ratio, kronecker_ratio, parts, spec.in_shape,
                    _nonzero(offset))  # fmt: skip


def blank_response(spec: Spec) -> torch.Tensor:
    """f(0): the pipeline's response to a blank image, (C, H, W) float64."""
    with torch.no_grad():
        return spec(torch.zeros(1, *spec.in_shape))[0].double()


def _nonzero(offset: torch.Tensor) -> torch.Tensor | None:
    return offset if offset.abs().max() > 0 else None


def _responses(spec: Spec, images, offset: torch.Tensor) -> torch.Tensor:
    """L x for each image of the iterable (built lazily, CHUNK at a time): (n, C, H, W) float64."""
    images = list(images)
    out = []
    for i in range(0, len(images), CHUNK):
        out.append(spec(torch.stack(images[i : i + CHUNK])).double() - offset)
    return torch.cat(out)


def axis_parts(spec: Spec, offset: torch.Tensor, n_check: int = 8) -> tuple[SeparableParts | None, float]:
    """The separable parts of an affine pipeline read by axis (see the module's notes), and their largest error
    against the pipeline on ``n_check`` random images relative to the largest output; the parts are None where
    that error is above STRUCTURE_TOL (the pipeline is not separable, or its offset not representable)."""
    parts = read_axes(spec, offset)
    if parts is None:
        return None, float("inf")
    x = torch.rand(n_check, *spec.in_shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y = spec(x).double()
    error = ((parts(x.double()) - y).abs().max() / y.abs().max().clamp_min(1e-12)).item()
    return (parts if error < STRUCTURE_TOL else None), error


def _lit(shape: tuple[int, int, int], axis: int, index: int, level: float = 1.0) -> torch.Tensor:
    img = torch.zeros(shape)
    img.select(axis, index).fill_(level)
    return img


@torch.no_grad()
def read_axes(spec: Spec, offset: torch.Tensor, rows: torch.Tensor | None = None, cols: torch.Tensor | None = None,
              with_offset: bool = True) -> SeparableParts | None:  # fmt: skip
    """The parts of an affine pipeline *if* it is separable, read by axis from H + W + C images (W + C + 1 when the
    row map ``rows`` (A, from another input shape with the same height in and out) is given, H + C + 1 with the
    column map ``cols``), unchecked: the caller checks them against the pipeline. None where the pipeline's response
    to a white image is blank, or its offset is no bias of a separable map.

    With A known, lit column j gives s (A 1)[i0] B[:, j] at row i0, which is B up to the scale s that the mix then
    carries: the lit channels' responses divided by (A 1)[i0] (B 1)[j0]; the same with the axes swapped. Without
    ``with_offset`` the parts have no bias: the linear part alone, for a caller that sets the constant itself."""
    c_in, h, w = spec.in_shape
    full = _responses(spec, [torch.ones(spec.in_shape)], offset)[0]  # L(1): (C, H', W')
    c0, i0, j0 = torch.unravel_index(full.abs().argmax(), full.shape)
    peak = full[c0, i0, j0]
    if peak == 0:
        return None
    lit_channels = _responses(spec, (_lit(spec.in_shape, 0, k) for k in range(c_in)), offset)[:, :, i0, j0].T
    if rows is None or cols is None:
        lit_rows = lambda: _responses(spec, (_lit(spec.in_shape, 1, i) for i in range(h)), offset)[:, c0, :, j0].T  # noqa: E731
        lit_cols = lambda: _responses(spec, (_lit(spec.in_shape, 2, j) for j in range(w)), offset)[:, c0, i0, :].T  # noqa: E731
    if rows is None and cols is None:
        rows, cols = lit_rows(), lit_cols()  # A and B up to scale: (H', h), (W', w)
        mix = lit_channels / peak**2  # (C, c_in)
    else:
        if rows is not None:
            rows = rows.double()
            a1 = rows.sum(1)[i0]
            cols = lit_cols() / a1 if a1 != 0 else None
        else:
            cols = cols.double()
            b1 = cols.sum(1)[j0]
            rows = lit_rows() / b1 if b1 != 0 else None
        if rows is None or cols is None or rows.sum(1)[i0] * cols.sum(1)[j0] == 0:
            return None
        mix = lit_channels / (rows.sum(1)[i0] * cols.sum(1)[j0])
    linear = _linear_parts(mix, rows, cols)
    return with_offset_bias(linear, offset) if with_offset else linear


def _linear_parts(mix: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> SeparableParts:
    """The factors as balanced parts (lib.core.separable.balanced) with no bias: the offset, where there is
    one, is set by with_offset_bias."""
    return balanced(SeparableParts(mix, torch.zeros(len(mix), dtype=mix.dtype), a, b))


def with_offset_bias(parts: SeparableParts, offset: torch.Tensor) -> SeparableParts | None:
    """``parts`` with the bias that gives the offset f(0); None where no bias does: the bias b_c of a separable
    map adds b_c (A 1)(B 1)^T to channel c, so f(0) must be that pattern times a constant per channel
    (``Normalize`` after a resize is: the resize's rows sum to one)."""
    if offset.abs().max() == 0:
        return parts
    pattern = torch.outer(parts.rows.sum(1), parts.cols.sum(1))  # (H, W)
    norm = (pattern * pattern).sum()
    if norm == 0:
        return None
    bias = (offset * pattern).sum((1, 2)) / norm  # least squares per channel
    if (bias.view(-1, 1, 1) * pattern - offset).abs().max() > STRUCTURE_TOL * offset.abs().max():
        return None
    return SeparableParts(parts.gray, bias, parts.rows, parts.cols)
