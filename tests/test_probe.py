import torch

from lib import pipeline
from lib.probe import probe


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
