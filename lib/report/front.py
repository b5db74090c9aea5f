"""The front page (``notebooks/00_report.ipynb``): every number it shows, read from one run's results files,
and the sentences built from them, as functions a test can check against those files.

``load`` gathers the results of a run into one ``Results``; the other functions take it (or the small
tables in it) and return the front page's tables; ``lib.report.front_text`` writes its sentences. Nothing here
measures anything: the front page only reads.
"""

from dataclasses import dataclass
from pathlib import Path

from lib.core import models
from lib.experiments import bench
from lib.experiments.bench_records import BenchRow, BenchSummary, Environment
from lib.paths import RESULTS_FILES, results_file
from lib.report import records
from lib.report.records import TrainRecord
from lib.report.train_text import TEST, synthetic_extremes
from lib.results import read_csv, text_cell

FINAL_RUN, RECIPE_RUN = records.FINAL.name, records.RECIPE.name  # the final model's run; the baseline recipe's
# The designs of the assignment and of 02_architectures, in the order of the front page's table (each class says
# what it is: lib.core.models)
DESIGNS = ("dense", "fc_large", "conv3", "conv5", "separable", "banded")
TRANSFORM = "LearnedTransform"  # how 03's lead table names the engine's row (the route a user imports)


@dataclass
class Results:
    """One run's results files, as read (each comment names its file in ``lib.paths.RESULTS_FILES``); ``gpu``
    holds recorded GPU rows (empty when none)."""

    final: TrainRecord  # the final model's training record
    recipe: TrainRecord  # the baseline recipe's training record
    designs: list[dict]  # architectures
    losses: list[dict]  # losses
    bench: list[BenchRow]  # benchmark
    bench_summary: BenchSummary  # benchmark_summary
    pipelines: list[dict]  # pipelines
    scaling: list[dict]  # scaling
    onnx: list[dict]  # onnx
    suite: list[dict]  # suite (06's real pipelines; empty where a run predates it)
    gpu: list[BenchRow]  # benchmark rows on cuda recorded on a GPU machine (results/gpu/)
    gpu_env: Environment | None  # where and when those were recorded
    gpu_dir: Path | None = None  # where they were read from


# The results files the front page needs (lib.paths.RESULTS_FILES), beside the training records; suite is read where
# it is present
REQUIRED = ("architectures", "losses", "benchmark", "benchmark_summary", "pipelines", "scaling", "onnx")


def load(results_dir: str | Path, gpu_dir: str | Path | None = None) -> Results:
    """Read a run's results; a missing file is an error that names it and the notebook that writes it."""
    results_dir = Path(results_dir)
    writers = {records.record_path(results_dir, r.name): f"01_train ({r.role})" for r in records.RUNS} | {
        results_file(results_dir, name): RESULTS_FILES[name].notebook for name in REQUIRED
    }
    missing = [f"{path.name} (from {nb})" for path, nb in writers.items() if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"no {', '.join(missing)} under {results_dir}: run `make report` first")
    gpu, gpu_summary = bench.recorded_gpu(gpu_dir)
    bench_rows, bench_summary = bench.read(results_dir)
    table = lambda name: read_csv(results_file(results_dir, name))  # noqa: E731
    suite = results_file(results_dir, "suite")
    return Results(
        final=TrainRecord.of_run(results_dir, FINAL_RUN), recipe=TrainRecord.of_run(results_dir, RECIPE_RUN),
        designs=table("architectures"), losses=table("losses"), bench=bench_rows, bench_summary=bench_summary,
        pipelines=table("pipelines"), scaling=table("scaling"), onnx=table("onnx"),
        suite=read_csv(suite) if suite.is_file() else [],
        gpu=gpu, gpu_env=gpu_summary.environment if gpu_summary else None, gpu_dir=Path(gpu_dir) if gpu_dir else None,
    )  # fmt: skip


def fidelity(run: TrainRecord) -> dict:
    """The headline fidelity of a training run: test max, mean and exact share, and the worst synthetic family."""
    rows = {r["images"]: r for r in run.fidelity}
    worst, lowest, n_families = synthetic_extremes(run.fidelity)
    return {
        "test_max_gray": rows[TEST]["max_gray"], "test_mae_gray": rows[TEST]["mae_gray"],
        "test_exact8_pct": rows[TEST]["exact8_pct"], "n_test": rows[TEST]["n"],
        "synthetic_max_gray": worst["max_gray"] if worst else None, "worst_family": worst["images"] if worst else None,
        "synthetic_min_exact8_pct": lowest, "n_families": n_families,
    }  # fmt: skip


def design_rows(designs: list[dict], name: str) -> list[dict]:
    """The rows of 02's design table for design ``name``: its own, and its variants ("name (closed form)")."""
    return [d for d in designs if d["model"] == name or str(d["model"]).startswith(f"{name} (")]


def design_table(designs: list[dict], final: TrainRecord) -> list[dict]:
    """One row per design: its size and cost, and the best it reached in 02_architectures (its optimum where
    one was computed, else its Adam run), then the final model as trained by its own run."""
    rows = []
    for name in DESIGNS:
        mine = design_rows(designs, name)
        if not mine:
            continue
        best = min(mine, key=lambda d: d["test_max_gray"])
        rows.append({
            "design": best["model"], "what it is": models.REGISTRY[name].words, "params": best["params"],
            "MFLOPs/image": best["mflops"], "best test max error (gray)": best["test_max_gray"],
            "exact 8-bit %": best["exact8_pct"], "reached by": best["trainer"],
        })  # fmt: skip
    f = fidelity(final)
    flops = next((d["mflops"] for d in designs if d["model"] == final.model), float("nan"))  # its Adam row's
    rows.append({
        "design": f"{final.model} (final)", "what it is": "the final model, as trained by its own run",
        "params": final.n_params, "MFLOPs/image": flops, "best test max error (gray)": f["test_max_gray"],
        "exact 8-bit %": f["test_exact8_pct"], "reached by": f"{final.optimizer}, {final.stopping} rule",
    })  # fmt: skip
    return rows


def speed_table(res: Results) -> list[dict]:
    """03's lead table, from the same rows by the same code (``lib.experiments.bench.lead_rows``): the baseline, the
    whole batch, the fastest user route, the learned transform, the memory floor, and the GPU's rows (recorded ones
    where this run measured none)."""
    rows, devices, _ = bench.with_recorded_gpu(res.bench, res.bench_summary.devices, res.gpu_dir)
    return bench.lead_rows(rows, devices)


def lead(table: list[dict], device: str = "CPU") -> dict:
    """The rows of one device of :func:`speed_table` by role: ``loop``, ``batch``, ``user``, ``transform`` (each
    absent where the table has none)."""
    mine = [r for r in table if r["device"] == device]
    roles = {"loop": "target pipeline, image by image", "batch": "target pipeline, whole batch", "user": "user route"}
    found = {k: next((r for r in mine if r["route"].startswith(v)), None) for k, v in roles.items()}
    found["transform"] = next((r for r in mine if TRANSFORM in r["route"]), None)
    return {k: v for k, v in found.items() if v is not None}


def suite_outcome(rows: list[dict]) -> dict:
    """06's suite of real pipelines in numbers: the rows ``LearnedTransform.fit`` fitted (``done``) and the cases it
    refused, the fitted rows within their tolerance on photographs and noise, the worst of those errors (gray levels)
    and the range of speedups over the fastest user route (both None where none was fitted)."""
    done = [r for r in rows if not text_cell(r, "refused")]
    return {
        "done": done,
        "refused": [r["case"] for r in rows if text_cell(r, "refused")],
        "within": [r for r in done if max(r["photo_gray"], r["noise_gray"]) <= r["tolerance_gray"]],
        "worst_gray": max((max(r["photo_gray"], r["noise_gray"]) for r in done), default=None),
        "speedups": (min(r["speedup"] for r in done), max(r["speedup"] for r in done)) if done else None,
    }


def median_ms(ms: str) -> str:
    """The median of a lead-table time ("5.26 (5.07-5.41)" -> "5.26")."""
    return ms.split(" (")[0]


def cpu_speed(res: Results) -> dict | None:
    """The CPU rows of :func:`speed_table` the opening and the headline quote: ``transform``, ``loop`` and ``user``
    (the fastest user route, else the whole batch, else None); None where the transform or the baseline is absent."""
    cpu = lead(speed_table(res))
    if "transform" not in cpu or "loop" not in cpu:
        return None
    return {"transform": cpu["transform"], "loop": cpu["loop"], "user": cpu.get("user") or cpu.get("batch")}
