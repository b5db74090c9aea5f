"""Fidelity metrics between predicted and target images in [0, 1]."""

import itertools
import math

import torch

from lib.core.constants import GRAY_LEVELS
from lib.core.models import in_chunks


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
    """What an 8-bit image would store: round to the nearest gray level, clip to [0, 255].

    Rounding, not torchvision's float-to-uint8 conversion (``v2.ToDtype(torch.uint8, scale=True)``
    scales by just under 256 and truncates, so 0.7/255 becomes 0): with rounding, the stored value is
    the level nearest the float, and an error of e gray levels can change it only for pixels within e of
    a rounding boundary, which is what the stopping rules and ``boundary_share`` speak of."""
    return (x * GRAY_LEVELS).round().clamp(0, GRAY_LEVELS)


def exact8(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Fraction of pixels whose 8-bit rounding equals the target's."""
    _check(pred, target)
    return (to_8bit(pred) == to_8bit(target)).double().mean().item()


def percent(value: float, digits: int = 2) -> str:
    """A percentage with ``digits`` decimals, or more where fewer would round a value short of 100 up to
    "100" (99.998 is never shown as 100.00)."""
    for d in range(digits, 9):
        text = f"{value:.{d}f}"
        if value >= 100 or float(text) < 100:
            return text
    return f"{value:.8f}"


def percent_sign(value: float) -> str:
    """:func:`percent` with its sign, for a table's cells: "99.98%"."""
    return f"{percent(value)}%"


def outside_share(pred: torch.Tensor) -> float:
    """Fraction of predicted pixels outside [0, 1], values no 8-bit image can hold."""
    return ((pred < 0) | (pred > 1)).double().mean().item()


def boundary_share(target: torch.Tensor, within_gray: float) -> float:
    """Fraction of target pixels within ``within_gray`` gray levels of an 8-bit rounding boundary.

    A prediction off by less than ``within_gray`` can round to another 8-bit value than the target only
    for these pixels, so this is the most that an error of that size can put on a wrong gray level."""
    frac = torch.frac(target.double() * GRAY_LEVELS)  # position between two gray levels, in [0, 1)
    return ((frac - 0.5).abs() < within_gray).double().mean().item()


def psnr(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB for a peak of 1; infinite for identical images."""
    _check(pred, target)
    err = ((pred.double() - target.double()) ** 2).mean().item()
    return math.inf if err == 0 else 10 * math.log10(1 / err)


TABLE_SCORES = ("mae_gray", "max_gray", "exact8_pct", "outside_01_pct")  # what a fidelity table shows


def score(pred: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """A prediction against its target, the one comparison every table and stopping rule uses: the mean
    and largest error in gray levels (and in [0, 1] units), the share of pixels on the target's 8-bit value
    (a fraction and in percent), the share outside [0, 1] in percent, and the PSNR."""
    m, mx, ex = mae(pred, target), max_abs(pred, target), exact8(pred, target)
    return {
        "mae_px": m,
        "mae_gray": m * GRAY_LEVELS,
        "max_abs": mx,
        "max_gray": mx * GRAY_LEVELS,
        "exact8": ex,
        "exact8_pct": 100 * ex,
        "outside_01_pct": 100 * outside_share(pred),
        "psnr_db": psnr(pred, target),
    }


def score_model(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """:func:`score` of the model's predictions for images ``x`` against their targets ``y``."""
    return score(predict(model, x), y)


@torch.no_grad()
def predict(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 2048) -> torch.Tensor:
    """Model output for a float image set, in batches, on the model's device, returned on the CPU."""
    param = next(itertools.chain(model.parameters(), model.buffers()), x)  # where the model lives, its dtype
    was_training = model.training
    model.eval()
    out = torch.cat([y.float().cpu() for y in in_chunks(model, x, batch_size, param.device, param.dtype)])
    model.train(was_training)
    return out


def fidelity(model: torch.nn.Module, sets: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> list[dict]:
    """One row per named image set (images, pipeline targets): the model's errors in gray levels, its
    exact-8-bit and out-of-range shares in percent."""
    rows = []
    for name, (x, y) in sets.items():
        m = score_model(model, x, y)
        rows.append({"images": name, "n": len(x), **{k: m[k] for k in TABLE_SCORES}})
    return rows
