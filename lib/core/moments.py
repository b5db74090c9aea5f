"""Full-batch training of ``separable`` on the exact second moments of the training set.

For any model that is linear in its input, the summed squared error over a training set depends on
the data only through its moments: sum x x^T, sum y x^T, sum ||y||^2, and the sums of x and y (for
the bias). ``separable`` computes Y = A (w . X + b) B^T, so its loss is a small
polynomial in (A, B, w, b) whose coefficients are these statistics. Computing them once costs one pass
over the data; after that every L-BFGS iteration costs milliseconds instead of a pass over 45,000
images, so thousands of iterations in float64 are cheap.

Why bother: gradient descent on images crawls. Natural images are smooth, so the row second-moment
matrix of CIFAR-10 has a condition number near 3e4 and the high-frequency directions of A and B barely
move under Adam; L-BFGS with thousands of exact iterations does not mind.

The out-of-range weight of the baseline recipe's loss is not part of these statistics: this is the plain sum
of squared errors, which equals the baseline recipe's loss wherever predictions lie in [0, 1].
"""

from dataclasses import dataclass

import torch
from torch import nn

from lib.core.separable import SeparableParts, parts_of

CHUNK = 2048  # images per pass: bounds the memory of the float64 intermediates


PAIRS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))  # channel pairs c <= d


@dataclass
class Moments:
    """Second moments of a training set, float64. Only channel pairs c <= d are kept: the loss meets
    them through a symmetric form, so (c, d) and (d, c) contribute alike."""

    xx: torch.Tensor  # (6, 32 * 32 * 32 * 32): sum over images of x_c[h, w] x_d[i, j], for PAIRS, as [h, i, w, j]
    xsum: torch.Tensor  # (3, 32, 32): sum over images of each channel
    yx: torch.Tensor  # (3, 28 * 32 * 28 * 32): sum over images of y[p, q] x_c[h, w], as [c][p, h, q, w]
    ysum: torch.Tensor  # (28, 28): sum over images of y
    yy: float  # sum over images of ||y||^2
    n: int  # number of images

    def to(self, device: str | torch.device) -> "Moments":
        """The same statistics on ``device`` (where the model they train lives)."""
        move = lambda t: t.to(device)  # noqa: E731
        return Moments(move(self.xx), move(self.xsum), move(self.yx), move(self.ysum), self.yy, self.n)


@dataclass
class RawMoments:
    """The plain float64 sums over a training set, flattened images (3072) and targets (784)."""

    xx: torch.Tensor  # (3072, 3072): sum x x^T
    yx: torch.Tensor  # (784, 3072): sum y x^T
    xsum: torch.Tensor  # (3072,): sum x
    ysum: torch.Tensor  # (784,): sum y
    yy: float  # sum ||y||^2
    n: int


@torch.no_grad()
def raw_moments(x: torch.Tensor, y: torch.Tensor) -> RawMoments:
    """One float64 pass over the data, chunk by chunk."""
    if len(x) != len(y):
        raise ValueError("images and targets differ in number")
    d, e = x[0].numel(), y[0].numel()  # 3 * 32 * 32 pixels in, 784 out for the target pipeline
    xx, yx = torch.zeros(d, d, dtype=torch.float64), torch.zeros(e, d, dtype=torch.float64)
    xsum, ysum, yy = torch.zeros(d, dtype=torch.float64), torch.zeros(e, dtype=torch.float64), 0.0
    for i in range(0, len(x), CHUNK):
        xc = x[i : i + CHUNK].double().flatten(1)  # (n, 3072)
        yc = y[i : i + CHUNK].double().flatten(1)  # (n, e)
        xx += xc.T @ xc
        yx += yc.T @ xc
        xsum += xc.sum(0)
        ysum += yc.sum(0)
        yy += (yc**2).sum().item()
    return RawMoments(xx, yx, xsum, ysum, yy, len(x))


def moments(x: torch.Tensor, y: torch.Tensor) -> Moments:
    """The statistics laid out for ``separable_sse``."""
    raw = raw_moments(x, y)
    blocks = raw.xx.view(3, 1024, 3, 1024)
    # each block laid out [h, i, w, j] (rows of both images, then columns), see separable_sse
    pairs = torch.stack([blocks[c, :, e, :].reshape(32, 32, 32, 32).permute(0, 2, 1, 3).flatten() for c, e in PAIRS])
    yx = raw.yx.view(28, 28, 3, 32, 32).permute(2, 0, 3, 1, 4).reshape(3, -1).contiguous()
    return Moments(pairs, raw.xsum.view(3, 32, 32), yx, raw.ysum.view(28, 28), raw.yy, raw.n)


def require_separable(model: nn.Module) -> SeparableParts:
    """Moment-based training needs the separable structure Y = A (w . X + b) B^T: the model's parts."""
    try:
        return parts_of(model)
    except TypeError as err:
        raise TypeError(f"moment-based training needs a separable model, got {type(model).__name__}") from err


def separable_sse(model: nn.Module, m: Moments) -> torch.Tensor:
    """The separable model's sum of squared errors over the whole training set, in float64.

    With G_n = sum_c w_c X_nc + b and Y_n ~ A G_n B^T, expand sum_n ||Y_n - A G_n B^T||^2 into terms
    that each meet the data through one of the statistics: one pass over ``xx`` per evaluation.
    """
    parts = require_separable(model)  # the model's own tensors: the loss's gradient reaches them
    A, B = parts.rows.double(), parts.cols.double()
    w, b = parts.gray.double().flatten(), parts.bias.double()[0]
    aa, bb = A.T @ A, B.T @ B  # (32, 32) each
    coef = torch.stack([w[c] * w[e] * (1 if c == e else 2) for c, e in PAIRS])
    a1, b1 = A.sum(1), B.sum(1)  # A 1 and B 1: the constant image's response
    quad = (
        # sum_n ||A (w . X_n) B^T||^2 = sum aa[h, i] bb[w, j] gg[h, i, w, j], gg the gray image's moment:
        # two matrix-vector products over a (1024, 1024) view, the cheapest order
        aa.flatten() @ ((coef @ m.xx).view(1024, 1024) @ bb.flatten())
        + 2 * b * torch.einsum("c,h,chw,w->", w, aa.sum(1), m.xsum, bb.sum(1))  # cross terms with the bias
        + b**2 * m.n * (a1 @ a1) * (b1 @ b1)
    )
    # sum_n <Y_n, A (w . X_n) B^T> = sum A[p, h] B[q, w] yw[p, h, q, w], again two matrix-vector products
    lin = A.flatten() @ ((w @ m.yx).view(28 * 32, 28 * 32) @ B.flatten()) + b * (a1 @ m.ysum @ b1)
    return quad - 2 * lin + m.yy
