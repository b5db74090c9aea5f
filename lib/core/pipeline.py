"""The reference transform the network learns: resize to 28x28, grayscale, flip both ways."""

import torch
from torchvision.transforms import v2

from lib.core.constants import TARGET
from lib.core.spec import parse

WITHOUT_FLIPS = " | ".join(step for step in TARGET.split(" | ") if not step.endswith("flip"))  # a control target


def make_pipeline(flips: bool = True) -> v2.Compose:
    """The target pipeline (``constants.TARGET``) as torchvision v2 steps, for float32 images in [0, 1].
    ``flips=False`` drops the two flips: a control target for studying what local (convolutional) models
    can learn."""
    return parse(TARGET if flips else WITHOUT_FLIPS).transform


def check_images(x: torch.Tensor) -> None:
    """Refuse anything but a batch of float images (N, 3, 32, 32), saying what would fit."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a tensor of images (N, 3, 32, 32), got {type(x).__name__}")
    if x.ndim == 3 and x.shape == (3, 32, 32):
        raise ValueError("expected a batch (N, 3, 32, 32), got one image (3, 32, 32): pass x[None]")
    if x.ndim != 4 or x.shape[1:] != (3, 32, 32):
        raise ValueError(f"expected images of shape (N, 3, 32, 32), got {tuple(x.shape)}")
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
