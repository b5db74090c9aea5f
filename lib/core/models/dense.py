"""``dense``: the minimal design (1x1 conv, flatten, one Linear, unflatten)."""

import torch
from torch import nn

from lib.core.constants import IN_SHAPE, OUT_SHAPE
from lib.core.fit import LinearFit, factor_channels
from lib.core.models.base import Conv1x1, OutputConstraint, refuse_large
from lib.core.pipeline import check_images
from lib.core.registry import register
from lib.core.separable import parts_of


@register("dense")
class Dense(nn.Module):
    """The minimal design: 1x1 conv 3->1, flatten, Linear(1024, 784), unflatten.

    ``out_shape`` (channels, height, width) builds it for another pipeline's output: the 1x1 convolution
    then mixes 3 channels into ``channels`` and one Linear(1024, height * width) maps each of them."""

    label = "dense (the minimal design)"  # how tables name it
    words = "the minimal design: 1x1 conv 3->1, Linear(1024, 784)"
    abilities = frozenset({"learned", "linear", "holds_target", "any_shape", "closed_form"})

    def __init__(self, output: str = "none", out_shape: tuple[int, int, int] = OUT_SHAPE,
                 in_shape: tuple[int, int, int] = IN_SHAPE):  # fmt: skip
        super().__init__()
        c, h, w = self.out_shape = tuple(out_shape)
        in_c, in_h, in_w = self.in_shape = tuple(in_shape)
        refuse_large("dense", in_h * in_w * h * w)
        self.gray = Conv1x1(in_c, c)
        self.flatten = nn.Flatten(2)
        self.linear = nn.Linear(in_h * in_w, h * w)
        self.unflatten = nn.Unflatten(2, (h, w))
        self.output = OutputConstraint(output)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.in_shape)
        g = self.gray(x)  # (N, C, 32, 32)
        y = self.linear(self.flatten(g))  # (N, C, H * W)
        return self.output(self.unflatten(y))  # (N, C, H, W)

    @torch.no_grad()
    def set_linear(self, fit: LinearFit) -> dict:
        """The nearest map of this structure to the full linear least squares ``fit`` (lib.core.fit): the channel
        mix and one spatial map by the rank-1 SVD of the fit's channel blocks; the intercept averaged over
        channels (the model shares one). Returns sigma_2 / sigma_1 of that factorisation."""
        c, p, q = self.out_shape
        in_c = self.in_shape[0]
        w, spatial, ratio = factor_channels(fit, in_c, c)
        self.gray.weight.copy_(w.view(c, in_c).view_as(self.gray.weight))
        self.gray.bias.zero_()
        self.linear.weight.copy_(spatial)
        self.linear.bias.copy_(fit.bias.view(c, p * q).mean(0))
        return {"channel_rank1_ratio": ratio}


def gray_weights(model) -> torch.Tensor:
    """The grayscale mix of ``dense`` or of anything with separable parts, scaled to sum to one: the mix and
    the layers after it share a scale, so only the proportions are comparable with the pipeline's."""
    mix = model.gray.weight if isinstance(model, Dense) else parts_of(model).gray
    w = mix.detach().flatten().double()
    return w / w.sum()
