"""The design study of ``notebooks/02_architectures.ipynb``: every experiment is a function that returns
a table (a DataFrame), so the notebook only calls, shows and explains.

All experiments share one ``Budget``: the same training images and, for the Adam runs, the same epochs,
batch size and learning rates, so that their rows compare like with like. The routes to the exact map, the
loss study and the convolution control share one set of training images with noise images added
(``Budget.exact_images``), made once.
"""

import time
from dataclasses import asdict, dataclass, field

import pandas as pd
import torch

from lib.core import metrics, models, synthetic
from lib.core.constants import GRAY_LEVELS, OUT_SHAPE
from lib.core.cost import cpu_seconds, mflops
from lib.core.data import Data
from lib.core.fit import fit_model, linear_lstsq, set_from_fit
from lib.core.losses import SUMMED, get_loss
from lib.core.pipeline import make_targets
from lib.core.stopping import rule_met
from lib.core.train import TrainConfig, TrainResult, build_and_train, seed_everything

DESIGNS = (
    ("dense", "none"), ("dense", "sigmoid"), ("dense", "clamp"),
    ("separable", "none"), ("separable", "sigmoid"), ("separable", "clamp"),
    ("conv3", "none"), ("conv5", "none"), ("fc_large", "none"),
)  # fmt: skip
SMALL = ("separable", "conv3", "conv5")  # few parameters: they get the larger learning rate
CONTAIN_PIPELINE = ("fc_large", "dense", "separable")  # linear designs that can represent the pipeline exactly
CLOSED_FORM = (*CONTAIN_PIPELINE, "conv5")  # designs with a closed-form optimum (lib.core.fit)
LOSSES_COMPARED = ("range_sse", "sse", "mse", "l1")  # the loss study's losses, the assignment's first
OUT_OF_RANGE_WEIGHTS = (1.0, 2.0, 10.0)  # weight 1 is the plain summed squared error, 2 the assignment's


@dataclass
class Budget:
    """What every Adam run of the study gets, and the data they all see."""

    ds: Data
    max_epochs: int = 10  # epoch cap of every Adam run (reported where it fires)
    batch_size: int = 128
    lr: float = 1e-3  # Adam learning rate of the models with many parameters
    lr_small: float = 1e-2  # Adam learning rate of the models with few parameters (SMALL)
    seed: int = 0
    trained: dict = field(default_factory=dict)  # label -> model, filled by the experiments
    results: dict = field(default_factory=dict)  # label -> TrainResult
    timings: dict = field(default_factory=dict)  # (architecture, output) -> CPU seconds over the test images
    _exact: dict = field(default_factory=dict, repr=False)  # (n_noise, n_held_out) -> exact_images

    def adam(self, name: str, **overrides) -> TrainConfig:
        """The Adam configuration of one design, with the assignment's loss and mean rule unless overridden."""
        lr = self.lr_small if name in SMALL else self.lr
        base = {"lr": lr, "batch_size": self.batch_size, "max_epochs": self.max_epochs, "patience": 0,
                "seed": self.seed, "stopping": "mean"}  # fmt: skip
        return TrainConfig(**(base | overrides))

    def run(self, label: str, name: str, cfg: TrainConfig, x=None, y=None, output: str = "none", held_out=None):
        """Train ``name`` on (x, y), the study's training images by default; keep it under ``label``."""
        x, y = (self.ds.train_x, self.ds.train_y) if x is None else (x, y)
        net, res = build_and_train(name, x, y, self.ds.val_x, self.ds.val_y, cfg, output=output, held_out=held_out)
        self.trained[label], self.results[label] = net, res
        return net, res

    def exact_images(self, n_noise: int, n_held_out: int):
        """The training images of the exact routes: the study's CIFAR-10 images, then ``n_noise`` uniform-noise
        images (which excite the high spatial frequencies photographs leave dark), with their targets; and
        ``n_held_out`` held-out images of every synthetic family for the tolerance rule. Made once per sizes."""
        key = (n_noise, n_held_out)
        if key not in self._exact:
            noise = synthetic.mixture(["noise"], n_noise, seed=self.seed)
            held = synthetic.labelled_sets(n_held_out, seed=self.seed + 1).values()
            self._exact[key] = (
                torch.cat([self.ds.train_x, noise]), torch.cat([self.ds.train_y, make_targets(noise)]),
                (torch.cat([hx for hx, _ in held]), torch.cat([hy for _, hy in held])),
            )  # fmt: skip
        return self._exact[key]

    def closed_forms(self, names: tuple[str, ...], x, y, held_out, tolerance_gray: float) -> None:
        """``names`` set to the nearest map of their structure to one least-squares optimum on (x, y): one
        solve serves every design (``lib.core.fit.set_from_fit``). Each is kept as "NAME (closed form)" with a
        one-epoch result: the solve's seconds plus its own factorisation, and the tolerance rule checked on
        the validation and held-out images as ``lib.core.train`` checks it."""
        start = time.perf_counter()
        fit = linear_lstsq(x, y)
        solve_s = time.perf_counter() - start
        cfg = TrainConfig(optimizer="closed_form", loss="sse", stopping="tolerance", tolerance_gray=tolerance_gray,
                          seed=self.seed)  # fmt: skip
        for name in names:
            start = time.perf_counter()
            seed_everything(self.seed)
            net = models.build(name)
            info = set_from_fit(net, fit, OUT_SHAPE)
            row, met = {"epoch": 1, "lr": None}, True
            for key, (vx, vy) in {"val": (self.ds.val_x, self.ds.val_y), "held_out": held_out}.items():
                pred = metrics.predict(net, vx)
                m = metrics.score(pred, vy)
                row |= {f"{key}_{k}": m[k] for k in ("mae_gray", "max_gray", "exact8")}
                met = met and rule_met("tolerance", pred, vy, tolerance_gray)
            seconds = solve_s + time.perf_counter() - start
            row["seconds"] = seconds
            res = TrainResult(history=[row], stopped_by="tolerance_rule" if met else "optimum", epochs=1,
                              seconds=seconds, config=asdict(cfg), info=info)  # fmt: skip
            self.trained[f"{name} (closed form)"], self.results[f"{name} (closed form)"] = net, res


def evaluate(
    label: str, net: torch.nn.Module, ds: Data, result: TrainResult | None, trainer: str, timings: dict | None = None
) -> dict:
    """One row of the design table: size, cost, training and test fidelity. The CPU time over the test
    images does not depend on the weights: with ``timings`` it is measured once per architecture and output
    constraint and read from there after."""
    key = (getattr(net, "registry_name", type(net).__name__), getattr(getattr(net, "output", None), "mode", "none"))
    timings = {} if timings is None else timings
    if key not in timings:
        timings[key] = cpu_seconds(net, ds.test_x)
    return {
        "model": label, "trainer": trainer, "params": models.n_params(net), "mflops": mflops(net),
        "epochs": result.epochs if result else 0, "seconds": result.seconds if result else 0.0,
        "stopped_by": result.stopped_by if result else "-", **_test_scores(net, ds), "cpu_10k_s": timings[key],
    }  # fmt: skip


def _test_scores(net: torch.nn.Module, ds: Data) -> dict:
    """A design's scores on the test images, under the names its tables use."""
    m = metrics.score_model(net, ds.test_x, ds.test_y)
    return {"test_mae_gray": m["mae_gray"], "test_max_gray": m["max_gray"], "exact8_pct": m["exact8_pct"],
            "outside_01_pct": m["outside_01_pct"]}  # fmt: skip


def compare_designs(budget: Budget) -> pd.DataFrame:
    """Every design of ``DESIGNS`` trained by Adam on the same images with the same budget."""
    rows = []
    for name, output in DESIGNS:
        label = name if output == "none" else f"{name}+{output}"
        net, res = budget.run(label, name, budget.adam(name), output=output)
        rows.append(evaluate(label, net, budget.ds, res, "adam", budget.timings))
    return pd.DataFrame(rows).set_index("model")


def exact_routes(
    budget: Budget, n_noise: int, n_held_out: int, tolerance_gray: float, moments_epochs: int, lbfgs_iters: int
) -> pd.DataFrame:
    """The routes to the exact map: L-BFGS on second moments without and with ``n_noise`` noise images,
    and the closed-form fits of ``CLOSED_FORM`` (the three linear designs that contain the pipeline share one
    least-squares solve), all minimising the plain summed squared error."""
    ds, seed = budget.ds, budget.seed
    x, y, held_out = budget.exact_images(n_noise, n_held_out)
    moments = {"optimizer": "moments", "loss": "sse", "lr": 1, "lbfgs_iters": lbfgs_iters, "patience": 0, "seed": seed}
    budget.run("separable (moments)", "separable", TrainConfig(stopping="strict", max_epochs=moments_epochs, **moments))
    budget.run("separable (moments + noise)", "separable",
               TrainConfig(stopping="tolerance", tolerance_gray=tolerance_gray, max_epochs=3 * moments_epochs,
                           **moments), x, y, held_out=held_out)  # fmt: skip
    budget.closed_forms(CONTAIN_PIPELINE, x, y, held_out, tolerance_gray)
    closed = TrainConfig(optimizer="closed_form", loss="sse", stopping="tolerance", tolerance_gray=tolerance_gray)
    budget.run("conv5 (closed form)", "conv5", closed, x, y, held_out=held_out)
    trainers = {"separable (moments)": "L-BFGS on moments, CIFAR only, strict rule",
                "separable (moments + noise)": "L-BFGS on moments, + noise, tolerance rule",
                **{f"{name} (closed form)": "closed form, + noise" for name in CLOSED_FORM}}  # fmt: skip
    rows = [evaluate(label, budget.trained[label], ds, budget.results[label], trainer, budget.timings)
            for label, trainer in trainers.items()]  # fmt: skip
    return pd.DataFrame(rows).set_index("model")


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
        "stopped_by": res.stopped_by, **_test_scores(net, ds),
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
            "outside_pct": 100 * outside.double().mean().item(),
            "mean_overshoot_gray": GRAY_LEVELS * over[outside].mean().item() if outside.any() else 0.0,
            "max_overshoot_gray": GRAY_LEVELS * over.max().item(),
            "test_mae_gray": m["mae_gray"], "test_max_gray": m["max_gray"],
        })  # fmt: skip
    return pd.DataFrame(rows).set_index("run")


def synthetic_only(budget: Budget, kinds: tuple[str, ...], n: int, moments_cfg: TrainConfig) -> None:
    """``dense`` (Adam) and ``separable`` (moments) trained on ``n`` synthetic images of each kind only,
    kept as "dense (Adam) on KIND" and "separable (moments) on KIND"."""
    for kind in kinds:
        x = synthetic.images(kind, n, seed=budget.seed)
        v = synthetic.images(kind, 1000, seed=budget.seed + 1)
        y, vy = make_targets(x), make_targets(v)
        for label, name, cfg in ((f"dense (Adam) on {kind}", "dense", budget.adam("dense")),
                                 (f"separable (moments) on {kind}", "separable", moments_cfg)):  # fmt: skip
            net, res = build_and_train(name, x, y, v, vy, cfg)
            budget.trained[label], budget.results[label] = net, res


def generalisation(nets: dict[str, torch.nn.Module], sets: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Largest and mean error (gray levels) of each model (rows) on each image set (columns)."""
    long = pd.DataFrame([{"model": label, **row} for label, net in nets.items() for row in metrics.fidelity(net, sets)])
    order = {"index": list(nets), "columns": list(sets)}
    worst = long.pivot(index="model", columns="images", values="max_gray").loc[order["index"], order["columns"]]
    mean = long.pivot(index="model", columns="images", values="mae_gray").loc[order["index"], order["columns"]]
    return worst, mean


def _errors(prefix: str, m: dict) -> dict:
    return {f"{prefix}: mean |err| (gray)": m["mae_gray"], f"{prefix}: max |err| (gray)": m["max_gray"]}


def conv_control(budget: Budget, design_table: pd.DataFrame, n_noise: int, n_held_out: int) -> pd.DataFrame:
    """``conv5`` trained by Adam on the pipeline without its flips, against its row with flips, and the best
    any single 5x5 convolution can do (its closed-form optimum on the exact routes' images) with the flips
    (the design table's "conv5 (closed form)", reused) and without them."""
    ds = budget.ds
    noflip_y, noflip_vy, noflip_ty = (make_targets(x, flips=False) for x in (ds.train_x, ds.val_x, ds.test_x))
    rows = []
    for name in ("conv5",):
        net, _ = build_and_train(name, ds.train_x, noflip_y, ds.val_x, noflip_vy, budget.adam(name))
        rows.append({
            "model": f"{name} (Adam)",
            "with flips: mean |err| (gray)": design_table.loc[name, "test_mae_gray"],
            "with flips: max |err| (gray)": design_table.loc[name, "test_max_gray"],
            **_errors("without flips", metrics.score_model(net, ds.test_x, noflip_ty)),
        })  # fmt: skip
    if "conv5 (closed form)" not in budget.trained:
        raise KeyError("conv_control reuses the closed-form conv5 of exact_routes: run exact_routes first")
    x, _, _ = budget.exact_images(n_noise, n_held_out)
    noflip = models.build("conv5")
    fit_model(noflip, x, make_targets(x, flips=False))
    best = {}
    for flips, (net, ty) in {"with flips": (budget.trained["conv5 (closed form)"], ds.test_y),
                             "without flips": (noflip, noflip_ty)}.items():  # fmt: skip
        best |= _errors(flips, metrics.score_model(net, ds.test_x, ty))
    rows.append({"model": "conv5 (closed form: the best 5x5 kernel)", **best})
    return pd.DataFrame(rows).set_index("model")


def channel_spectrum(x: torch.Tensor) -> pd.DataFrame:
    """Eigenvalues and eigenvectors (R, G, B weights) of the pixel colour covariance of images ``x``: how
    much a change of the gray mix along each direction changes what a model sees."""
    pixels = x.permute(1, 0, 2, 3).reshape(3, -1).double()  # (3, N*H*W)
    vals, vecs = torch.linalg.eigh(torch.cov(pixels))
    rows = [{"direction": name, "variance": vals[k].item(), "R": vecs[0, k].item(), "G": vecs[1, k].item(),
             "B": vecs[2, k].item()} for name, k in (("largest", 2), ("middle", 1), ("smallest", 0))]  # fmt: skip
    return pd.DataFrame(rows).set_index("direction")
