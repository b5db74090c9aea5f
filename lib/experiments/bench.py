"""Inference benchmark: the pipeline against the learned models, on CPU and, when present, GPU.

Runs without Jupyter: ``python -m lib.experiments.bench --out DIR`` writes ``benchmark.csv`` and
``benchmark_summary.json`` there. Every route timed is declared once in :data:`ROUTES` (its identifier
in the CSV, its label in words, what it starts from, whether it compiles code first); tables, figures
and the summary look routes up there. All routes run on the same in-memory images:

- the read floors: one pass reading the float input (a sum), or the uint8 images (a maximum), which no
  transform can beat;
- the pipeline image by image in a Python loop (CPU): the assignment's baseline;
- what a user would take instead of a model: the same pipeline on the whole (N, 3, 32, 32) tensor at
  once; on the uint8 images (torchvision's vectorised uint8 resize, converted to float at the end: it
  rounds to 8 bits between steps, so it differs from the float pipeline); and (CPU, the assignment's
  pipeline only) Pillow image by image, resize((28, 28), BILINEAR) (Pillow's reducing resize, which
  torchvision's antialias imitates), convert("L"), rotate(180): 8-bit throughout;
- each model through ``DataLoader(TensorDataset(x))``, over batch size, workers and pin_memory (pinning
  only matters when copying to a GPU, so CPU rows use pin_memory=False); batch sizes up to
  ``small_batch`` run on the first ``small_batch_images`` images and their times are scaled to all
  (per-batch overhead dominates there: the time grows in proportion to the images);
- each model on slices of a tensor already on the device, over slice ("chunk") size, from the float
  images or from the uint8 images (each slice converted just before the model, ``lib.core.models.FromUint8``);
- (optional) both through ``torch.compile``, which fuses the uint8 conversion into the model's first
  pass; compilation is timed apart, and where no compiler works the rows are left out and the reason
  recorded in the summary;
- (CPU) one-channel separable models (``separable``, ``exact``) as the hand-written loop of
  ``lib.core.fused`` from uint8 images; left out, with the reason, where no C compiler works;
- (GPU) end to end: uint8 images in pinned host memory, copied, converted and transformed on the GPU.

Every row also carries its fidelity: the largest error (gray levels) against the float pipeline on the
same images, and the share of pixels on the pipeline's 8-bit value: of its own output for the baselines
and the fused loop, of the eager model's output for the other model rows (compiled code differs from
it by float rounding only). The summary adds the roofline: the machine's measured matrix-multiply peak,
each model's FLOPs, and how far the fastest learned model is from max(read floor, compute floor).

Rows are timed in rounds (``lib.timing.measure_interleaved``: each round runs every row once, the
matrix-multiply peak included), so that a machine whose speed drifts moves all of them alike; the
DataLoader rows, which hold worker processes, are timed one after another, with fewer repeats
(``dataloader_repeats``: their configurations differ by more than repeated runs of one do).
"""

import argparse
import csv
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, TensorDataset

from lib import paths
from lib.core import constants, data, fused, metrics, models, pipeline, spec
from lib.core.cost import mflops
from lib.progress import bar as tqdm
from lib.report import results
from lib.timing import measure, measure_interleaved, synchronize


@dataclass(frozen=True)
class Route:
    """One way of producing the pipeline's output, as the benchmark times it."""

    method: str  # identifier in benchmark.csv
    label: str  # in words, for tables, figures and prose
    kind: str  # "floor" (reads the input once), "baseline" (the pipeline, no model), "model", "transfer" (GPU)
    source: str  # what it starts from: "float" or "uint8" images
    user: bool = False  # a route a user would take instead of a model (compared with the best model)
    built: bool = False  # compiles code first (torch.compile, the fused C loop); the rest is eager
    family: str = ""  # the line it belongs to in the time figure (the best of a family at each size)


# fmt: off
ROUTES = (
    Route("read_input", "reading the float input once", "floor", "float"),
    Route("read_uint8", "reading the uint8 images once", "floor", "uint8"),
    Route("pipeline_loop", "the pipeline image by image (the assignment's baseline)", "baseline", "float"),
    Route("pipeline_batched", "the pipeline on the whole batch", "baseline", "float", user=True),
    Route("pipeline_uint8", "the pipeline on the uint8 images, whole batch", "baseline", "uint8", user=True),
    Route("pillow_loop", "Pillow, image by image", "baseline", "uint8", user=True),
    Route("dataloader", "DataLoader", "model", "float", family="DataLoader"),
    Route("fast_path", "fast path", "model", "float", family="fast path"),
    Route("fast_path_uint8", "fast path from uint8", "model", "uint8", family="fast path"),
    Route("compiled", "fast path, compiled", "model", "float", built=True, family="fast path, compiled"),
    Route("compiled_uint8", "fast path from uint8, compiled", "model", "uint8", built=True,
          family="fast path, compiled"),
    Route("fused_uint8", "fused C loop from uint8", "model", "uint8", built=True,
          family="fused C loop from uint8"),
    Route("end_to_end", "end to end from uint8 host memory", "transfer", "uint8",
          family="end to end from host memory"),
)
# fmt: on
ROUTE = {r.method: r for r in ROUTES}
FLOORS = tuple(r.method for r in ROUTES if r.kind == "floor")
USER_BASELINES = tuple(r.method for r in ROUTES if r.user)  # what a user would pick instead of a model
LEARNED_METHODS = tuple(r.method for r in ROUTES if r.kind == "model")  # a model on the device's own memory
UINT8_METHODS = tuple(m for m in LEARNED_METHODS if ROUTE[m].source == "uint8")  # read_uint8 is their floor
BUILT_METHODS = tuple(m for m in LEARNED_METHODS if ROUTE[m].built)
METHOD_LABELS = {r.method: r.label for r in ROUTES}
FLOOR_INPUTS = {"read_input": "float input", "read_uint8": "uint8 images"}  # what each read floor reads
ORACLES = ("exact",)  # models that are not learned: timed, but not counted as the best learned model
ARCHITECTURES = {
    "dense": "dense (the assignment's design)",
    "separable": "separable (the final model)",
    "exact": "exact (the pipeline's own operator, probed; not learned)",
}  # how tables name a model's architecture; others go by their registry name
UNTRAINED = " (untrained)"  # suffix of freshly built models (fresh_models)
COLUMNS = (
    "device", "method", "model", "batch_size", "num_workers", "pin_memory", "n_images", "repeats", "median_s", "q1_s",
    "q3_s", "images_per_s", "speedup_vs_loop", "speedup_vs_batched", "max_gray", "exact8_pct", "architecture",
    "n_timed",
)  # fmt: skip


def architecture(row: dict) -> str:
    """The registry name of a row's model ("-" for the pipeline rows); rows recorded before the column
    existed fall back to the model's name, less an "(untrained)" suffix."""
    arch = row.get("architecture")
    if isinstance(arch, str) and arch:
        return arch
    model = str(row.get("model", "-"))
    return "-" if model in ("-", "pipeline", "pillow") else model.removesuffix(UNTRAINED)


def model_label(row: dict, code: bool = True) -> str:
    """A row's model in words: its architecture, and the saved file's name where that differs
    (``dense_seed`` reads "dense (the assignment's design), `dense_seed`"; without ``code``, no backticks)."""
    arch = architecture(row)
    label = ARCHITECTURES.get(arch, arch)
    if row.get("model") in (arch, "-", "pipeline", "pillow"):
        return label
    return f"{label}, `{row['model']}`" if code else f"{label}, {row['model']}"


@dataclass
class BenchConfig:
    """What the benchmark sweeps; the defaults are the report's full configuration."""

    n_images: int = 10_000  # test images transformed per timed run
    repeats: int = 5  # timed runs per row timed in rounds (median and quartiles reported)
    dataloader_repeats: int = 3  # timed runs per DataLoader row (one after another)
    warmup: int = 1  # untimed runs first
    batch_sizes: list[int] = field(default_factory=lambda: [1, 16, 64, 256, 1024])  # DataLoader batch sizes
    small_batch: int = 1  # DataLoader batch sizes up to this one run on small_batch_images images ...
    small_batch_images: int = 1_000  # ... and their time is scaled to n_images
    num_workers: list[int] = field(default_factory=lambda: [0, 2])  # DataLoader worker processes
    pin_memory: list[bool] = field(default_factory=lambda: [False, True])  # DataLoader pinning (GPU rows only)
    chunk_sizes: list[int] = field(default_factory=lambda: [256, 1024, 10_000])  # fast-path slices
    devices: list[str] = field(default_factory=lambda: ["cpu", "cuda"])  # cuda rows only where available
    slow_s: float = 3.0  # a DataLoader configuration whose warm-up takes longer gets timing.SLOW_REPEATS runs
    compile: bool = True  # also time the fast path through torch.compile (left out where it fails)
    pipeline: str = (
        constants.TARGET
    )  # the pipeline the models reproduce (lib.core.spec); Pillow rows only for the target's

    def __post_init__(self) -> None:
        spec.parse(self.pipeline)  # a clear error for a bad pipeline before any work
        sizes = {"batch_sizes": self.batch_sizes, "chunk_sizes": self.chunk_sizes}
        runs = (self.n_images, self.repeats, self.dataloader_repeats, self.small_batch_images)
        if min(runs) < 1 or self.warmup < 0:
            raise ValueError(f"need n_images, repeats, dataloader_repeats, small_batch_images >= 1 and warmup >= 0; "
                             f"got {', '.join(map(str, runs))} and {self.warmup}")  # fmt: skip
        for name, values in sizes.items():
            if not values or min(values) < 1:
                raise ValueError(f"{name} must be a non-empty list of sizes >= 1, got {values}")
        if not self.num_workers or min(self.num_workers) < 0:
            raise ValueError(f"num_workers must be a non-empty list of counts >= 0, got {self.num_workers}")
        unknown = set(self.devices) - {"cpu", "cuda"}
        if not self.devices or unknown:
            raise ValueError(f"devices must be among 'cpu' and 'cuda', got {self.devices}")

    @property
    def transform(self) -> spec.Spec:
        return spec.parse(self.pipeline)

    @property
    def is_target(self) -> bool:
        """Whether the pipeline is the assignment's target pipeline (the Pillow baseline reproduces only that one)."""
        return self.transform.steps == _target_steps()

    def images_timed(self, batch_size: int) -> int:
        """Images one timed run of a DataLoader row of this batch size goes through."""
        return min(self.n_images, self.small_batch_images) if batch_size <= self.small_batch else self.n_images


def _target_steps() -> tuple:
    return spec.parse(constants.TARGET).steps


def load_images(data_dir: str | Path | None, n: int) -> tuple[torch.Tensor, str]:
    """``n`` uint8 test images (N, 3, 32, 32); uniform noise when no data set is found (timing does
    not depend on pixel values, and a GPU machine may have no copy of the data)."""
    if data_dir is not None and data.detect(paths.resolve(data_dir)) is not None:
        split = data.load_split(data_dir, "test")
        if len(split.images) < n:
            raise ValueError(f"asked for {n} images, the test split has {len(split.images)}")
        return split.images[:n], f"{split.source}: {paths.shown(data_dir)}"
    gen = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=gen), "synthetic uniform noise"


def load_models(models_dir: str | Path, names: list[str] | None = None) -> dict[str, torch.nn.Module]:
    """The saved models ``names`` (every ``*.pt`` when None) in ``models_dir``, by file stem, in eval mode
    and frozen: parameters that require gradients made the separable model's products 1.3-1.5x slower
    even under inference mode. Timing does not depend on the weights, so runs of one architecture with
    other weights need not be timed twice; :func:`model_label` says which architecture each file holds."""
    folder = Path(paths.resolve(models_dir))
    files = [folder / f"{n}.pt" for n in names] if names is not None else sorted(folder.glob("*.pt"))
    missing = [f.name for f in files if not f.is_file()]
    if not files or missing:
        raise FileNotFoundError(
            f"no saved models {missing or ''} in {paths.shown(folder)}; run notebooks/01_train.ipynb (make train) first"
        )
    return {f.stem: models.load(f).requires_grad_(False) for f in files}


def fresh_models(
    names: tuple[str, ...] = ("dense", "separable", "exact"), out_shape: tuple[int, int, int] = constants.OUT_SHAPE
) -> dict[str, torch.nn.Module]:
    """Newly built models of each architecture, labelled "(untrained)" where they are: timing does not
    depend on the weights, so a machine without trained files can still time every architecture. For
    another output shape than the target pipeline's, only dense and separable (the exact operator is the
    target pipeline's)."""
    target = out_shape == constants.OUT_SHAPE
    config = {} if target else {"out_shape": out_shape}
    kept = names if target else tuple(n for n in names if n not in ORACLES)
    nets = {name: models.build(name, **config).eval().requires_grad_(False) for name in kept}
    return {name if name in ORACLES else f"{name}{UNTRAINED}": net for name, net in nets.items()}


def _chunked(model, x: torch.Tensor, chunk: int) -> None:
    for _ in models.in_chunks(model, x, chunk):
        pass


def pillow_loop(hwc: np.ndarray) -> np.ndarray:
    """The pipeline's steps in Pillow, image by image, on (N, 32, 32, 3) uint8: (N, 28, 28) uint8."""
    out = np.empty((len(hwc), 28, 28), dtype=np.uint8)
    for i, img in enumerate(hwc):
        out[i] = np.asarray(Image.fromarray(img).resize((28, 28), Image.BILINEAR).convert("L").rotate(180))
    return out


def pipeline_uint8(x_u8: torch.Tensor, reference) -> torch.Tensor:
    """The v2 pipeline on uint8 images, then the float conversion that makes its output comparable."""
    return data.to_float(reference(x_u8))


def fidelity(
    x_u8: torch.Tensor, nets: dict[str, torch.nn.Module], cfg: BenchConfig | None = None, loops: dict | None = None
) -> dict:
    """{method, model or (method, model): largest error (gray levels) and exact-8-bit share (%)} against the
    float pipeline on the same images, for every baseline, every model (run on the CPU: a GPU's rounding
    may differ in the last float bits, far below a gray level) and every fused loop (``loops``)."""
    cfg = cfg or BenchConfig()
    x = data.to_float(x_u8)
    reference = pipeline.make_targets(x, transform=cfg.transform)
    outputs = {
        "pipeline_loop": pipeline.apply_loop(x, cfg.transform),
        "pipeline_batched": reference,
        "pipeline_uint8": pipeline_uint8(x_u8, cfg.transform),
        **{name: metrics.predict(net, x) for name, net in nets.items()},
        **{("fused_uint8", name): loop(x_u8) for name, loop in (loops or {}).items()},
    }
    if cfg.is_target:
        hwc = x_u8.permute(0, 2, 3, 1).contiguous().numpy()
        outputs["pillow_loop"] = torch.from_numpy(pillow_loop(hwc))[:, None] / constants.GRAY_LEVELS
    scores = {k: metrics.score(out, reference) for k, out in outputs.items()}
    return {k: {"max_gray": m["max_gray"], "exact8_pct": m["exact8_pct"]} for k, m in scores.items()}


def matmul_work(device: str, n: int = 2048) -> tuple[Callable[[], torch.Tensor], float]:
    """(work, its FLOPs): one single-precision n x n by n x n product, whose rate is the machine's
    matrix-multiply peak."""
    a, b = torch.rand(n, n, device=device), torch.rand(n, n, device=device)
    return lambda: a @ b, 2.0 * n**3


RECOMPILE_LIMIT = 64  # torch.compile specialisations of one forward (torch's default, 8, is too few here)


def _compile(net: torch.nn.Module, x: torch.Tensor, chunks: list[int], device: str):
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


def fused_loops(nets: dict[str, torch.nn.Module]) -> tuple[dict[str, fused.Fused], str | None]:
    """({name: the fused loop} for every model it handles, None) or ({}, why no loop could be built)."""
    try:
        fused.library()
    except fused.Unavailable as err:
        return {}, str(err)
    loops = {}
    for name, net in nets.items():
        try:
            loops[name] = fused.Fused(net.cpu())
        except fused.Unavailable:  # not a one-channel separable map: nothing to fuse
            continue
    return loops, None


def _jobs(cfg: BenchConfig, x_u8: torch.Tensor, nets: dict, device: str, compiled: dict, loops: dict):
    """(row fields, work) for every configuration on one device; work() runs it once. ``compiled``
    receives, per model and per model "from uint8", the seconds torch.compile took or why it failed;
    ``loops`` holds the fused loops (CPU rows)."""
    x_cpu = data.to_float(x_u8)
    x_dev, u8_dev = x_cpu.to(device), x_u8.to(device)
    reference = cfg.transform
    yield {"method": "read_input", "model": "-"}, lambda: x_dev.sum()
    yield {"method": "read_uint8", "model": "-"}, lambda: u8_dev.amax()  # a sum of uint8 runs 30x slower
    if device == "cpu":
        yield {"method": "pipeline_loop", "model": "pipeline"}, lambda: pipeline.apply_loop(x_cpu, reference)
    yield {"method": "pipeline_batched", "model": "pipeline"}, lambda: reference(x_dev)
    yield {"method": "pipeline_uint8", "model": "pipeline"}, lambda: pipeline_uint8(u8_dev, reference)
    if device == "cpu" and cfg.is_target:  # Pillow's steps are the target pipeline's
        hwc = x_u8.permute(0, 2, 3, 1).contiguous().numpy()  # as images come from disk: height, width, channel
        yield {"method": "pillow_loop", "model": "pillow"}, lambda: pillow_loop(hwc)
    for name, net in nets.items():
        net = net.to(device)
        net_u8 = models.FromUint8(net)
        pins = cfg.pin_memory if device == "cuda" else [False]
        for bs, workers, pin in itertools.product(cfg.batch_sizes, cfg.num_workers, pins):
            timed = cfg.images_timed(bs)  # small batches: the first images only, the time scaled by run()
            loader = DataLoader(
                TensorDataset(x_cpu[:timed]), batch_size=bs, num_workers=workers, pin_memory=pin,
                persistent_workers=workers > 0,
            )  # fmt: skip

            def run(net=net, loader=loader, pin=pin):
                for (xb,) in loader:
                    net(xb.to(device, non_blocking=pin))

            fields = {"method": "dataloader", "model": name, "batch_size": bs, "num_workers": workers,
                      "pin_memory": pin, "n_timed": timed}  # fmt: skip
            yield fields, run
        for chunk in cfg.chunk_sizes:
            yield (
                {"method": "fast_path", "model": name, "batch_size": chunk},
                lambda n=net, c=chunk: _chunked(n, x_dev, c),
            )
            yield (
                {"method": "fast_path_uint8", "model": name, "batch_size": chunk},
                lambda n=net_u8, c=chunk: _chunked(n, u8_dev, c),
            )
        routes = (("compiled", net, x_dev, name), ("compiled_uint8", net_u8, u8_dev, f"{name} from uint8"))
        for method, module, source, key in routes if cfg.compile else ():
            fast, compiled[key] = _compile(module, source, cfg.chunk_sizes, device)
            for chunk in cfg.chunk_sizes if fast is not None else []:
                yield (
                    {"method": method, "model": name, "batch_size": chunk},
                    lambda n=fast, c=chunk, x=source: _chunked(n, x, c),
                )
        for chunk in cfg.chunk_sizes if device == "cpu" and name in loops else []:
            yield (
                {"method": "fused_uint8", "model": name, "batch_size": chunk},
                lambda n=loops[name], c=chunk: _chunked(n, x_u8, c),
            )
        if device == "cuda":
            pinned = x_u8.pin_memory()
            for chunk in cfg.chunk_sizes:

                def end_to_end(net=net, chunk=chunk, pinned=pinned):
                    _chunked(net, data.to_float(pinned.to(device, non_blocking=True)), chunk)

                yield {"method": "end_to_end", "model": name, "batch_size": chunk, "pin_memory": True}, end_to_end


def run(
    cfg: BenchConfig,
    x_u8: torch.Tensor,
    nets: dict[str, torch.nn.Module],
    progress: bool = True,
    notes: dict | None = None,
) -> list[dict]:
    """Time every configuration; rows carry medians, quartiles, throughput, speedups and fidelity.

    Every time is for all ``len(x_u8)`` images (``n_images``); a row timed on fewer (``n_timed``: the
    DataLoader's smallest batches) has its times scaled by ``n_images / n_timed``.

    ``notes``, when given, receives what the summary's roofline needs, measured in the same run: each
    model's MFLOPs per image, each device's matrix-multiply peak (GFLOPS), per device and model the
    seconds ``torch.compile`` took or why it failed; and why no fused loop was built (None when one was)."""
    devices = [d for d in cfg.devices if d == "cpu" or (d == "cuda" and torch.cuda.is_available())]
    notes = {} if notes is None else notes
    notes.update(mflops_per_image={name: mflops(net.cpu()) for name, net in nets.items()}, matmul_peak_gflops={},
                 compile={})  # fmt: skip
    rows = []
    loops, notes["fused_unavailable"] = fused_loops(nets) if "cpu" in devices else ({}, None)
    with torch.inference_mode():
        scores = fidelity(x_u8, {name: net.cpu() for name, net in nets.items()}, cfg, loops)
        for device in devices:
            compiled = notes["compile"].setdefault(device, {})
            jobs = list(_jobs(cfg, x_u8, nets, device, compiled, loops))
            timings = _time_jobs(cfg, jobs, device, notes, progress)
            for (fields, _), t in zip(jobs, timings, strict=True):
                n, timed = len(x_u8), fields.get("n_timed", len(x_u8))
                q1, q3 = (q * n / timed for q in t.iqr)
                key = (fields["method"], fields["model"])
                score = scores.get(key) or scores.get(key[0]) or scores.get(key[1], {})
                net = nets.get(fields["model"])
                rows.append({
                    "device": device, "batch_size": n, "num_workers": 0, "pin_memory": False, **fields,
                    "architecture": getattr(net, "registry_name", fields["model"]) if net is not None else "-",
                    "n_images": n, "n_timed": timed, "repeats": len(t.times), "median_s": t.median * n / timed,
                    "q1_s": q1, "q3_s": q3, "images_per_s": timed / t.median, **score,
                })  # fmt: skip
    _add_speedups(rows)
    return rows


def _time_jobs(cfg: BenchConfig, jobs: list, device: str, notes: dict, progress: bool) -> list:
    """A Timing per job, in job order: DataLoader rows one after another (each holds worker processes;
    ``cfg.dataloader_repeats`` runs, fewer for a configuration whose warm-up exceeds ``cfg.slow_s``), every
    other row and the matrix-multiply peak in rounds, whose median rate goes to
    ``notes["matmul_peak_gflops"]``. The loaders, and their worker processes, live as long as ``jobs``: none
    is shut down while another row is timed."""
    peak, flops = matmul_work(device)
    loaders = [i for i, (fields, _) in enumerate(jobs) if fields["method"] == "dataloader"]
    shown = tqdm(loaders, desc=f"DataLoader rows on {device}", unit="row", disable=not progress)
    timings = {i: measure(jobs[i][1], cfg.dataloader_repeats, cfg.warmup, device, slow_s=cfg.slow_s) for i in shown}
    rest = {i: work for i, (_, work) in enumerate(jobs) if i not in timings}
    desc = f"benchmark on {device}: {len(rest)} rows in rounds" if progress else None
    timings |= measure_interleaved({**rest, "peak": peak}, cfg.repeats, cfg.warmup, device, desc=desc)
    notes["matmul_peak_gflops"][device] = flops / timings.pop("peak").median / 1e9
    return [timings[i] for i in range(len(jobs))]


def _median_of(rows: list[dict], device: str, method: str) -> float | None:
    found = [r["median_s"] for r in rows if r["device"] == device and r["method"] == method]
    return min(found) if found else None


def _add_speedups(rows: list[dict]) -> None:
    loop = _median_of(rows, "cpu", "pipeline_loop")
    for r in rows:
        batched = _median_of(rows, r["device"], "pipeline_batched")
        r["speedup_vs_loop"] = loop / r["median_s"] if loop else None
        r["speedup_vs_batched"] = batched / r["median_s"] if batched else None


def _fastest(rows) -> dict | None:
    return min(rows, key=lambda r: r["median_s"], default=None)


def summarize(rows: list[dict], env: dict, source: str, cfg: BenchConfig, notes: dict | None = None) -> dict:
    """For each device: the best row of each method; the best learned model against the batched pipeline
    and against the fastest route a user would take instead; and, with ``notes`` from :func:`run`, the
    roofline: compute floor = the best model's FLOPs at the measured matrix-multiply peak, and
    ``times_roofline`` = its time / max(read floor, compute floor), the read floor being that of the
    route's input (``read_uint8`` for a route from uint8 images, else ``read_input``)."""
    notes = notes or {}
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
        floor_method = "read_uint8" if top and top["method"] in UINT8_METHODS and "read_uint8" in best else "read_input"
        floor = best[floor_method]["median_s"]
        peak = notes.get("matmul_peak_gflops", {}).get(device)
        mflops_top = top and notes.get("mflops_per_image", {}).get(top["model"])
        compute_floor = mflops_top * 1e6 * top["n_images"] / (peak * 1e9) if mflops_top and peak else None
        roofline = max(floor, compute_floor) if compute_floor is not None else None
        out["devices"][device] = {
            "best_by_method": best,
            "best_model": top,
            "best_eager": _fastest(r for r in learned if r["method"] not in BUILT_METHODS),
            "best_dataloader": _fastest(r for r in learned if r["method"] == "dataloader"),
            "oracle": _fastest(r for r in model_rows if r["model"] in ORACLES),
            "user_best": user_best,
            "speedup_vs_loop": top and top["speedup_vs_loop"],
            "speedup_vs_batched": top and top["speedup_vs_batched"],
            "speedup_vs_user_best": top and user_best and user_best["median_s"] / top["median_s"],
            "times_floor": top and top["median_s"] / floor,
            "floor_s": floor,
            "floor_method": floor_method,
            "matmul_peak_gflops": peak,
            "mflops_per_image": mflops_top,
            "compute_floor_s": compute_floor,
            "roofline_s": roofline,
            "times_roofline": top and roofline and top["median_s"] / roofline,
            "compile": notes.get("compile", {}).get(device, {}),
            "fused_unavailable": notes.get("fused_unavailable") if device == "cpu" else None,
            "end_to_end_s": best["end_to_end"]["median_s"] if "end_to_end" in best else None,
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
            "batch": int(r["batch_size"]) if route.kind in ("model", "transfer") else None,
            "workers": int(_number(r.get("num_workers"), 0)) if r["method"] == "dataloader" else None,
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
    mine = [r for r in rows if r["device"] == device and r["method"] in LEARNED_METHODS and r["method"] != "dataloader"]
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


def main(argv: list[str] | None = None) -> None:
    default = BenchConfig()
    p = argparse.ArgumentParser(prog="python -m lib.experiments.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(paths.RESULTS), help="folder for benchmark.csv and benchmark_summary.json")
    p.add_argument("--data-dir", default=str(paths.DATA), help="CIFAR-10 folder (noise images when absent)")
    p.add_argument("--models-dir", default=str(paths.MODELS), help="folder of saved models (*.pt)")
    p.add_argument("--models", nargs="+", default=None, help="saved models to time, by file stem (default: all)")
    p.add_argument("--n-images", type=int, default=default.n_images)
    p.add_argument("--repeats", type=int, default=default.repeats, help="timed runs per row timed in rounds")
    p.add_argument("--dataloader-repeats", type=int, default=default.dataloader_repeats,
                   help="timed runs per DataLoader row")  # fmt: skip
    p.add_argument("--small-batch-images", type=int, default=default.small_batch_images,
                   help="images the DataLoader rows of the smallest batch size run on (times scaled)")  # fmt: skip
    p.add_argument("--batch-sizes", type=int, nargs="+", default=default.batch_sizes)
    p.add_argument("--num-workers", type=int, nargs="+", default=default.num_workers)
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
                      pipeline=a.pipeline)  # fmt: skip
    x_u8, source = load_images(a.data_dir, cfg.n_images)
    saved = a.models is not None or any(Path(paths.resolve(a.models_dir)).glob("*.pt"))
    nets = load_models(a.models_dir, a.models) if saved else fresh_models(out_shape=cfg.transform.out_shape)
    print(f"{len(x_u8):,} images from {source}; models: {', '.join(nets)}", flush=True)
    notes = {}
    rows = run(cfg, x_u8, nets, notes=notes)
    csv_path, json_path = write(rows, summarize(rows, results.environment(), source, cfg, notes), a.out)
    print(f"wrote {csv_path} and {json_path}")


if __name__ == "__main__":
    main()
