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
from lib.experiments import routes as bench_routes
from lib.experiments.bench_records import BenchRow, BenchSummary, Environment, fastest
from lib.paths import RESULTS_FILES, results_file
from lib.report import records
from lib.report.records import TrainRecord
from lib.report.train_text import TEST, synthetic_extremes
from lib.results import read_csv, text_cell

FINAL_RUN, RECIPE_RUN = records.FINAL.name, records.RECIPE.name  # the final model's run; the baseline recipe's
MINIMAL = "banded"  # the minimal design: 03_benchmark builds it from the final model, kept on its support
MINIMAL_ROUTE = f"the minimal design (`{MINIMAL}`: the final model kept on its support), at its fastest"

# The designs of the assignment and of 02_architectures, in the order of the front page's table (each class says
# what it is: lib.core.models)
DESIGNS = ("dense", "fc_large", "conv3", "conv5", "separable", "banded")
# Routes as the benchmark declares them (lib.experiments.bench.ROUTES): what a user would run instead of a model, the
# model routes, those that compile code first, and each one's label
USER_ROUTES, LEARNED, BUILT = bench.USER_BASELINES, bench.LEARNED_METHODS, bench.BUILT_METHODS
ROUTE_WORDS = bench.METHOD_LABELS
USER_ROUTE_ROW = "the fastest route a user would take instead"  # its row in the speed table (speed_rows)


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
        gpu=gpu, gpu_env=gpu_summary.environment if gpu_summary else None,
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
            "design": name, "what it is": models.REGISTRY[name].words, "params": best["params"],
            "MFLOPs/image": best["mflops"], "best test max error (gray)": best["test_max_gray"],
            "exact 8-bit %": best["exact8_pct"], "reached by": best["trainer"],
        })  # fmt: skip
    f = fidelity(final)
    flops = next((d["mflops"] for d in designs if d["model"] == final.model), float("nan"))
    rows.append({
        "design": f"{final.model} (final)", "what it is": "the final model, as trained by its own run",
        "params": final.n_params, "MFLOPs/image": flops, "best test max error (gray)": f["test_max_gray"],
        "exact 8-bit %": f["test_exact8_pct"], "reached by": f"{final.optimizer}, {final.stopping} rule",
    })  # fmt: skip
    return rows


def speed_rows(
    bench: list[BenchRow],
    device: str = "cpu",
    final: str = FINAL_RUN,
    recipe: str = RECIPE_RUN,
    stand_ins: dict[str, str] | None = None,
) -> list[dict]:
    """The compact speed table of one device: the assignment's baseline, the batched pipeline, the fastest route
    a user would take instead, the assignment's design at its fastest, the final model in eager PyTorch and
    at its fastest, and the minimal design at its fastest. Times and fidelity are those of benchmark.csv (the
    same timing code, images and rounds).

    ``stand_ins`` maps a run's name to its architecture, for rows recorded without the run's saved model (a GPU
    machine times freshly built models, ``bench.UNTRAINED``): that architecture's untrained rows stand in for the
    run. Their times are the run's (the arithmetic does not depend on the weights); their errors are not, and
    are left blank."""
    mine = [r for r in bench if r.device == device]

    def of(run: str) -> list[BenchRow]:
        own = [r for r in mine if r.model == run and r.method in LEARNED]
        arch = (stand_ins or {}).get(run)
        return own or [r for r in mine if arch and r.model == arch + bench_routes.UNTRAINED and r.method in LEARNED]

    picks = [
        ("the target pipeline, image by image (the assignment's baseline)",
         fastest(r for r in mine if r.method == "pipeline_loop")),
        ("the target pipeline on the whole float batch", fastest(r for r in mine if r.method == "pipeline_batched")),
        (USER_ROUTE_ROW, fastest(r for r in mine if r.method in USER_ROUTES)),
        (f"the assignment's design (`{recipe}`), at its fastest", fastest(of(recipe))),
        (f"the final model (`{final}`), eager PyTorch", fastest(r for r in of(final) if r.method not in BUILT)),
        (f"the final model (`{final}`), at its fastest", fastest(of(final))),
        (MINIMAL_ROUTE, fastest(of(MINIMAL))),
    ]  # fmt: skip
    loop, user = picks[0][1], picks[2][1]
    rows = []
    for i, (what, r) in enumerate(picks):
        if r is None:
            continue
        untrained = r.model.endswith(bench_routes.UNTRAINED)
        how = "" if i < 2 else ROUTE_WORDS.get(r.method, r.method)
        rows.append({
            # the two pipeline rows say their route in full; "how" names the learned or user route's variant
            "route": what, "how": how + ("; untrained weights, time only" if untrained else ""),
            "ms": 1e3 * r.median_s,
            "x baseline": loop.median_s / r.median_s if loop else float("nan"),
            "x fastest user route": user.median_s / r.median_s if user else float("nan"),
            "max error (gray)": float("nan") if untrained or r.max_gray is None else r.max_gray,
            "exact 8-bit %": float("nan") if untrained or r.exact8_pct is None else r.exact8_pct,
            "n_images": r.n_images,
        })  # fmt: skip
    return rows


def recorded_gpu_rows(res: Results) -> list[dict]:
    """The speed table of the GPU rows recorded elsewhere (``res.gpu``), each run stood in for by its
    architecture's untrained rows where its own are absent (the architectures as this run's benchmark names them)."""
    runs = (FINAL_RUN, RECIPE_RUN, MINIMAL)
    archs = {r.model: bench_routes.architecture(r) for r in res.bench if r.model in runs}
    return speed_rows(res.gpu, "cuda", stand_ins=archs)


def final_fastest(bench: list[BenchRow], device: str = "cpu") -> dict | None:
    """The speed table's row of the final model at its fastest on ``device``."""
    return next((r for r in speed_rows(bench, device) if r["route"].startswith("the final model")
                 and r["route"].endswith("at its fastest")), None)  # fmt: skip


def minimal_fastest(bench: list[BenchRow], device: str = "cpu") -> dict | None:
    """The speed table's row of the minimal design at its fastest on ``device`` (None where it was not timed)."""
    return next((r for r in speed_rows(bench, device) if r["route"] == MINIMAL_ROUTE), None)


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


def loss_rows(losses: list[dict], model: str = FINAL_RUN) -> list[dict]:
    """The loss study's rows for one model, in the study's order."""
    return [r for r in losses if r["model"] == model]
