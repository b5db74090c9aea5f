"""How each optimizer trains a model: one small object per optimizer, all with the same methods.

The training loop (``lib.core.train``) looks the strategy up by the config's ``optimizer`` in
``STRATEGIES`` and calls it; it never asks which one it has. Each strategy says what it needs of the
config and of the model (``check_config``, ``check_model``), what dtype the model trains in (``dtype``),
does its one-off work before the first epoch (``prepare``: the torch optimizer and its schedule, the
training set's moments) and runs one epoch (``epoch``), returning the training loss per image. Each counts the
images it has passed through the model with gradients (``images_seen``), the unit that compares optimizers whose
epochs differ: a mini-batch epoch is one pass over the training images, a full-batch L-BFGS epoch ``lbfgs_iters``
iterations with a pass per function evaluation.
"""

from typing import TYPE_CHECKING, ClassVar

import torch
from torch import nn

from lib.core import metrics
from lib.core.constants import OUT_SHAPE
from lib.core.fit import fit_model
from lib.core.losses import SUMMED, get_loss
from lib.core.models import output_mode
from lib.core.moments import moments, require_separable, separable_sse

if TYPE_CHECKING:  # the config lives with the loop, which imports this module
    from lib.core.train import TrainConfig

SCHEDULES = ("none", "cosine", "exponential")


def schedule(opt: torch.optim.Optimizer, cfg: "TrainConfig") -> torch.optim.lr_scheduler.LRScheduler | None:
    """The learning-rate schedule the config names, stepped once per epoch; None for a constant rate."""
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.max_epochs)
    if cfg.schedule == "exponential":
        return torch.optim.lr_scheduler.ExponentialLR(opt, gamma=cfg.gamma)
    return None


class Strategy:
    """One optimizer's way of training. Subclasses set the class attributes and fill in the methods."""

    dtype: ClassVar[torch.dtype] = torch.float32  # what the model trains in; the loop returns it to float32
    exact: ClassVar[bool] = False  # minimises a linear map's plain summed squared error: loss="sse", output="none"
    solves_at_once: ClassVar[bool] = False  # one epoch reaches the optimum: nothing is left to iterate

    def __init__(self, cfg: "TrainConfig"):
        self.cfg = cfg
        self.info: dict = {}  # what the solver reports about its fit (the closed form's diagnostics)
        self.images_seen = 0  # images passed through the model with gradients (or into the statistics), so far

    @classmethod
    def check_config(cls, cfg: "TrainConfig") -> None:
        """Refuse a config this optimizer cannot honour, when the config is made."""
        if cls.exact and cfg.loss != "sse":
            raise ValueError(
                f"optimizer {cfg.optimizer!r} minimises the plain summed squared error; set loss='sse' "
                f"(got {cfg.loss!r}), so that the recorded loss is the one minimised"
            )

    @classmethod
    def check_shape(cls, out_shape: tuple[int, int, int]) -> None:
        """Refuse a pipeline output this optimizer cannot train for (every shape is taken, but by ``moments``)."""

    def check_model(self, model: nn.Module, train_y: torch.Tensor) -> None:
        """Refuse a model (or targets) this optimizer cannot train, before any work is done."""
        mode = output_mode(model)
        if self.exact and mode != "none":
            raise ValueError(
                f"optimizer {self.cfg.optimizer!r} fits a linear map; it cannot honour the {mode!r} "
                f"output constraint: build the model with output='none'"
            )

    def prepare(self, model: nn.Module, train_x: torch.Tensor, train_y: torch.Tensor) -> None:
        """One-off work before the first epoch; the model is already in ``dtype`` on the config's device."""
        raise NotImplementedError

    def epoch(self, model: nn.Module, bar) -> float:
        """One epoch over the training set; returns the training loss per image after it."""
        raise NotImplementedError

    @property
    def lr(self) -> float | None:
        """The learning rate the next epoch uses; None for a solver without one."""
        return None


class Iterative(Strategy):
    """Gradient steps with a torch optimizer and an optional schedule, stepped once per epoch."""

    def make_optimizer(self, params) -> torch.optim.Optimizer:
        raise NotImplementedError

    def prepare(self, model: nn.Module, train_x: torch.Tensor, train_y: torch.Tensor) -> None:
        self.opt = self.make_optimizer(model.parameters())
        self.sched = schedule(self.opt, self.cfg)

    def epoch(self, model: nn.Module, bar) -> float:
        loss = self.steps(model, bar)
        if self.sched is not None:
            self.sched.step()
        return loss

    def steps(self, model: nn.Module, bar) -> float:
        """This epoch's optimizer steps; returns the training loss per image."""
        raise NotImplementedError

    @property
    def lr(self) -> float:
        return self.opt.param_groups[0]["lr"]


class OnImages(Iterative):
    """Steps on the config's loss over the training images themselves."""

    def __init__(self, cfg: "TrainConfig"):
        super().__init__(cfg)
        options = {"out_of_range_weight": cfg.out_of_range_weight} if cfg.loss == "range_sse" else {}
        self.loss_fn = get_loss(cfg.loss, **options)  # an unknown loss is refused here, before any work

    def prepare(self, model: nn.Module, train_x: torch.Tensor, train_y: torch.Tensor) -> None:
        self.x, self.y = train_x, train_y
        super().prepare(model, train_x, train_y)


class Minibatch(OnImages):
    """Shuffled mini-batches, one optimizer step each; the order comes from a generator seeded once per run."""

    def prepare(self, model: nn.Module, train_x: torch.Tensor, train_y: torch.Tensor) -> None:
        super().prepare(model, train_x, train_y)
        self.gen = torch.Generator().manual_seed(self.cfg.seed)

    def steps(self, model: nn.Module, bar) -> float:
        cfg, x, y = self.cfg, self.x, self.y
        total = 0.0
        perm = torch.randperm(len(x), generator=self.gen)
        for i in range(0, len(x), cfg.batch_size):
            idx = perm[i : i + cfg.batch_size]
            xb, yb = x[idx].to(cfg.device, non_blocking=True), y[idx].to(cfg.device, non_blocking=True)
            self.opt.zero_grad(set_to_none=True)
            loss = self.loss_fn(model(xb), yb)
            loss.backward()
            self.opt.step()
            total += loss.item() * (1 if cfg.loss in SUMMED else len(idx))
            self.images_seen += len(idx)
            bar.update(len(idx))
        return total / len(x)


class Adam(Minibatch):
    """Adam at the config's learning rate."""

    def make_optimizer(self, params) -> torch.optim.Optimizer:
        return torch.optim.Adam(params, lr=self.cfg.lr)


class SGD(Minibatch):
    """SGD with momentum 0.9 at the config's learning rate."""

    def make_optimizer(self, params) -> torch.optim.Optimizer:
        return torch.optim.SGD(params, lr=self.cfg.lr, momentum=0.9)


def _lbfgs(params, cfg: "TrainConfig") -> torch.optim.LBFGS:
    return torch.optim.LBFGS(
        params, lr=cfg.lr, max_iter=cfg.lbfgs_iters, history_size=100, line_search_fn="strong_wolfe"
    )


class FullBatchLBFGS(OnImages):
    """L-BFGS on the loss over the whole training set, ``lbfgs_iters`` iterations per epoch."""

    def make_optimizer(self, params) -> torch.optim.Optimizer:
        return _lbfgs(params, self.cfg)

    def steps(self, model: nn.Module, bar) -> float:
        cfg, x, y, opt, loss_fn = self.cfg, self.x, self.y, self.opt, self.loss_fn

        # The loss over the whole set, accumulated chunk by chunk as the closure's objective: summed losses
        # add up, mean losses are weighted by chunk size so that every chunk counts as the images it holds.
        def objective(i: int) -> torch.Tensor:
            xb, yb = x[i : i + cfg.batch_size].to(cfg.device), y[i : i + cfg.batch_size].to(cfg.device)
            loss = loss_fn(model(xb), yb)
            return loss if cfg.loss in SUMMED else loss * len(xb) / len(x)

        def closure() -> torch.Tensor:
            opt.zero_grad(set_to_none=True)
            self.images_seen += len(x)  # each function evaluation (line search included) is a pass over the set
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


class MomentsLBFGS(Iterative):
    """L-BFGS in float64 on the training set's exact second moments (separable models only): one pass
    over the data, then every iteration costs a pass over the statistics instead of over the images."""

    dtype = torch.float64  # thousands of iterations on ill-conditioned statistics need the precision
    exact = True

    def check_model(self, model: nn.Module, train_y: torch.Tensor) -> None:
        super().check_model(model, train_y)
        require_separable(model)
        self.check_shape(tuple(train_y.shape[1:]))

    @classmethod
    def check_shape(cls, out_shape: tuple[int, int, int]) -> None:
        if tuple(out_shape) != OUT_SHAPE:
            raise ValueError(
                f"optimizer 'moments' lays its statistics out for the target pipeline's {OUT_SHAPE} output, not "
                f"{tuple(out_shape)}; use optimizer='closed_form' for another pipeline"
            )

    def prepare(self, model: nn.Module, train_x: torch.Tensor, train_y: torch.Tensor) -> None:
        self.stats = moments(train_x, train_y).to(self.cfg.device)  # the statistics live where the model does
        self.images_seen = len(train_x)  # one pass; every iteration after it reads the statistics, not the images
        super().prepare(model, train_x, train_y)

    def make_optimizer(self, params) -> torch.optim.Optimizer:
        return _lbfgs(params, self.cfg)

    def steps(self, model: nn.Module, bar) -> float:
        opt, stats = self.opt, self.stats

        def closure() -> torch.Tensor:
            opt.zero_grad(set_to_none=True)
            loss = separable_sse(model, stats)
            loss.backward()
            return loss

        opt.step(closure)
        bar.update(stats.n)
        with torch.no_grad():  # the loss after this epoch's iterations, not before them
            return separable_sse(model, stats).item() / stats.n


class ClosedForm(Strategy):
    """The least-squares optimum in one step (``lib.core.fit``); its diagnostics go to ``info``."""

    exact = True
    solves_at_once = True

    def prepare(self, model: nn.Module, train_x: torch.Tensor, train_y: torch.Tensor) -> None:
        self.x, self.y = train_x, train_y

    def epoch(self, model: nn.Module, bar) -> float:
        self.info = fit_model(model, self.x, self.y)
        self.images_seen += len(self.x)
        bar.update(len(self.x))
        pred = metrics.predict(model, self.x)
        return ((pred - self.y) ** 2).sum().item() / len(self.x)


STRATEGIES: dict[str, type[Strategy]] = {
    "adam": Adam,
    "sgd": SGD,
    "lbfgs": FullBatchLBFGS,
    "moments": MomentsLBFGS,
    "closed_form": ClosedForm,
}
OPTIMIZERS = tuple(STRATEGIES)
EXACT_SOLVERS = tuple(name for name, s in STRATEGIES.items() if s.exact)  # minimise the plain summed squared error


def strategy(cfg: "TrainConfig") -> Strategy:
    """The strategy for the config's optimizer."""
    return STRATEGIES[cfg.optimizer](cfg)
