"""The training loop: seeded, in-memory data, a validation check and a history per epoch.

How each epoch trains is the optimizer's strategy (``lib.core.optimizers``); the loop only runs epochs,
scores them, keeps the best weights and asks the stopping rule when to end.
"""

import copy
import random
import time
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from lib.core import metrics
from lib.core.models import build
from lib.core.optimizers import EXACT_SOLVERS, OPTIMIZERS, SCHEDULES, STRATEGIES, Strategy, strategy
from lib.core.stopping import TOLERANCE_GRAY, EarlyStopper
from lib.progress import bar as tqdm

__all__ = [  # EXACT_SOLVERS, OPTIMIZERS and SCHEDULES are read from here too
    "EXACT_SOLVERS", "OPTIMIZERS", "SCHEDULES", "TrainConfig", "TrainResult", "build_and_train", "check_device",
    "seed_everything", "train",
]  # fmt: skip


@dataclass
class TrainConfig:
    """Everything that decides how a model is trained."""

    loss: str = "range_sse"  # range_sse (the baseline recipe's), sse (plain summed squared error), mse or l1
    out_of_range_weight: float = 2.0  # range_sse only: weight of squared errors outside [0, 1]
    # adam, sgd, lbfgs (full batch, lbfgs_iters per epoch), moments (separable only: L-BFGS in float64
    # on the training set's exact second moments, lbfgs_iters per epoch) or closed_form (dense,
    # separable, fc_large: the least-squares optimum in one step, lib.core.fit); the last two need loss="sse"
    optimizer: str = "adam"
    lr: float = 1e-3
    schedule: str = "none"  # none, cosine (to 0 over max_epochs) or exponential (gamma per epoch)
    gamma: float = 0.9  # exponential schedule: lr factor per epoch
    batch_size: int = 64  # images per step; also the chunk size of lbfgs's full-batch pass
    lbfgs_iters: int = 20  # lbfgs iterations per epoch
    stopping: str = "mean"  # mean (the baseline recipe's), strict (every pixel within half a gray level) or tolerance
    tolerance_gray: float = TOLERANCE_GRAY  # tolerance rule: every pixel within this many gray levels
    patience: int = 10  # epochs without a better validation error before giving up (0 = never)
    max_epochs: int = 100
    # after the rule fires, train on to max_epochs with the history recorded but the model the rule chose returned:
    # what a tighter threshold would have cost, measured on the same run
    observe_past_rule: bool = False
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {OPTIMIZERS}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose one of {SCHEDULES}")
        if self.batch_size < 1 or self.lr <= 0:
            raise ValueError(f"need batch_size >= 1 and lr > 0, got {self.batch_size} and {self.lr}")
        check_device(self.device)
        STRATEGIES[self.optimizer].check_config(self)


def check_device(device: str) -> None:
    """Refuse a device this machine does not have, before any data is loaded."""
    try:
        kind = torch.device(device).type
    except RuntimeError as err:
        raise ValueError(f"unknown device {device!r}; use 'cpu' or 'cuda'") from err
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but this machine has no usable GPU; use device='cpu'")
    if kind not in ("cpu", "cuda"):
        raise ValueError(f"device {device!r} is not supported; use 'cpu' or 'cuda'")


@dataclass
class TrainResult:
    """What training did: a row per epoch, why it stopped, and how long it took."""

    history: list[dict] = field(default_factory=list)  # with observe_past_rule, epochs after the rule's too
    stopped_by: str | None = None
    epochs: int = 0  # the epochs that made the model returned (with observe_past_rule, those up to the rule's)
    seconds: float = 0.0  # the time they took
    config: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)  # closed_form: solver and structure diagnostics (lib.core.fit)


def seed_everything(seed: int) -> None:
    """One place that seeds every generator a run uses, so a CPU run repeats exactly."""
    random.seed(seed)
    torch.manual_seed(seed)


def train(
    model: nn.Module,
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    val_x: torch.Tensor,
    val_y: torch.Tensor,
    cfg: TrainConfig | None = None,
    progress: bool = True,
    held_out: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> TrainResult:
    """Train until the stopping rule holds on the validation images (and on ``held_out``, images of
    other kinds, when given), or a guard fires.

    The training loss in the history is per image (summed over pixels for the summed losses). When a
    guard (patience, max_epochs, Ctrl-C) ends training, the best weights seen are restored: the stopper
    says so (``EarlyStopper.restore_best``). A strategy that solves at once (the closed form) has a single
    epoch, which ends with the rule met or with ``stopped_by = "optimum"``. The model trains in the
    strategy's dtype and comes back in float32, however training ends.
    """
    cfg = cfg or TrainConfig()
    val_sets = {"val": (val_x, val_y), **({"held_out": held_out} if held_out is not None else {})}
    if len(train_x) != len(train_y) or any(len(x) != len(y) for x, y in val_sets.values()):
        raise ValueError("images and targets differ in number")
    how = strategy(cfg)
    how.check_model(model, train_y)
    start = time.perf_counter()
    stopper = EarlyStopper(cfg.stopping, cfg.patience, cfg.max_epochs, cfg.tolerance_gray)
    result = TrainResult(config=asdict(cfg))
    model.to(cfg.device, how.dtype).train()  # the strategy's dtype: float64 for the moments, else float32
    try:
        how.prepare(model, train_x, train_y)
        best_state, chosen = _epochs(model, how, len(train_x), val_sets, stopper, result, start, progress)
    finally:
        model.float()  # float32 again, whatever the strategy trained in and however training ended
    result.stopped_by, result.epochs, result.info = stopper.stopped_by, stopper.epochs, how.info
    result.seconds = result.history[stopper.epochs - 1]["seconds"] if chosen else time.perf_counter() - start
    if chosen is not None:  # trained on past the rule: back to the weights that met it
        model.load_state_dict(chosen)
    elif stopper.restore_best and best_state is not None:
        model.load_state_dict(best_state)
    return result


def validation_scores(
    model: nn.Module, val_sets: dict[str, tuple[torch.Tensor, torch.Tensor]]
) -> tuple[dict, list[tuple[torch.Tensor, torch.Tensor]]]:
    """What an epoch's history row records of each validation set (``<set>_mae_gray``, ``<set>_max_gray``,
    ``<set>_exact8``, ``<set>_outside_01_pct``) and the (prediction, target) pairs the stopping rule is given."""
    row, checked = {}, []
    for key, (x, y) in val_sets.items():
        pred = metrics.predict(model, x)
        m = metrics.score(pred, y)
        row |= {f"{key}_{k}": m[k] for k in ("mae_gray", "max_gray", "exact8", "outside_01_pct")}
        checked.append((pred, y))
    return row, checked


def _epochs(
    model: nn.Module, how: Strategy, n_train: int, val_sets: dict[str, tuple[torch.Tensor, torch.Tensor]],
    stopper: EarlyStopper, result: TrainResult, start: float, progress: bool,
) -> tuple[dict | None, dict | None]:  # fmt: skip
    """Run epochs until ``stopper`` ends training (or Ctrl-C does), appending a row per epoch to
    ``result.history``; returns the best weights seen (None when no epoch scored) and, when training went on past
    the rule (``observe_past_rule``), the weights that met it (else None)."""
    best_state, chosen = None, None
    epochs = tqdm(range(1, stopper.max_epochs + 1), desc="epochs", unit="ep", disable=not progress)
    try:
        for epoch in epochs:
            lr = how.lr
            with tqdm(total=n_train, desc=f"epoch {epoch}", unit="img", leave=False, disable=not progress) as bar:
                loss = how.epoch(model, bar)
            scores, checked = validation_scores(model, val_sets)
            row = {"epoch": epoch, "loss": loss, "lr": lr, **scores, "images": how.images_seen,
                   "seconds": time.perf_counter() - start}  # fmt: skip
            result.history.append(row)
            epochs.set_postfix(mae_gray=f"{row['val_mae_gray']:.3f}", max_gray=f"{row['val_max_gray']:.3f}")
            if chosen is not None:  # past the rule: recorded, not judged
                continue
            done = stopper.update(checked)
            if stopper.improved:
                best_state = copy.deepcopy(model.state_dict())
            if done and stopper.rule_fired and how.cfg.observe_past_rule and epoch < stopper.max_epochs:
                chosen = copy.deepcopy(model.state_dict())
                continue
            if done:
                break
            if how.solves_at_once:  # the optimum is reached in one step; nothing to iterate
                stopper.stop("optimum")
                break
    except KeyboardInterrupt:
        if chosen is None:
            stopper.stop("interrupted")
    return best_state, chosen


def build_and_train(
    name: str, x: torch.Tensor, y: torch.Tensor, vx: torch.Tensor, vy: torch.Tensor, cfg: TrainConfig,
    output: str = "none", progress: bool = False, held_out: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> tuple[torch.nn.Module, TrainResult]:  # fmt: skip
    """Build a model with the run's seed and train it."""
    seed_everything(cfg.seed)
    model = build(name, output=output)
    return model, train(model, x, y, vx, vy, cfg, progress=progress, held_out=held_out)
