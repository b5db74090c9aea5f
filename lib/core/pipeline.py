"""The reference transform the network learns: resize to 28x28, grayscale, flip both ways."""

import torch
from torchvision.transforms import v2

from lib.core.constants import IN_SHAPE, TARGET
from lib.core.spec import parse

TARGET_SPEC = parse(TARGET)  # the target pipeline, parsed: its steps, its transform, its shapes
WITHOUT_FLIPS = TARGET_SPEC.without("hflip", "vflip")  # a control target: the same steps but the flips


def make_pipeline(flips: bool = True) -> v2.Compose:
    """The target pipeline (``constants.TARGET``) as torchvision v2 steps, for float32 images in [0, 1].
    ``flips=False`` drops the two flips: a control target for studying what local (convolutional) models
    can learn."""
    return (TARGET_SPEC if flips else WITHOUT_FLIPS).transform


def check_images(x: torch.Tensor, in_shape: tuple[int, int, int] = IN_SHAPE) -> None:
    """Refuse anything but a batch of float images (N, *in_shape), CIFAR-10's (3, 32, 32) by default, saying
    what would fit."""
    want = "(N, {}, {}, {})".format(*in_shape)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a tensor of images {want}, got {type(x).__name__}")
    if x.ndim == 3 and tuple(x.shape) == tuple(in_shape):
        raise ValueError(f"expected a batch {want}, got one image {tuple(in_shape)}: pass x[None]")
    if x.ndim != 4 or tuple(x.shape[1:]) != tuple(in_shape):
        raise ValueError(f"expected images of shape {want}, got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"expected float images in [0, 1], got dtype {x.dtype}; convert with lib.core.data.to_float")


def apply_batched(x: torch.Tensor, pipeline: v2.Compose | None = None) -> torch.Tensor:
    """The pipeline applied to the whole batch at once: (N, 3, 32, 32) -> (N, 1, 28, 28)."""
    check_images(x)
    return (pipeline or make_pipeline())(x)


def apply_loop(x: torch.Tensor, pipeline: v2.Compose | None = None) -> torch.Tensor:
    """The pipeline applied image by image in a Python loop: the baseline the model must beat."""
    check_images(x)
    pipeline = pipeline or make_pipeline()
    return torch.stack([pipeline(img) for img in x])


@torch.no_grad()
def make_targets(x: torch.Tensor, chunk: int = 8192, flips: bool = True, transform=None) -> torch.Tensor:
    """Targets for a float image set, computed batched in chunks to bound memory: the target pipeline,
    or ``transform`` (any callable on image batches, such as a ``lib.core.spec`` pipeline) when given."""
    check_images(x)
    pipeline = transform or make_pipeline(flips)
    return torch.cat([pipeline(x[i : i + chunk]) for i in range(0, len(x), chunk)])
