"""Inference benchmark: the pipeline against the learned models, on CPU and, when present, GPU.

Runs without Jupyter: ``python -m lib.bench --out DIR`` writes ``benchmark.csv`` and
``benchmark_summary.json`` there. Methods timed on the same in-memory images:

- ``read_input``: one pass reading the float input (a sum): the floor no transform can beat.
- ``pipeline_loop``: the v2 pipeline image by image in a Python loop (CPU): the original baseline.
- ``pipeline_batched``: the same pipeline on the whole (N, 3, 32, 32) tensor at once.
- ``dataloader``: each model through ``DataLoader(TensorDataset(x))``, over batch size, workers and
  pin_memory (pinning only matters when copying to a GPU, so CPU rows use pin_memory=False).
- ``fast_path``: each model on slices of a tensor already on the device, over chunk size.
- ``end_to_end`` (GPU): uint8 images in pinned host memory, copied, converted and transformed on the GPU.
"""

import argparse
import csv
import itertools
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

from lib import data, models, paths, pipeline, results
from lib.progress import bar as tqdm
from lib.timing import measure

MODEL_METHODS = ("dataloader", "fast_path", "end_to_end")
ORACLES = ("exact",)  # models that are not learned: timed, but not counted as the best learned model
COLUMNS = (
    "device", "method", "model", "batch_size", "num_workers", "pin_memory", "n_images",
    "repeats", "median_s", "q1_s", "q3_s", "images_per_s", "speedup_vs_loop", "speedup_vs_batched",
)  # fmt: skip


@dataclass
class BenchConfig:
    """What the benchmark sweeps; the defaults are the report's full configuration."""

    n_images: int = 10_000  # test images transformed per timed run
    repeats: int = 5  # timed runs per row (median and quartiles reported)
    warmup: int = 1  # untimed runs first
    batch_sizes: list[int] = field(default_factory=lambda: [1, 16, 64, 256, 1024])  # DataLoader batch sizes
    num_workers: list[int] = field(default_factory=lambda: [0, 2])  # DataLoader worker processes
    pin_memory: list[bool] = field(default_factory=lambda: [False, True])  # DataLoader pinning (GPU rows only)
    chunk_sizes: list[int] = field(default_factory=lambda: [256, 1024, 4096, 10_000])  # fast-path slices
    devices: list[str] = field(default_factory=lambda: ["cpu", "cuda"])  # cuda rows only where available
    slow_s: float = 3.0  # a DataLoader configuration whose warm-up takes longer gets 3 timed runs

    def __post_init__(self) -> None:
        sizes = {"batch_sizes": self.batch_sizes, "chunk_sizes": self.chunk_sizes}
        if self.n_images < 1 or self.repeats < 1 or self.warmup < 0:
            raise ValueError(f"need n_images >= 1, repeats >= 1, warmup >= 0; got {self.n_images}, {self.repeats}, "
                             f"{self.warmup}")  # fmt: skip
        for name, values in sizes.items():
            if not values or min(values) < 1:
                raise ValueError(f"{name} must be a non-empty list of sizes >= 1, got {values}")
        if not self.num_workers or min(self.num_workers) < 0:
            raise ValueError(f"num_workers must be a non-empty list of counts >= 0, got {self.num_workers}")
        unknown = set(self.devices) - {"cpu", "cuda"}
        if not self.devices or unknown:
            raise ValueError(f"devices must be among 'cpu' and 'cuda', got {self.devices}")


def load_images(data_dir: str | Path | None, n: int) -> tuple[torch.Tensor, str]:
    """``n`` uint8 test images (N, 3, 32, 32); uniform noise when no data set is found (timing does
    not depend on pixel values, and a GPU machine may have no copy of the data)."""
    if data_dir is not None and data.detect(paths.resolve(data_dir)) is not None:
        split = data.load_split(data_dir, "test")
        if len(split.images) < n:
            raise ValueError(f"asked for {n} images, the test split has {len(split.images)}")
        return split.images[:n], f"{split.source}: {paths.resolve(data_dir)}"
    gen = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=gen), "synthetic uniform noise"


def load_models(models_dir: str | Path, names: list[str] | None = None) -> dict[str, torch.nn.Module]:
    """The saved models ``names`` (every ``*.pt`` when None) in ``models_dir``, by file stem, in eval mode
    and frozen: parameters that require gradients made the separable model's products 1.3-1.5x slower
    even under inference mode. Timing does not depend on the weights, so runs of one architecture with
    other weights (``dense_seed`` beside ``dense``) need not be timed twice."""
    folder = Path(paths.resolve(models_dir))
    files = [folder / f"{n}.pt" for n in names] if names is not None else sorted(folder.glob("*.pt"))
    missing = [f.name for f in files if not f.is_file()]
    if not files or missing:
        raise FileNotFoundError(
            f"no saved models {missing or ''} in {folder}; run notebooks/01_train.ipynb (make train) first"
        )
    return {f.stem: models.load(f).requires_grad_(False) for f in files}


def _chunked(model, x: torch.Tensor, chunk: int) -> None:
    for _ in models.in_chunks(model, x, chunk):
        pass


def _jobs(cfg: BenchConfig, x_u8: torch.Tensor, nets: dict, device: str):
    """(row fields, work) for every configuration on one device; work() runs it once."""
    x_cpu = data.to_float(x_u8)
    x_dev = x_cpu.to(device)
    reference = pipeline.make_pipeline()
    yield {"method": "read_input", "model": "-"}, lambda: x_dev.sum()
    if device == "cpu":
        yield {"method": "pipeline_loop", "model": "pipeline"}, lambda: pipeline.apply_loop(x_cpu, reference)
    yield {"method": "pipeline_batched", "model": "pipeline"}, lambda: reference(x_dev)
    for name, net in nets.items():
        net = net.to(device)
        pins = cfg.pin_memory if device == "cuda" else [False]
        for bs, workers, pin in itertools.product(cfg.batch_sizes, cfg.num_workers, pins):
            loader = DataLoader(
                TensorDataset(x_cpu), batch_size=bs, num_workers=workers, pin_memory=pin,
                persistent_workers=workers > 0,
            )  # fmt: skip

            def run(net=net, loader=loader, pin=pin):
                for (xb,) in loader:
                    net(xb.to(device, non_blocking=pin))

            yield (
                {"method": "dataloader", "model": name, "batch_size": bs, "num_workers": workers, "pin_memory": pin},
                run,
            )
        for chunk in cfg.chunk_sizes:
            yield (
                {"method": "fast_path", "model": name, "batch_size": chunk},
                lambda n=net, c=chunk: _chunked(n, x_dev, c),
            )
        if device == "cuda":
            pinned = x_u8.pin_memory()
            for chunk in cfg.chunk_sizes:

                def end_to_end(net=net, chunk=chunk, pinned=pinned):
                    _chunked(net, data.to_float(pinned.to(device, non_blocking=True)), chunk)

                yield {"method": "end_to_end", "model": name, "batch_size": chunk, "pin_memory": True}, end_to_end


def run(cfg: BenchConfig, x_u8: torch.Tensor, nets: dict[str, torch.nn.Module], progress: bool = True) -> list[dict]:
    """Time every configuration; rows carry medians, quartiles, throughput and speedups."""
    devices = [d for d in cfg.devices if d == "cpu" or (d == "cuda" and torch.cuda.is_available())]
    rows = []
    with torch.inference_mode():
        for device in devices:
            jobs = list(_jobs(cfg, x_u8, nets, device))
            for fields, work in tqdm(jobs, desc=f"benchmark on {device}", unit="row", disable=not progress):
                slow_s = cfg.slow_s if fields["method"] == "dataloader" else None  # baselines: always all repeats
                t = measure(work, repeats=cfg.repeats, warmup=cfg.warmup, device=device, slow_s=slow_s)
                q1, q3 = t.iqr
                rows.append({
                    "device": device, "batch_size": len(x_u8), "num_workers": 0, "pin_memory": False,
                    **fields, "n_images": len(x_u8), "repeats": len(t.times), "median_s": t.median,
                    "q1_s": q1, "q3_s": q3, "images_per_s": len(x_u8) / t.median,
                })  # fmt: skip
    _add_speedups(rows)
    return rows


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


def summarize(rows: list[dict], env: dict, source: str, cfg: BenchConfig) -> dict:
    """For each device: the best row of each method, and the best learned model against both baselines."""
    out = {"environment": env, "data_source": source, "config": asdict(cfg), "devices": {}}
    for device in dict.fromkeys(r["device"] for r in rows):
        mine = [r for r in rows if r["device"] == device]
        best = {m: min((r for r in mine if r["method"] == m), key=lambda r: r["median_s"])
                for m in dict.fromkeys(r["method"] for r in mine)}  # fmt: skip
        # the best *learned* model: the exact operator is the oracle, not something the network learned
        model_rows = [r for r in mine if r["method"] in ("dataloader", "fast_path")]
        learned = [r for r in model_rows if r["model"] not in ORACLES]
        top = _fastest(learned)
        floor = best["read_input"]["median_s"]
        out["devices"][device] = {
            "best_by_method": best,
            "best_model": top,
            "best_dataloader": _fastest(
                r for r in model_rows if r["method"] == "dataloader" and r["model"] not in ORACLES
            ),
            "oracle": _fastest(r for r in model_rows if r["model"] in ORACLES),
            "speedup_vs_loop": top and top["speedup_vs_loop"],
            "speedup_vs_batched": top and top["speedup_vs_batched"],
            "times_floor": top and top["median_s"] / floor,
            "floor_s": floor,
            "end_to_end_s": best["end_to_end"]["median_s"] if "end_to_end" in best else None,
        }
    return out


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
    p = argparse.ArgumentParser(prog="python -m lib.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(paths.RESULTS), help="folder for benchmark.csv and benchmark_summary.json")
    p.add_argument("--data-dir", default=str(paths.DATA), help="CIFAR-10 folder (noise images when absent)")
    p.add_argument("--models-dir", default=str(paths.MODELS), help="folder of saved models (*.pt)")
    p.add_argument("--models", nargs="+", default=None, help="saved models to time, by file stem (default: all)")
    p.add_argument("--n-images", type=int, default=default.n_images)
    p.add_argument("--repeats", type=int, default=default.repeats)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=default.batch_sizes)
    p.add_argument("--num-workers", type=int, nargs="+", default=default.num_workers)
    p.add_argument("--chunk-sizes", type=int, nargs="+", default=default.chunk_sizes)
    p.add_argument("--devices", nargs="+", default=default.devices, choices=["cpu", "cuda"])
    a = p.parse_args(argv)
    cfg = BenchConfig(a.n_images, a.repeats, default.warmup, a.batch_sizes, a.num_workers, default.pin_memory,
                      a.chunk_sizes, a.devices)  # fmt: skip
    x_u8, source = load_images(a.data_dir, cfg.n_images)
    rows = run(cfg, x_u8, load_models(a.models_dir, a.models))
    csv_path, json_path = write(rows, summarize(rows, results.environment(), source, cfg), a.out)
    print(f"wrote {csv_path} and {json_path}")


if __name__ == "__main__":
    main()
