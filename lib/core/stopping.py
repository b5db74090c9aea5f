"""Early stopping: stop when the model is close enough to the pipeline, by one of three rules.

``mean`` is the baseline recipe's rule: the mean per-image sum of absolute errors below half a gray level per
pixel. ``strict`` asks it of every pixel. ``tolerance`` asks every pixel to be within ``tolerance_gray``
gray levels, far below half a level: only then does rounding to 8 bits give the pipeline's own values,
because a target pixel that lies near a rounding boundary lands on the other side with any error at all.
"""

from dataclasses import dataclass

import torch

from lib.core.constants import GRAY_LEVELS, HALF_GRAY

TOLERANCE_GRAY = 0.01  # tolerance rule: default largest error, in gray levels
RULES = ("mean", "strict", "tolerance")


def per_image_abs_sum(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Sum of absolute pixel errors of each image: (N, ...) -> (N,)."""
    return (pred - target).abs().flatten(1).sum(1)


def _check_rule(rule: str) -> None:
    if rule not in RULES:
        raise ValueError(f"unknown stopping rule {rule!r}; choose one of {RULES}")


def threshold(rule: str, tolerance_gray: float = TOLERANCE_GRAY) -> float:
    """The value ``statistic`` must fall below for ``rule`` to hold (in [0, 1] units)."""
    _check_rule(rule)
    return tolerance_gray / GRAY_LEVELS if rule == "tolerance" else HALF_GRAY


def statistic(rule: str, pred: torch.Tensor, target: torch.Tensor) -> float:
    """What ``rule`` compares with its threshold, in [0, 1] units per pixel: for ``mean`` the mean per-image
    sum of absolute errors divided by the pixels per image (below half a gray level exactly when the sum
    is below 784 x 0.5/255 for a 28x28 image), for ``strict`` and ``tolerance`` the largest pixel error."""
    _check_rule(rule)
    if rule == "mean":
        return per_image_abs_sum(pred, target).mean().item() / pred[0].numel()
    return (pred - target).abs().max().item()


def rule_met(rule: str, pred: torch.Tensor, target: torch.Tensor, tolerance_gray: float = TOLERANCE_GRAY) -> bool:
    """Whether a stopping rule holds on these (validation) predictions."""
    return statistic(rule, pred, target) < threshold(rule, tolerance_gray)


@dataclass
class EarlyStopper:
    """Stops on the rule, or on a guard: ``patience`` epochs without a better score, or ``max_epochs``.

    Each epoch it is given one or more validation sets (the validation images, and optionally held-out
    images of other kinds); the rule must hold on every one. The score that patience and the best
    checkpoint follow is the rule's own statistic, worst over the sets, so a run aiming at the strict or
    tolerance rule keeps the weights with the smallest largest error. ``stopped_by`` records the reason,
    and ``restore_best`` says whether the training loop should go back to those weights.
    """

    rule: str = "mean"
    patience: int = 10  # epochs without improvement before giving up (0 = never)
    max_epochs: int = 100
    tolerance_gray: float = TOLERANCE_GRAY  # tolerance rule: largest error allowed, in gray levels
    best: float = float("inf")
    improved: bool = False  # whether the last update set a new best score
    stale: int = 0
    epochs: int = 0
    stopped_by: str | None = None

    def __post_init__(self) -> None:
        _check_rule(self.rule)
        if self.max_epochs < 1:
            raise ValueError(f"max_epochs must be >= 1, got {self.max_epochs}")
        if self.patience < 0:
            raise ValueError(f"patience must be >= 0, got {self.patience}")
        if not 0 < self.tolerance_gray <= 0.5:
            raise ValueError(f"tolerance_gray must be in (0, 0.5] gray levels, got {self.tolerance_gray}")

    def update(self, sets: list[tuple[torch.Tensor, torch.Tensor]]) -> bool:
        """Record one epoch's (prediction, target) validation sets; True when training should stop."""
        if not sets:
            raise ValueError("need at least one validation set")
        self.epochs += 1
        score = max(statistic(self.rule, pred, target) for pred, target in sets)
        self.improved = score < self.best
        if self.improved:
            self.best, self.stale = score, 0
        else:
            self.stale += 1
        if score < threshold(self.rule, self.tolerance_gray):
            self.stopped_by = f"{self.rule}_rule"
        elif self.patience and self.stale >= self.patience:
            self.stopped_by = "patience"
        elif self.epochs >= self.max_epochs:
            self.stopped_by = "max_epochs"
        return self.stopped_by is not None

    def stop(self, reason: str) -> None:
        """End training for a reason outside the rule and its guards: an interruption (Ctrl-C), or a
        solver that reached its optimum and has nothing left to iterate."""
        self.stopped_by = reason

    @property
    def rule_fired(self) -> bool:
        """Whether the rule itself ended training, rather than a guard or an outside reason."""
        return self.stopped_by == f"{self.rule}_rule"

    @property
    def restore_best(self) -> bool:
        """Whether the best weights seen should replace the last ones. True when anything but the rule
        ended training (patience, max_epochs, an interruption): the last epoch need not be the best. False
        when the rule fired: the weights that met it are the ones wanted, and they are also the best seen,
        since no earlier epoch got below the threshold."""
        return not self.rule_fired


def rule_value(row: dict, rule: str) -> float:
    """What ``rule`` compares with its limit in one epoch's history row (``lib.core.train``), in gray levels: the mean
    validation error (``mean``), the largest validation error (``strict``), the largest over the validation and the
    held-out images where the run recorded them (``tolerance``)."""
    _check_rule(rule)
    if rule == "mean":
        return row["val_mae_gray"]
    return max(row["val_max_gray"], row.get("held_out_max_gray", 0.0) if rule == "tolerance" else 0.0)


def first_firing(
    history: list[dict], rule: str, tolerance_gray: float = TOLERANCE_GRAY, window: int = 1
) -> dict | None:
    """The history row of the first epoch at which ``rule`` holds on the mean of its value (:func:`rule_value`) over
    the last ``window`` epochs (1: the rule as training checks it; more: a rule that one lucky epoch cannot
    trigger). None when it never holds within the history."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    limit = threshold(rule, tolerance_gray) * GRAY_LEVELS
    values = [rule_value(h, rule) for h in history]
    for end in range(window, len(values) + 1):
        if sum(values[end - window : end]) / window < limit:
            return history[end - 1]
    return None


def _firing(hit: dict | None) -> dict:
    keys = ("epoch", "images", "seconds", "val_max_gray", "val_mae_gray")
    return {k: hit and hit.get(k) for k in keys} | {"wrong_level_pct": hit and 100 * (1 - hit["val_exact8"])}


def tolerance_costs(history: list[dict], tolerances: list[float]) -> list[dict]:
    """For each tolerance (gray levels), when the tolerance rule would first have fired in a run: the epoch, the
    images seen and seconds it took, and the share of validation pixels still at a wrong 8-bit level then."""
    return [{"tolerance_gray": t, **_firing(first_firing(history, "tolerance", t))} for t in tolerances]
