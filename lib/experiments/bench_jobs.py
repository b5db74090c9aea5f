"""What each benchmark route runs: one function per family of routes, each returning its jobs.

A :class:`Job` is the fields of its row in ``benchmark.csv`` and the work that runs that configuration
once. :func:`device_jobs` lists every job of one device in the order the rows are timed and written: the
read floors, the pipelines, then per model its DataLoader, fast-path, compiled, learned-transform and end-to-end rows.
Compilation happens here, before any timing, and its seconds (or why it failed) are returned with the jobs.
:func:`fidelity` runs each route once more on the CPU and scores its output against the float pipeline.
"""

import copy
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from lib.core import constants, data, engine, metrics, models, pipeline
from lib.core.transform import LearnedTransform
from lib.experiments.bench_config import BenchConfig
from lib.experiments.routes import ROUTE, Inputs, pipeline_works
from lib.timing import synchronize

RECOMPILE_LIMIT = 64  # torch.compile specialisations of one forward (torch's default, 8, is too few here)


class Job(NamedTuple):
    """One configuration to time: its row's fields (method, model, batch size, ...) and the work running it once."""

    fields: dict
    work: Callable[[], object]


@dataclass(frozen=True)
class Images:
    """The benchmark's images in every form a route starts from, for one device."""

    device: str
    x_u8: torch.Tensor  # (N, 3, 32, 32) uint8 on the CPU, as loaded
    x_cpu: torch.Tensor  # (N, 3, 32, 32) float in [0, 1] on the CPU
    x_dev: torch.Tensor  # the float images on the device
    u8_dev: torch.Tensor  # the uint8 images on the device

    @classmethod
    def on(cls, x_u8: torch.Tensor, device: str) -> "Images":
        x_cpu = data.to_float(x_u8)
        return cls(device, x_u8, x_cpu, x_cpu.to(device), x_u8.to(device))


def _chunked(model, x: torch.Tensor, chunk: int) -> None:
    for _ in models.in_chunks(model, x, chunk):
        pass


def hwc(x_u8: torch.Tensor) -> np.ndarray:
    """Images as they come from disk, for Pillow: (N, H, W, 3), height, width, channel."""
    return x_u8.permute(0, 2, 3, 1).contiguous().numpy()


def fidelity(
    x_u8: torch.Tensor, nets: dict[str, torch.nn.Module], cfg: BenchConfig | None = None, loops: dict | None = None
) -> dict:
    """{method, model or (method, model): largest error (gray levels) and exact-8-bit share (%)} against the
    float pipeline on the same images, for every baseline, every model (run on the CPU: a GPU's rounding
    may differ in the last float bits, far below a gray level) and every learned transform (``loops``: the
    engine)."""
    cfg = cfg or BenchConfig()
    x = data.to_float(x_u8)
    reference = pipeline.make_targets(x, transform=cfg.transform)
    works = pipeline_works(route_inputs(cfg, x, x_u8), "cpu", cfg.is_target)
    outputs = {
        **{method: as_images(work()) for method, work in works.items()},
        **{name: metrics.predict(net, x) for name, net in nets.items()},
        **{("transform_uint8", name): loop(x_u8) for name, loop in (loops or {}).items()},
    }
    scores = {k: metrics.score(out, reference) for k, out in outputs.items()}
    return {k: {"max_gray": m["max_gray"], "exact8_pct": m["exact8_pct"]} for k, m in scores.items()}


def matmul_work(device: str, n: int = 2048) -> tuple[Callable[[], torch.Tensor], float]:
    """(work, its FLOPs): one single-precision n x n by n x n product, whose rate is the machine's
    matrix-multiply peak."""
    a, b = torch.rand(n, n, device=device), torch.rand(n, n, device=device)
    return lambda: a @ b, 2.0 * n**3


def compile_model(net: torch.nn.Module, x: torch.Tensor, chunks: list[int], device: str):
    """torch.compile of ``net``, specialised to every slice shape the fast path meets at these chunk
    sizes (full chunks and the last, shorter one): (compiled model, seconds to compile them all), or
    (None, why it failed)."""
    quiet = logging.getLogger("torch.utils.cpp_extension")  # warns about CUDA_HOME on a CPU-only machine
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        start = time.perf_counter()
        compiled = torch.compile(net, dynamic=False)
        # every model behind FromUint8 shares its forward's code, so shapes x models specialisations
        with torch._dynamo.config.patch(recompile_limit=RECOMPILE_LIMIT):
            for chunk in chunks:
                _chunked(compiled, x, chunk)
        synchronize(device)
        return compiled, time.perf_counter() - start
    except Exception as err:  # no compiler, unsupported backend, ...: the eager rows stand
        return None, f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:200]
    finally:
        quiet.setLevel(level)


def transforms(nets: dict[str, torch.nn.Module]) -> tuple[dict[str, LearnedTransform], str | None]:
    """({name: the model as the user's LearnedTransform} for every model the engine plans, why the engine cannot
    compile its CPU loop here or None)."""
    try:
        engine.library()
        why = None
    except engine.Unavailable as err:
        why = str(err)
    loops = {}
    for name, net in nets.items():
        try:
            engine.plan_of(net)
        except engine.Unavailable:  # not a separable map: the model's own rows stand
            continue
        loops[name] = LearnedTransform(copy.deepcopy(net).cpu())  # its own copy: the CUDA rows move ``net``
    return loops, why


def floor_jobs(im: Images, out_shape: tuple[int, ...]) -> list[Job]:
    """The memory floors: one pass over the float input (a sum), or over the uint8 images (a maximum: a sum
    of uint8 runs 30x slower); and one pass writing the float32 output, (N, *out_shape), into memory held
    from the start (a fill: no allocation, no page faults)."""
    out = torch.empty((len(im.x_dev), *out_shape), device=im.device)
    return [Job({"method": "read_input", "model": "-"}, im.x_dev.sum),
            Job({"method": "read_uint8", "model": "-"}, im.u8_dev.amax),
            Job({"method": "write_output", "model": "-"}, lambda: out.fill_(0.5))]  # fmt: skip


def route_inputs(cfg: BenchConfig, x: torch.Tensor, x_u8: torch.Tensor) -> Inputs:
    """The benchmark's images as the routes without a model take them (lib.experiments.routes.Inputs)."""
    return Inputs(cfg.transform, x, x_u8, hwc(x_u8.cpu()), tuple(cfg.transform.out_shape[1:]))


def as_images(out) -> torch.Tensor:
    """A route's output as float images (N, C, H, W) in [0, 1]: Pillow and OpenCV give (N, H, W) uint8 arrays."""
    if isinstance(out, np.ndarray):
        return torch.from_numpy(out)[:, None] / constants.GRAY_LEVELS
    return out


def baseline_jobs(cfg: BenchConfig, im: Images) -> list[Job]:
    """The routes without a model that apply on this device (lib.experiments.routes.pipeline_works): the pipeline
    image by image, on the whole batch, on the uint8 images, and (CPU, the target pipeline only: their steps are its
    steps) Pillow and OpenCV image by image. A loop over the images goes through ``cfg.loop_images(device)`` of them
    (a subset on a GPU); :func:`lib.experiments.bench_run.run` scales its time to all."""
    works = pipeline_works(route_inputs(cfg, im.x_dev, im.u8_dev), im.device, cfg.is_target)
    k = cfg.loop_images(im.device)
    subset = {}
    if k < len(im.x_dev):  # a GPU: the loops over the images go through the first k
        subset = pipeline_works(route_inputs(cfg, im.x_dev[:k], im.u8_dev[:k]), im.device, cfg.is_target)
    jobs = []
    for m, work in works.items():
        scaled = ROUTE[m].per_image and m in subset
        fields = {"method": m, "model": ROUTE[m].model} | ({"n_timed": k} if scaled else {})
        jobs.append(Job(fields, subset[m] if scaled else work))
    return jobs


def _through_loader(net, loader: DataLoader, device: str, pin: bool) -> None:
    for (xb,) in loader:
        net(xb.to(device, non_blocking=pin))


def dataloader_jobs(cfg: BenchConfig, im: Images, name: str, net, sweep: bool = True) -> list[Job]:
    """``net`` through ``DataLoader(TensorDataset(x))`` at every batch size, worker count and (GPU only:
    pinning only matters when copying to one) pin_memory; without ``sweep``, once, at the largest batch size without
    workers or pinning. Small batches go through the first images only; :func:`lib.experiments.bench_run.run` scales
    their time to all."""
    pins = cfg.pin_memory if im.device == "cuda" else [False]
    grid = (cfg.batch_sizes, cfg.num_workers, pins) if sweep else ([max(cfg.batch_sizes)], [0], [False])
    jobs = []
    for bs, workers, pin in itertools.product(*grid):
        timed = cfg.images_timed(bs)
        loader = DataLoader(
            TensorDataset(im.x_cpu[:timed]), batch_size=bs, num_workers=workers, pin_memory=pin,
            persistent_workers=workers > 0,
        )  # fmt: skip
        fields = {"method": "dataloader", "model": name, "batch_size": bs, "num_workers": workers, "pin_memory": pin,
                  "n_timed": timed}  # fmt: skip
        jobs.append(Job(fields, partial(_through_loader, net, loader, im.device, pin)))
    return jobs


def fast_path_jobs(cfg: BenchConfig, im: Images, name: str, net, net_u8) -> list[Job]:
    """``net`` on slices of the images already on the device, at every slice size: from the float images,
    then from the uint8 images (``net_u8`` converts each slice just before the model)."""
    return [
        Job({"method": method, "model": name, "batch_size": chunk}, partial(_chunked, module, x, chunk))
        for chunk in cfg.chunk_sizes
        for method, module, x in (("fast_path", net, im.x_dev), ("fast_path_uint8", net_u8, im.u8_dev))
    ]


def compiled_jobs(cfg: BenchConfig, im: Images, name: str, net, net_u8) -> tuple[list[Job], dict[str, float | str]]:
    """Both fast paths through torch.compile, compiled here for every slice size: (their jobs, {model, or
    model "from uint8": the seconds compiling took, or why it failed}). A failure leaves its rows out."""
    jobs, compiled = [], {}
    for method, module, x, key in (("compiled", net, im.x_dev, name),
                                   ("compiled_uint8", net_u8, im.u8_dev, f"{name} from uint8")):  # fmt: skip
        fast, compiled[key] = compile_model(module, x, cfg.chunk_sizes, im.device)
        for chunk in cfg.chunk_sizes if fast is not None else []:
            jobs.append(Job({"method": method, "model": name, "batch_size": chunk}, partial(_chunked, fast, x, chunk)))
    return jobs, compiled


def transform_jobs(cfg: BenchConfig, im: Images, name: str, loop: LearnedTransform) -> list[Job]:
    """The learned transform a user imports (the engine: its C loop on the CPU, its Triton kernel on a GPU) on
    slices of the uint8 images on the device."""
    return [Job({"method": "transform_uint8", "model": name, "batch_size": chunk},
                partial(_chunked, loop, im.u8_dev, chunk)) for chunk in cfg.chunk_sizes]  # fmt: skip


def _end_to_end(net, pinned: torch.Tensor, device: str, chunk: int) -> None:
    _chunked(net, data.to_float(pinned.to(device, non_blocking=True)), chunk)


def end_to_end_jobs(cfg: BenchConfig, im: Images, name: str, net) -> list[Job]:
    """(GPU) uint8 images in pinned host memory, copied, converted and transformed on the device."""
    pinned = im.x_u8.pin_memory()
    return [
        Job({"method": "end_to_end", "model": name, "batch_size": chunk, "pin_memory": True},
            partial(_end_to_end, net, pinned, im.device, chunk))
        for chunk in cfg.chunk_sizes
    ]  # fmt: skip


def device_jobs(
    cfg: BenchConfig, x_u8: torch.Tensor, nets: dict, device: str, loops: dict
) -> tuple[list[Job], dict[str, float | str]]:
    """Every job of one device, in the order its rows are timed and written, and {model, or model "from
    uint8": torch.compile's seconds or why it failed} (empty without ``cfg.compile``). The models move to
    ``device``; ``loops`` holds the learned transforms (CPU rows)."""
    im = Images.on(x_u8, device)
    jobs, compiled = floor_jobs(im, cfg.transform.out_shape) + baseline_jobs(cfg, im), {}
    swept = cfg.loader_swept(nets)
    for name, net in nets.items():
        net = net.to(device)
        net_u8 = models.FromUint8(net)
        jobs += dataloader_jobs(cfg, im, name, net, name in swept) + fast_path_jobs(cfg, im, name, net, net_u8)
        if cfg.compile:
            built, seconds = compiled_jobs(cfg, im, name, net, net_u8)
            jobs, compiled = jobs + built, compiled | seconds
        if name in loops:
            on_device = loops[name] if device == "cpu" else LearnedTransform(copy.deepcopy(net)).to(device)
            jobs += transform_jobs(cfg, im, name, on_device)
        if device == "cuda":
            jobs += end_to_end_jobs(cfg, im, name, net)
    return jobs, compiled
