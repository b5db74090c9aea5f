"""What a benchmark run says: its summary (``benchmark_summary.json``), the tables ``03_benchmark`` shows,
and the files it writes. Routes are looked up in :data:`lib.experiments.routes.ROUTES`."""

import csv
from dataclasses import asdict
from pathlib import Path

from lib import results
from lib.core import engine
from lib.experiments.bench_config import BenchConfig
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

COLUMNS = (
    "device", "method", "model", "batch_size", "num_workers", "pin_memory", "n_images", "repeats", "median_s", "q1_s",
    "q3_s", "images_per_s", "speedup_vs_loop", "speedup_vs_batched", "max_gray", "exact8_pct", "architecture",
    "n_timed",
)  # fmt: skip


def _fastest(rows) -> dict | None:
    return min(rows, key=lambda r: r["median_s"], default=None)


def _engine_build(env: dict) -> str:
    """How the engine's loop was built for the machine: its vector width and the instruction set."""
    lanes = engine.LANES.get(env.get("cpu_vector"), engine.LANES["other"])
    isa = env.get("cpu_vector", "instruction set not recorded")
    return f"{lanes} floats a vector, {engine.ROWS} rows at a time ({isa})"


def summarize(record: RunRecord, env: dict, source: str, cfg: BenchConfig) -> dict:
    """For each device: the best row of each method; the best learned model against the batched pipeline
    and against the fastest route a user would take instead; and, where ``record`` holds the run's
    measures, the roofline: compute floor = the best model's FLOPs at the measured matrix-multiply peak,
    memory floor (``floor_s``) = the read floor of the route's input (``read_uint8`` for a route from uint8
    images, else ``read_input``) plus the write floor (writing the float32 output once, where timed), and
    ``times_roofline`` = its time / max(memory floor, compute floor)."""
    rows = record.rows
    out = {"environment": env, "data_source": source, "config": asdict(cfg), "devices": {}}
    for device in dict.fromkeys(r["device"] for r in rows):
        mine = [r for r in rows if r["device"] == device]
        best = {m: min((r for r in mine if r["method"] == m), key=lambda r: r["median_s"])
                for m in dict.fromkeys(r["method"] for r in mine)}  # fmt: skip
        # the best *learned* model: the exact operator is the oracle, not something the network learned
        model_rows = [r for r in mine if r["method"] in LEARNED_METHODS]
        learned = [r for r in model_rows if r["model"] not in ORACLES]
        top = _fastest(learned)
        user_best = _fastest(best[m] for m in USER_BASELINES if m in best)
        floor_method = FLOOR_OF[ROUTE[top["method"]].source] if top else FLOOR_OF["float"]
        floor_method = floor_method if floor_method in best else FLOOR_OF["float"]
        read_floor = best[floor_method]["median_s"]
        write_floor = best[WRITE_FLOOR]["median_s"] if WRITE_FLOOR in best else None
        floor = read_floor + (write_floor or 0.0)
        peak = record.matmul_peak_gflops.get(device)
        mflops_top = top and record.mflops_per_image.get(top["model"])
        compute_floor = mflops_top * 1e6 * top["n_images"] / (peak * 1e9) if mflops_top and peak else None
        roofline = max(floor, compute_floor) if compute_floor is not None else None
        transfer = _fastest(best[m] for m in TRANSFER_METHODS if m in best)
        out["devices"][device] = {
            "best_by_method": best,
            "best_model": top,
            "best_eager": _fastest(r for r in learned if not ROUTE[r["method"]].built),
            "best_dataloader": _fastest(r for r in learned if ROUTE[r["method"]].loader),
            "oracle": _fastest(r for r in model_rows if r["model"] in ORACLES),
            "user_best": user_best,
            "speedup_vs_loop": top and top["speedup_vs_loop"],
            "speedup_vs_batched": top and top["speedup_vs_batched"],
            "speedup_vs_user_best": top and user_best and user_best["median_s"] / top["median_s"],
            "times_floor": top and top["median_s"] / floor,
            "floor_s": floor,
            "floor_method": floor_method,
            "read_floor_s": read_floor,
            "write_floor_s": write_floor,
            "matmul_peak_gflops": peak,
            "mflops_per_image": mflops_top,
            "compute_floor_s": compute_floor,
            "roofline_s": roofline,
            "times_roofline": top and roofline and top["median_s"] / roofline,
            "compile": record.compile.get(device, {}),
            "engine_unavailable": record.engine_unavailable if device == "cpu" else None,
            "engine_build": _engine_build(env) if device == "cpu" and not record.engine_unavailable else None,
            "end_to_end_s": transfer["median_s"] if transfer else None,
        }
    return out


def _number(value, default: float) -> float:
    """A cell of a row as a float; missing (None, NaN, "": a row recorded before its column existed) is
    ``default``."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return default
    return default if value != value else value


def table_rows(rows: list[dict]) -> list[dict]:
    """What ``03_benchmark`` shows of every route: per device (in order of appearance), the fastest
    configuration of each route and model, fastest first, in words. The read floors are left out (they
    are stated apart) and every configuration stays in ``benchmark.csv``. ``images timed`` is less than
    the images a time is for where that time was scaled (the DataLoader's smallest batches)."""
    best: dict[tuple, dict] = {}
    for r in rows:
        key = (r["device"], r["method"], r["model"])
        if ROUTE[r["method"]].kind != "floor" and (key not in best or r["median_s"] < best[key]["median_s"]):
            best[key] = r
    devices = list(dict.fromkeys(r["device"] for r in rows))
    out = []
    for r in sorted(best.values(), key=lambda r: (devices.index(r["device"]), r["median_s"])):
        route, n = ROUTE[r["method"]], int(r["n_images"])
        q1, q3 = (1e3 * _number(r.get(q), r["median_s"]) for q in ("q1_s", "q3_s"))
        out.append({
            "device": r["device"], "route": route.label, "model": model_label(r, code=False),
            "batch": int(r["batch_size"]) if route.batched else None,
            "workers": int(_number(r.get("num_workers"), 0)) if route.loader else None,
            "images timed": int(_number(r.get("n_timed"), n)), "ms": 1e3 * r["median_s"],
            "ms q1-q3": f"{q1:.3g}-{q3:.3g}",
            "x loop": _number(r.get("speedup_vs_loop"), float("nan")),
            "x batched": _number(r.get("speedup_vs_batched"), float("nan")),
            "max error (gray)": _number(r.get("max_gray"), float("nan")),
            "exact 8-bit %": _number(r.get("exact8_pct"), float("nan")),
        })  # fmt: skip
    return out


def roofline_points(
    rows: list[dict], device: str, mflops_per_image: dict[str, float]
) -> dict[str, tuple[float, float]]:
    """{label in words: (MFLOPs per image, seconds)}: each model's fastest route on ``device`` apart from
    the DataLoader (whose time is not the model's), for :func:`lib.report.plots.plot_roofline`."""
    mine = [
        r for r in rows if r["device"] == device and r["method"] in LEARNED_METHODS and not ROUTE[r["method"]].loader
    ]
    points = {}
    for name in dict.fromkeys(r["model"] for r in mine):
        if name not in mflops_per_image:
            continue
        top = _fastest(r for r in mine if r["model"] == name)
        label = f"{model_label(top, code=False)}: {METHOD_LABELS[top['method']]}"
        points[label] = (mflops_per_image[name], top["median_s"])
    return points


def write(rows: list[dict], summary: dict, out_dir: str | Path) -> tuple[Path, Path]:
    """``benchmark.csv`` (one row per configuration) and ``benchmark_summary.json``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "benchmark.csv"
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({k: r.get(k) for k in COLUMNS} for r in rows)
    return csv_path, results.write_json(out_dir / "benchmark_summary.json", summary)
