"""Point-wise curves, and the two ways a learned model puts one beside a linear map.

A point-wise step (gamma, brightness that saturates, solarize) acts on each pixel alone, so it is a function
of one number. Three forms hold one here: :class:`Curve`, linear between equally spaced knots, learned by
least squares; :class:`Table`, one value per 8-bit level, exact for any step on 8-bit images; and
:class:`ReadCurve`, read off the pipeline itself on constant images at the knots it needs
(:func:`read_curve`). :class:`CurveThen` puts a curve before a linear model, :class:`ThenCurve` after it;
their fits are in ``lib.experiments.generality``.
"""

import torch
from torch import nn

from lib.core.constants import GRAY_LEVELS


class Curve(nn.Module):
    """A point-wise curve on [0, 1]: linear between ``knots`` equally spaced knots, identity at the start."""

    def __init__(self, knots: int = 49):
        super().__init__()
        self.values = nn.Parameter(torch.linspace(0, 1, knots))

    def basis(self, x: torch.Tensor) -> torch.Tensor:
        """The hat functions at x: (..., knots), summing to 1; the curve is basis(x) @ values."""
        k = len(self.values)
        pos = x.clamp(0, 1)[..., None] * (k - 1)
        return (1 - (pos - torch.arange(k, dtype=x.dtype, device=x.device)).abs()).clamp(min=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = len(self.values)
        pos = x.clamp(0, 1) * (k - 1)
        i = pos.floor().clamp(max=k - 2).long()
        frac = pos - i
        return self.values[i] * (1 - frac) + self.values[i + 1] * frac


class Table(nn.Module):
    """A point-wise curve on 8-bit images: one value for each of the 256 levels. Any point-wise step is exactly
    a table on 8-bit inputs, however sharply it bends (a square root near 0, a threshold), where a curve
    between fixed knots can only approximate it. Inputs off the levels are taken at the nearest one."""

    def __init__(self, levels: int = GRAY_LEVELS + 1):
        super().__init__()
        self.values = nn.Parameter(torch.linspace(0, 1, levels))

    def _index(self, x: torch.Tensor) -> torch.Tensor:
        return (x.clamp(0, 1) * (len(self.values) - 1)).round().long()

    def basis(self, x: torch.Tensor) -> torch.Tensor:
        """The level of each pixel, one-hot: (..., levels); the table is basis(x) @ values."""
        return nn.functional.one_hot(self._index(x), len(self.values)).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.values[self._index(x)]


def to_levels(x: torch.Tensor) -> torch.Tensor:
    """Images on the 8-bit levels, as a table expects (CIFAR-10's are; noise images are not)."""
    return (x * GRAY_LEVELS).round() / GRAY_LEVELS


class CurveThen(nn.Sequential):
    """A point-wise curve on the input, then a linear model."""

    def __init__(self, curve: Curve, linear: nn.Module):
        super().__init__(curve, linear)


class ThenCurve(nn.Sequential):
    """A linear model, then a point-wise curve on its output."""

    def __init__(self, linear: nn.Module, curve: nn.Module):
        super().__init__(linear, curve)


class ReadCurve(nn.Module):
    """A point-wise curve given by its values at increasing knots, linear between them and constant beyond the
    ends. The knots are wherever :func:`read_curve` needed them: dense where the step bends sharply or jumps,
    sparse where it is straight. Both knots and values are stored, and counted, as its parameters."""

    def __init__(self, knots: torch.Tensor, values: torch.Tensor):
        super().__init__()
        self.knots = nn.Parameter(knots.float(), requires_grad=False)
        self.values = nn.Parameter(values.float(), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.knots
        flat = x.reshape(-1).clamp(k[0], k[-1])
        i = torch.searchsorted(k, flat, right=True).clamp(1, len(k) - 1)
        lo, hi = k[i - 1], k[i]
        frac = ((flat - lo) / (hi - lo)).clamp(0, 1)  # knots are distinct: hi > lo
        return torch.lerp(self.values[i - 1], self.values[i], frac).view_as(x)


def longest_monotone(r: torch.Tensor) -> tuple[int, int, float]:
    """(first, last, sign) of the longest run of levels over which ``r`` strictly rises or strictly falls."""
    signs = torch.sign(r[1:] - r[:-1])
    best, start = (0, 0, 1.0), 0
    for i in range(1, len(signs) + 1):
        if i == len(signs) or signs[i] != signs[start] or signs[i] == 0:
            if signs[start] != 0 and i - start > best[1] - best[0]:
                best = (start, i, float(signs[start]))
            start = i
    return best


READ_TOL_GRAY = 0.02  # read_curve splits an interval while its midpoint is further than this from the chord
READ_MAX_KNOTS = 20_000


@torch.no_grad()
def read_curve(pipeline, in_shape, start_knots: int = 257, tol_gray: float = READ_TOL_GRAY,
               max_knots: int = READ_MAX_KNOTS) -> ReadCurve:  # fmt: skip
    """The pipeline's response to constant images as a :class:`ReadCurve` on [0, 1]: from ``start_knots``
    equally spaced values, every interval whose midpoint response is further than ``tol_gray`` gray levels
    from the straight line between its ends is halved, until none is or its ends are adjacent float32 numbers
    (a jump, as a threshold makes, then sits exactly between two knots: no float32 input falls inside it).
    A square root at 0 or a solarize threshold get their knots where they need them, a few hundred in all."""
    knots = torch.linspace(0, 1, start_knots)  # float32, as the images are: a jump ends between two floats
    values = constant_levels(pipeline, knots, in_shape)
    tol = tol_gray / GRAY_LEVELS
    while len(knots) < max_knots:
        mid = ((knots[1:].double() + knots[:-1].double()) / 2).float()
        open_ = (mid > knots[:-1]) & (mid < knots[1:])  # intervals not yet down to adjacent floats
        if not bool(open_.any()):
            break
        mid_values = constant_levels(pipeline, mid[open_], in_shape)
        chord = ((values[1:] + values[:-1]) / 2)[open_]
        split = (mid_values - chord).abs() > tol
        if not bool(split.any()):
            break
        knots, order = torch.cat([knots, mid[open_][split]]).sort()
        values = torch.cat([values, mid_values[split]])[order]
    return ReadCurve(knots, values)


def constant_levels(pipeline, levels: torch.Tensor, in_shape, chunk: int = 256) -> torch.Tensor:
    """The pipeline's mean output for a constant image at each value of ``levels`` (float64)."""
    out = []
    with torch.no_grad():
        for i in range(0, len(levels), chunk):
            part = levels[i : i + chunk].float()
            flat = part.view(-1, 1, 1, 1).expand(len(part), *in_shape).contiguous()
            out.append(pipeline(flat).flatten(1).mean(1).double())
    return torch.cat(out)
