"""What every model family shares: the output constraint, the 1x1 mix, the size guard, the uint8 wrapper and
the chunked forward."""

from collections.abc import Iterator

import torch
from torch import nn

from lib.core.data import to_float

OUTPUTS = ("none", "clamp", "sigmoid")
DENSE_WEIGHTS = 50_000_000  # a dense layer above this many weights (200 MB in float32) is refused, not built


def output_mode(model: nn.Module) -> str:
    """A model's output constraint (:data:`OUTPUTS`); "none" for a model without one (a probed operator, a curve)."""
    return getattr(getattr(model, "output", None), "mode", "none")


class OutputConstraint(nn.Module):
    """Keeps outputs in [0, 1] (``clamp`` or ``sigmoid``) or leaves them alone (``none``)."""

    def __init__(self, mode: str = "none"):
        super().__init__()
        if mode not in OUTPUTS:
            raise ValueError(f"unknown output constraint {mode!r}; choose one of {OUTPUTS}")
        self.mode = mode

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        if self.mode == "clamp":
            return y.clamp(0, 1)
        if self.mode == "sigmoid":
            return torch.sigmoid(y)
        return y

    def extra_repr(self) -> str:
        return self.mode


class Conv1x1(nn.Conv2d):
    """``nn.Conv2d(in, out, kernel_size=1)`` computed as a channel contraction.

    Same parameters and same result as the stock layer, but on this project's 2-core CPU the stock
    1x1 convolution with one output channel took 0.73 s forward+backward for 5,000 images against
    0.056 s for the contraction, so the contraction is what runs.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(in_channels, out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.einsum("oc,nchw->nohw", self.weight[:, :, 0, 0], x)  # (N, out, H, W)
        return y + self.bias.view(1, -1, 1, 1)


def refuse_large(name: str, weights: int) -> None:
    if weights > DENSE_WEIGHTS:
        raise ValueError(
            f"{name} would hold {weights:,} weights for these shapes (more than {DENSE_WEIGHTS:,} are "
            f"refused): use separable or banded, whose weights grow with the sides, not the areas"
        )


class FromUint8(nn.Module):
    """``net`` on uint8 images (N, 3, 32, 32), as CIFAR-10 is stored: each batch is scaled to [0, 1]
    first. Under ``torch.compile`` the scaling fuses into the model's first pass (the gray mix), so the
    four-times larger float copy of the images is never written."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(to_float(x))  # (N, 3, 32, 32) uint8 -> float -> the model's output


def in_chunks(
    model: nn.Module, x: torch.Tensor, chunk: int, device: torch.device | None = None, dtype: torch.dtype | None = None
) -> Iterator[torch.Tensor]:
    """The model's output on consecutive slices of ``x`` of ``chunk`` images, each slice moved to
    ``device`` and ``dtype`` when given: the one loop behind prediction, timing and the benchmark."""
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    for i in range(0, len(x), chunk):
        yield model(x[i : i + chunk].to(device=device, dtype=dtype))
