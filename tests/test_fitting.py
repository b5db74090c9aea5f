"""LearnedTransform.fit on any pipeline: each family's selection and accuracy, refusals, shape cache, files."""

import pytest
import torch
import torch.nn.functional as F
from torchvision.transforms import v2

from lib.core import export_onnx, families, fitting, probe, spec
from lib.core.transform import LearnedTransform
from tests.test_engine import needs_cc

GRAY = 255.0  # one gray level is 1/255


def _noise(n: int, shape, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, *shape), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def _photos(n: int, shape, seed: int = 0) -> torch.Tensor:
    """Photograph-like uint8 images: smooth shapes with a little grain."""
    gen = torch.Generator().manual_seed(seed)
    c, h, w = shape
    coarse = torch.rand(n, c, max(2, h // 6), max(2, w // 6), generator=gen)
    smooth = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=False)
    grain = 0.03 * torch.randn(n, c, h, w, generator=gen)
    return ((smooth + grain).clamp(0, 1) * 255).round().to(torch.uint8)


def _gray_off(t: LearnedTransform, pipeline, x: torch.Tensor) -> float:
    """The worst pixel of ``t(x)`` against the pipeline on ``x`` as floats in [0, 1], in gray levels."""
    with torch.no_grad():
        return (t(x) - pipeline(x.float() / GRAY)).abs().max().item() * GRAY


def _resize(h: int, w: int):
    return v2.Resize((h, w), antialias=True)


def _rot90(x):
    return torch.rot90(x, 1, (-2, -1))


def _rotate30(x):
    return v2.functional.rotate(x, 30, interpolation=v2.InterpolationMode.BILINEAR)


def _contrast_clamped(x):
    return ((x - 0.5) * 1.5 + 0.5).clamp(0, 1)


def _gamma(x):
    return x.clamp(0, 1) ** 2.2


def _sqrt(x):
    return x.clamp(0, 1).sqrt()


def _solarize(x):
    return v2.functional.solarize(x, 0.5)


# family: (pipeline, input shape, worst gray levels allowed against it on uint8 photographs and noise)
FAMILIES = {
    "banded": (v2.Compose([_resize(16, 12), v2.Grayscale(), v2.Normalize([0.48], [0.23])]), (3, 24, 32), 0.01),
    "permuted banded": (v2.Compose([_resize(16, 12), v2.Lambda(_rot90)]), (3, 24, 32), 0.01),
    "permuted banded, padded": (v2.Compose([v2.Pad(2), v2.Lambda(_rot90)]), (3, 24, 32), 0.01),  # blank outputs
    "dense": (v2.Compose([_resize(16, 16), v2.Lambda(_rotate30)]), (1, 32, 32), 0.01),
    "banded + clamp": (v2.Compose([_resize(16, 12), v2.Lambda(_contrast_clamped)]), (3, 24, 32), 0.01),
    "banded + curve": (v2.Compose([_resize(16, 12), v2.Lambda(_gamma)]), (3, 24, 32), 0.05),
    "table + banded": (v2.Compose([v2.Lambda(_sqrt), _resize(16, 12)]), (3, 24, 32), 0.01),
}
SOLARIZE_THEN_RESIZE = v2.Compose([v2.Lambda(_solarize), _resize(16, 12)])
RESIZE_THEN_SOLARIZE = v2.Compose([_resize(16, 12), v2.Lambda(_solarize)])


@pytest.mark.parametrize("family", list(FAMILIES))
def test_each_family_is_chosen_for_its_pipeline_and_reproduces_it_on_photographs_and_noise(family, tmp_path):
    pipeline, shape, tol = FAMILIES[family]
    photos = _photos(6, shape, seed=1)
    t = LearnedTransform.fit(pipeline, in_shape=shape, x=photos)
    report = t.reports["x".join(map(str, shape))]
    assert report.family == t.model.family == family.split(",")[0]
    assert report.in_shape == shape and report.params > 0 and report.seconds > 0
    assert report.noise_gray <= tol and report.photo_gray is not None and report.photo_gray <= tol
    for x in (_photos(5, shape, seed=2), _noise(5, shape, seed=3)):
        assert _gray_off(t, pipeline, x) <= tol
    assert family.split(",")[0] in repr(t) and "gray levels" in repr(t)
    again = LearnedTransform.load(t.save(tmp_path / "t.pt"))  # every family's parts go through a file unchanged
    x = _noise(3, shape, seed=4)
    assert torch.equal(again(x), t(x)) and again.fits == t.fits


def test_the_smaller_families_are_tried_first_and_kept_in_the_report():
    pipeline, shape, _ = FAMILIES["dense"]
    report = next(iter(LearnedTransform.fit(pipeline, in_shape=shape).reports.values()))
    assert [line.split(":")[0] for line in report.tried] == ["banded", "permuted banded"]
    assert float(report.tried[0].split(": ")[1].split()[0]) > 1  # the separable map misses by whole gray levels


def test_a_fold_before_the_resize_is_a_table_exact_on_8_bit_images():
    shape = (3, 24, 32)
    t = LearnedTransform.fit(SOLARIZE_THEN_RESIZE, in_shape=shape)
    assert t.model.family == "table + banded"
    assert any("turns back" in line for line in t.reports["3x24x32"].tried)  # the fold seen, before the table
    x = _photos(5, shape, seed=5)
    assert _gray_off(t, SOLARIZE_THEN_RESIZE, x) <= 0.01
    on_levels = x.float() / GRAY  # floats on 8-bit levels: the table holds them exactly too
    with torch.no_grad():
        assert (t(on_levels) - SOLARIZE_THEN_RESIZE(on_levels)).abs().max().item() * GRAY <= 0.01
        between = (on_levels + 0.4 / GRAY).clamp(0, 1)  # off the levels the table takes the nearest level's entry
        assert (t(between) - SOLARIZE_THEN_RESIZE(between)).abs().max().item() * GRAY > 0.1


@pytest.mark.parametrize("pipeline", [RESIZE_THEN_SOLARIZE, "resize(16, 12) | solarize(0.5)"])
def test_a_fold_after_the_linear_steps_is_refused_naming_the_step(pipeline):
    with pytest.raises(fitting.Refused, match=r"not affine.*from step 2 .*folds after its linear steps") as err:
        LearnedTransform.fit(pipeline, in_shape=(3, 24, 32))
    assert isinstance(err.value, ValueError) and "table + banded:" in str(err.value)


def test_a_random_pipeline_is_refused_naming_its_random_step():
    with pytest.raises(ValueError, match=r"is random.*RandomHorizontalFlip: use v2.functional.hflip"):
        LearnedTransform.fit(v2.Compose([_resize(16, 12), v2.RandomHorizontalFlip()]), in_shape=(3, 24, 32))


@pytest.mark.parametrize(
    ("pipeline", "message"),
    [(lambda x: x.mean(), r"turns \(3, 24, 32\) images into \(\), not 1 or 3 channel images"),
     (lambda x: (x, x), "returns tuple, not a tensor of images")],
)  # fmt: skip
def test_a_pipeline_whose_output_is_not_an_image_is_refused(pipeline, message):
    with pytest.raises(ValueError, match=message):
        LearnedTransform.fit(pipeline, in_shape=(3, 24, 32))


def test_an_input_side_over_the_limit_is_refused_now_or_at_the_first_call():
    assert spec.MAX_SIDE == 1024
    with pytest.raises(ValueError, match="sides from 1 to 1024"):
        LearnedTransform.fit(_resize(16, 12), in_shape=(3, 24, 1025))
    t = LearnedTransform.fit(_resize(16, 12))
    with pytest.raises(ValueError, match=r"sides from 1 to 1024, got \(3, 8, 1025\)"):
        t(torch.zeros(3, 8, 1025, dtype=torch.uint8))
    assert len(t.maps) == 0 and t.fit_seconds == 0


def test_a_dense_map_over_the_limit_is_refused(monkeypatch):
    pipeline, shape, _ = FAMILIES["dense"]
    monkeypatch.setattr(families, "DENSE_LIMIT", 1000)
    with pytest.raises(fitting.Refused, match=r"it is affine.*262,144 entries, over the limit of 1,000"):
        LearnedTransform.fit(pipeline, in_shape=shape)


def test_a_list_of_three_sizes_is_fitted_once_per_size_and_matches_per_shape_calls():
    pipeline = v2.Compose([_resize(16, 16), v2.Grayscale()])
    shapes = [(3, 24, 32), (3, 48, 48), (3, 24, 32), (3, 30, 20)]
    images = [_photos(1, shape, seed=i)[0] for i, shape in enumerate(shapes)]
    t = LearnedTransform.fit(pipeline)
    out = t(images)
    assert isinstance(out, list) and [tuple(o.shape) for o in out] == [(1, 16, 16)] * 4
    assert sorted(t.maps) == ["3x24x32", "3x30x20", "3x48x48"] and len(t.maps) == 3 and len(t.fits) == 3
    seconds = t.fit_seconds
    assert seconds > 0 and "3 fitted" in repr(t)
    for img, y in zip(images, out, strict=True):
        alone = t(img)  # one image (C, H, W) in, one out
        assert isinstance(alone, torch.Tensor) and torch.equal(alone, y)
        assert (y - pipeline(img.float()[None] / GRAY)[0]).abs().max().item() * GRAY <= 0.01
    assert len(t.maps) == 3 and t.fit_seconds == seconds  # the sizes seen are not fitted again


def test_a_row_map_read_for_one_shape_is_reused_for_another_with_the_same_height():
    pipeline = v2.Compose([v2.Resize(24, antialias=True), v2.CenterCrop(20)])
    t = LearnedTransform.fit(pipeline)
    first, second = _noise(3, (3, 48, 64), seed=6), _noise(3, (3, 48, 80), seed=7)
    assert _gray_off(t, pipeline, first) <= 0.01 and _gray_off(t, pipeline, second) <= 0.01
    methods = [t.reports[k].method for k in ("3x48x64", "3x48x80")]
    assert "reused" not in methods[0] and "row map reused" in methods[1]
    assert all(t.reports[k].family == "banded" for k in t.reports)


def test_a_saved_transform_keeps_its_fits_and_refuses_new_shapes_without_a_pipeline(tmp_path):
    pipeline = FAMILIES["table + banded"][0]
    t = LearnedTransform.fit(pipeline)
    a, b = _noise(3, (3, 24, 32), seed=8), _noise(3, (3, 48, 48), seed=9)
    ya, yb = t(a), t(b)
    loaded = LearnedTransform.load(t.save(tmp_path / "t.pt"))
    assert torch.equal(loaded(a), ya) and torch.equal(loaded(b), yb)
    assert loaded.fits == t.fits and list(loaded.maps) == ["3x24x32", "3x48x48"] and loaded.pipeline is None
    assert loaded.reports["3x48x48"].family == "table + banded"
    with pytest.raises(ValueError, match=r"holds fits for input shapes 3x24x32, 3x48x48, not 3x30x30, and no pipeline"):
        loaded(_noise(1, (3, 30, 30)))


def test_a_saved_spec_string_pipeline_still_fits_new_shapes_after_loading(tmp_path):
    text = "resize(16, 16) | grayscale"
    t = LearnedTransform.fit(text)
    t(_noise(2, (3, 24, 32), seed=10))
    loaded = LearnedTransform.load(t.save(tmp_path / "t.pt"))
    x = _photos(3, (3, 40, 36), seed=11)
    assert loaded.pipeline == text and tuple(loaded(x).shape) == (3, 1, 16, 16)
    assert list(loaded.maps) == ["3x24x32", "3x40x36"] and loaded.reports["3x40x36"].family == "banded"
    assert _gray_off(loaded, spec.parse(text, (3, 40, 36)), x) <= 0.01


@pytest.mark.parametrize("family", ["table + banded", "banded + curve", "permuted banded"])
def test_an_exported_graph_with_uint8_output_gives_the_transforms_levels(family, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    pipeline, shape, _ = FAMILIES[family]
    t = LearnedTransform.fit(pipeline, in_shape=shape, out_dtype=torch.uint8)
    path = export_onnx.export(t, tmp_path / "t.onnx")
    x = torch.cat([_photos(3, shape, seed=12), _noise(2, shape, seed=13)])
    y = export_onnx.run(export_onnx.session(path), x)
    expected = t(x)
    assert y.dtype == expected.dtype == torch.uint8 and y.shape == expected.shape
    assert (y.int() - expected.int()).abs().max().item() <= 1
    assert expected.float().std() > 10  # real images out, not a blank one


def test_a_transform_of_two_shapes_exports_one_graph_per_shape(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    t = LearnedTransform.fit(v2.Compose([_resize(16, 12), v2.Grayscale()]), out_dtype=torch.uint8)
    images = {"3x24x32": _photos(3, (3, 24, 32), seed=14), "3x48x48": _photos(3, (3, 48, 48), seed=15)}
    for x in images.values():
        t(x)
    paths = export_onnx.export(t, tmp_path / "t.onnx")
    assert isinstance(paths, dict) and sorted(paths) == sorted(images)
    for key, x in images.items():
        assert paths[key].name == f"t_{key}.onnx"
        y = export_onnx.run(export_onnx.session(paths[key]), x)
        assert y.dtype == torch.uint8 and (y.int() - t(x).int()).abs().max().item() <= 1


def test_the_axis_probe_reads_a_normalize_offset_as_the_maps_bias():
    pipeline = v2.Compose([_resize(16, 16), v2.Normalize([0.5, 0.4, 0.3], [0.2, 0.3, 0.4])])
    s = spec.wrap(pipeline, (3, 40, 48))
    parts = probe.read_axes(s, probe.blank_response(s))
    assert parts is not None
    x = torch.cat([torch.zeros(1, 3, 40, 48), torch.rand(4, 3, 40, 48, generator=torch.Generator().manual_seed(16))])
    with torch.no_grad():
        assert (parts(x.double()) - s(x).double()).abs().max().item() < 1e-5
        blank = parts(x[:1].double())[0]
    torch.testing.assert_close(blank.mean((1, 2)), torch.tensor([-2.5, -4 / 3, -0.75], dtype=torch.float64))


@needs_cc
@pytest.mark.parametrize("family", [f for f in FAMILIES if f != "dense"])  # each case of every family
def test_the_engine_runs_every_family_but_dense_in_the_cpu_loop(family):
    pipeline, shape, _ = FAMILIES[family]
    t = LearnedTransform.fit(pipeline, in_shape=shape)
    assert t.model.family == family.split(",")[0] and t.backend == "cpu-loop" and t.backend_reason == ""


def test_the_engine_runs_a_dense_map_eagerly_and_says_why():
    pipeline, shape, _ = FAMILIES["dense"]
    t = LearnedTransform.fit(pipeline, in_shape=shape)
    assert t.model.family == "dense" and t.backend == "eager" and "dense matrix" in t.backend_reason


def test_a_reused_row_map_that_does_not_hold_is_read_again():
    """Resize(int) resizes the shorter side: a 128-high portrait and a 128-high landscape image share their heights in
    and out, not their row maps."""
    pipeline = v2.Compose([v2.Resize(20, antialias=True), v2.CenterCrop(16)])
    t = LearnedTransform.fit(pipeline)
    for shape in ((3, 32, 24), (3, 32, 40)):
        x = _photos(3, shape, seed=8)
        assert _gray_off(t, pipeline, x) <= 0.01
        report = t.reports["x".join(map(str, shape))]
        assert report.family == "banded" and "reused" not in report.method, report.line()
