"""Row/column separable maps, Y = rows @ (gray . X + bias) @ cols^T, and their parts.

Three things compute such a map: the learned ``separable`` model, the ``exact`` model of a separable
pipeline and the operator probed from one (lib.core.probe). Each keeps the parts in its own attributes;
each hands them out as one :class:`SeparableParts` and takes them back the same way, through
:func:`parts_of` and :func:`set_parts`. So the closed-form fit, moment training, the fused loop and the
reports read and write any of them alike, and a model may change where it keeps its weights without its
callers noticing.

A class joins by defining ``read_parts()`` (its parts, as its own tensors, so that gradients flow through
them) and, where its parts can be set, ``write_parts(parts)``.
"""

from dataclasses import dataclass

import torch


@dataclass
class SeparableParts:
    """The parts of a separable map from (N, 3, 32, 32) images to (N, C, H, W)."""

    gray: torch.Tensor  # (C, 3): the channel mix, one row per output channel
    bias: torch.Tensor  # (C,): added to each mixed channel before the spatial map
    rows: torch.Tensor  # (H, 32): A, acting on the rows of each mixed channel
    cols: torch.Tensor  # (W, 32): B, acting on its columns

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return len(self.gray), len(self.rows), len(self.cols)

    def matrix(self) -> torch.Tensor:
        """The map without its bias as one (C * H * W, 3 * 32 * 32) matrix on flattened images."""
        spatial = torch.kron(self.rows, self.cols)  # (H * W, 32 * 32)
        return torch.cat([torch.cat([w * spatial for w in mix], dim=1) for mix in self.gray])

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The map on float images (N, 3, 32, 32), in their dtype: (N, C, H, W)."""
        gray, bias, rows, cols = (t.to(x.dtype) for t in (self.gray, self.bias, self.rows, self.cols))
        return separable_map(x, gray[0] if len(gray) == 1 else gray, rows, cols, bias)


def balanced(parts: SeparableParts) -> SeparableParts:
    """The same map with the rows of A and of B summing to one on average, as each row of a resize does, and
    the scale they give up carried by the mix and the bias: a fitted or probed map is fixed only up to a
    scale shared among them, and the target's parts then read as torchvision's luma and resize weights."""
    row_sum, col_sum = parts.rows.sum() / len(parts.rows), parts.cols.sum() / len(parts.cols)
    row_sum, col_sum = (s if s != 0 else torch.ones_like(s) for s in (row_sum, col_sum))
    scale = row_sum * col_sum
    return SeparableParts(parts.gray * scale, parts.bias * scale, parts.rows / row_sum, parts.cols / col_sum)


def parts_of(net) -> SeparableParts:
    """The parts of ``net``: a separable model, the ``exact`` model or probed operator of a separable
    pipeline, or parts themselves. A model's parts are its own tensors: writing into them writes the model,
    and gradients reach its parameters. A TypeError says when ``net`` is no separable map."""
    if isinstance(net, SeparableParts):
        return net
    read = getattr(net, "read_parts", None)
    if read is None:
        raise TypeError(f"{type(net).__name__} is not a separable map Y = rows @ (gray . X + bias) @ cols^T")
    return read()


def set_parts(net, parts: SeparableParts) -> None:
    """Give ``net`` the parts ``parts`` (copied, in ``net``'s dtype); each must have the shape ``net``'s has."""
    write = getattr(net, "write_parts", None)
    if write is None:
        raise TypeError(f"the parts of {type(net).__name__} cannot be set")
    write(parts)


@torch.no_grad()
def copy_parts(into: SeparableParts, parts: SeparableParts) -> None:
    """Copy ``parts`` into the tensors of ``into``, refusing a part whose shape differs: ``copy_`` would
    otherwise broadcast a (1, 32) matrix over a (28, 32) one without a word."""
    for name in ("gray", "bias", "rows", "cols"):
        dst, src = getattr(into, name), getattr(parts, name)
        if dst.shape != src.shape:
            raise ValueError(f"{name} of shape {tuple(src.shape)} does not fit this map's {tuple(dst.shape)}")
        dst.copy_(src)


def separable_map(
    x: torch.Tensor, gray: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, bias: torch.Tensor | float = 0.0
) -> torch.Tensor:
    """Y = rows @ (gray . X + bias) @ cols^T: (N, 3, 32, 32) -> (N, 1, 28, 28).

    With ``gray`` of shape (C, 3) (and ``bias`` (C,)) the channels are mixed into C and each is mapped
    alike: (N, C, H, W). For one channel, the arrangement that ran fastest on the project's CPU: the gray
    mix as a matrix-vector product (faster than ``einsum`` eagerly, and fused with a uint8 conversion
    under ``torch.compile``), then one large product over every row of every image, then one batched
    product; under ``torch.compile`` the large product's columns are padded to whole vectors."""
    if gray.ndim == 2:
        bias = bias.view(1, -1, 1, 1) if isinstance(bias, torch.Tensor) else bias
        g = torch.einsum("oc,nchw->nohw", gray, x) + bias  # (N, C, 32, 32)
        return rows @ g @ cols.T  # (N, C, H, W)
    n, (h, w) = x.shape[0], x.shape[2:]  # not len(x): torch.export would fix the batch to the example's
    g = (gray.view(1, -1) @ x.flatten(2)).view(n, h, w) + bias  # (N, 32, 32); a (1, 3) matrix: FLOPs counted
    cols_t = _vector_padded(cols.T) if torch.compiler.is_compiling() else cols.T  # (32, W or a little more)
    y = (g.view(n * h, w) @ cols_t).view(n, h, cols_t.shape[1])[..., : len(cols)]  # (N, 32, W)
    return (rows @ y).unsqueeze(1)  # (N, 1, H, W)


def _vector_padded(m: torch.Tensor, lanes: int = 16) -> torch.Tensor:
    """``m`` with zero columns appended up to a multiple of ``lanes`` when that adds at most a quarter.

    On the project's CPU (AVX-512: 16 floats a vector) the compiled separable map ran about 1.1x faster
    with the (N * 32, 32) x (32, 28) product padded to 32 columns. Only the compiled model pads: the eager
    forward, whose operations torch's FLOP counter reads for the roofline, does the model's arithmetic
    and no more, so the padding's extra work counts against the model, not for it."""
    pad = -m.shape[1] % lanes
    return torch.nn.functional.pad(m, (0, pad)) if 0 < 4 * pad <= m.shape[1] else m
