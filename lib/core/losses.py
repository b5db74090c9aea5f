"""Training losses. The baseline recipe's loss is a sum of squared errors that punishes out-of-range output."""

from collections.abc import Callable

import torch
import torch.nn.functional as F

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def range_weighted_sse(pred: torch.Tensor, target: torch.Tensor, out_of_range_weight: float = 2.0) -> torch.Tensor:
    """Sum of squared errors; pixels predicted outside [0, 1] count ``out_of_range_weight`` times.

    Sum reduction keeps the gradient per image independent of the batch size's averaging, and the
    extra weight pushes the model away from values that no 8-bit image can hold.
    """
    if pred.shape != target.shape:
        raise ValueError(f"prediction shape {tuple(pred.shape)} != target shape {tuple(target.shape)}")
    if out_of_range_weight < 1:
        raise ValueError(f"out_of_range_weight must be >= 1, got {out_of_range_weight}")
    outside = (pred < 0) | (pred > 1)
    weight = torch.where(outside, out_of_range_weight, 1.0)
    return (weight * (pred - target) ** 2).sum()


def sse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Plain sum of squared errors: what the closed-form and moment-based fits minimise."""
    return range_weighted_sse(pred, target, out_of_range_weight=1.0)


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Plain mean squared error."""
    return F.mse_loss(pred, target)


def l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error."""
    return F.l1_loss(pred, target)


LOSSES: dict[str, Callable[..., torch.Tensor]] = {"range_sse": range_weighted_sse, "sse": sse, "mse": mse, "l1": l1}
SUMMED = ("range_sse", "sse")  # losses summed over pixels and images; the others are means
LABELS = {  # each loss in words, for tables and figure legends
    "range_sse": "summed squared error, outside [0, 1] weighted (the baseline recipe's)",
    "sse": "summed squared error",
    "mse": "mean squared error",
    "l1": "mean absolute error (L1)",
}


def get_loss(name: str, **kwargs) -> Loss:
    """A loss by name; keyword arguments (``out_of_range_weight``) go to ``range_sse``."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}")
    fn = LOSSES[name]
    if kwargs and name != "range_sse":
        raise ValueError(f"loss {name!r} takes no options, got {sorted(kwargs)}")
    return (lambda pred, target: fn(pred, target, **kwargs)) if kwargs else fn
