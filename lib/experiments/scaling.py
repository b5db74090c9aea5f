"""How each route grows with the image: the scaling study of ``05_scaling``.

One pipeline family, the target pipeline's steps at every size: ``resize(side/2, side/2) | grayscale | hflip |
vflip`` on RGB images of ``side`` x ``side``. At each side the same CIFAR-10 test images, brought to that size
(``lib.experiments.user_pipelines.photos``) and stored as 8-bit, go through every route a user would take (the
pipeline image by image, on the whole float batch, on the whole uint8 batch, Pillow image by image) and through
one map, read off the pipeline for that size by ``LearnedTransform.fit``, run two ways: ``banded (closed form)``, A
and B kept on their band, and ``separable`` (closed form), the same map with A and B as whole matrices: eagerly in
PyTorch, and ``banded`` as the user imports it, ``LearnedTransform`` from the uint8 images, which runs the engine's
compiled loop (``lib.core.engine``). OpenCV's resize (INTER_AREA, INTER_LINEAR) is timed too,
with its error: fast, and not the pipeline. Every route is timed in the same interleaved rounds
(``lib.timing.measure_interleaved``), so the ratios at one side share the machine's state; the time of reading
the float input once is the floor.

Why the learned routes can stop winning: ``separable`` multiplies the whole of A (side/2 x side) and B, so its
arithmetic per image grows with side**3 while the pipeline's antialiased resize touches a few taps per output
pixel (side**2). ``banded`` keeps only those taps, and its arithmetic grows as the pipeline's does; eagerly, each
tap is a pass over memory, which the engine's loop avoids.
"""

import torch

from lib.core import data, metrics, models, registry, spec
from lib.core.constants import GRAY_LEVELS
from lib.core.cost import mflops
from lib.core.pipeline import TARGET_SPEC
from lib.core.separable import parts_of, set_parts
from lib.core.transform import LearnedTransform
from lib.experiments.bench_jobs import as_images, hwc
from lib.experiments.routes import ROUTE, Inputs, pipeline_works
from lib.experiments.user_pipelines import closed_form, noise, photos
from lib.progress import bar
from lib.timing import measure_interleaved

SIDES = (32, 64, 128, 256)
CHUNK_BYTES = 1 << 22  # the learned models run on slices of about this much float input (4 MiB)
LEAD_IN = 1  # untimed runs of a route right before each timed one, as in the benchmark (lib.timing)

# the routes without a model, as the benchmark declares and runs them (lib.experiments.routes)
WITHOUT_MODEL = ("pipeline_loop", "pipeline_batched", "pipeline_uint8", "pillow_loop", "opencv_area", "opencv_linear")
# (route, in words, whether a user would take it instead of a model, whether it is a learned model)
ROUTES = (
    ("read_input", "reading the float input once (the floor)", False, False),
    *((m, ROUTE[m].label, ROUTE[m].user or m == "pipeline_loop", False) for m in WITHOUT_MODEL),
    ("separable", "separable (closed form), eager PyTorch", False, True),
    ("banded", "banded (closed form), eager PyTorch", False, True),
    ("banded_transform", "banded (closed form), the learned transform from uint8 (the engine)", False, True),
)
LABELS = {r: label for r, label, _, _ in ROUTES}
LEARNED = tuple(r for r, _, _, learned in ROUTES if learned)


def family(side: int) -> spec.Spec:
    """The target pipeline's steps for ``side`` x ``side`` RGB images: resize to half the side."""
    if side < 8 or side % 2:
        raise ValueError(f"the scaling family takes even sides of at least 8, got {side}")
    return TARGET_SPEC.with_args("resize", side // 2, side // 2, in_shape=(3, side, side))


def _chunk(side: int) -> int:
    return max(1, CHUNK_BYTES // (3 * side * side * 4))


def _through(model, x: torch.Tensor, chunk: int) -> None:
    for _ in models.in_chunks(model, x, chunk):
        pass


def study_side(side: int, test_x: torch.Tensor, fit_x: torch.Tensor, repeats: int = 3) -> list[dict]:
    """The rows of one side: per route, seconds for the images of ``test_x`` (median of ``repeats`` interleaved
    rounds) and per image; for the learned models also parameters, MFLOPs per image, fit seconds and their error
    in gray levels against the pipeline on the same photographs and on 64 noise images. ``test_x`` and ``fit_x``
    hold CIFAR-10 images (N, 3, 32, 32) in [0, 1], brought to the side: the first are timed and scored, the second
    check the closed form (lib.experiments.user_pipelines.closed_form), which both models hold."""
    if len(test_x) < 1:
        raise ValueError("no test images to time")
    s = family(side)
    n_images = len(test_x)
    x_u8 = (photos(test_x, s.in_shape) * 255).round().to(torch.uint8)  # stored as 8-bit, as images are
    x = data.to_float(x_u8)
    (_, band, band_fit_s, band_numbers), _ = closed_form(s, photos(fit_x, s.in_shape))  # the target's: never refused
    sep = registry.build("separable", out_shape=s.out_shape, in_shape=s.in_shape).eval()
    with torch.no_grad():
        set_parts(sep, parts_of(band.linear))  # the same map, A and B as whole matrices
    _, h, w = s.out_shape
    chunk, pixels = _chunk(side), hwc(x_u8)  # Pillow's layout (N, H, W, 3), made once for its timing and its error
    loop = LearnedTransform(band)
    if loop.backend == "eager":  # no C compiler here: the route's row is left out
        loop = None
    without_model = pipeline_works(Inputs(s, x, x_u8, pixels, (h, w)))  # the target's steps: Pillow, OpenCV too
    works = {
        "read_input": x.sum,
        **without_model,
        "separable": lambda: _through(sep, x, chunk),
        "banded": lambda: _through(band, x, chunk),
        "banded_transform": lambda: loop(x_u8),
    }
    if loop is None:
        del works["banded_transform"]
    with torch.inference_mode():
        times = measure_interleaved(works, repeats=repeats, lead_in=LEAD_IN)
        target = s(x)
        noisy = noise(64, s.in_shape, seed=3)
        noisy_target = s(noisy)
        scores = {name: (metrics.score_model(m, x, target), metrics.score_model(m, noisy, noisy_target))
                  for name, m in (("separable", sep), ("banded", band))}  # fmt: skip
        if loop is not None:  # the loop's own output, from the uint8 images (equal to the model's up to rounding)
            scores["banded_transform"] = (metrics.score(loop(x_u8), target), scores["banded"][1])
    base = {"side": side, "pipeline": s.text, "n_images": n_images, "chunk": chunk}
    rows = []
    for route, label, user, is_learned in ROUTES:
        if route not in works:
            continue
        seconds = times[route].median
        row = {**base, "route": route, "label": label, "user": user, "learned": is_learned, "seconds": seconds,
               "us_per_image": 1e6 * seconds / n_images}  # fmt: skip
        if is_learned:
            model, numbers = (sep, models.n_params(sep)) if route == "separable" else (band.linear, band_numbers)
            photo, rand = scores[route]
            row |= {"params": numbers, "mflops": mflops(model), "fit_s": band_fit_s,
                    "photo_max_gray": photo["max_gray"], "exact8_pct": photo["exact8_pct"],
                    "noise_max_gray": rand["max_gray"]}  # fmt: skip
        elif (
            route in without_model and ROUTE[route].own_steps
        ):  # Pillow's and OpenCV's copies of the steps: 8-bit throughout, or not the pipeline
            row["photo_max_gray"] = metrics.max_abs(as_images(without_model[route]()), target) * GRAY_LEVELS
        rows.append(row)
    return rows


def study(test_x: torch.Tensor, fit_x: torch.Tensor, sides=SIDES, repeats: int = 3, progress: bool = True) -> list:
    """:func:`study_side` at every side, smallest first."""
    return [row for side in bar(sides, desc="sides", unit="side", disable=not progress)
            for row in study_side(side, test_x, fit_x, repeats)]  # fmt: skip
