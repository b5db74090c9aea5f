"""``separable``: the 1x1 mix, then Y = A G B^T with full row and column matrices."""

import torch
from torch import nn

from lib.core.constants import IN_SHAPE, OUT_SHAPE
from lib.core.fit import LinearFit, separable_from_fit
from lib.core.models.base import Conv1x1, OutputConstraint
from lib.core.pipeline import check_images
from lib.core.registry import register
from lib.core.separable import SeparableParts, copy_parts, separable_map


@register("separable")
class Separable(nn.Module):
    """1x1 conv 3->1, then Y = A G B^T with learned A, B of shape (28, 32): about 1.8k parameters.

    ``out_shape`` (channels, height, width) builds it for another pipeline's output: the convolution mixes
    3 channels into ``channels``, A is (height, 32) and B (width, 32), shared by the channels."""

    label = "separable (the final model)"  # how tables name it
    words = "a gray mix and two 28x32 matrices, Y = A G B^T"
    abilities = frozenset({"learned", "linear", "separable", "holds_target", "any_shape", "closed_form", "few_params"})

    def __init__(self, output: str = "none", out_shape: tuple[int, int, int] = OUT_SHAPE,
                 in_shape: tuple[int, int, int] = IN_SHAPE):  # fmt: skip
        super().__init__()
        self.out_shape = c, h, w = tuple(out_shape)
        self.in_shape = in_c, in_h, in_w = tuple(in_shape)
        self.gray = Conv1x1(in_c, c)  # A and B below start in nn.Linear's default range for 32 inputs
        self.rows = nn.Parameter(torch.empty(h, in_h).uniform_(-(in_h**-0.5), in_h**-0.5))  # A
        self.cols = nn.Parameter(torch.empty(w, in_w).uniform_(-(in_w**-0.5), in_w**-0.5))  # B
        self.output = OutputConstraint(output)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.in_shape)
        # the 1x1 convolution's weights and bias, applied inside the separable map
        mix = self.gray.weight[:, :, 0, 0]  # (C, 3)
        y = separable_map(x, mix[0] if len(mix) == 1 else mix, self.rows, self.cols, self.gray.bias)
        return self.output(y)  # (N, C, H, W)

    def read_parts(self) -> SeparableParts:  # views of its parameters (lib.core.separable.parts_of)
        return SeparableParts(self.gray.weight[:, :, 0, 0], self.gray.bias, self.rows, self.cols)

    @torch.no_grad()
    def write_parts(self, parts: SeparableParts) -> None:
        copy_parts(self.read_parts(), parts)

    @torch.no_grad()
    def set_linear(self, fit: LinearFit) -> dict:
        """The nearest separable map to the full linear least squares ``fit`` (lib.core.fit.separable_from_fit);
        returns its two rank-1 ratios."""
        parts, ratios = separable_from_fit(fit, self.in_shape, self.out_shape)
        self.write_parts(parts)
        return ratios
