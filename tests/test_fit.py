"""The closed-form fits recover a known linear map: the pipeline's own operator."""

import pytest
import torch

from lib.core import fit, models, synthetic
from lib.core.pipeline import make_targets
from lib.core.probe import probe


@pytest.fixture(scope="module")
def noise_set():
    # more images than the 3,072 input pixels, so the normal equations have one exact solution
    x = synthetic.images("noise", 3500, seed=0)
    return x, make_targets(x)


@pytest.fixture(scope="module")
def op():
    return probe()


def test_linear_lstsq_is_the_operator(noise_set, op):
    x, y = noise_set
    f = fit.linear_lstsq(x, y)
    assert f.solver == "cholesky"
    assert (f.weight - op.matrix).abs().max() < 1e-4
    assert f.bias.abs().max() < 1e-4


def test_too_few_images_fall_back_to_minimum_norm():
    x = synthetic.images("noise", 200, seed=3)
    f = fit.linear_lstsq(x, make_targets(x))
    assert f.solver.startswith("eigh")
    pred = (f.weight @ x.double().flatten(1).T).T + f.bias  # interpolates its own training images
    assert (pred - make_targets(x).double().flatten(1)).abs().max() < 1e-4


@pytest.mark.parametrize("name", ["dense", "separable", "fc_large"])
def test_fitted_models_match_the_pipeline_on_unseen_images(noise_set, name):
    x, y = noise_set
    torch.manual_seed(0)
    model = models.build(name)
    untrained = (model(x[:100]) - y[:100]).abs().max().item()
    info = fit.fit_model(model, x, y)
    test = synthetic.images("blocks", 200, seed=9)
    err = (model(test) - make_targets(test)).abs().max().item()
    assert err < 0.01 / 255 < untrained  # within a hundredth of a gray level; untrained is far off
    if name != "fc_large":
        assert info["channel_rank1_ratio"] < 1e-4  # the pipeline grays first: one channel map
    if name == "separable":
        assert info["kronecker_rank1_ratio"] < 1e-4  # and resizes rows and columns apart


def test_factorisations_recover_their_factors():
    g = torch.Generator().manual_seed(1)
    a, b = torch.rand(4, 5, generator=g, dtype=torch.float64), torch.rand(3, 6, generator=g, dtype=torch.float64)
    w = torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64)
    spatial = torch.kron(a, b)  # (12, 30)
    a2, b2, ratio = fit.nearest_kronecker(spatial, (4, 3), (5, 6))
    assert ratio < 1e-10 and torch.allclose(torch.kron(a2, b2), spatial, atol=1e-12)
    weight = torch.cat([c * spatial for c in w], dim=1)  # (12, 90): channel blocks side by side
    w2, m2, ratio = fit.factor_channels(fit.LinearFit(weight, torch.zeros(12), "test"))
    assert ratio < 1e-10 and torch.allclose(w2, w / w.sum(), atol=1e-12)
    assert torch.allclose(m2, spatial * w.sum(), atol=1e-12)


def test_refuses_what_it_cannot_fit(noise_set):
    x, y = noise_set
    with pytest.raises(TypeError, match="no closed-form fit"):
        fit.fit_model(models.build("conv3"), x[:10], y[:10])
    with pytest.raises(ValueError, match="sigmoid"):
        fit.fit_model(models.build("dense", output="sigmoid"), x[:10], y[:10])


def test_conv_lstsq_recovers_several_channels_and_oblong_kernels():
    g = torch.Generator().manual_seed(3)
    x = torch.rand(30, 3, 32, 32, generator=g)
    kernel, bias = torch.randn(2, 3, 7, 3, generator=g), torch.tensor([0.3, -0.2])
    y = torch.nn.functional.conv2d(x, kernel, bias)  # (30, 2, 26, 30)
    model = models.build("conv5", out_shape=(2, 26, 30))
    info = fit.fit_model(model, x, y)
    assert info["solver"] == "normal equations of the 7x3 patches"
    assert torch.allclose(model.conv.weight, kernel, atol=1e-4) and torch.allclose(model.conv.bias, bias, atol=1e-4)


def test_conv_lstsq_recovers_a_known_kernel():
    g = torch.Generator().manual_seed(2)
    x = torch.rand(40, 3, 32, 32, generator=g)
    kernel, bias = torch.randn(1, 3, 5, 5, generator=g), torch.tensor([0.3])
    y = torch.nn.functional.conv2d(x, kernel, bias)  # (40, 1, 28, 28)
    model = models.build("conv5")
    info = fit.fit_model(model, x, y)
    assert info["n_images"] == 40
    assert torch.allclose(model.conv.weight, kernel, atol=1e-4) and torch.allclose(model.conv.bias, bias, atol=1e-4)
