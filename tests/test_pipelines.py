import pytest
import torch

from lib.core import banded, classify, constants, curves, fit, models, pipeline, spec
from lib.core.probe import probe
from lib.core.separable import parts_of
from lib.experiments import generality

LINEAR = {  # text: output shape
    "resize(28,28) | grayscale | hflip | vflip": (1, 28, 28),
    "resize(16, 20) | hflip": (3, 16, 20),
    "resize(12)": (3, 12, 12),
    "center_crop(24, 20) | vflip": (3, 24, 20),
    "pad(2) | grayscale": (1, 36, 36),
    "rot90 | grayscale": (1, 32, 32),
    "rot90(2)": (3, 32, 32),
    "blur(5, 1.0) | grayscale": (1, 32, 32),
}
NONLINEAR = ("brightness(1.5)", "gamma(2.2)", "solarize(0.5)")


@pytest.mark.parametrize("text", LINEAR)
def test_every_linear_step_parses_to_its_output_shape(text):
    s = spec.parse(text)
    assert s.out_shape == LINEAR[text] and s.declared_linear
    assert s(torch.rand(2, 3, 32, 32)).shape == (2, *LINEAR[text])


@pytest.mark.parametrize("text", NONLINEAR)
def test_point_wise_steps_are_declared_non_linear(text):
    s = spec.parse(f"{text} | grayscale")
    assert not s.declared_linear and s.out_shape == (1, 32, 32)


def test_the_default_is_the_target_pipeline():
    x = torch.rand(8, 3, 32, 32)
    assert torch.equal(spec.parse(constants.TARGET)(x), pipeline.make_targets(x))


def test_pipelines_draw_no_random_numbers():
    every = "blur(3, 1.0) | resize(28,28) | center_crop(24) | pad(2) | rot90 | hflip | vflip | gamma(2) | grayscale"
    s = spec.parse(every)
    torch.manual_seed(0)
    s(torch.rand(2, 3, 32, 32))
    after = torch.rand(1)
    torch.manual_seed(0)
    torch.rand(2, 3, 32, 32)
    assert torch.equal(torch.rand(1), after)  # a seeded run's initialisation and batch order stay the same


def test_steps_do_what_their_names_say():
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(spec.parse("rot90")(x), torch.rot90(x, 1, dims=(-2, -1)))
    assert torch.equal(spec.parse("hflip | vflip")(x), x.flip(-1).flip(-2))
    assert torch.equal(spec.parse("pad(2)")(x)[..., 2:-2, 2:-2], x)
    assert torch.equal(spec.parse("center_crop(24, 20)")(x), x[..., 4:28, 6:26])
    assert torch.allclose(spec.parse("gamma(2)")(x), x**2)
    assert torch.equal(spec.parse("brightness(1.5)")(x), (1.5 * x).clamp(0, 1))
    assert torch.equal(spec.parse("solarize(0.5)")(x), torch.where(x >= 0.5, 1 - x, x))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "non-empty string"),
        ("resize(28", "cannot read step"),
        ("resize(28,28) | sharpen", "unknown step 'sharpen'"),
        ("resize(a, 2)", "'a' is not a number"),
        ("resize(1, 2, 3)", "takes 1 or 2 arguments, got 3"),
        ("resize(0, 4)", "whole numbers >= 1"),
        ("grayscale(2)", "takes 0 arguments"),
        ("pad(-1)", "whole number from 0 to 1024"),
        ("resize(1e9)", "sizes must be at most 1024"),
        ("pad(600) | pad(600)", "larger than 1024 a side"),
        ("blur(4, 1.0)", "odd kernel size"),
        ("rot90(1.5)", "whole number of quarter turns"),
        ("gamma(0)", "gamma must be > 0"),
        ("solarize(2)", "threshold must lie in [0, 1]"),
        ("center_crop(40) | resize(0)", "whole numbers >= 1"),
    ],
)
def test_bad_pipelines_get_clear_errors(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        spec.parse(text)


def test_classification_of_known_pipelines():
    target = classify.classify(spec.parse(constants.TARGET), n=8)
    assert target.linear and target.separable and target.operator_gray < 1e-3
    assert target.operator is probe() and target.operator.matrix.shape == (784, 3072)  # the one probe
    turned = classify.classify(spec.parse("rot90 | grayscale"), n=8)  # a transpose: linear, not A G B^T
    assert turned.linear and not turned.separable and turned.row()["kronecker_ratio"] > 0.1
    curved = classify.classify(spec.parse("gamma(2.2) | grayscale"), n=8)
    assert not curved.linear and curved.superposition_gray > 1 and curved.operator is None
    assert curved.row() == {"superposition_gray": curved.superposition_gray, "scaling_gray": curved.scaling_gray,
                            "offset_gray": 0.0, "linear": False, "affine": False, "operator_gray": None,
                            "channel_ratio": None, "kronecker_ratio": None, "separable": None}  # fmt: skip


@pytest.mark.parametrize("text", ["resize(16, 20) | hflip", "center_crop(24) | rot90 | grayscale"])
def test_the_exact_model_of_any_linear_pipeline_is_the_pipeline(text):
    s = spec.parse(text)
    exact = models.build("exact", out_shape=s.out_shape, pipeline=text)
    x = torch.rand(16, 3, 32, 32)
    with torch.no_grad():
        assert (exact(x) - s(x)).abs().max() * 255 < 1e-4
    assert exact.separable == probe(s).separable == (text != "center_crop(24) | rot90 | grayscale")
    if exact.separable:
        assert parts_of(exact).out_shape == s.out_shape


@pytest.mark.parametrize("out_shape", [(1, 16, 20), (3, 24, 24)])
@pytest.mark.parametrize("name", ["dense", "separable"])
def test_models_build_for_any_output_shape_and_save(tmp_path, name, out_shape):
    model = models.build(name, out_shape=out_shape)
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, *out_shape)
    loaded = models.load(models.save(model, tmp_path / "m.pt"), name=name)
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(loaded(x), model(x))


def test_default_models_keep_the_target_size():
    assert models.n_params(models.build("dense")) == 803_604 and models.n_params(models.build("separable")) == 1796


def test_closed_form_fits_an_rgb_pipeline_exactly():
    s = spec.parse("resize(16, 20) | hflip")
    x = torch.rand(3200, 3, 32, 32, generator=torch.Generator().manual_seed(0))  # more images than pixels
    y = s(x)
    linear = fit.linear_lstsq(x.flatten(1), y.flatten(1))
    test = torch.rand(16, 3, 32, 32)
    for name in ("dense", "separable"):
        model = models.build(name, out_shape=s.out_shape)
        info = fit.set_from_fit(model, linear, s.out_shape)
        assert info["channel_rank1_ratio"] < 1e-4  # the identity channel mix is one mix times one map
        with torch.no_grad():
            assert (model(test) - s(test)).abs().max() * 255 < 0.01


def test_smallest_within_skips_the_operator_and_says_none():
    rows = [
        {"pipeline": "a", "model": "dense", "params": 10, "test_max_gray": 0.001},
        {"pipeline": "a", "model": "separable", "params": 5, "test_max_gray": 0.2},
        {"pipeline": "a", "model": "exact", "params": 0, "test_max_gray": 0.0},
        {"pipeline": "b", "model": "dense", "params": 10, "test_max_gray": 7.0},
    ]
    answers = generality.smallest_within(rows)
    assert answers["a"]["model"] == "separable" and answers["b"] is None


def test_every_separable_pipeline_gets_its_own_band_and_a_quarter_turn_its_permutation():
    gen = torch.Generator().manual_seed(0)
    train, test = torch.rand(3200, 3, 32, 32, generator=gen), torch.rand(50, 3, 32, 32, generator=gen)
    rgb, turn = "resize(16,20) | hflip", "center_crop(24) | rot90 | grayscale"
    rows, fitted, refused = generality.study([rgb, turn], train, test, n_time=8, repeats=1, progress=False)
    by = {(r["pipeline"], r["model"]): r for r in rows}
    band, sep = by[(rgb, "banded (closed form)")], by[(rgb, "separable")]
    assert band["candidate"] == generality.CLOSED_FORM and band["params"] < sep["params"] / 4
    assert band["test_max_gray"] < 0.01 and sep["test_max_gray"] < 0.01
    assert by[(turn, "separable")]["test_max_gray"] > 10  # a quarter turn is not A G B^T
    permuted = by[(turn, "permuted banded (closed form)")]  # but a separable map with its outputs reordered
    assert permuted["params"] < 100 and permuted["test_max_gray"] < 0.01
    assert generality.smallest_within(rows)[rgb]["model"] == "banded (closed form)" and refused == {}
    assert set(fitted[turn]) == {"dense", "separable", "permuted banded (closed form)"}


def test_a_fold_after_the_map_is_refused_by_the_closed_form_and_held_by_a_curve_after():
    gen = torch.Generator().manual_seed(0)
    train, test = torch.rand(3200, 3, 32, 32, generator=gen), torch.rand(50, 3, 32, 32, generator=gen)
    fold = "grayscale | resize(28,28) | solarize(0.7)"
    rows, _, refused = generality.study([fold], train, test, n_time=8, repeats=1, progress=False)
    by = {r["model"]: r for r in rows}
    assert set(by) == {"dense", "separable + curve"} and "folds after its linear steps" in refused[fold]
    assert by["separable + curve"]["test_max_gray"] < 0.5 < by["dense"]["test_max_gray"]


def test_a_table_gives_the_nearest_levels_value():
    identity = curves.Table()(torch.tensor([0.0, 0.6 / 255, 1.0]))  # off a level: the nearest level's value
    torch.testing.assert_close(identity, torch.tensor([0.0, 1 / 255, 1.0]), rtol=0, atol=1e-7)


def test_a_curve_after_the_linear_map_holds_a_monotone_step_and_a_fold():
    x = torch.rand(3200, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    test = torch.rand(64, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    for text in ("grayscale | resize(16,16) | gamma(2.2)", "grayscale | resize(16,16) | solarize(0.7)"):
        after = spec.parse(text)
        model = generality.fit_separable_then_curve(x, after.out_shape, after)
        band = curves.ThenCurve(banded.from_separable(model[0], banded.TRAINED_SUPPORT_TOL), model[1])
        with torch.no_grad():
            assert (model(test) - after(test)).abs().max().item() * 255 < 0.5, text
            assert (band(test) - after(test)).abs().max().item() * 255 < 0.5, text
    wavy = spec.wrap(lambda im: torch.sin(60 * im), (3, 32, 32))  # monotone only over stretches of 0.05
    assert generality.fit_separable_then_curve(x[:64], wavy.out_shape, wavy) is None


def test_a_read_curve_puts_a_threshold_between_two_adjacent_floats():
    step = spec.parse("solarize(0.7)", (1, 4, 4))
    curve = curves.read_curve(step, step.in_shape)
    jump = int(((curve.values[1:] - curve.values[:-1]).abs() > 0.1).nonzero()[0])
    below, at = curve.knots[jump].item(), curve.knots[jump + 1].item()
    assert at == torch.tensor(0.7).item()  # the threshold as float32 images compare with it
    assert torch.tensor(below).nextafter(torch.tensor(1.0)).item() == at
    x = torch.tensor([0.0, 0.25, below, at, 0.9, 1.0])
    torch.testing.assert_close(curve(x), step(x.view(-1, 1, 1, 1).expand(-1, 1, 4, 4))[:, 0, 0, 0], rtol=0, atol=1e-6)
