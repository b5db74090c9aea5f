"""Fidelity metrics between predicted and target images in [0, 1]."""

import itertools
import math

import torch

GRAY_LEVELS = 255


def _check(pred: torch.Tensor, target: torch.Tensor) -> None:
    if pred.shape != target.shape:
        raise ValueError(f"prediction shape {tuple(pred.shape)} != target shape {tuple(target.shape)}")


def mae(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Mean absolute error per pixel, in [0, 1] units (multiply by 255 for gray levels)."""
    _check(pred, target)
    return (pred - target).abs().mean().item()


def max_abs(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Largest absolute error over all pixels, in [0, 1] units."""
    _check(pred, target)
    return (pred - target).abs().max().item()


def to_8bit(x: torch.Tensor) -> torch.Tensor:
    """What an 8-bit image would store: round to the nearest gray level, clip to [0, 255]."""
    return (x * GRAY_LEVELS).round().clamp(0, GRAY_LEVELS)


def exact8(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Fraction of pixels whose 8-bit rounding equals the target's."""
    _check(pred, target)
    return (to_8bit(pred) == to_8bit(target)).double().mean().item()


def psnr(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB for a peak of 1; infinite for identical images."""
    _check(pred, target)
    err = ((pred.double() - target.double()) ** 2).mean().item()
    return math.inf if err == 0 else 10 * math.log10(1 / err)


def summary(pred: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """All metrics at once, errors also in gray levels."""
    m, mx = mae(pred, target), max_abs(pred, target)
    return {
        "mae_px": m,
        "mae_gray": m * GRAY_LEVELS,
        "max_abs": mx,
        "max_gray": mx * GRAY_LEVELS,
        "exact8": exact8(pred, target),
        "psnr_db": psnr(pred, target),
    }


@torch.no_grad()
def predict(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 2048) -> torch.Tensor:
    """Model output for a float image set, in batches, on the model's device, returned on the CPU."""
    param = next(itertools.chain(model.parameters(), model.buffers()))  # where the model lives, and its dtype
    was_training = model.training
    model.eval()
    out = torch.cat(
        [model(x[i : i + batch_size].to(param.device, param.dtype)).float().cpu() for i in range(0, len(x), batch_size)]
    )
    model.train(was_training)
    return out
