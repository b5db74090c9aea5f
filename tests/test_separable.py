from dataclasses import replace

import pytest
import torch

from lib.core import models
from lib.core.probe import probe
from lib.core.separable import SeparableParts, _vector_padded, parts_of, set_parts


def _flip_red() -> SeparableParts:
    """Y = the red channel, flipped upside down: rows reverse the 32 rows, cols keep the 32 columns."""
    eye = torch.eye(32)
    return SeparableParts(torch.tensor([[1.0, 0.0, 0.0]]), torch.zeros(1), eye.flip(0), eye)


def test_parts_compute_the_map_they_describe():
    x = torch.rand(4, 3, 32, 32)
    parts = _flip_red()
    assert parts.out_shape == (1, 32, 32)
    assert torch.equal(parts(x), x[:, :1].flip(-2))
    assert torch.allclose((parts.matrix() @ x.flatten(1).T).T, x[:, :1].flip(-2).flatten(1))
    biased = replace(parts, bias=torch.tensor([0.5]))
    assert torch.allclose(biased(x), x[:, :1].flip(-2) + 0.5)  # the bias is added before the spatial map


def test_three_channel_parts_mix_each_output_channel():
    eye = torch.eye(32)
    swap = SeparableParts(torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 2.0]]), torch.zeros(3), eye, eye)
    x = torch.rand(2, 3, 32, 32)
    expected = torch.stack([x[:, 1], x[:, 0], 2 * x[:, 2]], dim=1)
    assert torch.allclose(swap(x), expected)
    assert torch.allclose((swap.matrix() @ x.flatten(1).T).T, expected.flatten(1))


def test_set_parts_gives_a_model_the_map():
    x = torch.rand(4, 3, 32, 32)
    model = models.build("separable", out_shape=(1, 32, 32))
    set_parts(model, replace(_flip_red(), bias=torch.tensor([0.25])))
    with torch.no_grad():
        assert torch.allclose(model(x), x[:, :1].flip(-2) + 0.25)
    assert torch.equal(parts_of(model).rows, torch.eye(32).flip(0))  # parts out are the parts put in


def test_parts_of_a_model_are_its_own_tensors():
    model = models.build("separable")
    parts = parts_of(model)
    (parts.rows.sum() + 2 * parts.gray.sum() + 3 * parts.bias.sum()).backward()
    assert torch.equal(model.rows.grad, torch.ones(28, 32)) and torch.equal(
        model.gray.weight.grad, torch.full((1, 3, 1, 1), 2.0)
    )
    assert torch.equal(model.gray.bias.grad, torch.tensor([3.0]))
    with torch.no_grad():
        parts.cols.zero_()
    assert not model.cols.any()


def test_parts_of_the_exact_model_and_of_the_probed_operator():
    exact = parts_of(models.build("exact"))
    op = parts_of(probe())
    assert exact.out_shape == op.out_shape == (1, 28, 28)
    assert not exact.bias.any() and exact.gray.dtype == torch.float32 and op.gray.dtype == torch.float64
    assert torch.equal(exact.rows, op.rows.float())
    assert parts_of(op) is op  # parts are their own parts


def test_parts_are_refused_where_they_do_not_fit():
    model = models.build("separable")
    with pytest.raises(ValueError, match=r"rows of shape \(32, 32\) does not fit this map's \(28, 32\)"):
        set_parts(model, _flip_red())
    with pytest.raises(TypeError, match="Dense is not a separable map"):
        parts_of(models.build("dense"))
    with pytest.raises(TypeError, match="not row/column separable"):
        parts_of(models.build("exact", pipeline="rot90 | grayscale"))
    with pytest.raises(TypeError, match="parts of Exact cannot be set"):
        set_parts(models.build("exact"), parts_of(model))
    with pytest.raises(TypeError, match="parts of Operator cannot be set"):
        set_parts(probe(), parts_of(model))


def test_gray_weights_of_every_model_with_a_mix():
    luma = torch.tensor([0.2989, 0.587, 0.114], dtype=torch.float64) / 0.9999
    assert torch.allclose(models.gray_weights(models.build("exact")), luma, atol=1e-6)
    assert torch.allclose(models.gray_weights(probe()), luma, atol=1e-9)
    for name in ("dense", "separable"):
        model = models.build(name)
        with torch.no_grad():
            model.gray.weight.copy_(torch.tensor([1.0, 2.0, 1.0]).view(1, 3, 1, 1))
        assert torch.equal(models.gray_weights(model), torch.tensor([0.25, 0.5, 0.25], dtype=torch.float64))


def test_padding_for_vectors_adds_zero_columns_only_when_cheap():
    m = torch.rand(32, 28)
    padded = _vector_padded(m)
    assert padded.shape == (32, 32) and torch.equal(padded[:, :28], m) and not padded[:, 28:].any()
    assert _vector_padded(torch.rand(32, 20)).shape == (32, 20)  # 12 more columns: not worth it
    assert _vector_padded(torch.rand(32, 16)).shape == (32, 16)
