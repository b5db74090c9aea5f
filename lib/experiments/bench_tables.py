"""What a benchmark run says: its summary (``benchmark_summary.json``), the tables ``03_benchmark`` shows,
and the GPU results recorded on another machine. Routes are looked up in :data:`lib.experiments.routes.ROUTES`;
rows and summaries are the types of :mod:`lib.experiments.bench_records`, which also writes and reads the files."""

from pathlib import Path

from lib.core import engine
from lib.experiments.bench_config import BenchConfig
from lib.experiments.bench_records import BenchRow, BenchSummary, DeviceSummary, Environment, fastest, read
from lib.experiments.bench_run import RunRecord
from lib.experiments.routes import (
    FLOOR_OF,
    LEARNED_METHODS,
    METHOD_LABELS,
    ORACLES,
    ROUTE,
    TRANSFER_METHODS,
    USER_BASELINES,
    WRITE_FLOOR,
    model_label,
)
from lib.paths import results_file


def _engine_build(env: Environment) -> str:
    """How the engine's loop was built for the machine: its vector width and the instruction set."""
    lanes = engine.LANES.get(env.cpu_vector, engine.LANES["other"])
    return f"{lanes} floats a vector, {engine.ROWS} rows at a time ({env.cpu_vector or 'instruction set not recorded'})"


def summarize(record: RunRecord, env: dict, source: str, cfg: BenchConfig) -> BenchSummary:
    """For each device: the best row of each method; the best learned model against the batched pipeline
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
        # the best *learned* model: the exact operator is the oracle, not something the network learned
        model_rows = [r for r in mine if r.method in LEARNED_METHODS]
        learned = [r for r in model_rows if r.model not in ORACLES]
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


def _number(value: float | None, default: float) -> float:
    """A cell of a row; missing (None, or NaN) is ``default``."""
    return default if value is None or value != value else value


def table_rows(rows: list[BenchRow]) -> list[dict]:
    """What ``03_benchmark`` shows of every route: per device (in order of appearance), the fastest
    configuration of each route and model, fastest first, in words. The read floors are left out (they
    are stated apart) and every configuration stays in ``benchmark.csv``. ``images timed`` is less than
    the images a time is for where that time was scaled (the DataLoader's smallest batches)."""
    best: dict[tuple, BenchRow] = {}
    for r in rows:
        key = (r.device, r.method, r.model)
        if ROUTE[r.method].kind != "floor" and (key not in best or r.median_s < best[key].median_s):
            best[key] = r
    devices = list(dict.fromkeys(r.device for r in rows))
    nan = float("nan")
    out = []
    for r in sorted(best.values(), key=lambda r: (devices.index(r.device), r.median_s)):
        route = ROUTE[r.method]
        q1, q3 = (1e3 * _number(q, r.median_s) for q in (r.q1_s, r.q3_s))
        out.append({
            "device": r.device, "route": route.label, "model": model_label(r, code=False),
            "batch": r.batch_size if route.batched else None,
            "workers": r.num_workers if route.loader else None,
            "images timed": r.timed, "ms": 1e3 * r.median_s, "ms q1-q3": f"{q1:.3g}-{q3:.3g}",
            "x loop": _number(r.speedup_vs_loop, nan), "x batched": _number(r.speedup_vs_batched, nan),
            "max error (gray)": _number(r.max_gray, nan), "exact 8-bit %": _number(r.exact8_pct, nan),
        })  # fmt: skip
    return out


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
        label = f"{model_label(top, code=False)}: {METHOD_LABELS[top.method]}"
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
    return rows + gpu, devices, f"recorded on {env.gpu} on {env.date} (torch {env.torch_version})"
