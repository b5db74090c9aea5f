"""The benchmark's routes, declared once: every way ``03_benchmark`` produces the pipeline's output.

A route is one frozen :class:`Route` in :data:`ROUTES`, with everything any reader needs to know about it: its
identifier in ``benchmark.csv``, its label in words, whether it is a read floor, a route a user would take
instead of a model, a learned model or the GPU's end-to-end transfer, what it starts from (float or uint8
images), whether it compiles code first, and how the time figure draws it. The timing code, the summary, the
tables, the figures, the prose and the front page filter or look up this tuple; none keeps its own list of
identifiers, so a new route is one line here.

A route that runs the pipeline without a model also holds its work (``run``, on :class:`Inputs`): the benchmark
(``03``) and the scaling study (``05``) both time :func:`pipeline_works`, so each route's code is written once.

Nothing here imports torch at import time: the works import what they need when they run, and the model facts
(``ARCHITECTURES``, ``ORACLES``) are read off the model classes when first asked for.
"""

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lib.experiments.bench_records import BenchRow


@dataclass(frozen=True)
class Inputs:
    """What a route without a model runs on: the pipeline, and its images in every form a route starts from."""

    pipeline: Callable  # the pipeline, on float images in [0, 1] or on uint8 images (a Spec, a v2.Compose)
    x: object  # float images (N, C, H, W) in [0, 1], on the device
    x_u8: object  # the same images as uint8, on the device
    pixels: object  # the uint8 images as Pillow and OpenCV hold them, (N, H, W, C) numpy, on the CPU
    size: tuple[int, int]  # the output's height and width


def _loop(inp: Inputs):
    import torch

    return torch.stack([inp.pipeline(img) for img in inp.x])


def _uint8(inp: Inputs):
    from lib.core.data import to_float

    return to_float(inp.pipeline(inp.x_u8))


def _pillow(inp: Inputs):
    from lib.experiments.library_routes import pillow_loop

    return pillow_loop(inp.pixels, inp.size)


def _opencv(interpolation: str) -> Callable[[Inputs], object]:
    def run(inp: Inputs):
        from lib.experiments.library_routes import opencv_loop

        return opencv_loop(inp.pixels, inp.size, interpolation)

    return run


@dataclass(frozen=True)
class Route:
    """One way of producing the pipeline's output, as the benchmark times it."""

    method: str  # identifier in benchmark.csv
    label: str  # in words, for tables, figures and prose
    # "floor" (reads the input or writes the output once), "baseline" (the pipeline, no model), "model",
    # "transfer" (GPU)
    kind: str
    source: str  # what it starts from: "float" or "uint8" images ("-" for the write floor)
    short: str  # in few words, for the tables of reports/SUMMARY.md
    user: bool = False  # a route a user would take instead of a model (compared with the best model)
    built: bool = False  # compiles code first (torch.compile, the engine's C loop); the rest is eager
    loader: bool = False  # goes through a DataLoader: holds worker processes, so it is timed on its own
    reads: str = ""  # a read floor: what it reads, in words ("Reading its {reads} once ...")
    family: str = ""  # the line it belongs to in the time figure (the best of a family at each size) ...
    colour: str = ""  # ... drawn in this colour ...
    marker: str = ""  # ... with this marker (filled for a route from uint8 images, open from float)
    line: str = ""  # a baseline drawn as a horizontal line in the time figure: its line style
    run: Callable[[Inputs], object] | None = None  # a route without a model: its work, on Inputs
    cpu_only: bool = False  # runs on the CPU only (a CPU library)
    per_image: bool = False  # a Python loop over the images: on a GPU it runs on a subset (BenchConfig.gpu_loop_images)
    own_steps: bool = False  # re-implements the target's steps (Pillow, OpenCV): for that pipeline family only
    needs: str = ""  # a module it needs, whose absence leaves the route out ("cv2")
    model: str = "pipeline"  # a route without a model: what runs, in benchmark.csv's model column

    @property
    def learned(self) -> bool:
        """Whether a model runs on the device's own memory (a candidate for the best learned model)."""
        return self.kind == "model"

    @property
    def batched(self) -> bool:
        """Whether the route runs in batches or slices whose size ``benchmark.csv``'s ``batch_size`` gives (for
        the pipelines and floors, that column holds all the images)."""
        return self.kind in ("model", "transfer")


# fmt: off
ROUTES = (
    Route("read_input", "reading the float input once", "floor", "float",
          "reading the input once (the floor)", reads="float input"),
    Route("read_uint8", "reading the uint8 images once", "floor", "uint8",
          "reading the uint8 images once (the floor from uint8)", reads="uint8 images"),
    Route("write_output", "writing the float32 output once", "floor", "-",
          "writing the float32 output once (the write floor)"),
    Route("pipeline_loop", "the pipeline image by image (the assignment's baseline)", "baseline", "float",
          "pipeline, image by image (the baseline)", line=":", run=_loop, per_image=True),
    Route("pipeline_batched", "the pipeline on the whole batch", "baseline", "float",
          "pipeline, whole batch", user=True, line="-.", run=lambda inp: inp.pipeline(inp.x)),
    Route("pipeline_uint8", "the pipeline on the uint8 images, whole batch", "baseline", "uint8",
          "pipeline on uint8, whole batch", user=True, run=_uint8),
    Route("pillow_loop", "Pillow, image by image", "baseline", "uint8",
          "Pillow, image by image", user=True, run=_pillow, cpu_only=True, per_image=True, own_steps=True,
          model="pillow"),
    # OpenCV's resize is not the pipeline's (INTER_LINEAR does not antialias; INTER_AREA averages boxes): timed as
    # what users pick for speed, its error in its row, never the faithful route a speedup is measured against
    Route("opencv_area", "OpenCV area resize, image by image (not the pipeline)", "baseline", "uint8",
          "OpenCV resize (area) + cvtColor + flip, per image (not the pipeline)", run=_opencv("INTER_AREA"),
          cpu_only=True, per_image=True, own_steps=True, needs="cv2", model="opencv"),
    Route("opencv_linear", "OpenCV bilinear resize, image by image (not the pipeline)", "baseline", "uint8",
          "OpenCV resize (bilinear) + cvtColor + flip, per image (not the pipeline)", run=_opencv("INTER_LINEAR"),
          cpu_only=True, per_image=True, own_steps=True, needs="cv2", model="opencv"),
    Route("dataloader", "DataLoader", "model", "float",
          "DataLoader", loader=True, family="DataLoader", colour="C0", marker="s"),
    Route("fast_path", "fast path", "model", "float",
          "fast path (in-memory slices)", family="fast path", colour="C1", marker="o"),
    Route("fast_path_uint8", "fast path from uint8", "model", "uint8",
          "fast path from uint8", family="fast path", colour="C1", marker="o"),
    Route("compiled", "fast path, compiled", "model", "float",
          "fast path, torch.compile", built=True, family="fast path, compiled", colour="C2", marker="D"),
    Route("compiled_uint8", "fast path from uint8, compiled", "model", "uint8",
          "fast path from uint8, torch.compile", built=True, family="fast path, compiled", colour="C2", marker="D"),
    Route("transform_uint8", "learned transform from uint8 (the engine)", "model", "uint8",
          "LearnedTransform from uint8 (lib.core.engine)", built=True, family="the learned transform", colour="C3",
          marker="*"),
    Route("end_to_end", "end to end from uint8 host memory", "transfer", "uint8",
          "end to end from uint8", family="end to end from host memory", colour="C4", marker="P"),
)
# fmt: on
ROUTE = {r.method: r for r in ROUTES}  # by identifier


def pipeline_works(inp: Inputs, device: str = "cpu", target_steps: bool = True) -> dict[str, Callable[[], object]]:
    """{route: its work on ``inp``} for every route of :data:`ROUTES` that runs the pipeline without a model and
    applies here: on ``device``, for a pipeline of the target's steps (``target_steps``: Pillow's and OpenCV's
    copies of them) or not, with the modules it needs installed."""
    return {r.method: (lambda r=r: r.run(inp)) for r in ROUTES
            if r.run is not None and (device == "cpu" or not r.cpu_only) and (target_steps or not r.own_steps)
            and (not r.needs or importlib.util.find_spec(r.needs) is not None)}  # fmt: skip


# The two baselines every speedup is measured against: the assignment's loop (on CPU) and the whole batch
LOOP, BATCHED = ROUTE["pipeline_loop"], ROUTE["pipeline_batched"]

# Filters of ROUTES, by identifier, in declaration order
FLOORS = tuple(r.method for r in ROUTES if r.kind == "floor")
USER_BASELINES = tuple(r.method for r in ROUTES if r.user)  # what a user would pick instead of a model
LEARNED_METHODS = tuple(r.method for r in ROUTES if r.learned)  # a model on the device's own memory
UINT8_METHODS = tuple(m for m in LEARNED_METHODS if ROUTE[m].source == "uint8")  # read_uint8 is their floor
BUILT_METHODS = tuple(m for m in LEARNED_METHODS if ROUTE[m].built)
LOADER_METHODS = tuple(r.method for r in ROUTES if r.loader)
TRANSFER_METHODS = tuple(r.method for r in ROUTES if r.kind == "transfer")
METHOD_LABELS = {r.method: r.label for r in ROUTES}
FLOOR_INPUTS = {r.method: r.reads for r in ROUTES if r.reads}  # what each read floor reads
FLOOR_OF = {r.source: r.method for r in ROUTES if r.reads}  # the read floor of a route's input
WRITE_FLOOR = "write_output"  # every route writes its float32 output once: the memory floor adds this to the read
# The time figure's lines, in drawing order: {family: its first route, whose colour and marker it takes}
FAMILIES = {f: next(r for r in ROUTES if r.family == f) for f in dict.fromkeys(r.family for r in ROUTES if r.family)}


# Models: how tables name them
UNTRAINED = " (untrained)"  # suffix of freshly built models (bench.fresh_models)
NO_MODEL = ("-", "pipeline", "pillow", "opencv")  # the ``model`` of the floors', pipelines' and Pillow's rows
BANDED = "banded"  # the name of the banded form that bench.with_banded builds from a trained model
# The saved models of the report by their role (the training runs of lib.report.records.RUNS, the banded form
# built here from the final model, 02's probed operator); ``banded (trained)`` is not the ``banded (closed form)``
# that 04 and 06 fit with LearnedTransform.fit
MODEL_LABELS = {"dense_seed": "dense_seed (baseline recipe)", "separable": "separable (final model)",
                BANDED: "banded (trained)", "exact": "exact (probed operator, not learned)"}  # fmt: skip

# A route reproduces the target pipeline when its largest error is at most this many gray levels: two roundings to
# 8 bits (torchvision's uint8 route, Pillow) stay within it; a route further off computes something else, and no
# speedup is claimed for it (an untrained model, the baseline recipe's model, OpenCV's resizes)
REPRODUCES_GRAY = 2.0


def reproduces(row: "BenchRow") -> bool:
    """Whether a row's output is the target pipeline's within :data:`REPRODUCES_GRAY` (False where not measured)."""
    value = row.max_gray
    return value is not None and value == value and value <= REPRODUCES_GRAY


def __getattr__(name: str):
    """``ARCHITECTURES`` ({registry name: how tables name it}) and ``ORACLES`` (the models that are not learned:
    timed, but not counted as the best learned model), read off the model classes when first asked for: importing
    them loads torch."""
    if name not in ("ARCHITECTURES", "ORACLES"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from lib.core.models import REGISTRY

    if name == "ARCHITECTURES":
        return {arch: cls.label for arch, cls in REGISTRY.items()}
    return tuple(arch for arch, cls in REGISTRY.items() if "learned" not in cls.abilities)


def architecture(row: "BenchRow") -> str:
    """The registry name of a row's model ("-" for the pipeline rows); rows recorded before the column
    existed fall back to the model's name, less an "(untrained)" suffix."""
    if row.architecture:
        return row.architecture
    return "-" if row.model in NO_MODEL else row.model.removesuffix(UNTRAINED)


def model_label(row: "BenchRow") -> str:
    """A row's model in words: a saved model of the report by its role (:data:`MODEL_LABELS`), a freshly built one
    by its name ("separable (untrained)"), any other by its name and architecture ("rgb (dense)")."""
    if row.model in MODEL_LABELS:
        return MODEL_LABELS[row.model]
    arch = architecture(row)
    if row.model in NO_MODEL or row.model == arch or row.model.endswith(UNTRAINED):
        return row.model
    return f"{row.model} ({arch})"
