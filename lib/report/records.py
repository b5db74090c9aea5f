"""The runs of a report and the record each training run leaves: one type, written and read by the same code.

``RUNS`` is the one list of training runs: ``notebooks/01_train.ipynb`` runs once for each (the Makefile's
``01_train_<name>`` targets, checked against this list by a test), each writes ``results/train_<name>.json``
and ``models/<name>.pt``, and the summary and the front page read them from here.
"""

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from torch import nn

from lib.core.optimizers import EXACT_SOLVERS
from lib.core.registry import n_params
from lib.core.spec import Spec
from lib.core.stopping import threshold
from lib.core.train import TrainResult
from lib.paths import TRAIN_RECORD
from lib.results import write_json


@dataclass(frozen=True)
class Run:
    """One training run of the report."""

    name: str  # run_name: results/train_<name>.json, models/<name>.pt, Makefile target 01_train_<name>
    role: str  # what it stands for, in words


RECIPE = Run("dense_seed", "the baseline recipe")
FINAL = Run("separable", "the final model")
RUNS = (RECIPE, FINAL)


def record_path(results_dir: str | Path, run: str) -> Path:
    """Where the record of training run ``run`` lives under a results folder."""
    return Path(results_dir) / TRAIN_RECORD.format(run=run)


def recorded_runs(results_dir: str | Path) -> list[str]:
    """The training runs with a record under ``results_dir``: those of :data:`RUNS` in their order, then any
    others by name."""
    prefix, suffix = TRAIN_RECORD.split("{run}")
    found = {p.name.removeprefix(prefix).removesuffix(suffix) for p in Path(results_dir).glob(prefix + "*" + suffix)}
    listed = [r.name for r in RUNS if r.name in found]
    return listed + sorted(found - set(listed))


# The test split's scores (lib.core.metrics.score) a record keeps as test_<name>, and the environment's fields
# (lib.results.environment) it keeps as they are
TEST_SCORES = ("mae_px", "mae_gray", "max_abs", "max_gray", "exact8", "psnr_db", "outside_01_pct")
ENVIRONMENT = ("torch_version", "torchvision_version", "cpu", "cpu_vector", "torch_threads", "date")


@dataclass
class TrainRecord:
    """What one run of ``01_train`` measured, as saved in ``results/train_<run_name>.json``."""

    run_name: str
    pipeline: str  # the pipeline learned, as its lib.core.spec string
    out_shape: list[int]
    model: str  # registry name of the architecture
    optimizer: str
    output_constraint: str
    n_params: int
    epochs: int
    train_seconds: float
    stopped_by: str  # "<rule>_rule", or the guard that ended training (patience, max_epochs, optimum, ...)
    stopping: str  # the rule the run aimed at: mean, strict or tolerance
    tolerance_gray: float
    loss_minimised: str
    n_test: int
    test_mae_px: float
    test_mae_gray: float
    test_max_abs: float
    test_max_gray: float
    test_exact8: float  # a fraction
    test_psnr_db: float
    test_outside_01_pct: float
    fidelity: list[dict]  # rows of lib.core.metrics.fidelity: the test split first, then synthetic families
    threshold: float  # the rule's threshold in [0, 1] units
    threshold_unit: str
    data_source: str
    sizes: dict
    synthetic_families: list[str]
    device: str
    config: dict  # the TrainConfig, as a dict
    history: list[dict]  # one row per epoch
    fit: dict = field(default_factory=dict)  # closed form: solver and structure diagnostics
    val_fraction: float = 0.1  # the share of the train split held out for validation (with sizes: the split again)
    torch_version: str = ""
    torchvision_version: str = ""
    cpu: str = ""
    cpu_vector: str = ""
    torch_threads: int = 0
    date: str = ""

    @classmethod
    def from_run(
        cls,
        *,
        run_name: str,
        pipeline: Spec,
        model: str,
        output_constraint: str,
        net: nn.Module,
        result: TrainResult,
        test: dict,
        fidelity: list[dict],
        data_source: str,
        sizes: dict,
        synthetic_families: list[str],
        env: dict,
        val_fraction: float = 0.1,
    ) -> "TrainRecord":
        """The record of one run of ``01_train``, from its pieces: the pipeline learned, the model's registry name,
        output constraint and trained ``net``, what training did (``result``, whose ``config`` holds the optimizer,
        loss, stopping rule, tolerance and device), the test split's scores (``lib.core.metrics.score``), the
        fidelity table's rows, where the images came from and how many (``sizes["test"]`` test images), and the
        environment (``lib.results.environment``)."""
        cfg = result.config
        rule, tolerance = cfg["stopping"], cfg["tolerance_gray"]
        return cls(
            run_name=run_name, pipeline=pipeline.text, out_shape=list(pipeline.out_shape), model=model,
            optimizer=cfg["optimizer"], output_constraint=output_constraint, n_params=n_params(net),
            epochs=result.epochs, train_seconds=result.seconds, stopped_by=result.stopped_by, stopping=rule,
            tolerance_gray=tolerance,
            loss_minimised="sse" if cfg["optimizer"] in EXACT_SOLVERS else cfg["loss"],  # what exact solvers minimise
            n_test=sizes["test"], **{f"test_{k}": test[k] for k in TEST_SCORES}, fidelity=fidelity,
            threshold=threshold(rule, tolerance),
            threshold_unit="mean |error| per pixel" if rule == "mean" else "max |error| per pixel",
            data_source=data_source, sizes=sizes, synthetic_families=list(synthetic_families), device=cfg["device"],
            config=cfg, history=result.history, fit=result.info, val_fraction=val_fraction,
            **{k: env[k] for k in ENVIRONMENT},
        )  # fmt: skip

    @property
    def reached_rule(self) -> bool:
        """Whether the run stopped because its own stopping rule held."""
        return self.stopped_by == f"{self.stopping}_rule"

    def write(self, results_dir: str | Path) -> Path:
        """Save as ``train_<run_name>.json`` under ``results_dir`` (non-finite floats as strings)."""
        return write_json(record_path(results_dir, self.run_name), dataclasses.asdict(self))

    @classmethod
    def read(cls, path: str | Path) -> "TrainRecord":
        """A record saved by :meth:`write`; a file that is not one is refused with what it lacks."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no training record at {path}: run notebooks/01_train.ipynb (make train) first")
        data = json.loads(path.read_text())
        names = {f.name: f for f in dataclasses.fields(cls)}
        required = {n for n, f in names.items() if f.default is f.default_factory is dataclasses.MISSING}
        missing = sorted(required - set(data))
        if missing:
            raise ValueError(f"{path} is not a training record: it lacks {', '.join(missing)}")
        kept = {k: v for k, v in data.items() if k in names}
        for k, f in names.items():  # JSON holds inf and nan as strings (lib.results.write_json)
            if f.type is float and k in kept:
                kept[k] = float(kept[k])
        return cls(**kept)

    @classmethod
    def of_run(cls, results_dir: str | Path, run: str) -> "TrainRecord":
        """The record of training run ``run`` (a name in :data:`RUNS`, or any run_name) under ``results_dir``."""
        return cls.read(record_path(results_dir, run))
