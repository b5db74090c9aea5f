import pytest
import torch

from lib.core import pipeline, spec
from lib.core.constants import TARGET
from lib.core.probe import probe


def test_probed_operator_is_the_pipeline():
    op = probe()
    x = torch.rand(64, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    assert (op(x) - pipeline.apply_batched(x)).abs().max() < 1e-6
    flat = (op.matrix.float() @ x.flatten(1).T).T.reshape(64, 1, 28, 28)
    assert (flat - pipeline.apply_batched(x)).abs().max() < 1e-6
    assert (op.parts.matrix() - op.matrix).abs().max() < 1e-6  # the parts are the matrix, factored


def test_operator_structure():
    op = probe()
    assert op.separable and op.out_shape == (1, 28, 28) and op.matrix.shape == (784, 3072)
    parts = op.parts
    # ITU-R 601 luma weights, as torchvision rounds them (they add up to 0.9999, not 1)
    assert torch.allclose(parts.gray, torch.tensor([[0.2989, 0.587, 0.114]], dtype=torch.float64), atol=1e-6)
    assert torch.allclose(parts.rows.sum(1), torch.ones(28, dtype=torch.float64))  # resize keeps constants
    assert (parts.rows >= -1e-9).all() and (parts.cols >= -1e-9).all()  # antialiased weights are non-negative
    assert not parts.bias.any()  # a linear pipeline adds no constant
    # the flips: output row 0 is made of the bottom input rows, output column 0 of the rightmost columns
    assert parts.rows[0, 28:].sum() > 0.99 and parts.cols[0, 28:].sum() > 0.99


def test_rgb_pipeline_has_an_identity_mix():
    s = spec.parse("resize(16, 20) | hflip")
    op = probe(s)
    assert op.separable and op.parts.out_shape == (3, 16, 20)
    assert torch.allclose(op.parts.gray, torch.eye(3, dtype=torch.float64), atol=1e-6)
    x = torch.rand(8, 3, 32, 32)
    assert (op(x) - s(x)).abs().max() < 1e-6


def test_a_quarter_turn_is_a_matrix_without_parts():
    s = spec.parse("rot90 | grayscale")
    op = probe(s)
    assert not op.separable and op.parts is None and op.kronecker_ratio > 0.1
    with pytest.raises(TypeError, match="not row/column separable"):
        op.read_parts()
    x = torch.rand(8, 3, 32, 32)
    assert (op(x) - s(x)).abs().max() < 1e-6  # the matrix product


def test_the_same_pipeline_is_probed_once():
    assert probe() is probe(TARGET.replace(" ", "")) is probe(spec.parse(TARGET))
    assert probe("resize(12)") is not probe()
