"""``banded``: the separable map with its row and column matrices kept only on a support.

An antialiased resize mixes only neighbouring pixels: each output row of the target pipeline reads 2 or 3
input rows, each output column 2 or 3 input columns. So of the 28x32 entries of A and of B only 62 are
not zero, and a separable model that keeps just those, with the gray mix and its bias, holds the whole
pipeline in 128 parameters (``separable`` has 1,796, the minimal design 803,604). The support is a
property of the pipeline's filter: no smaller model of this structure can hold the pipeline, because
dropping one more entry drops a tap the resize uses.

The support is found, not assumed: :func:`support_of` keeps the entries of a fitted (or probed) separable
map above a fraction of its largest, and :func:`fit_banded` fits by least squares first and then keeps
that support. The model computes its A and B from the kept values, so it trains like ``separable`` (the
moments strategy reads its parts, lib.core.separable) and saves its support in its configuration.
"""

import torch

from lib.core.fit import fit_model
from lib.core.models import build
from lib.core.models.banded import Banded
from lib.core.separable import parts_of

SUPPORT_TOL = 1e-6  # an entry below this fraction of its matrix's largest is fitting noise, not a tap
# A map trained to a tolerance (the final model's L-BFGS) or fitted in float32 (lib.core.fit.separable_als) keeps
# noise off the band: the trained model's off-band entries sit at most near 3e-5 of the largest, its smallest taps
# near 6e-2; so 1e-3 separates them.
TRAINED_SUPPORT_TOL = 1e-3


def support_of(net, tol: float = SUPPORT_TOL) -> tuple[list[list[int]], list[list[int]]]:
    """The supports of a separable map's A and B: in each row, the entries above ``tol`` times the matrix's
    largest absolute entry."""
    parts = parts_of(net)

    def keep(m: torch.Tensor) -> list[list[int]]:
        m = m.detach().abs()
        return [torch.nonzero(row > tol * m.max()).flatten().tolist() for row in m]

    return keep(parts.rows), keep(parts.cols)


def from_separable(net, tol: float = SUPPORT_TOL, output: str = "none") -> Banded:
    """A ``banded`` model holding ``net``'s map (a separable model, or a probed operator) on its support."""
    rows, cols = support_of(net, tol)
    parts = parts_of(net)
    in_shape = (parts.gray.shape[-1], parts.rows.shape[1], parts.cols.shape[1])
    model = build("banded", output=output, out_shape=parts.out_shape, row_support=rows, col_support=cols,
                  in_shape=in_shape)  # fmt: skip
    model.write_parts(parts)
    return model


def fit_banded(x: torch.Tensor, y: torch.Tensor, tol: float = SUPPORT_TOL) -> Banded:
    """The least-squares separable map of images ``x`` to targets ``y`` (lib.core.fit), kept on its support."""
    sep = build("separable", out_shape=tuple(y.shape[1:]), in_shape=tuple(x.shape[1:]))
    fit_model(sep, x, y)
    return from_separable(sep, tol)
