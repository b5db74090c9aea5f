"""Real pipelines as a user has them, through ``LearnedTransform.fit``: the suite of ``06_ship``.

Each case is a pipeline a user might already have (a ``v2.Compose``, with ``Lambda`` steps where torchvision has no
class) and the image sizes it takes. The photographs are CIFAR-10 test images brought to those sizes (antialiased
resize, gray for one channel) and stored as uint8, as a decoded dataset holds them. Per case: the family the fit
chose, its numbers and fit seconds, the worst pixel on the photographs and on noise (8-bit noise for a table, which
is exact on 8-bit input only), and the time for the photographs against the user's routes: the pipeline on each
size's uint8 batch (converted to float first, as the pipeline takes float) and image by image, and the case written
in OpenCV and in Pillow (lib.experiments.library_routes), which count as faithful only within the case's tolerance. The
transform is timed on each size's batch too, and on the whole list (grouped per size, each image read where it
lies); its speedup is given without the fits (cached), with them, and for a fresh transform's first call (fits,
compiling the loop, the pass).
A random pipeline is listed with its refusal.

The mixed-size stream runs one fresh transform over a list of images of several sizes, fits included in its time.
"""

import time
from dataclasses import dataclass

import numpy as np
import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from lib.core import fitting
from lib.core.constants import GRAY_LEVELS
from lib.core.transform import LearnedTransform
from lib.experiments import library_routes as libraries
from lib.experiments.user_pipelines import photos
from lib.timing import measure

COLUMNS = [
    "case",
    "family",
    "numbers",
    "fit_s",
    "photo_gray",
    "noise_gray",
    "learned_s",
    "pipeline_batch_s",
    "pipeline_image_s",
    "opencv_s",
    "opencv_gray",
    "pillow_s",
    "pillow_gray",
    "speedup",
    "refused",
]  # shown
IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])  # the usual ImageNet Normalize


def _contrast(x: torch.Tensor) -> torch.Tensor:
    return ((x - 0.5) * 1.5 + 0.5).clamp(0, 1)  # a contrast stretch that clips


def _quarter_turn(x: torch.Tensor) -> torch.Tensor:
    return torch.rot90(x, 1, dims=(-2, -1))


def _gamma(x: torch.Tensor) -> torch.Tensor:
    return TF.adjust_gamma(x, 0.5)


@dataclass
class Case:
    """A pipeline as a user has it, and the sizes of the images it takes."""

    name: str
    pipeline: object  # a v2.Compose, or any callable lib.core.spec.wrap takes
    shapes: tuple[tuple[int, int, int], ...]  # (C, H, W) of its images: several for a stream of mixed sizes
    key: str = ""  # its OpenCV and Pillow versions in lib.experiments.library_routes ("" for none)


def imagenet_style(resize: int = 80, crop: int = 64) -> v2.Compose:
    """An ImageNet-style evaluation transform (shorter side resized, centre crop, Normalize), at CIFAR-10's scale."""
    return v2.Compose([v2.Resize(resize, antialias=True), v2.CenterCrop(crop), v2.Normalize(*IMAGENET)])


MIXED_SHAPES = ((3, 96, 128), (3, 112, 112), (3, 128, 96), (3, 120, 160), (3, 144, 144))


def cases() -> list[Case]:
    """The suite: an ImageNet-style transform on five sizes, Normalize at 96x96, one channel at 28x28, a gamma before
    a resize, a clip after one, a quarter turn, and a random pipeline."""
    resize = v2.Resize((48, 48), antialias=True)
    return [
        Case("ImageNet-style, five sizes", imagenet_style(), MIXED_SHAPES, "imagenet"),
        Case("Normalize at 96x96", v2.Compose([resize, v2.Normalize(*IMAGENET)]), ((3, 96, 96),), "normalize"),
        Case(
            "one channel, 28x28",
            v2.Compose([v2.CenterCrop(24), v2.Resize((16, 16), antialias=True)]),
            ((1, 28, 28),),
            "gray",
        ),  # fmt: skip
        Case(
            "gamma(0.5) before a resize",
            v2.Compose([v2.Lambda(_gamma), resize, v2.Grayscale()]),
            ((3, 96, 96),),
            "gamma",
        ),  # fmt: skip
        Case("contrast clipped after a resize", v2.Compose([resize, v2.Lambda(_contrast)]), ((3, 96, 96),), "clip"),
        Case(
            "a quarter turn after a resize",
            v2.Compose([v2.Resize((48, 64), antialias=True), v2.Lambda(_quarter_turn)]),
            ((3, 96, 128),),
            "turn",
        ),  # fmt: skip
        Case("a random flip", v2.Compose([v2.RandomHorizontalFlip(), resize]), ((3, 96, 96),)),
    ]


def as_photos(test_u8: torch.Tensor, shape: tuple[int, int, int], chunk: int = 512) -> torch.Tensor:
    """CIFAR-10 uint8 images brought to ``shape``, as uint8."""
    out = [photos(test_u8[i : i + chunk].float() / GRAY_LEVELS, shape) for i in range(0, len(test_u8), chunk)]
    return (torch.cat(out) * GRAY_LEVELS).round().to(torch.uint8)


def _on_float(pipeline, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return pipeline(x.float() / GRAY_LEVELS)


def _worst(t: LearnedTransform, x8: torch.Tensor, expected: torch.Tensor) -> float:
    with torch.no_grad():
        return (t(x8) - expected).abs().max().item() * GRAY_LEVELS


def run_case(case: Case, test_u8: torch.Tensor, repeats: int = 3) -> dict:
    """One row of the suite (see the module's notes): ``test_u8`` shared among the case's sizes, all in one list; a
    fresh transform's first call on it (fits, compiling and the pass: ``first_call_s``), then the transform timed with
    its fits cached."""
    row = {"case": case.name, "sizes": ", ".join("x".join(map(str, s)) for s in case.shapes)}
    share = len(test_u8) // len(case.shapes)
    groups = [as_photos(test_u8[k * share : (k + 1) * share], shape) for k, shape in enumerate(case.shapes)]
    images = [img for g in groups for img in g]
    start = time.perf_counter()
    try:
        t = LearnedTransform.fit(case.pipeline)
        t(images)  # every size fitted here
    except (ValueError, TypeError) as err:
        return {**row, "refused": str(err).splitlines()[0]}
    first_s = time.perf_counter() - start
    reports = list(t.reports.values())
    levels = any(r.family.startswith("table") for r in reports)
    noise = torch.randint(0, 256, (16, *case.shapes[0]), generator=torch.Generator().manual_seed(3), dtype=torch.uint8)
    noise_gray = max(r.noise_gray for r in reports)  # float noise (8-bit for a table), as the fit checked it
    learned = measure(lambda: [t(g) for g in groups], repeats=repeats).median  # per size's batch, as the pipeline
    on_list = measure(lambda: t(images), repeats=repeats).median  # the list as it comes: grouped per size
    batch = measure(lambda: [_on_float(case.pipeline, g) for g in groups], repeats=repeats).median
    per_image = measure(lambda: [_on_float(case.pipeline, img) for img in images], repeats=1, warmup=0).median
    curved = any("curve" in r.family or "clamp" in r.family for r in reports)
    tolerance = fitting.CURVE_GRAY if curved else fitting.ACCEPT_GRAY
    expected = [_on_float(case.pipeline, g) for g in groups]  # the pipeline's output on each size's photographs
    others = library_routes(case, groups, expected)
    faithful = [batch, per_image] + [o["s"] for o in others.values() if o["gray"] <= tolerance]
    fastest = min(faithful)
    return {
        **row, "family": ", ".join(sorted({r.family for r in reports})), "numbers": max(r.params for r in reports),
        "method": reports[0].method, "fit_s": t.fit_seconds, "first_call_s": first_s,
        "photo_gray": max(_worst(t, g, e) for g, e in zip(groups, expected, strict=True)),
        "noise_gray": max(noise_gray, _worst(t, noise, _on_float(case.pipeline, noise))),
        "tolerance_gray": tolerance, "on_levels": levels,
        "images": len(images), "learned_s": learned, "learned_list_s": on_list, "pipeline_batch_s": batch,
        "pipeline_image_s": per_image, "speedup": fastest / learned,
        **{f"{k}_{m}": o[m] for k, o in others.items() for m in ("s", "gray")},
        "speedup_vs_libraries": min([o["s"] for o in others.values()], default=float("nan")) / learned,
        "speedup_with_fits": fastest / (learned + t.fit_seconds), "speedup_first_call": fastest / first_s,
        "backend": t.backend, "refused": "",
    }  # fmt: skip


def library_routes(case: Case, groups: list[torch.Tensor], expected: list[torch.Tensor]) -> dict[str, dict]:
    """{"opencv": {"s": seconds, "gray": worst pixel against ``expected``, the pipeline's output on each group},
    "pillow": ...}: the case in each library, image by image, on the images as a decoder gives them
    (lib.experiments.library_routes); a library that is missing, or has no version of the case, is left out."""
    arrays, pils = libraries.decoded([img for g in groups for img in g])
    expected = [y for e in expected for y in e]
    out = {}
    for name, make, inputs in (("opencv", libraries.opencv, arrays), ("pillow", libraries.pillow, pils)):
        try:
            fn = make(case.key)
        except ImportError:
            continue
        if fn is None:
            continue
        start = time.perf_counter()
        got = [fn(i) for i in inputs]  # one timed pass: image by image, each call costs alike
        seconds = time.perf_counter() - start
        worst = max((torch.from_numpy(np.ascontiguousarray(a)).float() - e).abs().max().item()
                    for a, e in zip(got, expected, strict=True))  # fmt: skip
        out[name] = {"s": seconds, "gray": worst * GRAY_LEVELS}
    return out


def fit_times(shapes=((3, 300, 400), (3, 300, 500), (3, 300, 500)), repeats: int = 3) -> list[dict]:
    """Seconds to fit the full-size ImageNet evaluation transform (Resize(256), CenterCrop(224), Normalize) on each
    shape in turn, in one transform (the second shape shares its rows with the first), and on the second shape alone
    (fresh): the median of ``repeats`` runs each."""
    pipeline = imagenet_style(256, 224)
    rows = []
    for fresh in (False, True):
        runs = []
        for _ in range(repeats):
            t = LearnedTransform.fit(pipeline)
            todo = shapes[1:2] if fresh else shapes[:2]
            for shape in todo:
                t(torch.zeros(1, *shape, dtype=torch.uint8))
            runs.append([t.reports["x".join(map(str, s))] for s in todo])
        for k, shape in enumerate(shapes[1:2] if fresh else shapes[:2]):
            seconds = sorted(r[k].seconds for r in runs)[len(runs) // 2]
            first = runs[0][k]
            rows.append({"shape": "x".join(map(str, shape)), "order": "alone" if fresh else f"{k + 1} of 2",
                         "method": first.method, "fit_s": seconds, "noise_gray": first.noise_gray})  # fmt: skip
    return rows
