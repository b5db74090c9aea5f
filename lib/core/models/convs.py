"""``conv3`` and ``conv5``: valid convolutions that shrink the image to the output's size."""

import torch
from torch import nn

from lib.core.constants import IN_SHAPE, OUT_SHAPE
from lib.core.fit import conv_lstsq
from lib.core.models.base import OutputConstraint
from lib.core.pipeline import check_images
from lib.core.registry import register


class ValidConvs(nn.Module):
    """Valid convolutions, 3 -> C -> ... -> C channels, named ``layers``: their kernels take 32x32 images to
    the output's H x W, the shrinking split as evenly as it goes (3x3 twice, or 5x5 once, for 28x28)."""

    layers: tuple[str, ...] = ()

    def __init__(self, output: str = "none", out_shape: tuple[int, int, int] = OUT_SHAPE,
                 in_shape: tuple[int, int, int] = IN_SHAPE):  # fmt: skip
        super().__init__()
        self.out_shape = (c, h, w) = tuple(out_shape)
        self.in_shape = tuple(in_shape)
        (in_c, in_h, in_w), n = self.in_shape, len(self.layers)
        if not (1 <= h <= in_h and 1 <= w <= in_w):
            raise ValueError(f"valid convolutions cannot take {in_h}x{in_w} images to {h}x{w}; use dense or separable")
        for i, name in enumerate(self.layers):
            kernel = (1 + (in_h - h + i) // n, 1 + (in_w - w + i) // n)
            setattr(self, name, nn.Conv2d(c if i else in_c, c, kernel_size=kernel))
        self.output = OutputConstraint(output)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.in_shape)
        for name in self.layers:
            x = getattr(self, name)(x)  # conv3: (N, 1, 30, 30), then (N, 1, 28, 28)
        return self.output(x)


@register("conv3")
class Conv3(ValidConvs):
    """Two valid 3x3 convolutions, 3 -> 1 -> 1 channels: 32 -> 30 -> 28, learning the downsampling
    locally. A 5x5 receptive field cannot reach the far corner a 180-degree flip needs."""

    label = "conv3"  # how tables name it
    words = "two 3x3 convolutions that downsample"
    abilities = frozenset({"learned", "linear", "few_params"})
    layers = ("conv1", "conv2")


@register("conv5")
class Conv5(ValidConvs):
    """One valid 5x5 convolution, 3 -> 1 channels: 32 -> 28."""

    label = "conv5"  # how tables name it
    words = "one 5x5 convolution that downsamples"
    abilities = frozenset({"learned", "linear", "closed_form", "few_params"})
    layers = ("conv",)

    @torch.no_grad()
    def fit_kernel(self, x: torch.Tensor, y: torch.Tensor) -> dict:
        """The least-squares kernel and bias from images ``x`` to targets ``y`` (lib.core.fit.conv_lstsq): the best
        any single convolution can do."""
        weight, bias = conv_lstsq(x, y, self.conv.kernel_size)
        self.conv.weight.copy_(weight)
        self.conv.bias.copy_(bias)
        kh, kw = self.conv.kernel_size
        return {"solver": f"normal equations of the {kh}x{kw} patches", "n_images": len(x)}
