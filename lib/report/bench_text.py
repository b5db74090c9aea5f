"""The benchmark's prose, built from its numbers: what ``03_benchmark`` says, as tested functions.

Each function takes what :func:`lib.experiments.bench.summarize` writes into ``benchmark_summary.json`` (the summary
of one device, a :class:`~lib.experiments.bench_records.DeviceSummary`, the run's configuration or environment), or
rows of ``benchmark.csv``, and returns Markdown (or HTML), so the text cannot drift from the results. Routes and models
are named as :mod:`lib.experiments.routes` declares them; no speedup is claimed for a route that does not reproduce the
pipeline (``routes.reproduces``).
"""

import html

from lib.experiments.bench_config import BenchConfig
from lib.experiments.bench_records import BenchRow, DeviceSummary, Environment
from lib.experiments.bench_tables import DEVICE_WORDS, gray
from lib.experiments.routes import FLOOR_INPUTS, REPRODUCES_GRAY, ROUTE, UNTRAINED, model_label, reproduces

MEMORY_FLOOR = (
    "the *memory floor*: reading the input once and writing the output once, the least traffic any transform has"
)
ROOFLINE = (
    "the *roofline*: the larger of the memory floor and the model's arithmetic at the machine's matrix-multiply peak"
)


def _times(k: int) -> str:
    return f"{k} timed run{'s' * (k != 1)}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms"


def _route(row: BenchRow) -> str:
    """A model's route in words: "banded (trained), LearnedTransform from uint8 (lib.core.engine)"."""
    return f"{model_label(row)}, {ROUTE[row.method].short}"


def _machine(env: Environment) -> str:
    return f"{env.cpu or 'CPU not recorded'}, {env.torch_threads} threads, torch {env.torch_version}"


def lead_caption(env: Environment, gpu_note: str, n_images: int) -> str:
    """The caption of 03's first table: where each device's numbers come from."""
    return (
        f"Milliseconds for {n_images:,} images, median (quartiles). CPU: {_machine(env)}, measured in this run. "
        f"GPU: {gpu_note}."
    )


def method(config: BenchConfig, env: Environment) -> str:
    """How the rows were timed and what the columns mean, from the run's configuration and environment."""
    n, small = config.n_images, min(config.small_batch_images, config.n_images)
    text = (
        f"Every time is for {n:,} images already in memory, on {env.torch_threads} torch threads. Each route runs "
        f"untimed first (warm-up), then in {config.repeats} timed rounds, each running every route once, so that a "
        "machine whose speed drifts slows them all alike; tables give the median. DataLoader configurations hold "
        f"worker processes and run on their own, {_times(config.dataloader_repeats)} each. GPU times end with "
        "`torch.cuda.synchronize()`."
    )
    smallest = [b for b in config.batch_sizes if b <= config.small_batch]
    if smallest and small < n:
        sizes = ", ".join(map(str, smallest))
        text += f" DataLoader batch size {sizes} goes through {small:,} images, its time multiplied by {n / small:g}."
    if config.gpu_loop_images < n:
        k = config.gpu_loop_images
        text += f" On a GPU the pipeline image by image goes through {k:,} images, its time multiplied by {n / k:g}."
    return text + (
        " *Max error*: the largest difference from the float target pipeline on the same images, in gray levels "
        "(1/255). *Exact 8-bit %*: the share of pixels that round to the pipeline's 8-bit value. *x baseline*: the "
        "time of the target pipeline image by image on the CPU over the route's, given only where the route "
        f"reproduces the pipeline (max error at most {REPRODUCES_GRAY:g} gray levels)."
    )


def answer(s: DeviceSummary, device: str, where: str = "measured here", define: bool = True) -> str:
    """One paragraph on ``device`` from its summary ``s``: the fastest learned model that reproduces the pipeline
    against the baseline, the batched pipeline and the fastest user route, its memory floor and roofline, and the
    best DataLoader; where the fastest does not reproduce the pipeline, that and no speedup. ``define`` defines the
    floors in place (the first paragraph of a page)."""
    top = s.best_model
    head = f"**{DEVICE_WORDS.get(device, device)}** ({where}): "
    if top is None:
        return head + "no learned model was timed on this device."
    if not reproduces(top):
        if gray(top.max_gray) == "-":
            text = (f"no learned model timed here has a recorded fidelity. The fastest, {_route(top)}, takes "
                    f"{_ms(top.median_s)}; no speedup is claimed for it.")  # fmt: skip
        else:
            text = (
                f"no learned model timed here reproduces the target pipeline. The fastest, {_route(top)}, takes "
                f"{_ms(top.median_s)} but computes something else (max error {gray(top.max_gray)} gray levels), so no "
                "speedup is claimed for it."
            )
        if top.model.endswith(UNTRAINED):
            text += " Its weights are untrained: `make bench-gpu` on a GPU machine times the trained ones."
        return head + text
    by_method = s.best_by_method
    text = f"the fastest learned route that reproduces the pipeline is {_route(top)}: {_ms(top.median_s)}"
    claims = []
    if s.speedup_vs_loop:
        claims.append(f"{s.speedup_vs_loop:.0f}x the baseline")
    if "pipeline_batched" in by_method and s.speedup_vs_batched:
        claims.append(f"{s.speedup_vs_batched:.1f}x the pipeline on the whole batch")
    user = s.user_best
    if user is not None and user.method != "pipeline_batched" and s.speedup_vs_user_best:
        claims.append(f"{s.speedup_vs_user_best:.1f}x the fastest user route ({ROUTE[user.method].short}, "
                      f"{_ms(user.median_s)}, max error {gray(user.max_gray)} gray levels)")  # fmt: skip
    if claims:
        text += ", " + (", ".join(claims[:-1]) + " and " if len(claims) > 1 else "") + claims[-1]
    text += f", with max error {gray(top.max_gray)} gray levels."
    text += _floors(s, define)
    dl = s.best_dataloader
    if dl is not None and dl is not top:
        text += (f" Through a DataLoader, which indexes and collates every batch, the best is {_ms(dl.median_s)} "
                 f"({model_label(dl)}, batch {dl.batch_size}, {dl.num_workers} workers).")  # fmt: skip
    if s.engine_unavailable:
        text += f" The engine could not compile its C loop: {s.engine_unavailable}."
    return head + text


def _floors(s: DeviceSummary, define: bool) -> str:
    """The memory floor of the top route and, where the peak was measured, its roofline, in two sentences."""
    read = FLOOR_INPUTS[s.floor_method]
    what = f"reading its {read} once" + (" and writing its output once" if s.write_floor_s is not None else "")
    text = f" That is {s.times_floor:.2g}x its memory floor, {_ms(s.floor_s)} for {what}"
    text += f" ({MEMORY_FLOOR})." if define else "."
    if s.times_roofline is None or s.compute_floor_s is None:
        return text
    bound = "arithmetic" if s.compute_floor_s > s.floor_s else "memory traffic"
    return text + (
        f" Its arithmetic at this machine's matrix-multiply peak ({s.matmul_peak_gflops:.0f} GFLOPS) would take "
        f"{_ms(s.compute_floor_s)}, so {bound} is the limit: it runs at {s.times_roofline:.2g}x the roofline"
        + (f" ({ROOFLINE})." if define else ".")
    )


def answers(devices: dict[str, DeviceSummary], gpu_note: str = "measured here") -> str:
    """:func:`answer` for every device (``devices``: the summary's ``devices``, recorded GPU ones included), the
    terms defined in the first paragraph that uses them; ``gpu_note`` says where the GPU numbers come from or, when
    there are none, why."""
    paragraphs, defined = [], False
    for device, s in devices.items():
        where = "measured here" if device == "cpu" else gpu_note
        paragraphs.append(answer(s, device, where, define=not defined))
        defined = defined or (s.best_model is not None and reproduces(s.best_model))
    if "cuda" not in devices:
        paragraphs.append(f"**GPU**: no numbers ({gpu_note}).")
    return "\n\n".join(paragraphs)


def loader_caption(label: str, config: BenchConfig) -> str:
    """What the DataLoader sweep's table shows: one model over batch size, workers and pin_memory."""
    small = min(config.small_batch_images, config.n_images)
    return (
        f"The DataLoader sweep, `DataLoader(TensorDataset(x))`, of {label} (on a recorded GPU, its untrained "
        f"stand-in): milliseconds for {config.n_images:,} images by batch size, worker processes and `pin_memory` "
        "(which only matters for copies to a GPU)"
        + (f"; * timed on {small:,} images, scaled" if small < config.n_images else "")
        + f". The other models go through it at batch size {max(config.batch_sizes)} without workers (appendix)."
    )


def folded(summary: str, body: str) -> str:
    """HTML for a collapsed appendix: ``summary`` (text) over ``body`` (HTML)."""
    return f"<details><summary>{html.escape(summary)}</summary>{body}</details>"
