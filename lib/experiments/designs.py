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
from lib.core.banded import from_separable
from lib.core.constants import OUT_SHAPE
from lib.core.cost import cpu_seconds, mflops
from lib.core.data import Data
from lib.core.fit import fit_model, linear_lstsq, set_from_fit
from lib.core.pipeline import make_targets
from lib.core.stopping import EarlyStopper
from lib.core.train import TrainConfig, TrainResult, build_and_train, seed_everything, validation_scores

DESIGNS = (
    ("dense", "none"), ("dense", "sigmoid"), ("dense", "clamp"),
    ("separable", "none"), ("separable", "sigmoid"), ("separable", "clamp"),
    ("conv3", "none"), ("conv5", "none"), ("fc_large", "none"),
)  # fmt: skip


def _largest_first(names) -> tuple[str, ...]:
    with torch.device("meta"):  # sizes only: no weights are made, no random numbers drawn
        return tuple(sorted(names, key=lambda name: -models.n_params(models.build(name))))


_STUDIED = tuple(dict.fromkeys(name for name, _ in DESIGNS))
# the designs with a closed-form optimum (lib.core.fit): first those that can represent the pipeline exactly, which
# share one least-squares solve, largest first
_FITTED = tuple(n for n in _STUDIED if "closed_form" in models.REGISTRY[n].abilities)
CONTAIN_PIPELINE = _largest_first(n for n in _FITTED if "holds_target" in models.REGISTRY[n].abilities)
CLOSED_FORM = (*CONTAIN_PIPELINE, *(n for n in _FITTED if n not in CONTAIN_PIPELINE))


@dataclass
class Budget:
    """What every Adam run of the study gets, and the data they all see."""

    ds: Data
    max_epochs: int = 10  # epoch cap of every Adam run (reported where it fires)
    batch_size: int = 128
    lr: float = 1e-3  # Adam learning rate of the models with many parameters
    lr_small: float = 1e-2  # Adam learning rate of the models with few parameters ("few_params")
    seed: int = 0
    trained: dict = field(default_factory=dict)  # label -> model, filled by the experiments
    results: dict = field(default_factory=dict)  # label -> TrainResult
    timings: dict = field(default_factory=dict)  # (architecture, output) -> CPU seconds over the test images
    _exact: dict = field(default_factory=dict, repr=False)  # (n_noise, n_held_out) -> exact_images

    def adam(self, name: str, **overrides) -> TrainConfig:
        """The Adam configuration of one design, with the baseline recipe's loss and mean rule unless overridden."""
        lr = self.lr_small if "few_params" in models.REGISTRY[name].abilities else self.lr
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
        the validation and held-out images by the training loop's own scores and stopper."""
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
            seconds = solve_s + time.perf_counter() - start
            self.keep_one_step(f"{name} (closed form)", net, held_out, tolerance_gray, seconds, asdict(cfg), info)

    def keep_one_step(
        self, label: str, net: torch.nn.Module, held_out, tolerance_gray: float, seconds: float, config: dict,
        info: dict,
    ) -> None:  # fmt: skip
        """Keep ``net``, reached in one step, under ``label`` with a one-epoch result: its own scores on the
        validation and held-out images and the tolerance rule checked on them by the training loop's own
        scores and stopper."""
        scores, checked = validation_scores(net, {"val": (self.ds.val_x, self.ds.val_y), "held_out": held_out})
        stopper = EarlyStopper("tolerance", max_epochs=1, tolerance_gray=tolerance_gray)
        stopper.update(checked)
        res = TrainResult(history=[{"epoch": 1, "lr": None, **scores, "seconds": seconds}],
                          stopped_by="tolerance_rule" if stopper.rule_fired else "optimum", epochs=1,
                          seconds=seconds, config=config, info=info)  # fmt: skip
        self.trained[label], self.results[label] = net, res


def evaluate(
    label: str, net: torch.nn.Module, ds: Data, result: TrainResult | None, trainer: str, timings: dict | None = None
) -> dict:
    """One row of the design table: size, cost, training and test fidelity. The CPU time over the test
    images does not depend on the weights: with ``timings`` it is measured once per architecture and output
    constraint and read from there after."""
    key = (getattr(net, "registry_name", type(net).__name__), models.output_mode(net))
    timings = {} if timings is None else timings
    if key not in timings:
        timings[key] = cpu_seconds(net, ds.test_x)
    return {
        "model": label, "trainer": trainer, "params": models.n_params(net), "mflops": mflops(net),
        "epochs": result.epochs if result else 0, "seconds": result.seconds if result else 0.0,
        "stopped_by": result.stopped_by if result else "-", **scores_on_test(net, ds), "cpu_10k_s": timings[key],
    }  # fmt: skip


def scores_on_test(net: torch.nn.Module, ds: Data) -> dict:
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


def exact_routes(budget: Budget, n_noise: int, n_held_out: int, tolerance_gray: float) -> pd.DataFrame:
    """The least-squares optimum of each design of ``CLOSED_FORM`` (the linear designs that contain the pipeline
    share one solve) on the study's images plus ``n_noise`` noise images, and ``banded``: the separable fit kept on
    its support. These say which designs can hold the pipeline; training them is the other question."""
    x, y, held_out = budget.exact_images(n_noise, n_held_out)
    budget.closed_forms(CONTAIN_PIPELINE, x, y, held_out, tolerance_gray)
    closed = TrainConfig(optimizer="closed_form", loss="sse", stopping="tolerance", tolerance_gray=tolerance_gray)
    for name in CLOSED_FORM[len(CONTAIN_PIPELINE) :]:  # the closed forms of designs that cannot hold the pipeline
        budget.run(f"{name} (closed form)", name, closed, x, y, held_out=held_out)
    sep = budget.results["separable (closed form)"]
    budget.keep_one_step("banded (closed form)", from_separable(budget.trained["separable (closed form)"]), held_out,
                         tolerance_gray, sep.seconds, sep.config, sep.info)  # fmt: skip
    trainers = {**{f"{name} (closed form)": f"closed form, + {n_noise:,} noise" for name in CLOSED_FORM},
                "banded (closed form)": "separable's closed form on its support"}  # fmt: skip
    rows = [evaluate(label, budget.trained[label], budget.ds, budget.results[label], trainer, budget.timings)
            for label, trainer in trainers.items()]  # fmt: skip
    return pd.DataFrame(rows).set_index("model")


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
