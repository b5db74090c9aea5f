"""What a benchmark run says: its summary (``benchmark_summary.json``), the tables ``03_benchmark`` shows,
and the GPU results recorded on another machine. Routes are looked up in :data:`lib.experiments.routes.ROUTES`;
rows and summaries are the types of :mod:`lib.experiments.bench_records`, which also writes and reads the files."""

from collections.abc import Iterable
from pathlib import Path

from lib.core import engine
from lib.core.metrics import percent
from lib.experiments.bench_config import BenchConfig
from lib.experiments.bench_records import BenchRow, BenchSummary, DeviceSummary, Environment, fastest, read
from lib.experiments.bench_run import RunRecord
from lib.experiments.routes import (
    BANDED,
    BATCHED,
    FLOOR_INPUTS,
    FLOOR_OF,
    LEARNED_METHODS,
    LOADER_METHODS,
    LOOP,
    METHOD_LABELS,
    MODEL_LABELS,
    ORACLES,
    ROUTE,
    TRANSFER_METHODS,
    UNTRAINED,
    USER_BASELINES,
    WRITE_FLOOR,
    architecture,
    model_label,
    reproduces,
)
from lib.paths import results_file


def _engine_build(env: Environment) -> str:
    """How the engine's loop was built for the machine: its vector width and the instruction set."""
    lanes = engine.LANES.get(env.cpu_vector, engine.LANES["other"])
    return f"{lanes} floats a vector, {engine.ROWS} rows at a time ({env.cpu_vector or 'instruction set not recorded'})"


def summarize(record: RunRecord, env: dict, source: str, cfg: BenchConfig) -> BenchSummary:
    """For each device: the best row of each method; the best learned model (the fastest that reproduces the pipeline,
    ``routes.reproduces``, or where none does the fastest) against the batched pipeline
    and against the fastest route a user would take instead; and, where ``record`` holds the run's
    measures, the roofline: compute floor = the best model's FLOPs at the measured matrix-multiply peak,
    memory floor (``floor_s``) = the read floor of the route's input (``read_uint8`` for a route from uint8
    images, else ``read_input``) plus the write floor (writing the float32 output once, where timed), and
    ``times_roofline`` = its time / max(memory floor, compute floor). ``env`` is ``lib.results.environment()``."""
    rows = record.rows
    out = BenchSummary(environment=Environment.from_dict(env), data_source=source, config=cfg, devices={})
    for device in dict.fromkeys(r.device for r in rows):
        mine = [r for r in rows if r.device == device]
        best = {m: fastest(r for r in mine if r.method == m) for m in dict.fromkeys(r.method for r in mine)}
        # the best *learned* model: the exact operator is the oracle, not something the network learned; of those that
        # reproduce the pipeline where any does (an untrained or unfinished model computes something else)
        model_rows = [r for r in mine if r.method in LEARNED_METHODS]
        learned = [r for r in model_rows if r.model not in ORACLES]
        learned = [r for r in learned if reproduces(r)] or learned
        top = fastest(learned)
        user_best = fastest(best[m] for m in USER_BASELINES if m in best)
        floor_method = FLOOR_OF[ROUTE[top.method].source] if top else FLOOR_OF["float"]
        floor_method = floor_method if floor_method in best else FLOOR_OF["float"]
        read_floor = best[floor_method].median_s
        write_floor = best[WRITE_FLOOR].median_s if WRITE_FLOOR in best else None
        floor = read_floor + (write_floor or 0.0)
        peak = record.matmul_peak_gflops.get(device)
        mflops_top = record.mflops_per_image.get(top.model) if top else None
        compute_floor = mflops_top * 1e6 * top.n_images / (peak * 1e9) if mflops_top and peak else None
        roofline = max(floor, compute_floor) if compute_floor is not None else None
        transfer = fastest(best[m] for m in TRANSFER_METHODS if m in best)
        out.devices[device] = DeviceSummary(
            best_by_method=best,
            best_model=top,
            best_eager=fastest(r for r in learned if not ROUTE[r.method].built),
            best_dataloader=fastest(r for r in learned if ROUTE[r.method].loader),
            oracle=fastest(r for r in model_rows if r.model in ORACLES),
            user_best=user_best,
            speedup_vs_loop=top.speedup_vs_loop if top else None,
            speedup_vs_batched=top.speedup_vs_batched if top else None,
            speedup_vs_user_best=user_best.median_s / top.median_s if top and user_best else None,
            times_floor=top.median_s / floor if top else None,
            floor_s=floor,
            floor_method=floor_method,
            read_floor_s=read_floor,
            write_floor_s=write_floor,
            matmul_peak_gflops=peak,
            mflops_per_image=mflops_top,
            compute_floor_s=compute_floor,
            roofline_s=roofline,
            times_roofline=top.median_s / roofline if top and roofline else None,
            compile=record.compile.get(device, {}),
            engine_unavailable=record.engine_unavailable if device == "cpu" else None,
            engine_build=_engine_build(out.environment) if device == "cpu" and not record.engine_unavailable else None,
            end_to_end_s=transfer.median_s if transfer else None,
        )
    return out


def _best(rows: Iterable[BenchRow]) -> dict[tuple, BenchRow]:
    """{(device, method, model): its fastest configuration}, in the order first met."""
    best: dict[tuple, BenchRow] = {}
    for r in rows:
        key = (r.device, r.method, r.model)
        if key not in best or r.median_s < best[key].median_s:
            best[key] = r
    return best


def _ms(seconds: float) -> str:
    """Milliseconds to three figures, whole ones from a thousand ("9,710", not "9.71e+03")."""
    ms = 1e3 * seconds
    return f"{ms:,.0f}" if ms >= 1000 else f"{ms:.3g}"


def gray(value: float | None) -> str:
    """Gray levels to two figures, whole ones from a hundred ("369", not "3.7e+02"); "-" where not measured."""
    if value is None or value != value:
        return "-"
    return f"{value:.0f}" if value >= 100 else f"{value:.2g}"


def _spread(r: BenchRow) -> str:
    """Median milliseconds and the quartiles: "5.26 (5.07-5.41)"."""
    if r.q1_s is None or r.q3_s is None:
        return _ms(r.median_s)
    return f"{_ms(r.median_s)} ({_ms(r.q1_s)}-{_ms(r.q3_s)})"


def _times(ratio: float) -> str:
    """A speedup to three figures, whole ones from a hundred ("2,390x", not "2.39e+03x")."""
    return f"{ratio:,.0f}x" if ratio >= 100 else f"{ratio:.3g}x"


def _per_image(r: BenchRow) -> float:
    return r.median_s / r.n_images if r.n_images else r.median_s


def _cells(r: BenchRow, loop: BenchRow | None) -> dict:
    """A row's speedup over the baseline ``loop`` (per image: a recorded run may time another number of images; only
    where the row reproduces the pipeline) and its fidelity, as text."""
    error = gray(r.max_gray)
    return {
        "x baseline": _times(_per_image(loop) / _per_image(r)) if loop and reproduces(r) else "-",
        "max error (gray)": f"{error} (untrained)" if r.model.endswith(UNTRAINED) and error != "-" else error,
        "exact 8-bit %": "-" if r.exact8_pct is None or r.exact8_pct != r.exact8_pct else percent(r.exact8_pct),
    }


DEVICE_WORDS = {"cpu": "CPU", "cuda": "GPU"}


def _minimal(mine: list[BenchRow], best: BenchRow | None) -> BenchRow | None:
    """The learned transform of the banded form (``banded``, or its untrained stand-in) at its fastest; its fastest
    route where no learned transform was timed; else ``best``."""
    banded = [r for r in mine if r.method in LEARNED_METHODS and architecture(r) == BANDED]
    return fastest(r for r in banded if r.method == "transform_uint8") or fastest(banded) or best


def lead_rows(rows: list[BenchRow], devices: dict[str, DeviceSummary]) -> list[dict]:
    """03's first table, at most eight rows: per device, the pipeline image by image and on the whole batch, the fastest
    other user route where it beats the whole batch (CPU), the banded form at its fastest (the learned transform
    where timed, else its fastest route, which says so) and, on the CPU, its memory floor. ``x baseline``: over the
    pipeline image by image on the CPU, where the row reproduces the pipeline. ``devices``: the run's summaries
    (recorded GPU ones included)."""
    loop = fastest(r for r in rows if r.device == "cpu" and r.method == LOOP.method)
    out = []
    for device, s in devices.items():
        mine = [r for r in rows if r.device == device]
        batched = fastest(r for r in mine if r.method == BATCHED.method)
        picks = [("target pipeline, image by image" + (" (baseline)" if device == "cpu" else ""),
                  fastest(r for r in mine if r.method == LOOP.method)),
                 ("target pipeline, whole batch", batched)]  # fmt: skip
        if device == "cpu":  # the whole batch is a user's route too: the fastest other one, where it beats it
            user = fastest(s.best_by_method[m] for m in USER_BASELINES if m in s.best_by_method and m != BATCHED.method)
            if user is not None and (batched is None or user.median_s < batched.median_s):
                picks.append((f"user route: {ROUTE[user.method].short}", user))
        top = _minimal(mine, s.best_model)
        if top is not None:
            note = "" if top.method == "transform_uint8" else "; no LearnedTransform row"
            picks.append((f"{model_label(top)}, {ROUTE[top.method].short}{note}", top))
        for what, r in picks:
            if r is not None:
                out.append({"route": what + _scaled(r), "device": DEVICE_WORDS.get(device, device), "ms": _spread(r)}
                           | _cells(r, loop))  # fmt: skip
        if device == "cpu" and top is not None:
            floor = s.best_by_method.get(FLOOR_OF[ROUTE[top.method].source])
            write = s.best_by_method.get(WRITE_FLOOR)
            if floor is not None:
                what = f"memory floor: read the {FLOOR_INPUTS[floor.method]}" + (", write the output" if write else "")
                ms = _ms(floor.median_s + (write.median_s if write else 0.0))
                out.append({"route": what, "device": "CPU", "ms": ms, "x baseline": "-", "max error (gray)": "-",
                            "exact 8-bit %": "-"})  # fmt: skip
    return out[:8]


def route_rows(rows: list[BenchRow]) -> list[dict]:
    """Every route without a model (the floors, the pipelines, Pillow, OpenCV), per device: milliseconds, speedup
    over the baseline where it reproduces the pipeline, fidelity; a time measured on fewer images, scaled, says so."""
    loop = fastest(r for r in rows if r.device == "cpu" and r.method == LOOP.method)
    return [{"device": DEVICE_WORDS.get(r.device, r.device), "route": ROUTE[r.method].label + _scaled(r),
             "ms": _ms(r.median_s)} | _cells(r, loop)
            for r in _best(rows).values() if ROUTE[r.method].kind in ("floor", "baseline")]  # fmt: skip


def _scaled(r: BenchRow) -> str:
    return f" (timed on {r.timed:,} images, scaled)" if r.timed < r.n_images else ""


def model_grid(rows: list[BenchRow], device: str) -> list[dict]:
    """Every model on ``device``: a row per route, a column per model, each cell its fastest configuration's
    milliseconds and batch or slice size ("14.6 (1024)"); then each model's fidelity, the worst over its routes."""
    mine = [r for r in _best(rows).values() if r.device == device and r.method in LEARNED_METHODS + TRANSFER_METHODS]
    models = {r.model: model_label(r) for r in mine}
    out = []
    for method in dict.fromkeys(r.method for r in mine):
        cells = {r.model: f"{_ms(r.median_s)} ({r.batch_size})" for r in mine if r.method == method}
        out.append({"route": ROUTE[method].label} | {label: cells.get(m, "-") for m, label in models.items()})
    worst = {m: max((r.max_gray for r in mine if r.model == m and r.max_gray is not None), default=None)
             for m in models}  # fmt: skip
    exact = {m: min((r.exact8_pct for r in mine if r.model == m and r.exact8_pct is not None), default=None)
             for m in models}  # fmt: skip
    out.append({"route": "max error (gray)"} | {label: gray(worst[m]) for m, label in models.items()})
    out.append({"route": "exact 8-bit %"} | {label: "-" if exact[m] is None else percent(exact[m])
                                             for m, label in models.items()})  # fmt: skip
    return out


def loader_rows(rows: list[BenchRow], model: str = "separable") -> tuple[str, list[dict]]:
    """The DataLoader sweep of one model (``model``, on a device without it its untrained stand-in; the first model
    timed where ``model`` was not): (its name in words, a row per device, workers and pin_memory with the milliseconds
    at each batch size, "-" where not timed; "*" marks a batch size timed on fewer images, its time scaled)."""
    loader = [r for r in rows if r.method in LOADER_METHODS]
    if not loader:
        return "", []
    model = model if model in {r.model for r in loader} else loader[0].model
    stand_in = next(architecture(r) for r in loader if r.model == model) + UNTRAINED
    picked = []
    for device in dict.fromkeys(r.device for r in loader):
        mine = [r for r in loader if r.device == device]
        picked += [r for r in mine if r.model == model] or [r for r in mine if r.model == stand_in]
    sizes = sorted({r.batch_size for r in picked})
    scaled = {r.batch_size for r in picked if r.timed < r.n_images}
    out = []
    for key in dict.fromkeys((r.device, r.num_workers, r.pin_memory) for r in picked):
        cells = {r.batch_size: _ms(r.median_s) for r in picked if (r.device, r.num_workers, r.pin_memory) == key}
        device, workers, pin = key
        row = {"device": DEVICE_WORDS.get(device, device), "workers": workers, "pin_memory": "yes" if pin else "no"}
        out.append(row | {f"batch {b}" + "*" * (b in scaled): cells.get(b, "-") for b in sizes})
    return MODEL_LABELS.get(model, model), out


def roofline_points(
    rows: list[BenchRow], device: str, mflops_per_image: dict[str, float]
) -> dict[str, tuple[float, float]]:
    """{label in words: (MFLOPs per image, seconds)}: each model's fastest route on ``device`` apart from
    the DataLoader (whose time is not the model's), for :func:`lib.report.plots.plot_roofline`."""
    mine = [r for r in rows if r.device == device and r.method in LEARNED_METHODS and not ROUTE[r.method].loader]
    points = {}
    for name in dict.fromkeys(r.model for r in mine):
        if name not in mflops_per_image:
            continue
        top = fastest(r for r in mine if r.model == name)
        label = f"{model_label(top)}: {METHOD_LABELS[top.method]}"
        points[label] = (mflops_per_image[name], top.median_s)
    return points


def recorded_gpu(gpu_dir: str | Path | None) -> tuple[list[BenchRow], BenchSummary | None]:
    """The cuda rows of a benchmark recorded on a GPU machine (``benchmark.csv`` under ``gpu_dir``, written by
    ``make bench-gpu``) and that run's summary; ([], None) where none was recorded."""
    if not gpu_dir or not results_file(gpu_dir, "benchmark").is_file():
        return [], None
    rows, summary = read(gpu_dir)
    return [r for r in rows if r.device == "cuda"], summary


def with_recorded_gpu(
    rows: list[BenchRow], devices: dict[str, DeviceSummary], gpu_dir: str | Path | None
) -> tuple[list[BenchRow], dict[str, DeviceSummary], str]:
    """A run's rows and per-device summaries (``summarize(...).devices``), with the GPU's recorded under
    ``gpu_dir`` added where the run measured none, and where the GPU numbers come from, in words."""
    devices = dict(devices)
    if any(r.device == "cuda" for r in rows):
        return rows, devices, "measured here"
    gpu, summary = recorded_gpu(gpu_dir)
    if summary is None:
        return rows, devices, "no GPU here and no recorded GPU results"
    env = summary.environment
    devices["cuda"] = summary.devices["cuda"]
    untrained = any(r.model.endswith(UNTRAINED) for r in gpu)
    note = f"recorded on {env.gpu} on {(env.date or 'an unrecorded date')[:10]} under torch {env.torch_version}"
    return rows + gpu, devices, note + (" with untrained weights" if untrained else "")
