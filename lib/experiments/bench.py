"""Inference benchmark: the pipeline against the learned models, on CPU and, when present, GPU.

Runs without Jupyter: ``python -m lib.experiments.bench --out DIR`` writes ``benchmark.csv`` and
``benchmark_summary.json`` there. Every route timed is declared once in
:data:`lib.experiments.routes.ROUTES` (its identifier in the CSV, its label in words, what it starts from,
whether it compiles code first, how the figure draws it); tables, figures and the summary look routes up
there. All routes run on the same in-memory images:

- the read floors: one pass reading the float input (a sum), or the uint8 images (a maximum), which no
  transform can beat;
- the pipeline image by image in a Python loop: on the CPU the assignment's baseline; on a GPU the same loop on
  ``gpu_loop_images`` images, its time scaled to all;
- what a user would take instead of a model: the same pipeline on the whole (N, 3, 32, 32) tensor at
  once; on the uint8 images (torchvision's vectorised uint8 resize, converted to float at the end: it
  rounds to 8 bits between steps, so it differs from the float pipeline); and (CPU, the assignment's
  pipeline only) Pillow image by image, resize((28, 28), BILINEAR) (Pillow's reducing resize, which
  torchvision's antialias imitates), convert("L"), rotate(180): 8-bit throughout;
- each model through ``DataLoader(TensorDataset(x))``: ``loader_model`` over batch size, workers and pin_memory
  (pinning only matters when copying to a GPU, so CPU rows use pin_memory=False), the others at the largest batch
  size without workers; batch sizes up to
  ``small_batch`` run on the first ``small_batch_images`` images and their times are scaled to all
  (per-batch overhead dominates there: the time grows in proportion to the images);
- each model on slices of a tensor already on the device, over slice ("chunk") size, from the float
  images or from the uint8 images (each slice converted just before the model, ``lib.core.models.FromUint8``);
- (optional) both through ``torch.compile``, which fuses the uint8 conversion into the model's first
  pass; compilation is timed apart, and where no compiler works the rows are left out and the reason
  recorded in the summary;
- (CPU) every separable model as the user imports it, ``LearnedTransform`` from uint8 images, which runs the
  engine's compiled loop (``lib.core.engine``); left out, with the reason, where no C compiler works;
- (GPU) end to end: uint8 images in pinned host memory, copied, converted and transformed on the GPU.

Every row also carries its fidelity: the largest error (gray levels) against the float pipeline on the
same images, and the share of pixels on the pipeline's 8-bit value: of its own output for the baselines
and the learned transform, of the eager model's output for the other model rows (compiled code differs from
it by float rounding only). The summary adds the roofline: the machine's measured matrix-multiply peak,
each model's FLOPs, and how far the fastest learned model is from max(read floor, compute floor).

Rows are timed in rounds (``lib.timing.measure_interleaved``: each round runs every row once, the
matrix-multiply peak included), so that a machine whose speed drifts moves all of them alike; the
DataLoader rows, which hold worker processes, are timed one after another, with fewer repeats
(``dataloader_repeats``: their configurations differ by more than repeated runs of one do).

The code is split by concern, and every name is importable from here: :mod:`~lib.experiments.routes` (the
route table and how models are named), :mod:`~lib.experiments.bench_config` (the configuration, images and
models), :mod:`~lib.experiments.bench_jobs` (what each route runs, and its fidelity),
:mod:`~lib.experiments.bench_run` (timing, and the :class:`RunRecord` a run returns),
:mod:`~lib.experiments.bench_records` (the types of a row and of the summary, and the files written and read back:
:func:`write`, :func:`read`) and :mod:`~lib.experiments.bench_tables` (the summary, the notebook's tables and the
GPU results recorded elsewhere).
"""

import argparse
from pathlib import Path

from lib import paths, results
from lib.core import constants
from lib.experiments.bench_config import BenchConfig, fresh_models, load_images, load_models, with_banded
from lib.experiments.bench_jobs import (
    RECOMPILE_LIMIT,
    Job,
    compile_model,
    device_jobs,
    fidelity,
    matmul_work,
    transforms,
)
from lib.experiments.bench_records import (
    COLUMNS,
    BenchRow,
    BenchSummary,
    DeviceSummary,
    Environment,
    fastest,
    read,
    write,
)
from lib.experiments.bench_run import RunRecord, add_speedups, run
from lib.experiments.bench_tables import (
    DEVICE_WORDS,
    lead_rows,
    loader_rows,
    model_grid,
    recorded_gpu,
    roofline_points,
    route_rows,
    summarize,
    with_recorded_gpu,
)
from lib.experiments.library_routes import pillow_loop
from lib.experiments.routes import (
    ARCHITECTURES,
    BATCHED,
    BUILT_METHODS,
    FAMILIES,
    FLOOR_INPUTS,
    FLOOR_OF,
    FLOORS,
    LEARNED_METHODS,
    LOADER_METHODS,
    LOOP,
    METHOD_LABELS,
    MODEL_LABELS,
    ORACLES,
    REPRODUCES_GRAY,
    ROUTE,
    ROUTES,
    TRANSFER_METHODS,
    UINT8_METHODS,
    UNTRAINED,
    USER_BASELINES,
    Route,
    architecture,
    model_label,
    reproduces,
)

__all__ = [
    "ARCHITECTURES", "BATCHED", "BUILT_METHODS", "COLUMNS", "FAMILIES", "FLOOR_INPUTS", "FLOOR_OF", "FLOORS",
    "LEARNED_METHODS", "LOADER_METHODS", "LOOP", "METHOD_LABELS", "ORACLES", "RECOMPILE_LIMIT", "ROUTE", "ROUTES",
    "TRANSFER_METHODS", "UINT8_METHODS", "UNTRAINED", "USER_BASELINES", "BenchConfig", "BenchRow", "BenchSummary",
    "DeviceSummary", "Environment", "Job", "Route", "RunRecord", "add_speedups", "architecture", "compile_model",
    "device_jobs", "fastest", "fidelity", "fresh_models", "transforms", "load_images", "load_models", "main",
    "matmul_work", "model_label", "pillow_loop", "read", "recorded_gpu", "roofline_points", "run", "summarize",
    "lead_rows", "loader_rows", "model_grid", "route_rows", "with_banded", "with_recorded_gpu", "write",
    "DEVICE_WORDS", "MODEL_LABELS", "REPRODUCES_GRAY", "reproduces",
]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    default = BenchConfig()
    p = argparse.ArgumentParser(prog="python -m lib.experiments.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(paths.RESULTS), help="folder for benchmark.csv and benchmark_summary.json")
    p.add_argument("--data-dir", default=str(paths.DATA), help="CIFAR-10 folder (noise images when absent)")
    p.add_argument("--models-dir", default=str(paths.MODELS), help="folder of saved models (*.pt)")
    p.add_argument("--models", nargs="+", default=None, help="saved models to time, by file stem (default: all)")
    p.add_argument("--banded-from", default="separable",
                   help="also time this saved model kept on its support, as banded ('' for none)")  # fmt: skip
    p.add_argument("--gpu-loop-images", type=int, default=default.gpu_loop_images,
                   help="images the pipeline image by image goes through on a GPU (time scaled to all)")  # fmt: skip
    p.add_argument("--n-images", type=int, default=default.n_images)
    p.add_argument("--repeats", type=int, default=default.repeats, help="timed runs per row timed in rounds")
    p.add_argument("--dataloader-repeats", type=int, default=default.dataloader_repeats,
                   help="timed runs per DataLoader row")  # fmt: skip
    p.add_argument("--small-batch-images", type=int, default=default.small_batch_images,
                   help="images the DataLoader rows of the smallest batch size run on (times scaled)")  # fmt: skip
    p.add_argument("--batch-sizes", type=int, nargs="+", default=default.batch_sizes)
    p.add_argument("--num-workers", type=int, nargs="+", default=default.num_workers)
    p.add_argument(
        "--loader-model",
        default=default.loader_model,
        help="the model swept through the DataLoader, the others at the largest batch ('' for all)",
    )
    p.add_argument("--chunk-sizes", type=int, nargs="+", default=default.chunk_sizes)
    p.add_argument("--devices", nargs="+", default=default.devices, choices=["cpu", "cuda"])
    p.add_argument("--no-compile", action="store_true", help="skip the torch.compile rows")
    p.add_argument(
        "--pipeline", default=constants.TARGET, help="the pipeline the models reproduce (lib.core.spec syntax)"
    )
    a = p.parse_args(argv)
    cfg = BenchConfig(n_images=a.n_images, repeats=a.repeats, dataloader_repeats=a.dataloader_repeats,
                      batch_sizes=a.batch_sizes, small_batch_images=a.small_batch_images, num_workers=a.num_workers,
                      chunk_sizes=a.chunk_sizes, devices=a.devices, compile=not a.no_compile,
                      pipeline=a.pipeline, gpu_loop_images=a.gpu_loop_images,
                      loader_model=a.loader_model)  # fmt: skip
    x_u8, source = load_images(a.data_dir, cfg.n_images)
    saved = a.models is not None or any(Path(paths.resolve(a.models_dir)).glob("*.pt"))
    nets = load_models(a.models_dir, a.models) if saved else fresh_models(out_shape=cfg.transform.out_shape)
    if saved and a.banded_from in nets:  # the trained final model kept on its support, as 03 times it
        nets = with_banded(nets, a.banded_from)
    env = results.environment()  # written into the summary: date, CPU, GPU, torch's and torchvision's versions
    print(f"torch {env['torch_version']} on {env['gpu'] or env['cpu']}; {len(x_u8):,} images from {source}; "
          f"models: {', '.join(nets)}", flush=True)  # fmt: skip
    record = run(cfg, x_u8, nets)
    csv_path, json_path = write(record.rows, summarize(record, env, source, cfg), a.out)
    print(f"wrote {csv_path} and {json_path}")


if __name__ == "__main__":
    main()
