"""Models that map float images (N, 3, 32, 32) in [0, 1] to (N, 1, 28, 28), by name.

Every model checks its input: a batch of float images (N, 3, 32, 32). A single image (3, 32, 32) or
uint8 pixels are refused with a message saying what to pass (``x[None]``, ``lib.core.data.to_float``).
Every model takes ``out_shape`` (C, H, W; the target's by default) and ``in_shape`` (c, h, w; CIFAR-10's by
default): any can be built for another pipeline's images.

``dense`` is the assignment's minimal design; ``separable`` keeps only the structure the pipeline has
(grayscale is a 3-vector, resize and flips act on rows and columns separately); ``banded`` (lib.core.banded)
keeps only the entries of that structure the resize's filter uses."""

from collections.abc import Iterator

import torch
from torch import nn

from lib.core.constants import IN_SHAPE, OUT_SHAPE, TARGET
from lib.core.data import to_float
from lib.core.pipeline import check_images
from lib.core.probe import probe
from lib.core.registry import FORMAT, REGISTRY, build, load, n_params, register, save
from lib.core.separable import SeparableParts, copy_parts, parts_of, separable_map

__all__ = [  # the registry's functions are re-exported: callers build, save and load models from here
    "FORMAT", "OUTPUTS", "REGISTRY", "Conv1x1", "Conv3", "Conv5", "Dense", "Exact", "FCLarge", "FromUint8",
    "OutputConstraint", "Separable", "ValidConvs", "build", "gray_weights", "in_chunks", "load", "n_params",
    "register", "save",
]  # fmt: skip

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


def _refuse_large(name: str, weights: int) -> None:
    if weights > DENSE_WEIGHTS:
        raise ValueError(
            f"{name} would hold {weights:,} weights for these shapes (more than {DENSE_WEIGHTS:,} are "
            f"refused): use separable or banded, whose weights grow with the sides, not the areas"
        )


@register("dense")
class Dense(nn.Module):
    """The assignment's minimal model: 1x1 conv 3->1, flatten, Linear(1024, 784), unflatten.

    ``out_shape`` (channels, height, width) builds it for another pipeline's output: the 1x1 convolution
    then mixes 3 channels into ``channels`` and one Linear(1024, height * width) maps each of them."""

    def __init__(self, output: str = "none", out_shape: tuple[int, int, int] = OUT_SHAPE,
                 in_shape: tuple[int, int, int] = IN_SHAPE):  # fmt: skip
        super().__init__()
        c, h, w = self.out_shape = tuple(out_shape)
        in_c, in_h, in_w = self.in_shape = tuple(in_shape)
        _refuse_large("dense", in_h * in_w * h * w)
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


@register("separable")
class Separable(nn.Module):
    """1x1 conv 3->1, then Y = A G B^T with learned A, B of shape (28, 32): about 1.8k parameters.

    ``out_shape`` (channels, height, width) builds it for another pipeline's output: the convolution mixes
    3 channels into ``channels``, A is (height, 32) and B (width, 32), shared by the channels."""

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

    layers = ("conv1", "conv2")


@register("conv5")
class Conv5(ValidConvs):
    """One valid 5x5 convolution, 3 -> 1 channels: 32 -> 28."""

    layers = ("conv",)


@register("fc_large")
class FCLarge(nn.Module):
    """One fully connected layer from the whole 3x32x32 input to the 28x28 output (2.4M parameters)."""

    def __init__(self, output: str = "none", out_shape: tuple[int, int, int] = OUT_SHAPE,
                 in_shape: tuple[int, int, int] = IN_SHAPE):  # fmt: skip
        super().__init__()
        self.out_shape, self.in_shape = tuple(out_shape), tuple(in_shape)
        _refuse_large("fc_large", torch.Size(self.in_shape).numel() * torch.Size(self.out_shape).numel())
        self.linear = nn.Linear(torch.Size(self.in_shape).numel(), torch.Size(self.out_shape).numel())
        self.output = OutputConstraint(output)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, self.in_shape)
        return self.output(self.linear(x.flatten(1)).view(-1, *self.out_shape))  # (N, C, H, W)


@register("exact")
class Exact(nn.Module):
    """An affine pipeline's own operator (lib.core.probe), the target's by default: no training. A separable
    pipeline's runs as the separable map (its offset, as ``Normalize`` adds, in the bias), another's as one
    matrix product plus its offset. ``out_shape`` is the pipeline's; ``pipeline`` is a string, or any callable
    ``lib.core.spec.wrap`` takes (such a model runs, but cannot be saved: its pipeline is code). Stored as
    buffers, so it saves, loads and moves between devices like any model."""

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


def gray_weights(model) -> torch.Tensor:
    """The grayscale mix of ``dense`` or of anything with separable parts, scaled to sum to one: the mix and
    the layers after it share a scale, so only the proportions are comparable with the pipeline's."""
    mix = model.gray.weight if isinstance(model, Dense) else parts_of(model).gray
    w = mix.detach().flatten().double()
    return w / w.sum()


from lib.core import banded  # noqa: E402, F401  registers "banded", which builds on the classes above
