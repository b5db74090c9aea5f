"""``exact``: an affine pipeline's own operator, probed from the pipeline (no training)."""

import torch
from torch import nn

from lib.core.constants import IN_SHAPE, TARGET
from lib.core.models.base import OutputConstraint
from lib.core.pipeline import check_images
from lib.core.probe import probe
from lib.core.registry import register
from lib.core.separable import SeparableParts, separable_map


@register("exact")
class Exact(nn.Module):
    """An affine pipeline's own operator (lib.core.probe), the target's by default: no training. A separable
    pipeline's runs as the separable map (its offset, as ``Normalize`` adds, in the bias), another's as one
    matrix product plus its offset. ``out_shape`` is the pipeline's; ``pipeline`` is a string, or any callable
    ``lib.core.spec.wrap`` takes (such a model runs, but cannot be saved: its pipeline is code). Stored as
    buffers, so it saves, loads and moves between devices like any model."""

    label = "exact (the pipeline's own operator, probed; not learned)"  # how tables name it
    words = "the pipeline's own operator, probed"
    abilities = frozenset({"linear", "holds_target"})

    def __init__(self, output: str = "none", out_shape: tuple[int, int, int] | None = None, pipeline=TARGET,
                 in_shape: tuple[int, int, int] = IN_SHAPE):  # fmt: skip
        super().__init__()
        op = probe(pipeline, in_shape)
        if out_shape is not None and tuple(out_shape) != op.out_shape:
            raise ValueError(f"{op.text!r} gives {op.out_shape} images, not {tuple(out_shape)}: pass its pipeline")
        self.out_shape, self.in_shape, self.pipeline, self.separable = op.out_shape, op.in_shape, op.text, op.separable
        if op.separable:
            self.register_buffer("gray", op.parts.gray.squeeze(0).float())  # (3,), or (C, 3) for C channels
            self.register_buffer("bias", op.parts.bias.float())  # (C,): the offset, zero for a linear pipeline
            self.register_buffer("rows", op.parts.rows.float())  # (H, 32)
            self.register_buffer("cols", op.parts.cols.float())  # (W, 32)
        elif op.matrix is not None:
            self.register_buffer("weight", op.matrix.float().T.contiguous())  # (3 * 32 * 32, C * H * W)
            offset = op.offset if op.offset is not None else torch.zeros(op.out_shape)
            self.register_buffer("offset", offset.float())  # (C, H, W)
        else:
            raise ValueError(f"{op.text!r} on {op.in_shape} images is neither row/column separable nor small enough "
                             f"to hold as one matrix (lib.core.probe.DENSE_LIMIT)")  # fmt: skip
        self.output = OutputConstraint(output)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.in_shape)
        if self.separable:
            return self.output(separable_map(x, self.gray, self.rows, self.cols, self.bias))  # (N, C, H, W)
        return self.output((x.flatten(1) @ self.weight).view(-1, *self.out_shape) + self.offset)  # (N, C, H, W)

    def read_parts(self) -> SeparableParts:
        """Views of its buffers; being the pipeline's, they have no ``write_parts``."""
        if not self.separable:
            raise TypeError(f"the operator of {self.pipeline!r} is not row/column separable")
        return SeparableParts(self.gray.view(-1, self.in_shape[0]), self.bias, self.rows, self.cols)
