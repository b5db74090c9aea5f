"""Pipelines a user already has: callables with their own input shape, affine steps, randomness refused,
images of other sizes and channel counts, and separable fits that scale to large images."""

import time

import pytest
import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from lib.core import banded, classify, fit, models, probe, spec
from lib.core.constants import GRAY_LEVELS
from lib.core.separable import set_parts
from lib.experiments import user_pipelines


def _gray_off(model, pipeline, in_shape, n=16, seed=3) -> float:
    x = torch.rand(n, *in_shape, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return ((model(x) - pipeline(x)).abs().max() * GRAY_LEVELS).item()


NORMALIZED = v2.Compose([v2.Resize((14, 14), antialias=True), v2.Grayscale(), v2.ToDtype(torch.float32, scale=True),
                         v2.Normalize([0.45], [0.22])])  # fmt: skip


def test_a_compose_with_normalize_is_affine_and_fitted_exactly():
    s = spec.wrap(NORMALIZED, (3, 32, 32))
    assert s.wrapped and s.out_shape == (1, 14, 14) and "Normalize" in s.text
    found = classify.classify(s, n=8)
    assert found.affine and not found.linear and found.offset_gray > 100  # f(0) = -0.45 / 0.22 everywhere
    assert found.separable and found.operator_gray < 1e-3  # the offset lives in the separable map's bias
    exact = models.build("exact", pipeline=NORMALIZED)
    assert _gray_off(exact, NORMALIZED, s.in_shape) < 0.01
    # learned from 64 noise images: the separable map by alternating least squares, its bias the offset
    x = torch.rand(64, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    sep = models.build("separable", out_shape=s.out_shape)
    set_parts(sep, fit.separable_als(x, NORMALIZED(x)))
    assert _gray_off(sep, NORMALIZED, s.in_shape) < 0.01
    with pytest.raises(TypeError, match="is code, not data"):
        models.save(exact, "unused.pt")  # a wrapped pipeline cannot travel in a model file


def test_the_reports_normalize_pipeline_is_resize_gray_then_normalize():
    """04 learns it and 06 ships it: the target pipeline's resize and grayscale, then (x - 0.48) / 0.23, from uint8
    or float images."""
    pipeline = user_pipelines.normalized_gray()
    x8 = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    gray = TF.rgb_to_grayscale(TF.resize(x8.float() / 255, [28, 28], antialias=True))
    assert pipeline(x8.float() / 255).shape == (2, 1, 28, 28)
    assert torch.allclose(pipeline(x8.float() / 255), (gray - 0.48) / 0.23, atol=1e-5)
    assert torch.allclose(pipeline(x8), (gray - 0.48) / 0.23, atol=2 / 255 / 0.23)  # resized and gray in 8 bits


def test_a_random_pipeline_is_refused_by_name_and_the_random_state_is_kept():
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    with pytest.raises(ValueError, match="is random.*RandomHorizontalFlip: use v2.functional.hflip"):
        spec.wrap(v2.Compose([v2.RandomHorizontalFlip(), v2.Resize((16, 16), antialias=True)]), (3, 32, 32))
    assert torch.equal(torch.rand(3), expected)  # the check drew on a copy of the random state
    with pytest.raises(ValueError, match="ColorJitter: use v2.functional.adjust_brightness"):
        spec.wrap(v2.ColorJitter(brightness=0.5), (3, 32, 32))


@pytest.mark.parametrize(
    ("pipeline", "in_shape", "message"),
    [
        (lambda x: x.view(len(x), 3, 32, 32), (3, 64, 64), r"cannot run on images of shape \(3, 64, 64\)"),
        (lambda x: (x * 255).to(torch.uint8), (3, 32, 32), "returns torch.uint8 images"),
        (lambda x: x.sum(), (3, 32, 32), "not 1 or 3 channel images"),
        (TF.hflip, (2, 32, 32), "1 or 3 channels"),
        (TF.hflip, (3, 2000, 32), "sides from 1 to 1024"),
        (42, (3, 32, 32), "a callable on image batches"),
        (TF.hflip, None, r"say the shape of the images horizontal_flip takes"),  # nothing in a callable says its shape
    ],
)
def test_pipelines_and_shapes_that_cannot_be_learned_get_clear_errors(pipeline, in_shape, message):
    with pytest.raises((ValueError, TypeError), match=message):
        spec.wrap(pipeline, in_shape)


@pytest.mark.parametrize(
    ("text", "in_shape"),
    [("resize(32) | grayscale | hflip", (3, 64, 64)), ("resize(20, 24) | vflip", (1, 28, 28)),
     ("center_crop(40) | resize(16) | grayscale", (3, 64, 48))],
)  # fmt: skip
def test_other_input_shapes_are_probed_built_and_fitted(text, in_shape):
    s = spec.parse(text, in_shape)
    op = probe.probe(s)
    assert op.separable and op.in_shape == in_shape
    exact = models.build("exact", pipeline=text, in_shape=in_shape)
    assert _gray_off(exact, s, in_shape) < 0.01
    x = torch.rand(64, *in_shape, generator=torch.Generator().manual_seed(1))
    sep = models.build("separable", out_shape=s.out_shape, in_shape=in_shape)
    set_parts(sep, fit.separable_als(x, s(x)))
    band = banded.from_separable(sep, banded.TRAINED_SUPPORT_TOL)
    assert band.in_shape == in_shape and models.n_params(band) < models.n_params(sep)
    for model in (sep, band):
        assert _gray_off(model, s, in_shape) < 0.01
    with pytest.raises(ValueError, match=r"expected images of shape \(N, {}, {}, {}\)".format(*in_shape)):
        sep(torch.rand(2, 3, 32, 32 + 1))


def test_the_axis_probe_agrees_with_the_basis_probe():
    s = spec.parse("resize(20, 24) | grayscale | hflip")
    by_basis, (by_axis, error) = probe.probe(s), probe.axis_parts(s, torch.zeros(s.out_shape, dtype=torch.float64))
    assert error < probe.STRUCTURE_TOL
    x = torch.rand(4, 3, 32, 32, dtype=torch.float64)
    torch.testing.assert_close(by_axis(x), by_basis(x), atol=1e-6, rtol=0)
    turned, _ = probe.axis_parts(spec.parse("rot90 | grayscale"), torch.zeros(1, 32, 32, dtype=torch.float64))
    assert turned is None  # a transpose is not A G B^T: the check on random images says so


def test_a_256_pixel_pipeline_is_fitted_banded_in_under_a_minute():
    s = spec.parse("resize(128) | grayscale | hflip | vflip", (3, 256, 256))
    start = time.perf_counter()
    x = torch.rand(32, *s.in_shape, generator=torch.Generator().manual_seed(0))
    sep = models.build("separable", out_shape=s.out_shape, in_shape=s.in_shape)
    set_parts(sep, fit.separable_als(x, s(x)))
    band = banded.from_separable(sep, banded.TRAINED_SUPPORT_TOL)
    seconds = time.perf_counter() - start
    assert seconds < 60 and max(map(len, band.row_support + band.col_support)) <= 4  # a band, found from data
    assert _gray_off(band, s, s.in_shape, n=4) < 0.01
    with pytest.raises(ValueError, match="too large|DENSE_LIMIT|neither"):
        models.build("exact", pipeline="rot90 | resize(128)", in_shape=(3, 256, 256))  # no structure, no matrix


def test_an_example_is_read_off_in_closed_form_and_a_random_one_refused():
    photos = torch.rand(40, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    example = user_pipelines.Example("small", "resize(14) | hflip", (1, 28, 28))
    (row,) = user_pipelines.study_one(example, photos[:32], photos[32:])
    assert row["model"] == "banded (closed form)" and row["out_shape"] == "1x14x14" and row["params"] < 200
    assert row["photo_max_gray"] < 0.01 and row["noise_max_gray"] < 0.01 and row["refused"] == ""
    random_flip = user_pipelines.Example("flip", v2.RandomHorizontalFlip(), (3, 32, 32))
    (refused,) = user_pipelines.study_one(random_flip, photos[:32], photos[32:])
    assert refused["model"] == "-" and "RandomHorizontalFlip" in refused["refused"]
