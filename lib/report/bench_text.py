"""The benchmark's prose, built from its numbers: what ``03_benchmark`` says, as tested functions.

Each function takes what :func:`lib.experiments.bench.summarize` writes into ``benchmark_summary.json`` (the summary
of one device, a :class:`~lib.experiments.bench_records.DeviceSummary`, or the run's configuration), or rows of
``benchmark.csv`` (:class:`~lib.experiments.bench_records.BenchRow`), and returns Markdown, so the text cannot drift
from the results. Routes are named as :data:`lib.experiments.routes.ROUTES` declares them.
"""

from lib.core import metrics
from lib.core.constants import OUT_SHAPE
from lib.experiments.bench_config import BenchConfig
from lib.experiments.bench_records import BenchRow, DeviceSummary
from lib.experiments.routes import BUILT_METHODS, FLOOR_INPUTS, METHOD_LABELS, ROUTE, architecture, model_label
from lib.timing import SLOW_REPEATS

READ_FLOOR = "the *read floor*: the time to read the input once, which no transform can beat"
MEMORY_FLOOR = ("the *memory floor*: the time to read the input once and write the float32 output once, the "
                "least memory traffic any transform has")  # fmt: skip
COMPUTE_FLOOR = "the *compute floor*: the model's floating-point operations at the machine's matrix-multiply peak"
ROOFLINE = "the *roofline*: the larger of the two floors, the best time the model could reach on this machine"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms"


def _gray(row: BenchRow) -> str:
    value = row.max_gray
    if value is None or value != value:  # absent or NaN: a row recorded without its fidelity
        return "unmeasured"
    return f"{value:.0f} gray levels" if value >= 100 else f"{value:.2g} gray levels"


def _exact8(row: BenchRow) -> str:
    value = row.exact8_pct
    return "an unmeasured share" if value is None or value != value else f"{metrics.percent(value)}%"


def _route(row: BenchRow) -> str:
    """A route and its configuration in words: "the fast path from uint8, compiled, in slices of 256"."""
    route = ROUTE.get(row.method)
    if route is not None and route.loader:
        workers = row.num_workers
        return f"a DataLoader with batch size {row.batch_size} and {workers} worker{'s' * (workers != 1)}"
    return f"the {METHOD_LABELS.get(row.method, row.method)}, in slices of {row.batch_size}"


def _compiled_name(key: str) -> str:
    """A key of the summary's ``compile`` ("separable", "separable from uint8") with the model in code."""
    name, uint8, _ = key.partition(" from uint8")
    return f"`{name}`{' from uint8' if uint8 else ''}"


def answer(
    s: DeviceSummary, device: str, where: str = "measured here", out_shape: tuple = OUT_SHAPE, define: bool = True
) -> str:
    """One paragraph on ``device`` from its summary ``s`` (``benchmark_summary.json``'s ``devices[device]``):
    the fastest learned model against the pipeline, the read floor, the DataLoader, the fastest route a
    user would take instead, the roofline, compilation, the exact operator and (GPU) the end-to-end time.
    ``where`` says where the numbers come from; ``define`` defines "read floor" and "roofline" in place
    (the first paragraph of a page); ``out_shape`` is the pipeline's output, (C, H, W)."""
    top = s.best_model
    head = f"**{device}** ({where}): "
    if top is None:
        return head + "no learned model was timed on this device."
    by_method = s.best_by_method
    text = f"the fastest learned model is {model_label(top)}, run as {_route(top)}: {_ms(top.median_s)} for "
    text += f"{top.n_images:,} images"
    if "pipeline_batched" in by_method and s.speedup_vs_batched:
        batched = by_method["pipeline_batched"].median_s
        text += f", {s.speedup_vs_batched:.1f}x the pipeline on the whole batch ({_ms(batched)})"
    if s.speedup_vs_loop is not None:
        text += f" and {s.speedup_vs_loop:.0f}x the pipeline image by image on CPU (the assignment's baseline)"
    text += f". {_memory_floor(s, define)}, so it runs at {s.times_floor:.1f}x the {_floor_name(s)}."
    dl = s.best_dataloader
    if dl is not None and "pipeline_batched" in by_method:
        faster = dl.median_s < by_method["pipeline_batched"].median_s
        text += f" Through a DataLoader the best learned model takes {_ms(dl.median_s)} ({model_label(dl)}, "
        text += f"{_route(dl)}), {'still faster' if faster else 'slower'} than the pipeline on the whole batch."
    user = s.user_best
    if user is None:
        text += " No route a user would take instead of a model was timed on this device."
    else:
        label = METHOD_LABELS.get(user.method, user.method)
        text += (
            f" The fastest route a user would take instead is {label}: {_ms(user.median_s)} (max error "
            f"{_gray(user)}, {_exact8(user)} of pixels exact at 8 bits); the model is {s.speedup_vs_user_best:.1f}x "
            f"faster, with max error {_gray(top)}."
        )
    if s.times_roofline is not None:
        text += _roofline(s, top, out_shape, define)
    eager = s.best_eager
    if top.method in BUILT_METHODS and eager is not None:
        text += f" Without compiled code the best is {_ms(eager.median_s)} ({_route(eager)})."
    if s.compile:
        parts = [f"{_compiled_name(key)} {v:.1f} s to compile" if isinstance(v, float)
                 else f"{_compiled_name(key)} not compiled ({v})" for key, v in s.compile.items()]  # fmt: skip
        text += " `torch.compile`: " + "; ".join(parts) + "."
    if s.engine_unavailable:
        text += f" The engine could not compile its C loop: {s.engine_unavailable}."
    elif s.engine_build:
        text += f" The engine's C loop was built for this CPU: {s.engine_build}."
    if s.oracle is not None:
        text += f" The exact operator (not learned, the same arithmetic) takes {_ms(s.oracle.median_s)}."
    if s.end_to_end_s is not None:
        text += f" End to end from uint8 host memory: {_ms(s.end_to_end_s)}."
    return head + text


def _floor_name(s: DeviceSummary) -> str:
    """What ``floor_s`` is: the memory floor, or the read floor alone in runs recorded before the write floor."""
    return "memory floor" if s.write_floor_s is not None else "read floor"


def _memory_floor(s: DeviceSummary, define: bool) -> str:
    """The floor's sentence: what reading the route's input once takes, and writing its output once."""
    read = FLOOR_INPUTS[s.floor_method]
    if s.write_floor_s is None:
        return f"Reading its {read} once takes {_ms(s.floor_s)}" + (f" ({READ_FLOOR})" if define else
                                                                     " (the read floor)")  # fmt: skip
    return (f"Reading its {read} once takes {_ms(s.read_floor_s)} and writing its float32 output once "
            f"{_ms(s.write_floor_s)}: {_ms(s.floor_s)} together"
            + (f" ({MEMORY_FLOOR})" if define else " (the memory floor)"))  # fmt: skip


def _roofline(s: DeviceSummary, top: BenchRow, out_shape: tuple, define: bool) -> str:
    traffic = "reading the input" + (", writing the output" if s.write_floor_s is not None else "")
    bound = "compute" if s.compute_floor_s > s.floor_s else f"memory ({traffic})"
    peak = s.matmul_peak_gflops
    text = (
        f" At this machine's measured matrix-multiply peak ({peak:.0f} GFLOPS), its {s.mflops_per_image:.3g} "
        f"MFLOPs per image make a compute floor of {_ms(s.compute_floor_s)}{f' ({COMPUTE_FLOOR})' * define} "
        f"against the {_floor_name(s)}'s {_ms(s.floor_s)}, so the limit is {bound}: the model runs at "
        f"**{s.times_roofline:.1f}x the roofline**{f' ({ROOFLINE})' * define}."
    )
    achieved = s.mflops_per_image * 1e6 * top.n_images / top.median_s / 1e9
    text += f" It computes at {achieved:.0f} GFLOPS against the {peak:.0f} of a 2048x2048 product"
    _, out_h, out_w = out_shape
    if top.method == "transform_uint8":
        return text + (
            " (the model's own FLOPs, which the engine's loop does and no more: the mix, the row taps and the column "
            "taps, one image at a time in the cache); what keeps it from the peak is the uint8 conversion, the "
            "permutes and the stores, which a large product has few of per multiply-add."
        )
    if architecture(top) in ("separable", "exact"):
        return text + (
            f": its products are {out_h}x32 and 32x{out_w} matrices per image, far too small to keep the cores' "
            "vector units as busy as a large product does, and the channel mix before them is a pass over the "
            "whole input."
        )
    return text + "."


def answers(devices: dict[str, DeviceSummary], gpu_note: str = "measured here", out_shape: tuple = OUT_SHAPE) -> str:
    """:func:`answer` for every device (``devices``: the summary's ``devices``, recorded GPU ones included),
    the terms defined in the first paragraph that uses them; ``gpu_note`` says where the GPU numbers come
    from or, when there are none, why."""
    paragraphs, defined = [], False
    for device, s in devices.items():
        where = "measured here" if device == "cpu" else gpu_note
        paragraphs.append(answer(s, device, where, out_shape, define=not defined))
        defined = defined or s.best_model is not None
    if "cuda" not in devices:
        paragraphs.append(f"**GPU**: no numbers ({gpu_note}).")
    return "\n\n".join(paragraphs)


def _times(k: int, what: str = "time") -> str:
    return "once" if (k, what) == (1, "time") else f"{k} {what}{'s' * (k != 1)}"


def timing_plan(config: BenchConfig) -> str:
    """How the rows were timed, from the run's configuration (the summary's ``config``)."""
    n, small = config.n_images, min(config.small_batch_images, config.n_images)
    warmup, dl_repeats = config.warmup, config.dataloader_repeats
    text = (
        f"Every time is for {n:,} images. All rows but the DataLoader's run in rounds, each round running every "
        f"route once: {_times(warmup, 'untimed round')}, then {_times(config.repeats, 'timed round')}. Each "
        f"DataLoader configuration runs on its own, {_times(warmup)} untimed, then {_times(dl_repeats)} timed: its "
        "configurations differ by more than repeated runs of one do"
    )
    if dl_repeats > SLOW_REPEATS:
        text += f" (one whose warm-up takes over {config.slow_s:g} s is timed {_times(SLOW_REPEATS)} at most)"
    text += "."
    smallest = [b for b in config.batch_sizes if b <= config.small_batch]
    if smallest and small < n:
        text += (
            f" DataLoader rows of batch size {', '.join(map(str, smallest))} go through the first {small:,} images "
            f"only, and their times are multiplied by {n / small:g} (the *images timed* column says so): with so "
            "few images per batch, the time is the per-batch cost, in proportion to the images."
        )
    return text


def memory_floors(rows: list[BenchRow]) -> str:
    """The line under ``03_benchmark``'s table of routes: each device's memory floors (the routes that only
    read the input or write the output once, left out of that table) in milliseconds, in the order of ``rows``."""
    floors = {(r.device, ROUTE[r.method].label): 1e3 * r.median_s for r in rows
              if ROUTE[r.method].kind == "floor"}  # fmt: skip
    return "Memory floors: " + "; ".join(f"{d}, {label}: {ms:.3g} ms" for (d, label), ms in floors.items())
