"""``banded``: the separable map with its row and column matrices kept only on a support (lib.core.banded finds the
support and fits it)."""

import torch
from torch import nn

from lib.core.constants import IN_SHAPE, OUT_SHAPE
from lib.core.models.base import Conv1x1, OutputConstraint
from lib.core.pipeline import check_images
from lib.core.registry import register
from lib.core.separable import SeparableParts, separable_map

# inputs of at least this many pixels take the band's taps only (Banded._gathered): on the project's 2-core AVX-512
# CPU the taps ran 35 us an image against the products' 41 at 128x128, 9.1 against 8.0 at 64x64
GATHER_PIXELS = 128 * 128


def _band(n_out: int, n_in: int, width: int) -> list[list[int]]:
    """A default support: for each of ``n_out`` outputs, the ``width`` inputs nearest its centre."""
    out = []
    for i in range(n_out):
        centre = (i + 0.5) * n_in / n_out - 0.5
        start = min(max(round(centre - (width - 1) / 2), 0), n_in - width)
        out.append(list(range(start, start + width)))
    return out


def _taps(support: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Each output's inputs as a (n_out, taps) index table (short rows padded with input 0, weighted 0), and
    the slot in that table of every kept entry, in :func:`_indices`'s order."""
    taps = max(len(inputs) for inputs in support)
    table = torch.zeros(len(support), taps, dtype=torch.long)
    for i, inputs in enumerate(support):
        table[i, : len(inputs)] = torch.tensor(inputs, dtype=torch.long)
    return table, torch.tensor([k for inputs in support for k in range(len(inputs))])


def _indices(support: list[list[int]], n_in: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(output index, input index) of every kept entry, refusing an input outside ``range(n_in)``."""
    pairs = [(i, j) for i, cols in enumerate(support) for j in cols]
    if not pairs or any(not 0 <= j < n_in for _, j in pairs) or len(set(pairs)) != len(pairs):
        raise ValueError(f"a support lists, for each output, distinct inputs in 0..{n_in - 1}; got {support}")
    i, j = zip(*pairs, strict=True)
    return torch.tensor(i), torch.tensor(j)


@register("banded")
class Banded(nn.Module):
    """1x1 conv 3->C, then Y = A G B^T with A (H, 32) and B (W, 32) zero outside their supports.

    ``row_support[i]`` lists the input rows output row i reads (``col_support`` the same for columns);
    by default a band of ``width`` around each output's centre, which ignores the flips: fit the support
    from data (:func:`fit_banded`) for a real pipeline."""

    label = "banded (separable on its support)"  # how tables name it
    words = "separable kept on the entries its resize uses (2 or 3 a row)"
    abilities = frozenset({"learned", "linear", "separable", "holds_target", "any_shape", "few_params"})

    def __init__(
        self, output: str = "none", out_shape: tuple[int, int, int] = OUT_SHAPE,
        row_support: list[list[int]] | None = None, col_support: list[list[int]] | None = None, width: int = 3,
        in_shape: tuple[int, int, int] = IN_SHAPE,
    ):  # fmt: skip
        super().__init__()
        self.out_shape = c, h, w = tuple(out_shape)
        self.in_shape = in_c, in_h, in_w = tuple(in_shape)
        self.row_support = [list(map(int, r)) for r in (row_support or _band(h, in_h, width))]
        self.col_support = [list(map(int, r)) for r in (col_support or _band(w, in_w, width))]
        if len(self.row_support) != h or len(self.col_support) != w:
            raise ValueError(f"supports of {len(self.row_support)} rows and {len(self.col_support)} columns "
                             f"do not fit the output {h}x{w}")  # fmt: skip
        for name, support, n_in in (("rows", self.row_support, in_h), ("cols", self.col_support, in_w)):
            i, j = _indices(support, n_in)
            self.register_buffer(f"{name}_out", i, persistent=False)
            self.register_buffer(f"{name}_in", j, persistent=False)
            table, slot = _taps(support)
            self.register_buffer(f"{name}_taps", table, persistent=False)
            self.register_buffer(f"{name}_slot", slot, persistent=False)
        self.gathered = in_h * in_w >= GATHER_PIXELS
        self.gray = Conv1x1(in_c, c)
        self.row_values = nn.Parameter(torch.full((len(self.rows_in),), 1 / width))  # the kept entries of A
        self.col_values = nn.Parameter(torch.full((len(self.cols_in),), 1 / width))  # the kept entries of B
        self.output = OutputConstraint(output)

    @staticmethod
    def _matrix(out: torch.Tensor, inp: torch.Tensor, values: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
        full = torch.zeros(shape, dtype=values.dtype, device=values.device)
        return full.index_put((out, inp), values)  # (H or W, 32), differentiable in the kept values

    def read_parts(self) -> SeparableParts:
        """Its parts: the mix and bias as views, A and B built from the kept values (gradients reach them)."""
        (_, h, w), (_, in_h, in_w) = self.out_shape, self.in_shape
        rows = self._matrix(self.rows_out, self.rows_in, self.row_values, (h, in_h))
        cols = self._matrix(self.cols_out, self.cols_in, self.col_values, (w, in_w))
        return SeparableParts(self.gray.weight[:, :, 0, 0], self.gray.bias, rows, cols)

    @torch.no_grad()
    def write_parts(self, parts: SeparableParts) -> None:
        """Take the mix, the bias and the entries of A and B on the support; entries off it are dropped."""
        self.gray.weight.copy_(parts.gray.view_as(self.gray.weight))
        self.gray.bias.copy_(parts.bias)
        self.row_values.copy_(parts.rows[self.rows_out, self.rows_in])
        self.col_values.copy_(parts.cols[self.cols_out, self.cols_in])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.in_shape)
        if self.gathered:
            return self.output(self._gathered(x))
        p = self.read_parts()
        return self.output(separable_map(x, p.gray[0] if len(p.gray) == 1 else p.gray, p.rows, p.cols, p.bias))

    def _gathered(self, x: torch.Tensor) -> torch.Tensor:
        """The band's taps only: each output row a weighted sum of the few input rows it reads (gathered),
        then the same over columns. Its work grows with the taps, not with the input's side, where the
        matrix products multiply every zero of A and B."""
        g = self.gray(x)  # (N, C, h, w)
        (row_idx, rows), (col_idx, cols) = self.taps()
        y = sum(g.index_select(2, row_idx[:, t]) * rows[:, t, None] for t in range(rows.shape[1]))
        return sum(y.index_select(3, col_idx[:, t]) * cols[:, t] for t in range(cols.shape[1]))

    def taps(self) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
        """((index, weight) of A, (index, weight) of B): for each output row (column) the inputs it reads and
        their weights, as (outputs, taps) tables; an output with fewer taps reads input 0 with weight 0. The
        eager taps and the fused loop of any size (lib.core.fused) both run from these."""
        tables = []
        for idx, out, slot, values in ((self.rows_taps, self.rows_out, self.rows_slot, self.row_values),
                                       (self.cols_taps, self.cols_out, self.cols_slot, self.col_values)):  # fmt: skip
            weight = torch.zeros(idx.shape, dtype=values.dtype, device=values.device)
            tables.append((idx, weight.index_put((out, slot), values)))
        return tables[0], tables[1]

    def band_mflops(self) -> float:
        """Floating-point operations per image when only the kept entries are multiplied (in millions): the
        gray mix and bias over the input's pixels, then a multiply-add per kept entry of B for each input row
        and per kept entry of A for each of the W output columns, for each output channel (the fused loops and the
        eager taps take the rows first, which costs the same for square inputs and outputs)."""
        c, _, w = self.out_shape
        in_c, in_h, in_w = self.in_shape
        return c * (2 * in_c * in_h * in_w + 2 * in_h * len(self.cols_in) + 2 * w * len(self.rows_in)) / 1e6
