"""The loss study of ``notebooks/02_architectures.ipynb``: every loss from the same start, on the same images,
with the same L-BFGS budget, and each loss's value at the exact map; then the assignment's out-of-range weight.

The runs share the design study's ``Budget`` (``lib.experiments.designs``) and its exact routes' images.
"""

from dataclasses import dataclass

import pandas as pd
import torch

from lib.core import metrics
from lib.core.constants import GRAY_LEVELS
from lib.core.data import Data
from lib.core.losses import SUMMED, get_loss
from lib.core.train import TrainConfig, TrainResult
from lib.experiments.designs import Budget, scores_on_test

LOSSES_COMPARED = ("range_sse", "sse", "mse", "l1")  # the losses compared, the assignment's first
OUT_OF_RANGE_WEIGHTS = (1.0, 2.0, 10.0)  # weight 1 is the plain summed squared error, 2 the assignment's


@dataclass
class LossStudy:
    """What ``loss_study`` trains on and how: every loss gets the same images, initial weights and budget."""

    n_cifar: int  # CIFAR-10 training images (the first of the study's)
    n_noise: int  # the exact routes' noise images, all of them
    lbfgs_iters: int  # L-BFGS iterations per epoch
    max_epochs: int  # epoch cap: at most lbfgs_iters * max_epochs iterations
    tolerance_gray: float  # the tolerance rule every run aims at
    model: str = "separable"

    def config(self, loss: str, seed: int, **overrides) -> TrainConfig:
        """Full-batch L-BFGS (strong Wolfe line search) on ``loss``, to the tolerance rule or the epoch cap."""
        return TrainConfig(optimizer="lbfgs", loss=loss, lr=1.0, lbfgs_iters=self.lbfgs_iters, batch_size=4096,
                           stopping="tolerance", tolerance_gray=self.tolerance_gray, max_epochs=self.max_epochs,
                           patience=0, seed=seed, **overrides)  # fmt: skip

    def images(self, budget: Budget, n_held_out: int):
        """The first ``n_cifar`` of the study's CIFAR-10 training images and the exact routes' noise images."""
        x, y, held_out = budget.exact_images(self.n_noise, n_held_out)
        n_all = len(budget.ds.train_x)
        keep = torch.cat([torch.arange(min(self.n_cifar, n_all)), torch.arange(n_all, len(x))])
        return x[keep], y[keep], held_out


def _loss_row(study: LossStudy, loss: str, net: torch.nn.Module, res: TrainResult, ds: Data) -> dict:
    return {
        "model": study.model, "loss": loss, "optimizer": "lbfgs", "epochs": res.epochs, "seconds": res.seconds,
        "stopped_by": res.stopped_by, **scores_on_test(net, ds),
    }  # fmt: skip


def loss_study(
    budget: Budget, study: LossStudy, n_held_out: int, losses: tuple[str, ...] = LOSSES_COMPARED
) -> tuple[pd.DataFrame, dict[str, list[dict]]]:
    """``study.model`` trained with each loss of ``losses`` by the same optimizer from the same initial
    weights, on the same images, to the tolerance rule (or the epoch cap, reported as such): one row per
    (model, loss), and each run's history by loss. The runs are kept as "MODEL · LOSS"."""
    x, y, held_out = study.images(budget, n_held_out)
    rows, histories = [], {}
    for loss in losses:
        label = f"{study.model} · {loss}"
        net, res = budget.run(label, study.model, study.config(loss, budget.seed), x, y, held_out=held_out)
        rows.append(_loss_row(study, loss, net, res, budget.ds))
        histories[loss] = res.history
    return pd.DataFrame(rows), histories


def as_gray(loss: str, value: float, n_pixels: int) -> float:
    """A loss value as an error in gray levels: the root of the mean (weighted) squared error for the squared
    losses (summed ones divided by the ``n_pixels`` they sum over), the mean absolute error for ``l1``."""
    if loss == "l1":
        return GRAY_LEVELS * value
    return GRAY_LEVELS * (value / (n_pixels if loss in SUMMED else 1)) ** 0.5


def own_loss_check(budget: Budget, study: LossStudy, n_held_out: int, optimum: str, losses=LOSSES_COMPARED):
    """Each loss on the study's training images, at the end of its own run and at the model ``optimum``
    (a label of ``budget.trained``: the closed-form fit, the exact map), both as errors in gray levels
    (``as_gray``), and the ratio of the loss values. A run whose own loss is higher at its end than at
    ``optimum`` had not reached its minimum: ``optimum`` is better by that loss's own measure."""
    x, y, _ = study.images(budget, n_held_out)
    y = y.double()
    best = metrics.predict(budget.trained[optimum], x).double()
    rows = []
    for loss in losses:
        fn = get_loss(loss)
        end = fn(metrics.predict(budget.trained[f"{study.model} · {loss}"], x).double(), y).item()
        at_optimum = fn(best, y).item()
        rows.append({"loss": loss, "run's end (gray levels)": as_gray(loss, end, y.numel()),
                     f"{optimum} (gray levels)": as_gray(loss, at_optimum, y.numel()),
                     "end / optimum": end / at_optimum if at_optimum > 0 else float("inf")})  # fmt: skip
    return pd.DataFrame(rows).set_index("loss")


def out_of_range_study(
    budget: Budget, study: LossStudy, n_held_out: int, weights: tuple[float, ...] = OUT_OF_RANGE_WEIGHTS,
    optimum: str | None = None,
) -> pd.DataFrame:  # fmt: skip
    """``study.model`` trained as in ``loss_study`` with the assignment's loss at each out-of-range weight,
    and the model ``optimum`` (the closed-form fit, when given): how many test predictions leave [0, 1], how
    far, and the errors. Weight 1 is the plain summed squared error and weight 2 the assignment's loss: where
    ``loss_study`` trained those, its runs are reused."""
    x, y, held_out = study.images(budget, n_held_out)
    runs = {}
    for weight in weights:
        loss = {1.0: "sse", 2.0: "range_sse"}.get(weight)
        label = f"{study.model} · {loss}" if loss else f"{study.model} · range_sse, weight {weight:g}"
        if label not in budget.trained:
            cfg = study.config("range_sse", budget.seed, out_of_range_weight=weight)
            budget.run(label, study.model, cfg, x, y, held_out=held_out)
        runs[f"weight {weight:g}"] = (weight, label)
    if optimum is not None:
        runs[optimum] = (float("nan"), optimum)
    rows = []
    for run, (weight, label) in runs.items():
        net, res = budget.trained[label], budget.results[label]
        pred = metrics.predict(net, budget.ds.test_x)
        over = (-pred).clamp_min(0) + (pred - 1).clamp_min(0)  # distance outside [0, 1]
        outside = over > 0
        m = metrics.score(pred, budget.ds.test_y)
        rows.append({
            "run": run, "out_of_range_weight": weight, "stopped_by": res.stopped_by, "epochs": res.epochs,
            "outside_pct": m["outside_01_pct"],
            "mean_overshoot_gray": GRAY_LEVELS * over[outside].mean().item() if outside.any() else 0.0,
            "max_overshoot_gray": GRAY_LEVELS * over.max().item(),
            "test_mae_gray": m["mae_gray"], "test_max_gray": m["max_gray"],
        })  # fmt: skip
    return pd.DataFrame(rows).set_index("run")
