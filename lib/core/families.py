"""The report's model families read off a pipeline by probing it: each reader returns a fitted map and how it was
read, or raises :class:`Skip` with why the family does not apply. lib.core.fitting tries them, smallest first, and
keeps the first that matches the pipeline on held-out images; its notes say what each family holds."""

import torch
import torch.nn.functional as F

from lib.core import probe
from lib.core.banded import from_separable
from lib.core.constants import GRAY_LEVELS
from lib.core.curves import constant_levels
from lib.core.fit import separable_als
from lib.core.fitted import Fitted, Matrix
from lib.core.separable import SeparableParts
from lib.core.spec import Spec

DENSE_LIMIT = probe.DENSE_LIMIT  # entries of a dense matrix above which it is refused (400 MB while it is read)
ALS_NOISE = 64  # noise images alternating least squares fits on, where the axis probe does not apply
GROUP_TOL = 1e-5  # source coordinates (on [0, 1]) closer than this belong to the same row or column


class Skip(Exception):
    """A family that does not apply (the reason is kept in the fit's ``tried``)."""


class Fold(Skip):
    """The pipeline folds after its linear steps: no curve after a map applies, whatever its size."""


def derived(s: Spec, fn, out_shape=None, what: str = "") -> Spec:
    """A pipeline made from ``s`` (the same images in), for reading a family's linear map."""
    with torch.no_grad():
        shape = out_shape or tuple(fn(torch.zeros(1, *s.in_shape)).shape[1:])
    return Spec(f"{s.text} ({what})", (), fn, tuple(shape), s.in_shape)


def _band(parts: SeparableParts | None, why: str):
    if parts is None:
        raise Skip(why)
    try:
        return from_separable(parts).eval()
    except ValueError as err:  # a map with no taps left: the output does not depend on the image
        raise Skip(f"its map reads no input pixel ({err.__class__.__name__}): is its output constant?") from err


def _matches(parts: SeparableParts | None, s: Spec) -> bool:
    """Whether ``parts`` reproduce pipeline ``s`` on two random images, up to float rounding: a quick check that a
    guessed structure (a reused axis map, an output order) holds before the held-out images judge the fit."""
    if parts is None:
        return False
    x = torch.rand(2, *s.in_shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y = s(x).double()
    return bool((parts(x.double()) - y).abs().max() < 1e-4 * (1 + y.abs().max()))


def separable(s: Spec, axes: dict) -> tuple[Fitted, str]:
    """``banded`` read by axis, reusing a row or column map of ``axes`` where one fits the shape (the same lengths in
    and out need not mean the same map: a resize of the shorter side maps a height differently in a portrait and
    a landscape image, so a reused map is kept only where it reproduces the pipeline)."""
    (_, h, w), (_, ho, wo) = s.in_shape, s.out_shape
    offset = probe.blank_response(s)
    rows, cols = axes.get(("rows", h, ho)), axes.get(("cols", w, wo))
    if rows is not None or cols is not None:
        parts = probe.read_axes(s, offset, rows=rows, cols=None if rows is not None else cols)
        if _matches(parts, s):
            return Fitted(_band(parts, "")), f"axis probe, {'row' if rows is not None else 'column'} map reused"
    parts = probe.read_axes(s, offset)
    if parts is None:  # the probe does not apply: fit the separable map to noise instead
        x = torch.rand(ALS_NOISE, *s.in_shape, generator=torch.Generator().manual_seed(0))
        return Fitted(_band(separable_als(x, s(x)), "no separable map")), "alternating least squares"
    return Fitted(_band(parts, "")), "axis probe"


def output_order(s: Spec, offset: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int, int]] | None:
    """For a pipeline that permutes a separable map's output (a quarter turn, a transpose): ``order``, with output
    pixel k = the separable map's pixel order[k] (lib.core.fitted.Fitted), and that map's output shape. Found from
    each output's source row and column (its response to a row ramp and to a column ramp, over its response to a
    white image), which sort the outputs into the map's grid; None where the sources do not form a grid."""
    c, h, w = s.in_shape
    ramps = torch.stack([torch.ones(s.in_shape), torch.linspace(0, 1, h).view(1, h, 1).expand(c, h, w),
                         torch.linspace(0, 1, w).view(1, 1, w).expand(c, h, w)])  # fmt: skip
    with torch.no_grad():
        white, row, col = (s(ramps).double() - offset).flatten(1)
    if (white.abs() < 1e-9).any():
        return None
    ranks = []
    for coord in (row / white, col / white):
        values, order = coord.sort()
        group = torch.zeros(len(values), dtype=torch.long)
        group[order] = F.pad(torch.cumsum((values.diff() > GROUP_TOL).long(), 0), (1, 0))  # a new group at each gap
        ranks.append(group)
    n_out, n_r, n_c = s.out_shape[0], int(ranks[0].max()) + 1, int(ranks[1].max()) + 1
    if n_out * n_r * n_c != len(white):
        return None
    channel = torch.arange(len(white)) // (len(white) // n_out)
    inner = (channel * n_r + ranks[0]) * n_c + ranks[1]
    return (inner, (n_out, n_r, n_c)) if len(torch.unique(inner)) == len(inner) else None


def turns(out_shape: tuple[int, int, int]) -> list[tuple[torch.Tensor, tuple[int, int, int]]]:
    """The output orders of a quarter turn either way, a transpose and an anti-transpose of a (C, W, H) map whose
    output is (C, H, W): what the ramps cannot find where some outputs are blank (a pad before the turn)."""
    c, h, w = out_shape
    grid = torch.arange(c * w * h).view(c, w, h)
    return [(o.flatten(), (c, w, h)) for o in (grid.rot90(1, (1, 2)), grid.rot90(-1, (1, 2)), grid.transpose(1, 2),
                                                grid.rot90(1, (1, 2)).flip(1))]  # fmt: skip


def permuted(s: Spec) -> tuple[Fitted, str]:
    found = output_order(s, probe.blank_response(s))
    if found is not None and torch.equal(found[0], torch.arange(len(found[0]))):
        raise Skip("its outputs' sources form the separable map's own grid")
    for order, shape in [found] if found is not None else turns(s.out_shape):
        inverse = torch.empty_like(order)
        inverse[order] = torch.arange(len(order))
        inner = derived(s, lambda x, i=inverse, sh=shape: s(x).flatten(1)[:, i].view(-1, *sh), shape, "unpermuted")
        parts = probe.read_axes(inner, probe.blank_response(inner))
        if _matches(parts, inner):
            how = "from ramps" if found is not None else "a quarter turn or transpose"
            return Fitted(_band(parts, ""), order=order, out_shape=s.out_shape), f"axis probe, outputs permuted ({how})"
    raise Skip("no permutation of its outputs makes a separable map")


def dense(s: Spec) -> tuple[Fitted, str]:
    entries = torch.Size(s.in_shape).numel() * torch.Size(s.out_shape).numel()
    if entries > DENSE_LIMIT:
        raise Skip(f"its one matrix would hold {entries:,} entries, over the limit of {DENSE_LIMIT:,}")
    m = probe.operator_matrix(s)  # (out, in) float64
    offset = probe.blank_response(s)
    return Fitted(Matrix(m.T, offset, s.in_shape, s.out_shape)), "basis images"


def _response(s: Spec, levels: torch.Tensor) -> torch.Tensor:
    """The pipeline's mean output for constant images at ``levels`` (float64)."""
    return constant_levels(s, levels, s.in_shape)


def _monotone(r: torch.Tensor) -> bool:
    step = r.diff()
    tol = 1e-7 * max(r.abs().max().item(), 1.0)
    return bool((step >= -tol).all() or (step <= tol).all())


def after(s: Spec, points: int) -> tuple[Fitted, str]:
    """``banded + clamp`` where the response to constant images is a line between two flat ends, else ``banded +
    curve`` with ``points`` values: the map is read from images of two levels inside the response's rising (or
    falling) stretch, the step inverted on them, and the curve is the response itself."""
    grid = torch.linspace(0, 1, 257, dtype=torch.float64)
    r = _response(s, grid)
    if not _monotone(r):
        top = int((r - r[0]).abs().argmax())
        raise Fold(f"its response to constant images turns back at level {grid[top]:.3f} (a fold, as a solarize "
                   f"makes), and a curve after a linear map can only rise or fall throughout")  # fmt: skip
    moving = (r.diff().abs() > 1e-7).nonzero().flatten()  # the intervals over which the response moves
    if len(moving) == 0:
        raise Skip("its response to constant images is flat")
    first, last = int(moving[0]), int(moving[-1]) + 1  # the stretch's ends on the grid
    # a clamp: flat ends, and a line through the samples strictly inside the stretch (its kinks lie between samples)
    inside = slice(first + 1, last)
    clamp = last - first >= 4 and (r[: first + 1] - r[0]).abs().max() < 1e-6 and (r[last:] - r[-1]).abs().max() < 1e-6
    if clamp:
        slope = (r[last - 1] - r[first + 1]) / (grid[last - 1] - grid[first + 1])
        at_zero = r[first + 1] - slope * grid[first + 1]  # the line's value at level 0
        clamp = (r[inside] - (at_zero + slope * grid[inside])).abs().max() < 1e-5 and slope != 0
    lo, hi = ((r[0] - at_zero) / slope, (r[-1] - at_zero) / slope) if clamp else (grid[first], grid[last])
    lo, hi = sorted((float(lo), float(hi)))
    base, delta = lo + 0.25 * (hi - lo), 0.5 * (hi - lo)
    inner_grid = torch.linspace(base, base + delta, 257, dtype=torch.float64)
    if clamp:  # invert the line
        invert = lambda y: (y - at_zero) / slope  # noqa: E731
    else:
        rs = _response(s, inner_grid.float())
        rising = rs[-1] > rs[0]
        keys, vals = (rs, inner_grid) if rising else (rs.flip(0), inner_grid.flip(0))

        def invert(y: torch.Tensor) -> torch.Tensor:  # linear between the response's samples
            i = torch.searchsorted(keys, y.contiguous()).clamp(1, len(keys) - 1)
            frac = (y - keys[i - 1]) / (keys[i] - keys[i - 1])
            return vals[i - 1] + frac * (vals[i] - vals[i - 1])

    inner = derived(s, lambda z: invert(s(base + delta * z).double()).float(), s.out_shape, "step inverted")
    parts = probe.read_axes(inner, probe.blank_response(inner), with_offset=False)  # the map's constant is set below
    if parts is None:
        raise Skip("no separable map under the step")
    linear = SeparableParts(parts.gray / delta, parts.bias, parts.rows, parts.cols)
    if clamp:  # y = clamp(at_zero + slope L x): the slope into the mix, the constant into the bias
        scaled = SeparableParts(linear.gray * slope, linear.bias, linear.rows, linear.cols)
        const = torch.full(s.out_shape, at_zero.item(), dtype=torch.float64)
        band = _band(probe.with_offset_bias(scaled, const), "the line's constant is no bias of the map")
        ends = sorted((r[0].item(), r[-1].item()))
        return Fitted(band, clamp=tuple(ends)), "axis probe, clamp read on constant images"
    curve = _response(s, torch.linspace(0, 1, points)).float()
    return Fitted(_band(linear, ""), curve=curve, curve_range=(0.0, 1.0)), "axis probe, step inverted"


def table(s: Spec) -> tuple[Fitted, str]:
    """``table + banded``: the response to constant images at the 256 levels is the step up to scale and offset
    (table 0 at level 0, 1 at the level that moves it most); images of those two levels are 0/1 images to the map."""
    r = _response(s, torch.arange(GRAY_LEVELS + 1) / GRAY_LEVELS)
    top = int((r - r[0]).abs().argmax())
    if r[top] == r[0]:
        raise Skip("its response to constant images is flat")
    table = ((r - r[0]) / (r[top] - r[0])).float()
    lit = top / GRAY_LEVELS
    inner = derived(s, lambda z: s(z * lit), s.out_shape, "two levels")
    band = _band(probe.read_axes(inner, probe.blank_response(inner)), "no separable map on two-level images")
    return Fitted(band, table=table), "axis probe on two levels, table read on constant images"
