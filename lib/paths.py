"""Every project path, from one place, independent of the current working directory."""

import os
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"  # default data directory
CACHE = Path(os.environ.get("CIFAR_CACHE") or ROOT / "data" / "cache")  # decoded images, keyed on their source
BUILD = ROOT / "build"  # executed notebooks
REPORTS = ROOT / "reports"  # HTML reports
RESULTS = REPORTS / "results"  # JSON / CSV results
MODELS = REPORTS / "models"  # saved model weights


class ResultsFile(NamedTuple):
    """A results file of the report, under ``results/``."""

    file: str  # its name
    notebook: str  # the notebook that writes it


# Every results file the notebooks write, by name, declared once: the notebooks write them through results_file, the
# front page reads them the same way, and the Makefile's run graph (``python -m lib.deps``) checks that each run wrote
# its own. A training run's record is TRAIN_RECORD with the run's name in it (lib.report.records).
RESULTS_FILES = {
    "architectures": ResultsFile("architectures.csv", "02_architectures"),
    "losses": ResultsFile("losses.csv", "02_architectures"),
    "benchmark": ResultsFile("benchmark.csv", "03_benchmark"),
    "benchmark_summary": ResultsFile("benchmark_summary.json", "03_benchmark"),
    "pipelines": ResultsFile("pipelines.csv", "04_pipelines"),
    "user_pipelines": ResultsFile("user_pipelines.csv", "04_pipelines"),
    "scaling": ResultsFile("scaling.csv", "05_scaling"),
    "onnx": ResultsFile("onnx.csv", "06_ship"),
    "loader": ResultsFile("loader.csv", "06_ship"),
    "suite": ResultsFile("suite.csv", "06_ship"),
    "fit_times": ResultsFile("fit_times.csv", "06_ship"),
}
TRAIN_RECORD = "train_{run}.json"  # the record of training run {run} (01_train)


def results_file(results_dir: str | Path, name: str) -> Path:
    """Where results file ``name`` (a key of :data:`RESULTS_FILES`) lives under a results folder."""
    if name not in RESULTS_FILES:
        raise KeyError(f"no results file {name!r}; the report's are {', '.join(RESULTS_FILES)}")
    return Path(results_dir) / RESULTS_FILES[name].file


def resolve(path: str | Path) -> Path:
    """An absolute path; a relative one is taken from the project root, not the working directory."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else (ROOT / path).resolve()


def shown(path: str | Path) -> str:
    """``path`` as a reader should see it: relative to the project root (``../shared/data`` rather than
    this machine's absolute path), so that reports carry no machine-specific paths. Symbolic links are
    not followed: a ``../shared`` that links elsewhere is shown as ``../shared``."""
    path = Path(path).expanduser()
    return os.path.relpath(os.path.normpath(path if path.is_absolute() else ROOT / path), ROOT)
