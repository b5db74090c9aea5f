"""A pipeline's fitted map: a linear map with, around it, what the report's model families add.

:class:`Fitted` computes, on float images (N, c, h, w) in [0, 1]:

1. an optional *table*: each input pixel replaced by its 8-bit level's entry (256 values), which holds any point-wise
   step before the linear map exactly on 8-bit images (a gamma, a solarize);
2. the *linear map*: ``banded`` (lib.core.banded) for a row/column separable pipeline, else :class:`Matrix`;
3. an optional *curve* on its output, ``len(curve)`` values at equally spaced points of ``curve_range``, linear
   between them and constant beyond (a monotone step after the map, a gamma), and an optional *clamp*;
4. an optional *permutation* of each image's output pixels (a quarter turn or a transpose after the map).

The engine (lib.core.engine) runs all four inside its loop: the table and the curve as lookups, the permutation as
the indices each output is written at. :func:`to_blob` and :func:`from_blob` write and read one as plain tensors and
numbers, for ``LearnedTransform.save``.
"""

import torch
from torch import nn

from lib.core import registry
from lib.core.constants import GRAY_LEVELS
from lib.core.pipeline import check_images


class Matrix(nn.Module):
    """An affine map as one matrix: y = x.flatten() @ weight + offset, for pipelines that are linear but neither
    separable nor a permutation of a separable map (a rotation by an angle other than a quarter turn)."""

    def __init__(self, weight: torch.Tensor, offset: torch.Tensor, in_shape, out_shape):
        super().__init__()
        self.in_shape, self.out_shape = tuple(in_shape), tuple(out_shape)
        self.register_buffer("weight", weight.float().contiguous())  # (c h w, C H W)
        self.register_buffer("offset", offset.float().reshape(self.out_shape))  # (C, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.in_shape)
        return (x.flatten(1) @ self.weight).view(-1, *self.out_shape) + self.offset  # (N, C, H, W)


class Fitted(nn.Module):
    """``linear`` with an optional input ``table`` (256,), output ``curve`` (K,) over ``curve_range`` (lo, hi),
    ``clamp`` (lo, hi) and output permutation ``order`` (C H W,): output pixel k of an image is the linear map's
    pixel ``order[k]`` (see the module's notes)."""

    def __init__(self, linear: nn.Module, table: torch.Tensor | None = None, curve: torch.Tensor | None = None,
                 curve_range: tuple[float, float] = (0.0, 1.0), clamp: tuple[float, float] | None = None,
                 order: torch.Tensor | None = None, out_shape: tuple[int, int, int] | None = None):  # fmt: skip
        super().__init__()
        self.linear = linear.eval().requires_grad_(False)
        self.in_shape = tuple(linear.in_shape)
        self.out_shape = tuple(out_shape or linear.out_shape)
        if order is not None and len(order) != torch.Size(self.out_shape).numel():
            raise ValueError(f"an output order lists each of the {torch.Size(self.out_shape).numel()} outputs once")
        self.register_buffer("table", None if table is None else table.float().contiguous())
        self.register_buffer("curve", None if curve is None else curve.float().contiguous())
        self.register_buffer("order", None if order is None else order.long().contiguous())
        self.curve_range = tuple(float(v) for v in curve_range)
        self.clamp = None if clamp is None else tuple(float(v) for v in clamp)

    @property
    def family(self) -> str:
        """The family, as the report names it: "table + banded", "banded + curve", "permuted banded", ..."""
        name = "dense" if isinstance(self.linear, Matrix) else self.linear.registry_name
        before = "table + " if self.table is not None else ""
        after = " + curve" if self.curve is not None else " + clamp" if self.clamp is not None else ""
        return f"{before}{'permuted ' if self.order is not None else ''}{name}{after}"

    @property
    def bare(self) -> bool:
        """Whether it is its linear map alone: no table, curve, clamp or output order around it."""
        return all(v is None for v in (self.table, self.curve, self.clamp, self.order))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.linear(x if self.table is None else look_up(self.table, x))
        return finish(y, self.curve, self.curve_range, self.clamp, self.order, self.out_shape)


def look_up(table: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Each pixel of ``x`` replaced by its level's entry of ``table``: uint8 pixels are levels; a float pixel is taken
    at its nearest level, as engine.c and lib.core.curves.Table take it. The ONNX graph runs this too."""
    level = x.long() if x.dtype == torch.uint8 else (x.clamp(0, 1) * GRAY_LEVELS).round().long()
    return table[level]


def finish(y: torch.Tensor, curve: torch.Tensor | None, curve_range: tuple[float, float],
           clamp: tuple[float, float] | None, order: torch.Tensor | None, out_shape) -> torch.Tensor:  # fmt: skip
    """What comes after the linear map's output ``y`` (N, C', H', W'): the curve, the clamp, the output order; the
    result (N, *out_shape). The ONNX graph runs this too."""
    if curve is not None:
        lo, hi = curve_range
        top = len(curve) - 1
        pos = ((y - lo) * (top / (hi - lo) if hi > lo else 0.0)).clamp(0, top)
        i = pos.floor().clamp(max=top - 1).long()
        a = curve[i]
        y = a + (pos - i) * (curve[i + 1] - a)  # as engine.c computes it (torch.lerp rounds otherwise)
    if clamp is not None:
        y = y.clamp(*clamp)
    if order is not None:
        y = y.flatten(1)[:, order]
    return y.reshape(-1, *out_shape)  # (N, C, H, W)


def to_blob(model: Fitted) -> dict:
    """``model`` as plain tensors and numbers (torch.save writes it; :func:`from_blob` reads it back)."""
    linear = model.linear
    if isinstance(linear, Matrix):
        lin = {"matrix": linear.weight, "offset": linear.offset, "in_shape": linear.in_shape,
               "out_shape": linear.out_shape}  # fmt: skip
    else:
        lin = registry.blob(linear)
    return {"linear": lin, "table": model.table, "curve": model.curve, "curve_range": model.curve_range,
            "clamp": model.clamp, "order": model.order, "out_shape": model.out_shape}  # fmt: skip


def from_blob(blob: dict) -> Fitted:
    lin = blob["linear"]
    if "matrix" in lin:
        linear = Matrix(lin["matrix"], lin["offset"], lin["in_shape"], lin["out_shape"])
    else:
        linear = registry.from_blob(lin)
    return Fitted(linear, blob["table"], blob["curve"], blob["curve_range"], blob["clamp"], blob["order"],
                  blob["out_shape"])  # fmt: skip
