"""Every notebook runs headless through papermill in its small CI configuration."""

import csv
import json
import re
from pathlib import Path

import nbformat
import papermill
import pytest

from lib.core import models, synthetic
from lib.experiments import bench, loss_study, scaling
from lib.paths import ROOT
from lib.report import numbers, records
from lib.report.records import TrainRecord

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXACT_NOISE = 3200  # noise images for the exact fits: more than the 3,072 input pixels, so the fit is determined
CI_PARAMS = {
    "00_report": {},  # reads the results of the others: see test_front_page_shows_the_results_files
    "01_train": {"n_train": 300, "max_epochs": 2, "n_test": 200, "batch_size": 64, "n_family_test": 50},
    "02_architectures": {"n_train": 200, "n_test": 100, "max_epochs": 1, "n_noise": EXACT_NOISE, "n_held_out": 10},
    "03_benchmark": {
        "n_images": 32, "repeats": 2, "dataloader_repeats": 2, "batch_sizes": [1, 32], "small_batch_images": 16,
        "num_workers": [0, 2], "chunk_sizes": [32], "devices": ["cpu", "cuda"], "models": ["dense_seed", "separable"],
        "compile": False,
    },
    "04_pipelines": {
        "pipelines": ["resize(28,28) | grayscale | hflip | vflip", "resize(16,20) | hflip",
                      "gamma(2.2) | grayscale | resize(16,16)"],
        "n_train": 100, "n_noise": EXACT_NOISE, "n_test": 100, "n_time": 64, "user_n_test": 50,
    },
    "05_scaling": {"sides": [32, 64], "n_images": 16, "repeats": 1},
    "06_ship": {"n_test": 40, "n_family": 8, "repeats": 1, "n_suite": 40, "fit_repeats": 1},
}  # fmt: skip


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs_and_with_one_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), f"{path.name} has outputs"
    assert sum("parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1
    # the HTML report shows outputs, not code: every other code cell hides its source there
    assert all(
        "hide-input" in c.metadata.get("tags", []) for c in code if "parameters" not in c.metadata.get("tags", [])
    )


def test_every_notebook_has_a_ci_configuration():
    assert {p.stem for p in NOTEBOOKS} == set(CI_PARAMS)


def _run(name: str, tmp_path: Path, as_name: str = "", **params) -> Path:
    """Run notebook ``name`` with its CI parameters and ``params`` into ``tmp_path`` (the executed notebook as
    ``as_name`` or its name, what it writes under out/); returns that out/ folder."""
    out = tmp_path / "out"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / f"{name}.ipynb"),
        str(tmp_path / f"{as_name or name}.ipynb"),
        parameters={**CI_PARAMS[name], **params, "out_dir": str(out)},
        kernel_name="python3",
        progress_bar=False,
    )
    return out


# Smoke configurations of 01_train, by run name: every run of the report (lib.report.records.RUNS) in a small
# form, and the closed form; test_smoke_runs_cover_the_report_runs keeps the two lists together.
SMOKE_RUNS = {
    "dense_seed": {"model": "dense", "stopping": "mean", "optimizer": "adam"},
    "separable": {"model": "separable", "optimizer": "adam", "loss": "range_sse", "stopping": "tolerance", "lr": 1e-2,
                  "schedule": "cosine", "batch_size": 256, "n_synthetic": 256, "n_held_out": 10,
                  "observe_past_rule": True},
    "dense": {"model": "dense", "optimizer": "closed_form", "loss": "sse", "stopping": "tolerance",
              "n_synthetic": EXACT_NOISE, "n_held_out": 10},
}  # fmt: skip


def test_smoke_runs_cover_the_report_runs():
    assert {r.name for r in records.RUNS} <= set(SMOKE_RUNS)


REPORT_RUNS = tuple(r.name for r in records.RUNS)  # the training runs of the report, in its order


def _record_gpu(folder: Path) -> Path:
    """A recorded GPU run, written by the benchmark's own writer from hand-made rows."""
    rows = [
        bench.BenchRow(device="cuda", method=m, model=model, batch_size=32, n_images=32, repeats=5, median_s=t, q1_s=t,
                       q3_s=t, images_per_s=32 / t)
        for m, model, t in (("read_input", "-", 1e-5), ("pipeline_batched", "pipeline", 2e-3),
                            ("fast_path", "separable", 1e-4), ("dataloader", "separable", 5e-3))
    ]  # fmt: skip
    bench.add_speedups(rows)
    env = {"gpu": "Fixture GPU 80GB", "date": "2026-01-02T03:04:05", "torch_version": "2.11"}
    bench.write(rows, bench.summarize(bench.RunRecord(rows), env, "noise", bench.BenchConfig()), folder / "gpu")
    return folder / "gpu"


@pytest.fixture(scope="module")
def report(tmp_path_factory, smoke_data_dir) -> Path:
    """The whole report in its CI configuration, each notebook run once, in ``make report``'s order, into one folder:
    the executed notebooks (01's as 01_train_<run>) and out/, the results and models they wrote; 03 shows a recorded
    GPU run beside its own rows, the front page none. The tests below read what each run wrote and showed, as the
    front page reads what the others wrote."""
    folder = tmp_path_factory.mktemp("report")
    data = {"data_dir": str(smoke_data_dir)}
    for run in REPORT_RUNS:
        out = _run("01_train", folder, as_name=f"01_train_{run}", run_name=run, **SMOKE_RUNS[run], **data)
    _run("02_architectures", folder, results_dir=str(out / "results"), models_dir=str(out / "models"), **data)
    _run("03_benchmark", folder, models_dir=str(out / "models"), models=["dense_seed", "separable", "exact"],
         devices=["cpu"], recorded_gpu_dir=str(_record_gpu(folder)), **data)  # fmt: skip
    _run("04_pipelines", folder, **data)
    _run("05_scaling", folder, **data)
    _run("06_ship", folder, models_dir=str(out / "models"), **data)
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "00_report.ipynb"), str(folder / "00_report.ipynb"), kernel_name="python3",
        parameters={"results_dir": str(out / "results"), "models_dir": str(out / "models"),
                    "recorded_gpu_dir": str(folder / "no-gpu"), **data}, progress_bar=False,
    )  # fmt: skip
    return folder


@pytest.mark.parametrize("run_name", REPORT_RUNS)
def test_train_notebook(report, smoke_data_dir, run_name):
    _check_training_run(report / "out", run_name, SMOKE_RUNS[run_name], smoke_data_dir)


def _check_training_run(out: Path, run_name: str, params: dict, smoke_data_dir: Path) -> None:
    res = TrainRecord.of_run(out / "results", run_name)
    assert res.model == params["model"] and res.run_name == run_name and 1 <= res.epochs <= 2
    assert res.loss_minimised == params.get("loss", "range_sse")
    source = res.data_source.split(": ", 1)[1]  # shown relative to the project root, never absolute
    assert source.endswith(smoke_data_dir.name) and not Path(source).is_absolute()
    assert res.torch_version and res.cpu_vector
    fidelity = {r["images"]: r for r in res.fidelity}
    assert set(fidelity) == {"CIFAR-10 training (seen)", "validation", "CIFAR-10 test", *synthetic.FAMILIES}
    assert fidelity["CIFAR-10 test"]["max_gray"] == pytest.approx(res.test_max_abs * 255)
    first, last = res.history[0], res.history[-1]
    if params["optimizer"] == "closed_form":  # determined by the noise images: exact on every family
        assert res.stopped_by == "tolerance_rule" and res.fit["solver"] == "cholesky"
        assert max(r["max_gray"] for r in fidelity.values()) < 0.01
        assert first["held_out_max_gray"] < 0.01
    else:  # two short epochs lower the training loss (in so few steps the validation error may still wander
        # upward: Adam on the summed loss overshoots)
        assert res.epochs == 2 and last["loss"] < first["loss"]
        assert last["images"] == 2 * first["images"]  # an epoch is one pass over the training images
    loaded = models.load(out / "models" / f"{run_name}.pt", name=params["model"])
    assert models.n_params(loaded) == res.n_params


BENCH_LEARNED = {"dataloader", "fast_path", "fast_path_uint8", "compiled", "compiled_uint8", "transform_uint8"}
BENCH_USER = {"pipeline_batched", "pipeline_uint8", "pillow_loop"}  # what a user would take instead of a model


def test_benchmark_notebook(report):
    out = report / "out"
    with (out / "results" / "benchmark.csv").open() as f:
        rows = list(csv.DictReader(f))
    methods = {(r["device"], r["method"]) for r in rows}
    routes = ("read_input", "read_uint8", "pipeline_loop", "pipeline_batched", "pipeline_uint8", "pillow_loop",
              "dataloader", "fast_path", "fast_path_uint8")  # fmt: skip
    assert {("cpu", m) for m in routes} <= methods
    assert all(int(r["n_images"]) == 32 and float(r["q1_s"]) <= float(r["median_s"]) <= float(r["q3_s"]) for r in rows)
    dl = [r for r in rows if r["method"] == "dataloader"]
    assert {r["model"] for r in dl} == {"dense_seed", "separable", "exact", "banded"}  # banded: from separable
    swept = [r for r in dl if r["model"] == "separable"]  # batch sizes x workers, on the CPU (never pinned)
    assert len(swept) == 2 * 2 and len(dl) == len(swept) + 3  # the others once: the largest batch, no workers
    assert all((r["batch_size"], r["num_workers"]) == ("32", "0") for r in dl if r["model"] != "separable")
    assert all(int(r["n_timed"]) == (16 if r["batch_size"] == "1" else 32) for r in dl)  # batch size 1: scaled
    assert all(int(r["repeats"]) == 2 for r in rows)
    assert {r["architecture"] for r in rows if r["model"] == "dense_seed"} == {"dense"}
    summary = json.loads((out / "results" / "benchmark_summary.json").read_text())
    cpu = summary["devices"]["cpu"]
    # the summary's classes against hand-written ones (not the route table it was built from)
    learned = [r for r in rows if r["device"] == "cpu" and r["method"] in BENCH_LEARNED
               and r["model"] != "exact"]  # fmt: skip  # the probed operator is timed, but is not learned
    fastest = min(learned, key=lambda r: float(r["median_s"]))
    loop = next(float(r["median_s"]) for r in rows if r["method"] == "pipeline_loop")
    assert cpu["best_model"]["method"] in BENCH_LEARNED and cpu["user_best"]["method"] in BENCH_USER
    assert cpu["best_model"]["median_s"] == pytest.approx(float(fastest["median_s"]))
    assert cpu["speedup_vs_loop"] == pytest.approx(loop / float(fastest["median_s"]))
    user = min((r for r in rows if r["method"] in BENCH_USER), key=lambda r: float(r["median_s"]))
    assert cpu["user_best"]["method"] == user["method"]
    assert cpu["speedup_vs_user_best"] == pytest.approx(float(user["median_s"]) / float(fastest["median_s"]))
    floor = "read_uint8" if fastest["method"].endswith("_uint8") else "read_input"  # a route from uint8 reads uint8
    assert cpu["floor_method"] == floor
    read, write = (float(next(r["median_s"] for r in rows if r["method"] == m)) for m in (floor, "write_output"))
    assert cpu["floor_s"] == pytest.approx(read + write)  # the memory floor: reading the input, writing the output
    assert cpu["times_roofline"] == pytest.approx(float(fastest["median_s"]) / cpu["roofline_s"])
    assert float(next(r for r in rows if r["method"] == "pillow_loop")["max_gray"]) > 0.5  # not the float pipeline
    assert summary["environment"]["torch_version"]
    nb = nbformat.read(report / "03_benchmark.ipynb", as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    shown = "".join(o.get("text", "") + "".join(map(str, o.get("data", {}).values())) for o in outputs)
    assert "dense_seed (baseline recipe)" in shown  # in the tables, by its role
    assert "DataLoader batch size 1 goes through 16 images, its time multiplied by 2" in shown and "batch 1*" in shown
    assert "memory floor: read the" in shown  # the lead table's last CPU row
    assert "banded (trained)" in shown  # built from the saved separable model
    assert not re.search(r"\bnan\b", _shown(report / "03_benchmark.ipynb", images=False), re.IGNORECASE)  # "-" gaps
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 2  # the time figure and the roofline
    assert "mission" not in shown.lower() and str(ROOT) not in shown


def test_architectures_notebook(report):
    out = report / "out"
    with (out / "results" / "architectures.csv").open() as f:
        rows = {r["model"]: r for r in csv.DictReader(f)}
    expected = {"dense", "dense+sigmoid", "dense+clamp", "separable", "separable+sigmoid", "separable+clamp",
                "conv3", "conv5", "fc_large", "fc_large (closed form)", "dense (closed form)",
                "separable (closed form)", "conv5 (closed form)", "banded (closed form)",
                "separable (final: Adam, 01)", "exact"}  # fmt: skip
    assert set(rows) == expected
    assert float(rows["exact"]["test_max_gray"]) < 1e-6 * 255 and float(rows["exact"]["exact8_pct"]) > 99.9
    for name in ("fc_large", "dense", "separable", "banded"):  # determined by the noise images: exact on CIFAR-10 too
        assert float(rows[f"{name} (closed form)"]["test_max_gray"]) < 0.01
    assert float(rows["dense (closed form)"]["test_max_gray"]) < float(rows["dense"]["test_max_gray"]) / 100
    assert int(rows["separable"]["params"]) == 1796 and int(rows["exact"]["params"]) == 0
    assert int(rows["banded (closed form)"]["params"]) == 128  # the resize's 62 + 62 taps, the mix and its bias
    final = TrainRecord.of_run(out / "results", "separable")
    assert int(rows["separable (final: Adam, 01)"]["epochs"]) == final.epochs  # the final run's, read, not rerun
    assert models.n_params(models.load(out / "models" / "exact.pt", name="exact")) == 0
    with (out / "results" / "losses.csv").open() as f:
        losses = list(csv.DictReader(f))
    other = [f"{loss} (w={w:g})" if loss == "range_sse" else loss for loss, w in loss_study.OTHER_LOSSES]
    assert [r["run"] for r in losses] == ["range_sse (w=2): the final run", *other]
    first = losses[0]  # the final run's own row, from its record
    assert int(first["epochs"]) == final.epochs and float(first["test_max_gray"]) == pytest.approx(final.test_max_gray)
    assert all(1 <= int(r["epochs"]) <= 2 and int(r["images"]) > 0 for r in losses)  # the final run's budget
    shown = _shown(report / "02_architectures.ipynb")
    assert "The loosest tolerance" in shown or "No tolerance reached that floor" in shown
    assert "mission" not in shown and "PosixPath" not in shown  # paths are shown relative to the project


def test_benchmark_notebook_shows_recorded_gpu_results(report):
    shown = _shown(report / "03_benchmark.ipynb")  # the report's 03 reads a GPU run recorded by _record_gpu
    assert "recorded on Fixture GPU 80GB on 2026-01-02 under torch 2.11" in shown
    cuda = "The fastest, separable (final model), fast path (in-memory slices), takes 0.1 ms; no speedup is claimed"
    assert cuda in shown  # its recorded cuda row, recorded without its fidelity


def test_pipelines_notebook(report):
    out = report / "out"
    with (out / "results" / "pipelines.csv").open() as f:
        rows = list(csv.DictReader(f))
    by = {(r["pipeline"], r["model"]): r for r in rows}
    target, rgb, curved = CI_PARAMS["04_pipelines"]["pipelines"]
    assert {m for p, m in by if p == target} == {"dense", "separable", "banded (closed form)"}
    assert by[(rgb, "separable")]["out_shape"] == "3x16x20" and by[(rgb, "separable")]["linear"] == "True"
    for name in ("dense", "separable", "banded (closed form)"):  # determined by the noise images, or read off
        assert float(by[(target, name)]["test_max_gray"]) < 0.01 and float(by[(rgb, name)]["test_max_gray"]) < 0.01
    assert by[(curved, "dense")]["linear"] == "False" and float(by[(curved, "dense")]["superposition_gray"]) > 1
    assert {m for p, m in by if p == curved} == {"dense", "table + banded (closed form)"}  # gamma before the map
    assert float(by[(curved, "table + banded (closed form)")]["test_max_gray"]) < 0.5
    with (out / "results" / "user_pipelines.csv").open() as f:  # pipelines a user already has, on their own sizes
        user = list(csv.DictReader(f))
    assert {r["model"] for r in user} == {"banded (closed form)"}
    assert [r["in_shape"] for r in user] == ["3x32x32", "3x64x64", "3x96x96", "1x28x28"]
    assert all(float(r["photo_max_gray"]) < 0.01 and float(r["noise_max_gray"]) < 0.01 for r in user)
    shown = _shown(report / "04_pipelines.ipynb")
    assert "3 of 3 pipelines are reproduced within half a gray level" in shown and "mission" not in shown.lower()


def test_scaling_notebook(report):
    out = report / "out"
    with (out / "results" / "scaling.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {(int(r["side"]), r["route"]) for r in rows} == {(s, r) for s in (32, 64) for r, *_ in scaling.ROUTES}
    assert all(float(r["photo_max_gray"]) < 0.01 for r in rows if r["learned"] == "True")


def test_ship_notebook(report):
    out = report / "out"
    with (out / "results" / "onnx.csv").open() as f:
        rows = list(csv.DictReader(f))
    learned = [r for r in rows if not r["graph"].startswith("the torchvision pipeline")]
    assert {r["pipeline"] for r in learned} == {"target pipeline", "with Normalize"}
    graphs = {(r["pipeline"], r["graph"], r["source"]) for r in learned}  # each model from uint8 and from float
    assert graphs == {
        (p, g, s)
        for p, g in (
            ("target pipeline", "separable (trained)"),
            ("target pipeline", "banded (trained)"),
            ("with Normalize", "banded (closed form)"),
        )
        for s in ("uint8", "float")
    }
    closed = [r for r in learned if r["graph"] == "banded (closed form)"]  # the smoke run's model is barely trained
    assert all(float(r["max_gray"]) < 0.01 and float(r["torch_s"]) > 0 for r in closed)
    own = {r["graph"] for r in rows if r["graph"].startswith("the torchvision pipeline")}
    assert own == {"the torchvision pipeline (TorchScript exporter)", "the torchvision pipeline (dynamo exporter)"}
    with (out / "results" / "loader.csv").open() as f:
        loader = list(csv.DictReader(f))
    assert {(r["transform"], r["arrangement"]) for r in loader} == {
        (t, a) for t in ("the target pipeline (torchvision)", "LearnedTransform (the engine)")
        for a in ("image by image", "on the collated batch")
    }  # fmt: skip
    assert all(float(r["seconds"]) > 0 for r in loader)
    gray = {(r["transform"], r["arrangement"]): float(r["max_gray_vs_pipeline"]) for r in loader}
    assert gray[("the target pipeline (torchvision)", "on the collated batch")] < 1e-4  # the reference, batched
    learned = [v for (t, _), v in gray.items() if t.startswith("LearnedTransform")]
    assert learned[0] == pytest.approx(learned[1], abs=1e-4)  # per image or per batch: the same transform
    with (out / "results" / "suite.csv").open() as f:
        cases = {r["case"]: r for r in csv.DictReader(f)}
    assert "RandomHorizontalFlip" in cases["a random flip"]["refused"]
    assert cases["a quarter turn after a resize"]["family"] == "permuted banded"
    shown = _shown(report / "06_ship.ipynb")
    assert "banded (trained)" in shown and "banded (closed form)" in shown  # the labels every page uses
    assert "(fitted)" not in shown and "mission" not in shown.lower() and str(ROOT) not in shown


def test_train_and_benchmark_notebooks_learn_another_pipeline_in_closed_form(tmp_path, smoke_data_dir):
    other = "resize(16,20) | hflip"  # RGB out, another size
    params = {**SMOKE_RUNS["dense"], "run_name": "rgb"}
    out = _run("01_train", tmp_path, data_dir=str(smoke_data_dir), pipeline=other, **params)
    _check_training_run(out, "rgb", params, smoke_data_dir)  # fitted exactly, as the target pipeline is
    res = json.loads((out / "results" / "train_rgb.json").read_text())
    assert res["pipeline"] == other and res["out_shape"] == [3, 16, 20]
    params = {"models": ["rgb"], "pipeline": other, "devices": ["cpu"], "batch_sizes": [32], "num_workers": [0],
              "repeats": 1, "dataloader_repeats": 1}  # fmt: skip  # one configuration a route: what, not how fast
    _run("03_benchmark", tmp_path, data_dir=str(smoke_data_dir), models_dir=str(out / "models"), **params)
    with (out / "results" / "benchmark.csv").open() as f:
        rows = list(csv.DictReader(f))
    methods = {r["method"] for r in rows}
    assert "pipeline_uint8" in methods and "pillow_loop" not in methods  # Pillow's steps are the target's only
    assert {r["model"] for r in rows} == {"-", "pipeline", "rgb"}  # no separable timed: no banded built from it
    assert float(next(r for r in rows if r["method"] == "fast_path")["max_gray"]) < 0.01


def _shown(path: Path, images: bool = True) -> str:
    """Everything an executed notebook shows: printed text, Markdown and HTML tables (and the figures' data)."""
    nb = nbformat.read(path, as_version=4)
    return "".join(
        o.get("text", "") + "".join(str(v) for k, v in o.get("data", {}).items() if images or not k.startswith("image"))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )


def test_front_page_shows_the_results_files(report):
    """Every notebook in its CI configuration writes into one results folder, then the front page reads it;
    what the front page shows must be what those files hold."""
    out = report / "out"
    shown = _shown(report / "00_report.ipynb")
    final = json.loads((out / "results" / "train_separable.json").read_text())
    test_row = next(r for r in final["fidelity"] if r["images"] == "CIFAR-10 test")
    assert f"at most **{test_row['max_gray']:.2g} gray levels** from the target pipeline" in shown
    assert f"{final['n_params']:,} parameters" in shown
    assert "GPU: none measured" in shown and "mission" not in shown.lower()
    assert str(ROOT) not in shown and str(report) not in shown  # no path of this machine on the front page


def test_every_number_the_front_page_prints_is_in_its_results_files(report):
    """The front page's generated text and tables (not its fixed prose) against every value of the results files:
    each number must be one of them as printed (or a percentage, milliseconds, a ratio of two timings)."""
    nb = nbformat.read(report / "00_report.ipynb", as_version=4)
    fixed = " ".join(c.source for c in nb.cells if c.cell_type == "markdown")
    words = " ".join(cls.words for cls in models.REGISTRY.values())
    allowed = set(numbers.tokens(fixed + " " + words)) | {str(k) for k in range(11)}  # small counts and ranks
    found = numbers.values([report / "out" / "results"])
    missing = numbers.unexplained(numbers.page_text(nb), found, allowed)
    assert not missing, f"the front page prints numbers no results file holds: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_function_or_class_is_defined_in_a_notebook(path):
    """Logic lives in lib, where it is tested; a notebook calls it."""
    import ast

    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            tree = ast.parse(cell.source)
            defined = [
                n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            ]
            assert not defined, f"{path.name} defines {defined}: move them to lib"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_code_cell_is_longer_than_a_screen(path):
    """A cell longer than a screen is an experiment or a paragraph that belongs in lib, as a tested function."""
    long = {n: len(c.source.splitlines()) for n, c in enumerate(nbformat.read(path, as_version=4).cells, start=1)
            if c.cell_type == "code" and len(c.source.splitlines()) > 30}  # fmt: skip
    assert not long, f"{path.name}: cells (number: lines) over 30 lines: {long}"
