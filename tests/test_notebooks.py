"""Every notebook runs headless through papermill in its small CI configuration."""

import csv
import json
import time
from pathlib import Path

import nbformat
import papermill
import pytest

from lib import models
from lib.paths import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CI_PARAMS = {
    "01_train": {"n_train": 300, "max_epochs": 2, "n_test": 200, "batch_size": 64},
    "02_architectures": {
        "n_train": 200, "n_test": 100, "max_epochs": 1, "moments_epochs": 1, "lbfgs_iters": 5, "n_synthetic": 200,
    },
    "03_benchmark": {
        "n_images": 32, "repeats": 2, "batch_sizes": [1, 32], "num_workers": [0, 2], "chunk_sizes": [32],
        "devices": ["cpu", "cuda"],
    },
}  # fmt: skip


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs_and_with_one_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), f"{path.name} has outputs"
    assert sum("parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1


def test_every_notebook_has_a_ci_configuration():
    assert {p.stem for p in NOTEBOOKS} == set(CI_PARAMS)


def _run(name: str, tmp_path: Path, **params) -> Path:
    out = tmp_path / "out"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / f"{name}.ipynb"),
        str(tmp_path / f"{name}.ipynb"),
        parameters={**CI_PARAMS[name], **params, "out_dir": str(out)},
        kernel_name="python3",
        progress_bar=False,
    )
    return out


@pytest.mark.parametrize("model, stopping, optimizer", [("dense", "mean", "adam"), ("separable", "strict", "moments")])
def test_train_notebook(tmp_path, smoke_data_dir, model, stopping, optimizer):
    out = _run("01_train", tmp_path, data_dir=str(smoke_data_dir), model=model, stopping=stopping, optimizer=optimizer)
    res = json.loads((out / "results" / f"train_{model}.json").read_text())
    for key in (
        "model",
        "n_params",
        "epochs",
        "train_seconds",
        "stopped_by",
        "test_mae_px",
        "test_max_abs",
        "test_exact8",
        "threshold",
        "data_source",
        "torch_version",
        "device",
    ):
        assert key in res, key
    assert res["model"] == model and 1 <= res["epochs"] <= 2 and res["train_seconds"] > 0
    assert 0 <= res["test_exact8"] <= 1 and 0 <= res["test_mae_px"] <= res["test_max_abs"]
    assert str(smoke_data_dir) in res["data_source"]
    loaded = models.load(out / "models" / f"{model}.pt", name=model)
    assert models.n_params(loaded) == res["n_params"]


def test_benchmark_notebook(tmp_path, smoke_data_dir):
    models_dir = tmp_path / "models"
    for name in ("dense", "separable"):
        models.save(models.build(name), models_dir / f"{name}.pt")
    start = time.perf_counter()
    out = _run("03_benchmark", tmp_path, data_dir=str(smoke_data_dir), models_dir=str(models_dir))
    assert time.perf_counter() - start < 60, "the CI configuration of the benchmark must stay under a minute"
    with (out / "results" / "benchmark.csv").open() as f:
        rows = list(csv.DictReader(f))
    methods = {(r["device"], r["method"]) for r in rows}
    assert {
        ("cpu", m) for m in ("read_input", "pipeline_loop", "pipeline_batched", "dataloader", "fast_path")
    } <= methods
    assert all(float(r["median_s"]) > 0 and int(r["n_images"]) == 32 for r in rows)
    dl = [r for r in rows if r["method"] == "dataloader"]
    assert len(dl) == 2 * 2 * 2  # models x batch sizes x workers (CPU rows are never pinned)
    summary = json.loads((out / "results" / "benchmark_summary.json").read_text())
    cpu = summary["devices"]["cpu"]
    assert cpu["best_model"]["method"] in ("dataloader", "fast_path") and cpu["speedup_vs_loop"] > 0
    assert summary["environment"]["torch_version"]


def test_architectures_notebook(tmp_path, smoke_data_dir):
    out = _run("02_architectures", tmp_path, data_dir=str(smoke_data_dir))
    with (out / "results" / "architectures.csv").open() as f:
        rows = {r["model"]: r for r in csv.DictReader(f)}
    expected = {"dense", "dense+sigmoid", "dense+clamp", "separable", "separable+sigmoid", "separable+clamp",
                "conv3", "conv5", "fc_large", "separable (moments)", "linear lstsq", "exact"}  # fmt: skip
    assert set(rows) == expected
    assert float(rows["exact"]["test_max_gray"]) < 1e-6 * 255 and float(rows["exact"]["exact8_pct"]) > 99.9
    assert int(rows["separable"]["params"]) == 1796 and int(rows["exact"]["params"]) == 0
    assert all(float(r["cpu_10k_s"]) > 0 and float(r["mflops"]) > 0 for r in rows.values())
    assert models.n_params(models.load(out / "models" / "exact.pt", name="exact")) == 0
