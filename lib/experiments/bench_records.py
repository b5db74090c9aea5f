"""The benchmark's results as types, written and read by one pair of functions: a row of ``benchmark.csv`` is a
:class:`BenchRow`, ``benchmark_summary.json`` a :class:`BenchSummary` (per device a :class:`DeviceSummary`), and
:func:`write` and :func:`read` turn them into those files and back, as ``lib.report.records.TrainRecord`` does for a
training run. Readers take fields, not string keys.

Files recorded by earlier runs (``results/gpu/``) are read as they are: a column or key they lack takes its default;
a summary keeps the keys it held that no field holds (names since changed) and leaves out again, when written, the
fields it lacked, so that a file read and written back is the file it was.
"""

import csv
import json
import types
import typing
from collections.abc import Iterable
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from pathlib import Path

from lib import paths, results
from lib.experiments.bench_config import BenchConfig


@dataclass(kw_only=True)
class BenchRow:
    """One configuration timed: a row of ``benchmark.csv``, whose columns are these fields in this order."""

    device: str  # "cpu" or "cuda"
    method: str  # the route (lib.experiments.routes.ROUTES)
    model: str  # the model's name; for a route without one, what runs ("-", "pipeline", "pillow", "opencv")
    batch_size: int = 0  # the DataLoader's batch or the fast path's slice; all the images for the other routes
    num_workers: int = 0  # DataLoader worker processes (0 for the other routes)
    pin_memory: bool = False  # copies from pinned host memory (GPU DataLoader and end-to-end rows)
    n_images: int = 0  # images a time is for
    repeats: int = 0  # timed runs
    median_s: float  # seconds for all n_images, the median of the timed runs
    q1_s: float | None = None  # their first and third quartiles
    q3_s: float | None = None
    images_per_s: float | None = None
    speedup_vs_loop: float | None = None  # over the pipeline image by image on the CPU (None: that was not timed)
    speedup_vs_batched: float | None = None  # over the pipeline on the whole batch on this device (None: not timed)
    max_gray: float | None = None  # largest error against the float pipeline, gray levels (None: makes no images)
    exact8_pct: float | None = None  # pixels on the pipeline's 8-bit value, % (None: makes no images)
    architecture: str | None = None  # the model's registry name, "-" without one (None: recorded before the column)
    n_timed: int | None = None  # images a timed run went through, fewer where scaled (None: recorded before it)

    @property
    def timed(self) -> int:
        """Images a timed run went through (all of them in rows recorded before ``n_timed``)."""
        return self.n_images if self.n_timed is None else self.n_timed

    @classmethod
    def from_dict(cls, data: dict) -> "BenchRow":
        """A row from a line of ``benchmark.csv`` (its cells as text; an empty one is a missing value) or from the
        summary; a column it lacks takes its default, one no field holds is dropped."""
        kinds = {f.name: f.type for f in fields(cls)}
        return cls(**{k: _parse(kinds[k], v) for k, v in data.items() if k in kinds and v != ""})

    def to_dict(self) -> dict:
        """The row as the summary holds it: every column but the fidelity of a route that makes no images."""
        return {c: getattr(self, c) for c in COLUMNS if not (c in FIDELITY and getattr(self, c) is None)}


COLUMNS = tuple(f.name for f in fields(BenchRow))  # benchmark.csv's header
FIDELITY = ("max_gray", "exact8_pct")  # the columns a read or write floor has no value in


def fastest(rows: Iterable[BenchRow]) -> BenchRow | None:
    """The row of least median time (the first of equals), or None for no rows."""
    return min(rows, key=lambda r: r.median_s, default=None)


@dataclass(kw_only=True)
class Environment:
    """Where and with what a run was measured (``lib.results.environment``); None where not recorded."""

    date: str | None = None  # UTC, ISO 8601
    cpu: str | None = None  # the CPU's model name
    cpu_vector: str | None = None  # its widest vector instructions: "AVX-512", "AVX2" or "other"
    cpu_count: int | None = None
    torch_threads: int | None = None
    gpu: str | None = None  # the GPU's name (None: no GPU)
    torch_version: str | None = None
    torchvision_version: str | None = None
    python: str | None = None

    @classmethod
    def from_dict(cls, data: dict) -> "Environment":
        return _record(cls, data)


ROWS = ("best_model", "best_eager", "best_dataloader", "oracle", "user_best")  # DeviceSummary's fields that are rows


@dataclass(kw_only=True)
class DeviceSummary:
    """What the benchmark found on one device (see ``lib.experiments.bench_tables.summarize``); None where a run
    did not time what a field needs, or was recorded before the field existed."""

    best_by_method: dict[str, BenchRow]  # {method: its fastest row}
    best_model: BenchRow | None = None  # the fastest learned model (the oracle is not learned)
    best_eager: BenchRow | None = None  # ... without compiled code
    best_dataloader: BenchRow | None = None  # ... through a DataLoader
    oracle: BenchRow | None = None  # the fastest row of the exact operator
    user_best: BenchRow | None = None  # the fastest route a user would take instead of a model
    speedup_vs_loop: float | None = None  # the best model's speedups, as its row's
    speedup_vs_batched: float | None = None
    speedup_vs_user_best: float | None = None
    times_floor: float | None = None  # the best model's time over the memory floor
    floor_s: float  # the memory floor: its input read once, plus the output written once where timed
    floor_method: str = "read_input"  # the read floor of the best model's input
    read_floor_s: float | None = None
    write_floor_s: float | None = None  # writing the float32 output once (None: not timed)
    matmul_peak_gflops: float | None = None  # the measured matrix-multiply peak
    mflops_per_image: float | None = None  # the best model's
    compute_floor_s: float | None = None  # its FLOPs at that peak
    roofline_s: float | None = None  # max(memory floor, compute floor)
    times_roofline: float | None = None  # the best model's time over the roofline
    # {model, or "<model> from uint8": the seconds torch.compile took, or why it failed}
    compile: dict[str, float | str] = field(default_factory=dict)
    engine_unavailable: str | None = None  # (CPU) why the engine could not compile its loop
    engine_build: str | None = None  # (CPU) what the engine's loop was built for
    end_to_end_s: float | None = None  # (GPU) the fastest end-to-end row from uint8 host memory

    @classmethod
    def from_dict(cls, data: dict) -> "DeviceSummary":
        rows = {k: None if data[k] is None else BenchRow.from_dict(data[k]) for k in ROWS if k in data}
        best = {m: BenchRow.from_dict(r) for m, r in data.get("best_by_method", {}).items()}
        return _record(cls, data, best_by_method=best, **rows)


@dataclass(kw_only=True)
class BenchSummary:
    """A benchmark run's summary, ``benchmark_summary.json``."""

    environment: Environment
    data_source: str  # where the images came from
    config: BenchConfig  # what was swept
    devices: dict[str, DeviceSummary]  # {device: what was found there}, in the order timed

    @classmethod
    def from_dict(cls, data: dict) -> "BenchSummary":
        env = Environment.from_dict(data.get("environment", {}))
        devices = {d: DeviceSummary.from_dict(s) for d, s in data.get("devices", {}).items()}
        return _record(cls, data, environment=env, config=_record(BenchConfig, data.get("config", {})), devices=devices)

    def to_dict(self) -> dict:
        return _plain(self)


def _parse(kind, value):
    """A value read from a file as its field's type ``kind``: CSV text parsed ("True" a bool, "256" an int), a
    non-finite float that JSON holds as text ("nan") a float; anything else as it is."""
    if isinstance(kind, types.UnionType):  # X | None
        kind = next(k for k in typing.get_args(kind) if k is not type(None))
    if not isinstance(value, str) or kind not in (bool, int, float):
        return value
    return value == "True" if kind is bool else kind(value)


def _record(cls, data: dict, **typed):
    """The dataclass ``cls`` from the JSON object ``data`` (``typed``: fields already converted), noting the keys of
    ``data`` no field holds and the fields ``data`` lacks, for :func:`_plain` to write ``data`` back as it was."""
    kinds = {f.name: f.type for f in fields(cls)}
    lacking = {f.name for f in fields(cls) if f.default is f.default_factory is MISSING} - data.keys() - typed.keys()
    if lacking:
        raise ValueError(f"not a benchmark {cls.__name__}: it lacks {', '.join(sorted(lacking))}")
    found = cls(**{k: _parse(kinds[k], v) for k, v in data.items() if k in kinds and k not in typed}, **typed)
    found._extra = {k: v for k, v in data.items() if k not in kinds}  # an earlier run's names, kept
    found._absent = kinds.keys() - data.keys()  # fields an earlier run did not record: left out again
    return found


def _plain(value):
    """A summary's value as JSON holds it: a row by :meth:`BenchRow.to_dict`; a record by its fields, less those the
    file it was read from lacked, and with the keys no field holds; dicts and lists item by item."""
    if isinstance(value, BenchRow):
        return value.to_dict()
    if is_dataclass(value):
        absent = getattr(value, "_absent", set())
        kept = {f.name: _plain(getattr(value, f.name)) for f in fields(value) if f.name not in absent}
        return kept | getattr(value, "_extra", {})
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def write(rows: list[BenchRow], summary: BenchSummary, out_dir: str | Path) -> tuple[Path, Path]:
    """``benchmark.csv`` (one line per configuration) and ``benchmark_summary.json`` under ``out_dir``."""
    csv_path = paths.results_file(out_dir, "benchmark")
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({c: getattr(r, c) for c in COLUMNS} for r in rows)
    return csv_path, results.write_json(paths.results_file(out_dir, "benchmark_summary"), summary.to_dict())


def read(folder: str | Path) -> tuple[list[BenchRow], BenchSummary]:
    """The rows and the summary that :func:`write` put under ``folder``; a missing file is an error naming it."""
    csv_path, json_path = (paths.results_file(folder, name) for name in ("benchmark", "benchmark_summary"))
    missing = [p.name for p in (csv_path, json_path) if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"no {' or '.join(missing)} under {paths.shown(folder)}: run notebooks/03_benchmark.ipynb or "
            "python -m lib.experiments.bench"
        )
    with csv_path.open(newline="") as f:
        rows = [BenchRow.from_dict(line) for line in csv.DictReader(f)]
    return rows, BenchSummary.from_dict(json.loads(json_path.read_text()))
