"""Pipelines a user already has, on their own image sizes: the second part of ``04_pipelines``.

Each example is a pipeline (a ``v2.Compose``, any deterministic callable, or a spec string) with the shape
of the images it takes. The probe decides linear, affine and separable (``lib.core.classify``; per axis
where the images are large), and ``LearnedTransform.fit`` reads the pipeline off in closed form (``banded (closed
form)`` and the like), scored on CIFAR-10 test images brought to the example's shape (resized with antialiasing,
made gray for one channel) and on noise images of that shape. A pipeline that cannot be learned is listed with the
error that refuses it.

The scaling study (05) reads its map off each size with :func:`closed_form` too.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from lib.core import metrics, spec
from lib.core.classify import classify
from lib.core.constants import OUT_SHAPE
from lib.core.fitting import Refused
from lib.core.transform import LearnedTransform


def normalized_gray() -> v2.Compose:
    """A pipeline as a user writes one, with ``ToDtype`` and an ImageNet-style ``Normalize``: the target pipeline's
    resize and grayscale, then (x - 0.48) / 0.23. Affine, not linear: 04 learns it beside the string pipelines and
    06 ships it beside the target pipeline."""
    return v2.Compose([v2.Resize(OUT_SHAPE[1:], antialias=True), v2.Grayscale(), v2.ToDtype(torch.float32, scale=True),
                       v2.Normalize([0.48], [0.23])])  # fmt: skip


def closed_form(s: spec.Spec, x: torch.Tensor | None = None) -> tuple[tuple[str, nn.Module, float, int] | None, str]:
    """``LearnedTransform.fit`` on the pipeline's input shape, checked on images ``x`` (of that shape) too: ((how a
    page names it, ``banded (closed form)`` and the like; its fitted map; seconds; numbers), "") or (None, the
    refusal's message, ``lib.core.fitting.Refused``)."""
    try:
        t = LearnedTransform.fit(s, in_shape=s.in_shape, x=x)
    except Refused as err:
        return None, str(err)
    key, report = next(iter(t.reports.items()))
    return (f"{report.family} (closed form)", t.maps[key], report.seconds, report.params), ""


CHECK_PHOTOS = 8  # photographs of the example's shape the closed form is checked on, beside noise


@dataclass
class Example:
    """A pipeline as a user has it, with the images it takes."""

    name: str  # how the report names it
    pipeline: str | Callable  # a spec string, or any callable lib.core.spec.wrap takes
    in_shape: tuple[int, int, int]  # (C, H, W) of the images it takes


def photos(x: torch.Tensor, in_shape: tuple[int, int, int]) -> torch.Tensor:
    """CIFAR-10 images (N, 3, 32, 32) in [0, 1] brought to ``in_shape``: resized with antialiasing and, for
    one channel, made gray."""
    c, h, w = in_shape
    out = TF.resize(x, [h, w], antialias=True).clamp(0, 1)
    return TF.rgb_to_grayscale(out) if c == 1 else out


def noise(n: int, in_shape: tuple[int, int, int], seed: int) -> torch.Tensor:
    return torch.rand(n, *in_shape, generator=torch.Generator().manual_seed(seed))


def _score(model, s: spec.Spec, x: torch.Tensor, chunk: int = 256) -> dict:
    with torch.no_grad():
        target = torch.cat([s(x[i : i + chunk]) for i in range(0, len(x), chunk)])
    return metrics.score_model(model, x, target)


def study_one(example: Example, train_x: torch.Tensor, test_x: torch.Tensor, n_noise: int = 256) -> list[dict]:
    """The row of one example: its probe's decision (affine, separable, its offset |f(0)|), then the closed form
    (:func:`closed_form`, checked on the first CHECK_PHOTOS of ``train_x`` brought to the example's shape): its numbers,
    fit seconds and error on ``test_x`` brought to that shape (scored in chunks) and on noise of it; the error message
    instead where the pipeline is refused."""
    base = {"example": example.name, "in_shape": "x".join(map(str, example.in_shape))}
    try:
        s = spec.wrap(example.pipeline, example.in_shape, name=example.name)
    except (TypeError, ValueError) as err:
        return [{**base, "model": "-", "refused": str(err)}]
    found = classify(s, n=8)
    base |= {"out_shape": "x".join(map(str, s.out_shape)), "affine": found.affine, "linear": found.linear,
             "separable": found.separable, "offset_gray": found.offset_gray}  # fmt: skip
    closed, why = closed_form(s, photos(train_x[:CHECK_PHOTOS], s.in_shape))
    if closed is None:
        return [{**base, "model": "-", "refused": why}]
    name, model, seconds, numbers = closed
    photo_test = torch.cat([photos(test_x[i : i + 256], s.in_shape) for i in range(0, len(test_x), 256)])
    photo, rand = _score(model, s, photo_test), _score(model, s, noise(n_noise, s.in_shape, seed=2))
    return [{**base, "model": name, "params": numbers, "fit_s": seconds, "photo_max_gray": photo["max_gray"],
             "photo_exact8_pct": photo["exact8_pct"], "noise_max_gray": rand["max_gray"], "refused": ""}]  # fmt: skip


def study(examples: list[Example], train_x: torch.Tensor, test_x: torch.Tensor) -> list[dict]:
    """Every example's rows (:func:`study_one`), in order."""
    return [row for ex in examples for row in study_one(ex, train_x, test_x)]
