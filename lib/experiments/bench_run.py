"""Running the benchmark: timing every job of :mod:`lib.experiments.bench_jobs` and recording what was measured.

Rows are timed in rounds (``lib.timing.measure_interleaved``: each round runs every row once, the
matrix-multiply peak included), so that a machine whose speed drifts moves all of them alike; the
DataLoader rows, which hold worker processes, are timed one after another, with fewer repeats
(``dataloader_repeats``: their configurations differ by more than repeated runs of one do).
"""

from dataclasses import dataclass, field

import torch

from lib.core.cost import mflops
from lib.experiments.bench_config import BenchConfig
from lib.experiments.bench_jobs import Job, device_jobs, fidelity, matmul_work, transforms
from lib.experiments.bench_records import BenchRow, fastest
from lib.experiments.routes import BATCHED, LOOP, ROUTE
from lib.progress import bar as tqdm
from lib.timing import Timing, measure, measure_interleaved


@dataclass
class RunRecord:
    """What one run of the benchmark measured: the rows of ``benchmark.csv`` and, beside them, what the
    summary's roofline and notes need, measured in the same run."""

    rows: list[BenchRow]  # one per configuration, in the order timed (see run)
    mflops_per_image: dict[str, float] = field(default_factory=dict)  # {model: its MFLOPs per image}
    matmul_peak_gflops: dict[str, float] = field(default_factory=dict)  # {device: matrix-multiply peak, GFLOPS}
    compile: dict[str, dict[str, float | str]] = field(
        default_factory=dict
    )  # {device: {model, or model "from uint8": seconds torch.compile took, or why it failed}}
    engine_unavailable: str | None = None  # why the engine could not compile (None when one was, or no CPU run)


def run(cfg: BenchConfig, x_u8: torch.Tensor, nets: dict[str, torch.nn.Module], progress: bool = True) -> RunRecord:
    """Time every configuration; rows carry medians, quartiles, throughput, speedups and fidelity.

    Every time is for all ``len(x_u8)`` images (``n_images``); a row timed on fewer (``n_timed``: the
    DataLoader's smallest batches) has its times scaled by ``n_images / n_timed``. The record also holds
    each model's MFLOPs per image, each device's matrix-multiply peak, per device and model the seconds
    ``torch.compile`` took or why it failed, and why the engine could not compile."""
    devices = cfg.live_devices()
    record = RunRecord(rows=[], mflops_per_image={name: mflops(net.cpu()) for name, net in nets.items()})
    loops, why = transforms(nets)
    record.engine_unavailable = why if "cpu" in devices else None
    cpu_loops = {} if why else loops  # on the CPU, only the compiled loop is the engine's row; a GPU runs Triton
    with torch.inference_mode():
        scores = fidelity(x_u8, {name: net.cpu() for name, net in nets.items()}, cfg, cpu_loops)
        for device in devices:
            jobs, record.compile[device] = device_jobs(cfg, x_u8, nets, device, cpu_loops if device == "cpu" else loops)
            timings, record.matmul_peak_gflops[device] = _time_jobs(cfg, jobs, device, progress)
            n = len(x_u8)
            record.rows += [_row(device, job.fields, t, n, nets, scores) for job, t in zip(jobs, timings, strict=True)]
    add_speedups(record.rows)
    return record


def _row(device: str, fields: dict, t: Timing, n: int, nets: dict, scores: dict) -> BenchRow:
    """One row of ``benchmark.csv``: a job's fields, its times scaled to ``n`` images, and its fidelity."""
    timed = fields.get("n_timed", n)
    q1, q3 = (q * n / timed for q in t.iqr)
    key = (fields["method"], fields["model"])
    score = scores.get(key) or scores.get(key[0]) or scores.get(key[1], {})
    net = nets.get(fields["model"])
    return BenchRow(**{
        "device": device, "batch_size": n, "num_workers": 0, "pin_memory": False, **fields,
        "architecture": getattr(net, "registry_name", fields["model"]) if net is not None else "-",
        "n_images": n, "n_timed": timed, "repeats": len(t.times), "median_s": t.median * n / timed,
        "q1_s": q1, "q3_s": q3, "images_per_s": timed / t.median, **score,
    })  # fmt: skip


def _time_jobs(cfg: BenchConfig, jobs: list[Job], device: str, progress: bool) -> tuple[list[Timing], float]:
    """(a Timing per job, in job order; the matrix-multiply peak in GFLOPS). DataLoader rows run one after
    another (each holds worker processes; ``cfg.dataloader_repeats`` runs, fewer for a configuration whose
    warm-up exceeds ``cfg.slow_s``), every other row and the matrix-multiply product in rounds. The loaders,
    and their worker processes, live as long as ``jobs``: none is shut down while another row is timed."""
    peak, flops = matmul_work(device)
    loaders = [i for i, job in enumerate(jobs) if ROUTE[job.fields["method"]].loader]
    shown = tqdm(loaders, desc=f"DataLoader rows on {device}", unit="row", disable=not progress)
    timings = {i: measure(jobs[i].work, cfg.dataloader_repeats, cfg.warmup, device, slow_s=cfg.slow_s) for i in shown}
    rest = {i: job.work for i, job in enumerate(jobs) if i not in timings}
    desc = f"benchmark on {device}: {len(rest)} rows in rounds" if progress else None
    timings |= measure_interleaved({**rest, "peak": peak}, cfg.repeats, cfg.warmup, device, desc=desc,
                                   lead_in=cfg.lead_in)  # fmt: skip
    peak_gflops = flops / timings.pop("peak").median / 1e9
    return [timings[i] for i in range(len(jobs))], peak_gflops


def _median_of(rows: list[BenchRow], device: str, method: str) -> float | None:
    top = fastest(r for r in rows if r.device == device and r.method == method)
    return None if top is None else top.median_s


def add_speedups(rows: list[BenchRow]) -> None:
    """Each row's speedup over the pipeline image by image on the CPU (the assignment's baseline) and over
    the pipeline on the whole batch on the row's own device, in place."""
    loop = _median_of(rows, "cpu", LOOP.method)
    for r in rows:
        batched = _median_of(rows, r.device, BATCHED.method)
        r.speedup_vs_loop = loop / r.median_s if loop else None
        r.speedup_vs_batched = batched / r.median_s if batched else None
