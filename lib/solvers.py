"""Full-batch training of ``separable`` on the exact second moments of the training set.

For any model that is linear in its input, the summed squared error over a training set depends on
the data only through three statistics: S = sum x x^T, C = sum y x^T and sum ||y||^2 (x with a
constant 1 appended for biases). ``separable`` computes Y = A (w . X + b) B^T, so its loss is a small
polynomial in (A, B, w, b) whose coefficients are these statistics. Computing them once costs one pass
over the data; after that every L-BFGS iteration costs milliseconds instead of a pass over 45,000
images, so thousands of iterations in float64 are cheap.

Why bother: gradient descent on images crawls. Natural images are smooth, so the row second-moment
matrix of CIFAR-10 has a condition number near 3e4 and the high-frequency directions of A and B barely
move under Adam; L-BFGS with thousands of exact iterations does not mind.

The out-of-range weight of the mission's loss is not part of these statistics: this is the plain sum
of squared errors, which equals the mission's loss wherever predictions lie in [0, 1].
"""

from dataclasses import dataclass

import torch
from torch import nn

CHUNK = 2048  # images per pass: bounds the memory of the float64 intermediates


@dataclass
class Moments:
    """Second moments of a training set, float64, with a constant 4th channel of ones for biases."""

    xx: torch.Tensor  # (4 * 4, 32 * 32 * 32 * 32): sum over images of x x^T, channel pairs first
    yx: torch.Tensor  # (28, 28, 4, 32, 32): sum over images of y x^T
    yy: float  # sum over images of ||y||^2
    n: int  # number of images


@torch.no_grad()
def moments(x: torch.Tensor, y: torch.Tensor) -> Moments:
    """Accumulate the statistics in float64, chunk by chunk. Only the 3072 image dimensions need a
    matrix product; the constant channel's entries are column sums and the image count."""
    if len(x) != len(y):
        raise ValueError("images and targets differ in number")
    d = 3 * 32 * 32
    xx, yx = torch.zeros(d, d, dtype=torch.float64), torch.zeros(784, d, dtype=torch.float64)
    xsum, ysum, yy = torch.zeros(d, dtype=torch.float64), torch.zeros(784, dtype=torch.float64), 0.0
    for i in range(0, len(x), CHUNK):
        xc = x[i : i + CHUNK].double().flatten(1)  # (n, 3072)
        yc = y[i : i + CHUNK].double().flatten(1)  # (n, 784)
        xx += xc.T @ xc
        yx += yc.T @ xc
        xsum += xc.sum(0)
        ysum += yc.sum(0)
        yy += (yc**2).sum().item()
    ones = 32 * 32
    full = torch.empty(d + ones, d + ones, dtype=torch.float64)
    full[:d, :d] = xx
    full[:d, d:] = xsum[:, None]
    full[d:, :d] = xsum[None, :]
    full[d:, d:] = len(x)
    yx = torch.cat([yx, ysum[:, None].expand(784, ones)], 1)
    xx = full.view(4, 32, 32, 4, 32, 32).permute(0, 3, 1, 2, 4, 5).reshape(16, -1).contiguous()
    return Moments(xx, yx.view(28, 28, 4, 32, 32), yy, len(x))


def _check(model: nn.Module) -> None:
    if not all(hasattr(model, a) for a in ("rows", "cols", "gray")):
        raise TypeError(f"moment-based training needs a separable model, got {type(model).__name__}")


def separable_sse(model: nn.Module, m: Moments) -> torch.Tensor:
    """The separable model's sum of squared errors over the whole training set, in float64."""
    _check(model)
    A, B = model.rows.double(), model.cols.double()
    w = torch.cat([model.gray.weight.double().flatten(), model.gray.bias.double()])  # (4,): gray + bias
    gg = (torch.outer(w, w).flatten() @ m.xx).view(32, 32, 32, 32)  # second moment of the gray image
    # sum_n ||A G B^T||^2 = sum A^T A[h, i] B^T B[w, j] gg[h, w, i, j]
    quad = torch.einsum("hi,wj,hwij->", A.T @ A, B.T @ B, gg)
    yg = torch.einsum("c,pqchw->pqhw", w, m.yx)  # (28, 28, 32, 32)
    lin = torch.einsum("ph,qw,pqhw->", A, B, yg)
    return quad - 2 * lin + m.yy
