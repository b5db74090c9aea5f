"""The training loop: seeded, in-memory mini-batches, a validation check and a history per epoch."""

import copy
import random
import time
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from lib.core import metrics
from lib.core.constants import OUT_SHAPE
from lib.core.fit import fit_model
from lib.core.losses import SUMMED, get_loss
from lib.core.models import build
from lib.core.moments import moments, require_separable, separable_sse
from lib.core.stopping import TOLERANCE_GRAY, EarlyStopper
from lib.progress import bar as tqdm

OPTIMIZERS = ("adam", "sgd", "lbfgs", "moments", "closed_form")
EXACT_SOLVERS = ("moments", "closed_form")  # minimise the plain summed squared error of a linear model
SCHEDULES = ("none", "cosine", "exponential")


@dataclass
class TrainConfig:
    """Everything that decides how a model is trained."""

    loss: str = "range_sse"  # range_sse (the assignment's), sse (plain summed squared error), mse or l1
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
    stopping: str = "mean"  # mean (the assignment's), strict (every pixel within half a gray level) or tolerance
    tolerance_gray: float = TOLERANCE_GRAY  # tolerance rule: every pixel within this many gray levels
    patience: int = 10  # epochs without a better validation error before giving up (0 = never)
    max_epochs: int = 100
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
        if self.optimizer in EXACT_SOLVERS and self.loss != "sse":
            raise ValueError(
                f"optimizer {self.optimizer!r} minimises the plain summed squared error; set loss='sse' "
                f"(got {self.loss!r}), so that the recorded loss is the one minimised"
            )


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

    history: list[dict] = field(default_factory=list)
    stopped_by: str | None = None
    epochs: int = 0
    seconds: float = 0.0
    config: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)  # closed_form: solver and structure diagnostics (lib.core.fit)


def seed_everything(seed: int) -> None:
    """One place that seeds every generator a run uses, so a CPU run repeats exactly."""
    random.seed(seed)
    torch.manual_seed(seed)


def _optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer | None:
    params = model.parameters()
    if cfg.optimizer == "closed_form":
        return None
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9)
    return torch.optim.LBFGS(
        params, lr=cfg.lr, max_iter=cfg.lbfgs_iters, history_size=100, line_search_fn="strong_wolfe"
    )


def _schedule(opt: torch.optim.Optimizer | None, cfg: TrainConfig):
    if opt is None:
        return None
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.max_epochs)
    if cfg.schedule == "exponential":
        return torch.optim.lr_scheduler.ExponentialLR(opt, gamma=cfg.gamma)
    return None


def _minibatch_epoch(model, opt, loss_fn, x, y, cfg, gen, bar) -> float:
    total = 0.0
    perm = torch.randperm(len(x), generator=gen)
    for i in range(0, len(x), cfg.batch_size):
        idx = perm[i : i + cfg.batch_size]
        xb, yb = x[idx].to(cfg.device, non_blocking=True), y[idx].to(cfg.device, non_blocking=True)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        total += loss.item() * (1 if cfg.loss in SUMMED else len(idx))
        bar.update(len(idx))
    return total / len(x)


def _full_batch_epoch(model, opt, loss_fn, x, y, cfg, bar) -> float:
    # The loss over the whole set, accumulated chunk by chunk as the closure's objective: summed losses
    # add up, mean losses are weighted by chunk size so that every chunk counts as the images it holds.
    def objective(i: int) -> torch.Tensor:
        xb, yb = x[i : i + cfg.batch_size].to(cfg.device), y[i : i + cfg.batch_size].to(cfg.device)
        loss = loss_fn(model(xb), yb)
        return loss if cfg.loss in SUMMED else loss * len(xb) / len(x)

    def closure() -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        total = torch.zeros((), dtype=torch.float64)
        for i in range(0, len(x), cfg.batch_size):
            loss = objective(i)
            loss.backward()
            total += loss.detach().double().cpu()
        return total.float()

    opt.step(closure)
    bar.update(len(x))  # one epoch: every image seen, however many evaluations the line search made
    with torch.no_grad():  # the loss after this epoch's iterations, not the one before them
        total = sum(objective(i).item() for i in range(0, len(x), cfg.batch_size))
    return total / len(x) if cfg.loss in SUMMED else total


def _moments_epoch(model, opt, stats, bar) -> float:
    def closure() -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        loss = separable_sse(model, stats)
        loss.backward()
        return loss

    opt.step(closure)
    bar.update(stats.n)
    with torch.no_grad():  # the loss after this epoch's iterations, not before them
        return separable_sse(model, stats).item() / stats.n


def _closed_form_epoch(model, x, y, result, bar) -> float:
    result.info = fit_model(model, x, y)
    bar.update(len(x))
    pred = metrics.predict(model, x)
    return ((pred - y) ** 2).sum().item() / len(x)


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
    guard (patience, max_epochs, Ctrl-C) ends training, the best weights seen are restored. The closed
    form is one step: its single epoch ends with the rule met or with ``stopped_by = "optimum"``.
    """
    cfg = cfg or TrainConfig()
    val_sets = {"val": (val_x, val_y), **({"held_out": held_out} if held_out is not None else {})}
    if len(train_x) != len(train_y) or any(len(x) != len(y) for x, y in val_sets.values()):
        raise ValueError("images and targets differ in number")
    if cfg.optimizer in EXACT_SOLVERS and getattr(getattr(model, "output", None), "mode", "none") != "none":
        raise ValueError(
            f"optimizer {cfg.optimizer!r} fits a linear map; it cannot honour the {model.output.mode!r} "
            f"output constraint: build the model with output='none'"
        )
    loss_kwargs = {"out_of_range_weight": cfg.out_of_range_weight} if cfg.loss == "range_sse" else {}
    loss_fn = get_loss(cfg.loss, **loss_kwargs)
    start = time.perf_counter()
    stats = None
    if cfg.optimizer == "moments":  # one pass over the data, then float64 iterations on the statistics
        require_separable(model)
        if tuple(train_y.shape[1:]) != OUT_SHAPE:
            raise ValueError(
                f"optimizer 'moments' lays its statistics out for the target pipeline's {OUT_SHAPE} output, not "
                f"{tuple(train_y.shape[1:])}; use optimizer='closed_form' for another pipeline"
            )
        stats = moments(train_x, train_y).to(cfg.device)  # the statistics live where the model does
        model.double()
    model.to(cfg.device).train()
    opt, gen = _optimizer(model, cfg), torch.Generator().manual_seed(cfg.seed)
    sched = _schedule(opt, cfg)
    stopper = EarlyStopper(cfg.stopping, cfg.patience, cfg.max_epochs, cfg.tolerance_gray)
    result = TrainResult(config=asdict(cfg))
    best_state = None
    epochs = tqdm(range(1, cfg.max_epochs + 1), desc="epochs", unit="ep", disable=not progress)
    try:
        for epoch in epochs:
            lr = opt.param_groups[0]["lr"] if opt is not None else None
            with tqdm(total=len(train_x), desc=f"epoch {epoch}", unit="img", leave=False, disable=not progress) as bar:
                if cfg.optimizer == "closed_form":
                    loss = _closed_form_epoch(model, train_x, train_y, result, bar)
                elif cfg.optimizer == "moments":
                    loss = _moments_epoch(model, opt, stats, bar)
                elif cfg.optimizer == "lbfgs":
                    loss = _full_batch_epoch(model, opt, loss_fn, train_x, train_y, cfg, bar)
                else:
                    loss = _minibatch_epoch(model, opt, loss_fn, train_x, train_y, cfg, gen, bar)
            if sched is not None:
                sched.step()
            row = {"epoch": epoch, "loss": loss, "lr": lr}
            checked = []
            for key, (x, y) in val_sets.items():
                pred = metrics.predict(model, x)
                m = metrics.score(pred, y)
                row |= {f"{key}_{k}": m[k] for k in ("mae_gray", "max_gray", "exact8")}
                checked.append((pred, y))
            row["seconds"] = time.perf_counter() - start
            result.history.append(row)
            epochs.set_postfix(mae_gray=f"{row['val_mae_gray']:.3f}", max_gray=f"{row['val_max_gray']:.3f}")
            done = stopper.update(checked)
            if stopper.improved:
                best_state = copy.deepcopy(model.state_dict())
            if done:
                break
            if cfg.optimizer == "closed_form":  # the optimum is reached in one step; nothing to iterate
                stopper.stopped_by = "optimum"
                break
    except KeyboardInterrupt:
        stopper.stopped_by = "interrupted"
    model.float()
    result.stopped_by, result.epochs = stopper.stopped_by, len(result.history)
    result.seconds = time.perf_counter() - start
    if result.stopped_by not in ("mean_rule", "strict_rule") and best_state is not None:
        model.load_state_dict(best_state)
    return result


def build_and_train(
    name: str, x: torch.Tensor, y: torch.Tensor, vx: torch.Tensor, vy: torch.Tensor, cfg: TrainConfig,
    output: str = "none", progress: bool = False, held_out: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> tuple[torch.nn.Module, TrainResult]:  # fmt: skip
    """Build a model with the run's seed and train it."""
    seed_everything(cfg.seed)
    model = build(name, output=output)
    return model, train(model, x, y, vx, vy, cfg, progress=progress, held_out=held_out)
