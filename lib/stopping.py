"""Early stopping: stop when the model is within half an 8-bit gray level of the pipeline."""

from dataclasses import dataclass

import torch

HALF_GRAY = 0.5 / 255  # half the distance between two 8-bit gray levels, in [0, 1] units
N_PIXELS = 28 * 28
THRESHOLD_SUM = N_PIXELS * HALF_GRAY  # mean rule: per-image sum of absolute errors
RULES = ("mean", "strict")


def per_image_abs_sum(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Sum of absolute pixel errors of each image: (N, ...) -> (N,)."""
    return (pred - target).abs().flatten(1).sum(1)


def rule_met(rule: str, pred: torch.Tensor, target: torch.Tensor) -> bool:
    """Whether a stopping rule holds on these (validation) predictions.

    ``mean``: the mean over images of the per-image sum of absolute errors is below 784 x 0.5/255.
    ``strict``: every pixel is within half a gray level (max absolute error below 0.5/255).
    """
    if rule == "mean":
        return per_image_abs_sum(pred, target).mean().item() < THRESHOLD_SUM
    if rule == "strict":
        return (pred - target).abs().max().item() < HALF_GRAY
    raise ValueError(f"unknown stopping rule {rule!r}; choose one of {RULES}")


@dataclass
class EarlyStopper:
    """Stops on the rule, or on a guard: ``patience`` epochs without a better score, or ``max_epochs``.

    ``score`` is any validation error where lower is better; ``stopped_by`` records the reason.
    """

    rule: str = "mean"
    patience: int = 10  # epochs without improvement before giving up (0 = never)
    max_epochs: int = 100
    best: float = float("inf")
    stale: int = 0
    epochs: int = 0
    stopped_by: str | None = None

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"unknown stopping rule {self.rule!r}; choose one of {RULES}")
        if self.max_epochs < 1:
            raise ValueError(f"max_epochs must be >= 1, got {self.max_epochs}")
        if self.patience < 0:
            raise ValueError(f"patience must be >= 0, got {self.patience}")

    def update(self, pred: torch.Tensor, target: torch.Tensor, score: float) -> bool:
        """Record one epoch's validation predictions; True when training should stop."""
        self.epochs += 1
        if score < self.best:
            self.best, self.stale = score, 0
        else:
            self.stale += 1
        if rule_met(self.rule, pred, target):
            self.stopped_by = f"{self.rule}_rule"
        elif self.patience and self.stale >= self.patience:
            self.stopped_by = "patience"
        elif self.epochs >= self.max_epochs:
            self.stopped_by = "max_epochs"
        return self.stopped_by is not None
