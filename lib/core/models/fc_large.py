"""``fc_large``: one fully connected layer from the whole input to the whole output."""

import torch
from torch import nn

from lib.core.constants import IN_SHAPE, OUT_SHAPE
from lib.core.fit import LinearFit
from lib.core.models.base import OutputConstraint, refuse_large
from lib.core.pipeline import check_images
from lib.core.registry import register


@register("fc_large")
class FCLarge(nn.Module):
    """One fully connected layer from the whole 3x32x32 input to the 28x28 output (2.4M parameters)."""

    label = "fc_large"  # how tables name it
    words = "a large fully connected model"
    abilities = frozenset({"learned", "linear", "holds_target", "any_shape", "closed_form"})

    def __init__(self, output: str = "none", out_shape: tuple[int, int, int] = OUT_SHAPE,
                 in_shape: tuple[int, int, int] = IN_SHAPE):  # fmt: skip
        super().__init__()
        self.out_shape, self.in_shape = tuple(out_shape), tuple(in_shape)
        refuse_large("fc_large", torch.Size(self.in_shape).numel() * torch.Size(self.out_shape).numel())
        self.linear = nn.Linear(torch.Size(self.in_shape).numel(), torch.Size(self.out_shape).numel())
        self.output = OutputConstraint(output)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.in_shape)
        return self.output(self.linear(x.flatten(1)).view(-1, *self.out_shape))  # (N, C, H, W)

    @torch.no_grad()
    def set_linear(self, fit: LinearFit) -> dict:
        """The full linear least squares ``fit`` (lib.core.fit) is this model's own optimum: taken as it is."""
        self.linear.weight.copy_(fit.weight)
        self.linear.bias.copy_(fit.bias)
        return {}
