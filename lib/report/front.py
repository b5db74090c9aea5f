"""The front page (``notebooks/00_report.ipynb``): every number it shows, read from one run's results files,
and the sentences built from them, as functions a test can check against those files.

``load`` gathers the results of a run into one ``Results``; the other functions take it (or the small
tables in it) and return tables or Markdown. Nothing here measures anything: the front page only reads.
"""

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from lib.core.metrics import percent
from lib.experiments import bench
from lib.report.train_text import TEST, synthetic_extremes

FINAL_RUN = "separable"  # the final model's run (results/train_separable.json, models/separable.pt)
RECIPE_RUN = "dense_seed"  # the assignment's recipe: its design, loss, optimizer and rule

# The designs of the assignment and of 02_architectures, in the words of the front page
DESIGN_WORDS = {
    "dense": "the assignment's design: 1x1 conv 3->1, Linear(1024, 784)",
    "fc_large": "a large fully connected model",
    "conv3": "two 3x3 convolutions that downsample",
    "conv5": "one 5x5 convolution that downsamples",
    "separable": "a gray mix and two 28x32 matrices, Y = A G B^T",
}
# Routes as the benchmark declares them (lib.experiments.bench.ROUTES): what a user would run instead of a model, the
# model routes, those that compile code first, and each one's label
USER_ROUTES, LEARNED, BUILT = bench.USER_BASELINES, bench.LEARNED_METHODS, bench.BUILT_METHODS
ROUTE_WORDS = bench.METHOD_LABELS
# how each training route reads in a sentence ("Trained by ...")
OPTIMIZER_WORDS = {
    "moments": "L-BFGS on the training images' second moments", "lbfgs": "L-BFGS", "adam": "Adam", "sgd": "SGD",
    "closed_form": "its closed-form least-squares solution",
}  # fmt: skip


@dataclass
class Results:
    """One run's results files, as read; ``gpu`` holds recorded GPU rows (empty when none)."""

    final: dict  # results/train_separable.json
    recipe: dict  # results/train_dense_seed.json
    designs: list[dict]  # results/architectures.csv
    losses: list[dict]  # results/losses.csv
    bench: list[dict]  # results/benchmark.csv
    bench_summary: dict  # results/benchmark_summary.json
    pipelines: list[dict]  # results/pipelines.csv
    gpu: list[dict]  # results/gpu/benchmark.csv rows on cuda
    gpu_env: dict | None  # where and when those were recorded


def _csv(path: Path) -> list[dict]:
    with path.open() as f:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _number(text: str):
    """CSV text as a number where it is one ("True"/"False" as booleans), else as it is."""
    if text in ("True", "False"):
        return text == "True"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def load(results_dir: str | Path, gpu_dir: str | Path | None = None) -> Results:
    """Read a run's results; a missing file is an error that names it and the notebook that writes it."""
    results_dir = Path(results_dir)
    writers = {"train_separable.json": "01_train (the final model)", "train_dense_seed.json": "01_train (dense_seed)",
               "architectures.csv": "02_architectures", "losses.csv": "02_architectures",
               "benchmark.csv": "03_benchmark", "benchmark_summary.json": "03_benchmark",
               "pipelines.csv": "04_pipelines"}  # fmt: skip
    missing = [f"{name} (from {nb})" for name, nb in writers.items() if not (results_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(f"no {', '.join(missing)} under {results_dir}: run `make report` first")
    gpu, gpu_env = [], None
    recorded = Path(gpu_dir) / "benchmark.csv" if gpu_dir else None
    if recorded is not None and recorded.is_file():
        gpu = [r for r in _csv(recorded) if r["device"] == "cuda"]
        gpu_env = json.loads(recorded.with_name("benchmark_summary.json").read_text())["environment"]
    read = lambda name: json.loads((results_dir / name).read_text())  # noqa: E731
    return Results(
        final=read("train_separable.json"), recipe=read("train_dense_seed.json"),
        designs=_csv(results_dir / "architectures.csv"), losses=_csv(results_dir / "losses.csv"),
        bench=_csv(results_dir / "benchmark.csv"), bench_summary=read("benchmark_summary.json"),
        pipelines=_csv(results_dir / "pipelines.csv"), gpu=gpu, gpu_env=gpu_env,
    )  # fmt: skip


def fidelity(run: dict) -> dict:
    """The headline fidelity of a training run: test max, mean and exact share, and the worst synthetic family."""
    rows = {r["images"]: r for r in run["fidelity"]}
    worst, lowest, n_families = synthetic_extremes(run["fidelity"])
    return {
        "test_max_gray": rows[TEST]["max_gray"], "test_mae_gray": rows[TEST]["mae_gray"],
        "test_exact8_pct": rows[TEST]["exact8_pct"], "n_test": rows[TEST]["n"],
        "synthetic_max_gray": worst["max_gray"] if worst else None, "worst_family": worst["images"] if worst else None,
        "synthetic_min_exact8_pct": lowest, "n_families": n_families,
    }  # fmt: skip


def design_table(designs: list[dict], final: dict) -> list[dict]:
    """One row per design: its size and cost, and the best it reached in 02_architectures (its optimum where
    one was computed, else its Adam run), then the final model as trained by its own run."""
    rows = []
    for name, words in DESIGN_WORDS.items():
        mine = [d for d in designs if d["model"] == name or str(d["model"]).startswith(f"{name} (")]
        if not mine:
            continue
        best = min(mine, key=lambda d: d["test_max_gray"])
        rows.append({
            "design": name, "what it is": words, "params": best["params"], "MFLOPs/image": best["mflops"],
            "best test max error (gray)": best["test_max_gray"], "exact 8-bit %": best["exact8_pct"],
            "reached by": best["trainer"],
        })  # fmt: skip
    f = fidelity(final)
    flops = next((d["mflops"] for d in designs if d["model"] == final["model"]), float("nan"))
    rows.append({
        "design": f"{final['model']} (final)", "what it is": "the final model, as trained by its own run",
        "params": final["n_params"], "MFLOPs/image": flops, "best test max error (gray)": f["test_max_gray"],
        "exact 8-bit %": f["test_exact8_pct"], "reached by": f"{final['optimizer']}, {final['stopping']} rule",
    })  # fmt: skip
    return rows


def _fastest(rows: list[dict]) -> dict | None:
    return min(rows, key=lambda r: r["median_s"]) if rows else None


def speed_rows(bench: list[dict], device: str = "cpu", final: str = FINAL_RUN, recipe: str = RECIPE_RUN) -> list[dict]:
    """The compact speed table of one device: the assignment's baseline, the batched pipeline, the fastest route
    a user would take instead, the assignment's design at its fastest, and the final model in eager PyTorch and
    at its fastest. Times and fidelity are those of benchmark.csv (the same timing code, images and rounds)."""
    mine = [r for r in bench if r["device"] == device]
    picks = [
        ("the target pipeline, image by image (the assignment's baseline)",
         _fastest([r for r in mine if r["method"] == "pipeline_loop"])),
        ("the target pipeline on the whole float batch",
         _fastest([r for r in mine if r["method"] == "pipeline_batched"])),
        ("the fastest route a user would take instead", _fastest([r for r in mine if r["method"] in USER_ROUTES])),
        (f"the assignment's design (`{recipe}`), at its fastest",
         _fastest([r for r in mine if r["model"] == recipe and r["method"] in LEARNED])),
        (f"the final model (`{final}`), eager PyTorch",
         _fastest([r for r in mine if r["model"] == final and r["method"] in LEARNED and r["method"] not in BUILT])),
        (f"the final model (`{final}`), at its fastest",
         _fastest([r for r in mine if r["model"] == final and r["method"] in LEARNED])),
    ]  # fmt: skip
    loop, user = picks[0][1], picks[2][1]
    rows = []
    for i, (what, r) in enumerate(picks):
        if r is None:
            continue
        rows.append({
            # the two pipeline rows say their route in full; "how" names the learned or user route's variant
            "route": what, "how": "" if i < 2 else ROUTE_WORDS.get(r["method"], r["method"]),
            "ms": 1e3 * r["median_s"],
            "x baseline": loop["median_s"] / r["median_s"] if loop else float("nan"),
            "x fastest user route": user["median_s"] / r["median_s"] if user else float("nan"),
            "max error (gray)": r.get("max_gray", float("nan")), "exact 8-bit %": r.get("exact8_pct", float("nan")),
            "n_images": r["n_images"],
        })  # fmt: skip
    return rows


def final_fastest(bench: list[dict], device: str = "cpu") -> dict | None:
    """The speed table's row of the final model at its fastest on ``device``."""
    return next((r for r in speed_rows(bench, device) if r["route"].startswith("the final model")
                 and r["route"].endswith("at its fastest")), None)  # fmt: skip


def loss_rows(losses: list[dict], model: str = FINAL_RUN) -> list[dict]:
    """The loss study's rows for one model, in the study's order."""
    return [r for r in losses if r["model"] == model]


def _g(v: float, digits: int = 2) -> str:
    return f"{v:.{digits}g}"


def opening(res: Results) -> str:
    """The first paragraph: the final model, how exact, how fast, on which machine."""
    f, r = fidelity(res.final), fidelity(res.recipe)
    fastest = final_fastest(res.bench)
    env = res.bench_summary.get("environment", {})
    text = (
        f"**The final model is `{res.final['model']}`**: a 1x1 convolution that mixes the three colour channels "
        f"into one, then two 28x32 matrices that act on the rows and on the columns (Y = A G B^T), "
        f"{res.final['n_params']:,} parameters against the {res.recipe['n_params']:,} of the assignment's design. "
        f"Trained by {OPTIMIZER_WORDS.get(res.final['optimizer'], res.final['optimizer'])} on the summed squared "
        f"error until every validation pixel is "
        f"within {res.final['tolerance_gray']:g} gray levels (it stopped by the "
        f"{res.final['stopped_by'].replace('_', ' ')} after {res.final['epochs']} epochs), it is at most "
        f"**{_g(f['test_max_gray'])} gray levels** from the target pipeline on the {f['n_test']:,} CIFAR-10 "
        f"test images ({percent(f['test_exact8_pct'])}% of pixels on the pipeline's own 8-bit value)"
    )
    if f["synthetic_max_gray"] is not None:
        text += f" and at most {_g(f['synthetic_max_gray'])} on {f['n_families']} families of images unlike photographs"
    text += (
        f". The assignment's recipe, for comparison, is {_g(r['test_max_gray'], 3)} gray levels off at its worst test "
        f"pixel ({percent(r['test_exact8_pct'])}% exact)."
    )
    if fastest is not None:
        text += (
            f" On the CPU ({env.get('cpu', 'unknown')}, {env.get('cpu_vector', 'vector width not recorded')}, "
            f"{env.get('torch_threads', '?')} threads) it transforms {fastest['n_images']:,} images in "
            f"**{fastest['ms']:.3g} ms** ({fastest['how']}), {fastest['x baseline']:.0f}x faster than the target "
            f"pipeline applied image by image and {fastest['x fastest user route']:.1f}x faster than the fastest "
            f"route a user would take instead."
        )
    return text


def loss_text(rows: list[dict], final: dict) -> str:
    """What the losses reach with one budget, from the loss study's rows of the final model's design."""
    if not rows:
        return "The loss study has no rows for the final model's design."
    worst = max(rows, key=lambda r: r["test_max_gray"])
    best = min(rows, key=lambda r: r["test_max_gray"])
    reached = [r["loss"] for r in rows if str(r["stopped_by"]).endswith("_rule")]
    text = (
        f"With the same start, images and budget for every loss ({rows[0]['optimizer']}: "
        f"{', '.join(str(r['loss']) for r in rows)}), the largest test error ranges from {_g(best['test_max_gray'])} "
        f"gray levels (`{best['loss']}`) to {_g(worst['test_max_gray'])} (`{worst['loss']}`); "
        f"{len(reached)} of {len(rows)} losses reached the stopping rule ({', '.join(reached) or 'none'}). "
        "Every one of them is smallest at the pipeline itself; those that stop short stall on their own shape "
        "(02 gives each loss's value there)."
    )
    text += (
        f" The final model minimises `{final['loss_minimised']}`: a model that equals the pipeline never leaves "
        "[0, 1] on images in [0, 1], so there the assignment's out-of-range weight multiplies nothing and its "
        "loss *is* the summed squared error."
    )
    return text


def stopping_text(final: dict, recipe: dict) -> str:
    """The rule, why, and where it fired in the final run and in the assignment's recipe."""
    h = final["history"]
    fired = final["stopped_by"] == f"{final['stopping']}_rule"
    last = h[-1]
    worst = max(last["val_max_gray"], last.get("held_out_max_gray", 0.0))
    text = (
        f"The final run checked its rule after every epoch ({final['config']['lbfgs_iters']} L-BFGS iterations); "
        + (
            f"it fired at epoch {last['epoch']}, when the worst validation or held-out pixel was {_g(worst)} gray "
            f"levels off (threshold {final['tolerance_gray']:g}), after {last['seconds']:.0f} s."
            if fired
            else f"it did **not** fire: the run ended by {final['stopped_by']} at epoch {last['epoch']}, worst "
            f"pixel {_g(worst)} gray levels off (threshold {final['tolerance_gray']:g})."
        )
    )
    rh = recipe["history"][-1]
    text += (
        f" The assignment's recipe stopped by its {recipe['stopping']} rule ({recipe['stopped_by']}) at epoch "
        f"{rh['epoch']}, with a mean validation error of {_g(rh['val_mae_gray'])} gray levels but a worst pixel "
        f"{_g(rh['val_max_gray'], 3)} gray levels off: the mean rule bounds the average, not the model."
    )
    return text


def beyond_text(res: Results) -> str:
    """Exact fits, other images, other pipelines, in a few lines."""
    closed = next((d for d in res.designs if d["model"] == f"{FINAL_RUN} (closed form)"), None)
    lines = []
    if closed is not None:
        lines.append(
            f"- **Exact fits.** The model is linear, so its least-squares optimum has a closed form: "
            f"`{FINAL_RUN}` fitted that way is {_g(closed['test_max_gray'])} gray levels off at worst in "
            f"{closed['seconds']:.1f} s ([02_architectures](02_architectures.html))."
        )
    f = fidelity(res.final)
    if f["synthetic_max_gray"] is not None:
        lines.append(
            f"- **Images unlike CIFAR-10.** On {f['n_families']} synthetic families (noise, smooth fields, blocks, "
            f"gradients, constant colours, 0/1 extremes) never seen in training, the final model is at most "
            f"{_g(f['synthetic_max_gray'])} gray levels off (family `{f['worst_family']}`): it learned the pipeline, "
            "not the photographs ([01_train_separable](01_train_separable.html))."
        )
    by_pipe: dict[str, list[dict]] = {}
    for row in res.pipelines:
        by_pipe.setdefault(row["pipeline"], []).append(row)
    if by_pipe:
        ok = [p for p, rows in by_pipe.items() if min(r["test_max_gray"] for r in rows) < 0.5]
        missed = [p for p in by_pipe if p not in ok]
        lines.append(
            f"- **Other pipelines.** Of {len(by_pipe)} pipelines named by a string, a minimal model reproduces "
            f"{len(ok)} within half a gray level on every test pixel"
            + (f"; none does for {', '.join(f'`{p}`' for p in missed)}, and the page says why" if missed else "")
            + " ([04_pipelines](04_pipelines.html))."
        )
    return "\n".join(lines)


def conclusion(res: Results) -> str:
    """The three headline numbers: how exact, how much faster, on which machine."""
    f = fidelity(res.final)
    fastest = final_fastest(res.bench)
    env = res.bench_summary.get("environment", {})
    worst = max(v for v in (f["test_max_gray"], f["synthetic_max_gray"]) if v is not None)
    text = [f"1. **How exact:** at most {_g(worst)} gray levels from the target pipeline on every test and synthetic "
            f"pixel ({percent(f['test_exact8_pct'])}% of test pixels on its 8-bit value)."]  # fmt: skip
    if fastest is not None:
        text.append(
            f"2. **How much faster:** {fastest['x baseline']:.0f}x the target pipeline image by image and "
            f"{fastest['x fastest user route']:.1f}x the fastest route a user would take instead, "
            f"{fastest['ms']:.3g} ms for {fastest['n_images']:,} images ({fastest['how']})."
        )
    text.append(
        f"3. **On which machine:** {env.get('cpu', 'unknown CPU')} ({env.get('cpu_vector', '?')}, "
        f"{env.get('torch_threads', '?')} threads), torch {env.get('torch_version', '?')}; "
        + ("GPU: " + (f"recorded on {res.gpu_env['gpu']} on {res.gpu_env['date'][:10]}." if res.gpu_env else
                      "not measured (no GPU in this run, none recorded).") if env.get("gpu") is None else
           f"GPU: {env['gpu']}.")
    )  # fmt: skip
    return "\n".join(text)
