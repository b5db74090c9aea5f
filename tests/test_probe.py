import torch

from lib.core import pipeline
from lib.core.probe import _vector_padded, probe


def test_probed_operator_is_the_pipeline():
    op = probe()
    x = torch.rand(64, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    assert (op(x) - pipeline.apply_batched(x)).abs().max() < 1e-6
    flat = (op.matrix().float() @ x.flatten(1).T).T.reshape(64, 1, 28, 28)
    assert (flat - pipeline.apply_batched(x)).abs().max() < 1e-6


def test_operator_structure():
    op = probe()
    # ITU-R 601 luma weights, as torchvision rounds them (they add up to 0.9999, not 1)
    assert torch.allclose(op.gray, torch.tensor([0.2989, 0.587, 0.114], dtype=torch.float64), atol=1e-6)
    assert torch.allclose(op.rows.sum(1), torch.ones(28, dtype=torch.float64))  # resize keeps constants
    assert (op.rows >= 0).all() and (op.cols >= 0).all()  # antialiased bilinear weights are non-negative


def test_padding_for_vectors_adds_zero_columns_only_when_cheap():
    m = torch.rand(32, 28)
    padded = _vector_padded(m)
    assert padded.shape == (32, 32) and torch.equal(padded[:, :28], m) and not padded[:, 28:].any()
    assert _vector_padded(torch.rand(32, 20)).shape == (32, 20)  # 12 more columns: not worth it
    assert _vector_padded(torch.rand(32, 16)).shape == (32, 16)
