"""The design study of ``notebooks/02_architectures.ipynb``: every experiment is a function that returns
a table (a DataFrame), so the notebook only calls, shows and explains.

All experiments share one ``Budget``: the same training images and, for the Adam runs, the same epochs,
batch size and learning rates, so that their rows compare like with like.
"""

from dataclasses import dataclass, field

import pandas as pd
import torch

from lib import metrics, models, synthetic
from lib.cost import cpu_seconds, mflops
from lib.data import Data
from lib.fit import fit_model
from lib.pipeline import make_targets
from lib.train import TrainConfig, TrainResult, build_and_train

DESIGNS = (
    ("dense", "none"), ("dense", "sigmoid"), ("dense", "clamp"),
    ("separable", "none"), ("separable", "sigmoid"), ("separable", "clamp"),
    ("conv3", "none"), ("conv5", "none"), ("fc_large", "none"),
)  # fmt: skip
SMALL = ("separable", "conv3", "conv5")  # few parameters: they get the larger learning rate
CONTAIN_PIPELINE = ("fc_large", "dense", "separable")  # linear designs that can represent the pipeline exactly
CLOSED_FORM = (*CONTAIN_PIPELINE, "conv5")  # designs with a closed-form optimum (lib.fit)


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

    def adam(self, name: str, **overrides) -> TrainConfig:
        """The Adam configuration of one design, with the mission's loss and mean rule unless overridden."""
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


def evaluate(label: str, net: torch.nn.Module, ds: Data, result: TrainResult | None, trainer: str) -> dict:
    """One row of the design table: size, cost, training and test fidelity."""
    pred = metrics.predict(net, ds.test_x)
    m = metrics.summary(pred, ds.test_y)
    return {
        "model": label, "trainer": trainer, "params": models.n_params(net), "mflops": mflops(net),
        "epochs": result.epochs if result else 0, "seconds": result.seconds if result else 0.0,
        "stopped_by": result.stopped_by if result else "-", "test_mae_gray": m["mae_gray"],
        "test_max_gray": m["max_gray"], "exact8_pct": 100 * m["exact8"],
        "outside_01_pct": 100 * metrics.outside_share(pred), "cpu_10k_s": cpu_seconds(net, ds.test_x),
    }  # fmt: skip


def compare_designs(budget: Budget) -> pd.DataFrame:
    """Every design of ``DESIGNS`` trained by Adam on the same images with the same budget."""
    rows = []
    for name, output in DESIGNS:
        label = name if output == "none" else f"{name}+{output}"
        net, res = budget.run(label, name, budget.adam(name), output=output)
        rows.append(evaluate(label, net, budget.ds, res, "adam"))
    return pd.DataFrame(rows).set_index("model")


def exact_routes(
    budget: Budget, n_noise: int, n_held_out: int, tolerance_gray: float, moments_epochs: int, lbfgs_iters: int
) -> pd.DataFrame:
    """The routes to the exact map: L-BFGS on second moments without and with ``n_noise`` noise images,
    and the closed-form fits of ``CLOSED_FORM``, all minimising the plain summed squared error."""
    ds, seed = budget.ds, budget.seed
    noise = synthetic.mixture(["noise"], n_noise, seed=seed)
    x, y = torch.cat([ds.train_x, noise]), torch.cat([ds.train_y, make_targets(noise)])
    held = synthetic.labelled_sets(n_held_out, seed=seed + 1).values()
    held_out = (torch.cat([hx for hx, _ in held]), torch.cat([hy for _, hy in held]))
    moments = {"optimizer": "moments", "loss": "sse", "lr": 1, "lbfgs_iters": lbfgs_iters, "patience": 0, "seed": seed}
    runs = [
        ("separable (moments)", "separable", TrainConfig(stopping="strict", max_epochs=moments_epochs, **moments),
         False, "L-BFGS on moments, CIFAR only, strict rule"),
        ("separable (moments + noise)", "separable",
         TrainConfig(stopping="tolerance", tolerance_gray=tolerance_gray, max_epochs=3 * moments_epochs, **moments),
         True, "L-BFGS on moments, + noise, tolerance rule"),
    ]  # fmt: skip
    closed = TrainConfig(optimizer="closed_form", loss="sse", stopping="tolerance", tolerance_gray=tolerance_gray)
    runs += [(f"{name} (closed form)", name, closed, True, "closed form, + noise") for name in CLOSED_FORM]
    rows = []
    for label, name, cfg, with_noise, trainer in runs:
        data = (x, y, held_out) if with_noise else (None, None, None)
        net, res = budget.run(label, name, cfg, data[0], data[1], held_out=data[2])
        rows.append(evaluate(label, net, ds, res, trainer))
    return pd.DataFrame(rows).set_index("model")


def loss_study(budget: Budget, names: tuple[str, ...] = ("dense", "separable")) -> dict[str, list[dict]]:
    """Validation histories of each design under the mission's loss (from ``compare_designs``), mean MSE
    and mean L1, with the same budget: {"design · loss": history}."""
    runs = {}
    for name in names:
        runs[f"{name} · range_sse"] = budget.results[name].history
        for loss in ("mse", "l1"):
            _, res = budget.run(f"{name} · {loss}", name, budget.adam(name, loss=loss))
            runs[f"{name} · {loss}"] = res.history
    return runs


def out_of_range_study(budget: Budget, weights: tuple[float, ...] = (1.0, 2.0, 10.0)) -> pd.DataFrame:
    """``dense`` trained with each out-of-range weight: how many test predictions leave [0, 1], how far,
    and the mean error. Weight 2 (the mission's) reuses the run of ``compare_designs``."""
    rows = []
    for weight in weights:
        if weight == 2.0 and "dense" in budget.trained:
            net = budget.trained["dense"]
        else:
            net, _ = budget.run(f"dense · weight {weight:g}", "dense", budget.adam("dense", out_of_range_weight=weight))
        pred = metrics.predict(net, budget.ds.test_x)
        over = (-pred).clamp_min(0) + (pred - 1).clamp_min(0)  # distance outside [0, 1]
        outside = over > 0
        rows.append({
            "out_of_range_weight": weight, "outside_pct": 100 * outside.double().mean().item(),
            "mean_overshoot_gray": 255 * over[outside].mean().item() if outside.any() else 0.0,
            "max_overshoot_gray": 255 * over.max().item(), "test_mae_gray": 255 * metrics.mae(pred, budget.ds.test_y),
        })  # fmt: skip
    return pd.DataFrame(rows).set_index("out_of_range_weight")


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


def conv_control(budget: Budget, design_table: pd.DataFrame) -> pd.DataFrame:
    """``conv3`` and ``conv5`` trained on the pipeline without its flips, against their rows with flips,
    and the best any single 5x5 convolution can do (its closed-form optimum) with and without them."""
    ds = budget.ds
    noflip_y, noflip_vy, noflip_ty = (make_targets(x, flips=False) for x in (ds.train_x, ds.val_x, ds.test_x))
    rows = []
    for name in ("conv3", "conv5"):
        net, _ = build_and_train(name, ds.train_x, noflip_y, ds.val_x, noflip_vy, budget.adam(name))
        pred = metrics.predict(net, ds.test_x)
        rows.append({
            "model": f"{name} (Adam)",
            "with flips: mean |err| (gray)": design_table.loc[name, "test_mae_gray"],
            "with flips: max |err| (gray)": design_table.loc[name, "test_max_gray"],
            "without flips: mean |err| (gray)": 255 * metrics.mae(pred, noflip_ty),
            "without flips: max |err| (gray)": 255 * metrics.max_abs(pred, noflip_ty),
        })  # fmt: skip
    best = {}
    for flips, (y, ty) in {"with flips": (ds.train_y, ds.test_y), "without flips": (noflip_y, noflip_ty)}.items():
        net = models.build("conv5")
        fit_model(net, ds.train_x, y)
        pred = metrics.predict(net, ds.test_x)
        best |= {f"{flips}: mean |err| (gray)": 255 * metrics.mae(pred, ty),
                 f"{flips}: max |err| (gray)": 255 * metrics.max_abs(pred, ty)}  # fmt: skip
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
