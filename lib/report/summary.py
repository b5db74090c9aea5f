"""The report's headline numbers as one Markdown file, written from the run's own results.

``python -m lib.report.summary`` (run by ``make report``) reads ``reports/results/`` and writes
``reports/SUMMARY.md``: the headline (``lib.report.headline``), then the training runs, the design study and the
benchmark, each with the machine and date they were measured on. With ``--readme README.md`` it also writes the
headline into the README's block, so the README's numbers are this file's, never typed.
"""

import argparse
from pathlib import Path

from lib import paths
from lib.core.metrics import percent
from lib.experiments import bench_records
from lib.experiments.bench_records import BenchRow, DeviceSummary
from lib.experiments.routes import LOOP, ROUTE
from lib.report import headline, records
from lib.report.records import TrainRecord
from lib.report.scaling_text import verdicts
from lib.report.train_text import TEST
from lib.results import read_csv, text_cell


def _table(header: list[str], rows: list[list]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + " --- |" * len(header),
        *("| " + " | ".join(str(v).replace("|", "\\|") for v in r) + " |" for r in rows),  # a | in a cell kept
    ]


def _g(value, digits: int = 3) -> str:
    return f"{float(value):.{digits}g}"


def _floor_words(s: DeviceSummary) -> str:
    """The memory floor of a device's summary in words: read plus write where both were timed."""
    read = _method_name(s.floor_method)
    if s.write_floor_s is None:
        return f"read floor {s.floor_s * 1e3:.3g} ms, {read}"
    return (
        f"memory floor {s.floor_s * 1e3:.3g} ms: {read} {s.read_floor_s * 1e3:.3g} ms + "
        f"{_method_name('write_output')} {s.write_floor_s * 1e3:.3g} ms"
    )


def _method_name(method: str) -> str:
    """A benchmark route in few words (``Route.short``); a method no route declares (an older run's) as it is."""
    route = ROUTE.get(method)
    return route.short if route is not None else method


def _batch(row: BenchRow) -> str:
    """A benchmark row's batch or slice size; none for the read floors and the pipeline image by image."""
    route = ROUTE.get(row.method)
    return "-" if route is not None and (route.kind == "floor" or route == LOOP) else str(row.batch_size)


def _speedup(value: str) -> str:
    return f"{float(value):.3g}x" if value not in ("", None) else "-"


def training_section(results_dir: Path) -> list[str]:
    """The report's training runs (``records.RUNS``, in that order; others found under ``results_dir`` after them)."""
    runs = [TrainRecord.of_run(results_dir, name) for name in records.recorded_runs(results_dir)]
    if not runs:
        return []
    first = runs[0]
    lines = [
        "## Training (`01_train`)",
        "",
        f"Measured on {first.cpu} ({first.cpu_vector or 'vector width not recorded'}, {first.torch_threads} "
        f"threads), torch {first.torch_version}, {first.date[:10]}; data: {first.data_source}; "
        f"{first.sizes['train']:,} training / {first.sizes['val']:,} validation / "
        f"{first.sizes['test']:,} test images. Errors in gray levels (1/255); exact 8-bit: pixels that round "
        "to the pipeline's 8-bit value. Synthetic: the six families of `lib.core.synthetic`, 1,000 unseen images each.",
        "",
    ]
    rows = []
    for r in runs:
        cfg = r.config
        fam = [f for f in r.fidelity if f["images"] != TEST]
        trained = {"closed_form": "closed form", "moments": "L-BFGS on moments"}.get(
            cfg["optimizer"], f"{cfg['optimizer']}, lr {cfg['lr']:g}, batch {cfg['batch_size']}"
        )
        extra = r.sizes.get("synthetic_train", 0)
        if extra:
            trained += f" (+{extra:,} {'/'.join(r.synthetic_families or ['synthetic'])})"
        rows.append([
            f"`{r.run_name}`", f"`{r.model}` ({r.n_params:,})", trained, r.loss_minimised, r.stopped_by, r.epochs,
            f"{r.train_seconds:.1f}", _g(r.test_mae_gray), _g(r.test_max_gray), percent(100 * r.test_exact8),
            _g(max(f["max_gray"] for f in fam)) if fam else "-",
            percent(min(f["exact8_pct"] for f in fam)) if fam else "-",
        ])  # fmt: skip
    header = ["run", "model (params)", "trained by", "loss", "stopped by", "epochs", "train s", "test mean",
              "test max", "test exact 8-bit %", "synthetic max", "synthetic exact 8-bit % (min)"]  # fmt: skip
    return lines + _table(header, rows) + [""]


def _rows(results_dir: Path, name: str, numbers: bool = True) -> list[dict]:
    """The rows of results file ``name`` (as text without ``numbers``); none where the run has not written it."""
    path = paths.results_file(results_dir, name)
    return read_csv(path, numbers=numbers) if path.is_file() else []


def architectures_section(results_dir: Path) -> list[str]:
    rows = _rows(results_dir, "architectures", numbers=False)
    if not rows:
        return []
    body = [
        [f"`{r['model']}`", r["trainer"], f"{int(r['params']):,}", _g(r["mflops"]), r["stopped_by"],
         f"{float(r['seconds']):.1f}", _g(r["test_mae_gray"]), _g(r["test_max_gray"]), percent(float(r["exact8_pct"]))]
        for r in rows
    ]  # fmt: skip
    header = ["design", "trained by", "params", "MFLOPs/img", "stopped by", "train s", "test mean", "test max",
              "exact 8-bit %"]  # fmt: skip
    return ["## Designs (`02_architectures`)", "", *_table(header, body), ""]


def benchmark_section(results_dir: Path) -> list[str]:
    if not paths.results_file(results_dir, "benchmark_summary").is_file():
        return []
    table, summary = bench_records.read(results_dir)  # the table is written with the summary: missing is an error
    env, config = summary.environment, summary.config
    lines = [
        "## Benchmark (`03_benchmark`)",
        "",
        f"Measured on {env.cpu} ({env.cpu_vector or 'vector width not recorded'}, {env.torch_threads} "
        f"threads), torch {env.torch_version}, {env.date[:10]} (the GPU: the headline's line); "
        f"{config.n_images:,} images from {summary.data_source}; medians of {config.repeats} timed runs.",
        "",
    ]
    for device, s in summary.devices.items():
        best: dict[tuple, BenchRow] = {}
        for r in (r for r in table if r.device == device):
            key = (r.method, r.model)
            if key not in best or r.median_s < best[key].median_s:
                best[key] = r
        rows = [
            [_method_name(r.method), f"`{r.model}`" if r.model not in ("-", "pipeline") else "-", _batch(r),
             f"{r.median_s:.4g}", _speedup(r.speedup_vs_loop), _speedup(r.speedup_vs_batched),
             f"{r.max_gray:.2g}" if r.max_gray is not None else "-"]
            for r in sorted(best.values(), key=lambda r: r.median_s)
        ]  # fmt: skip
        header = [f"{device}: fastest of each method and model", "model", "batch", "seconds", "vs loop", "vs batched",
                  "max error (gray)"]  # fmt: skip
        lines += [*_table(header, rows), ""]
        if s.times_roofline is not None:
            lines += [
                f"Best learned model `{s.best_model.model}` ({s.best_model.method}): "
                f"{s.speedup_vs_user_best:.1f}x the fastest user route ({s.user_best.method}), "
                f"{s.times_roofline:.2f}x the roofline ({_floor_words(s)}; compute floor "
                f"{s.compute_floor_s * 1e3:.3g} ms at a measured {s.matmul_peak_gflops:.0f} GFLOPS).",
                "",
            ]
    return lines


def pipelines_section(results_dir: Path) -> list[str]:
    rows = _rows(results_dir, "pipelines", numbers=False)
    if not rows:
        return []
    body = [
        [f"`{r['pipeline']}`", r["out_shape"], "yes" if r["linear"] == "True" else "no",
         {"True": "yes", "False": "no"}.get(r["separable"], "-"), f"`{r['model']}`", f"{int(r['params']):,}",
         _g(r["test_max_gray"]), percent(float(r["exact8_pct"])), _speedup(r["speedup_vs_loop"]),
         _speedup(r["speedup_vs_batched"])]
        for r in rows
    ]  # fmt: skip
    header = ["pipeline", "output", "linear", "separable", "model", "params", "test max", "exact 8-bit %",
              "vs loop (04's timing)", "vs batched (04's timing)"]  # fmt: skip
    note = ("Speedups here are 04's own quick measure (eager PyTorch on fewer images), for comparing pipelines; "
            "the benchmark of the target pipeline is the table above.")  # fmt: skip
    return ["## Pipelines (`04_pipelines`)", "", note, "", *_table(header, body), ""]


def scaling_section(results_dir: Path) -> list[str]:
    rows = _rows(results_dir, "scaling")
    if not rows:
        return []
    labels = {r["route"]: r["label"] for r in rows}
    worst = {}
    for r in (r for r in rows if r["learned"]):
        worst[r["side"]] = max(worst.get(r["side"], 0.0), r["photo_max_gray"])
    body = [[f"{v['side']}x{v['side']}", labels[v["fastest_user"]], f"{v['user_us']:.3g}", labels[v["fastest_learned"]],
             f"{v['learned_us']:.3g}", _speedup(v["speedup"]), f"{v['floor_us']:.3g}", _g(worst[v["side"]])]
            for v in verdicts(rows)]  # fmt: skip
    header = ["input", "fastest user route", "µs an image", "fastest learned route", "µs an image", "speedup",
              "read floor (µs)", "learned max error"]  # fmt: skip
    note = ("The target's steps at each size, resized to half; CIFAR-10 test images brought to the size, "
            f"{rows[0]['n_images']:,} at each; eager routes and the learned transform, medians.")  # fmt: skip
    return ["## Other sizes (`05_scaling`)", "", note, "", *_table(header, body), ""]


def ship_section(results_dir: Path) -> list[str]:
    rows = _rows(results_dir, "onnx")
    if not rows:
        return []

    def ms(value) -> str:  # blank or NaN where the graph did not run
        return f"{1e3 * value:.3g}" if isinstance(value, float) and value == value else "-"

    body = []
    for r in rows:
        error = text_cell(r, "error")
        body.append([r["pipeline"], f"`{r['graph']}`", r["source"], "-" if error else _g(r["max_gray"]),
                     ms(r.get("ort_s")), ms(r.get("torch_s")), error])  # fmt: skip
    header = ["pipeline", "graph", "input", "max error (gray)", "ONNX Runtime ms", "torch ms", "export error"]
    note = ("Every test image and 8-bit images of each synthetic family (`n_family` of each, 1,000 by default); times "
            "for all the test images at once.")  # fmt: skip
    return ["## ONNX (`06_ship`)", "", note, "", *_table(header, body), ""]


def suite_section(results_dir: Path) -> list[str]:
    rows = _rows(results_dir, "suite")
    if not rows:
        return []
    body = []
    for r in rows:
        refused = text_cell(r, "refused")
        measured = ["-"] * 4 if refused else [f"{r['fit_s']:.2f}", _g(r["photo_gray"]), _g(r["noise_gray"]),
                                               f"{r['speedup']:.1f}x"]  # fmt: skip
        family = "refused" if refused else f"`{r['family']}`"
        body.append([r["case"], r["sizes"], family, *measured, refused])
    header = ["pipeline", "sizes", "family", "fit s", "photographs (gray)", "noise (gray)", "vs fastest user route",
              "refused"]  # fmt: skip
    note = (
        "Real pipelines through `LearnedTransform.fit`, each new size fitted at first sight; CIFAR-10 test images "
        "brought to each size, as uint8; speed against the pipeline on each size's batch or image by image."
    )
    fits = _rows(results_dir, "fit_times")
    timed = "; ".join(f"{f['shape']} ({f['order']}, {f['method']}): {f['fit_s']:.2f} s" for f in fits)
    extra = [f"Fit times of the full-size ImageNet evaluation transform: {timed}.", ""] if fits else []
    return ["## Your pipeline, as it is (`06_ship`)", "", note, "", *_table(header, body), "", *extra]


def write(
    results_dir: str | Path = paths.RESULTS,
    out: str | Path = paths.REPORTS / "SUMMARY.md",
    readme: str | Path | None = None,
) -> Path:
    """Write the summary of ``results_dir`` to ``out``; with ``readme``, first put the headline in that file's block
    (``lib.report.headline.write_block``: only the lines between its markers, and only when they changed)."""
    results_dir = Path(results_dir)
    bullets = headline.of_run(results_dir)
    if readme is not None:
        if not bullets:
            raise FileNotFoundError(f"no complete run under {results_dir} for {readme}'s headline: run `make report`")
        headline.write_block(readme, bullets)
    sections = headline.section(bullets) + (
        training_section(results_dir) + architectures_section(results_dir) + benchmark_section(results_dir)
        + pipelines_section(results_dir) + scaling_section(results_dir) + ship_section(results_dir)
        + suite_section(results_dir)
    )  # fmt: skip
    if not sections:
        raise FileNotFoundError(f"no results under {results_dir}; run `make report` first")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("# Summary of the last `make report`\n\n" + "\n".join(sections))
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m lib.report.summary", description=__doc__.split("\n\n")[0])
    p.add_argument("--results", default=str(paths.RESULTS), help="folder of the run's results")
    p.add_argument("--out", default=str(paths.REPORTS / "SUMMARY.md"))
    p.add_argument("--readme", default=None, help="also write the headline between this Markdown file's markers")
    a = p.parse_args(argv)
    out = write(a.results, a.out, a.readme)
    print(f"wrote {paths.shown(out)}" + (f" and {a.readme}'s headline" if a.readme else ""))


if __name__ == "__main__":
    main()
