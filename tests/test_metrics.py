import math

import pytest
import torch

from lib import metrics


def test_known_array():
    target = torch.tensor([0.0, 0.5, 1.0, 0.2])
    pred = torch.tensor([0.1, 0.5, 0.9, 0.2])
    assert metrics.mae(pred, target) == pytest.approx(0.05)
    assert metrics.max_abs(pred, target) == pytest.approx(0.1)
    assert metrics.psnr(pred, target) == pytest.approx(10 * math.log10(1 / 0.005), rel=1e-6)
    s = metrics.summary(pred, target)
    assert s["mae_gray"] == pytest.approx(0.05 * 255) and s["max_gray"] == pytest.approx(0.1 * 255)


def test_exact8_counts_matching_8bit_roundings():
    target = torch.tensor([10 / 255, 20 / 255, 30 / 255, 40 / 255])
    pred = target + torch.tensor([0.4, -0.4, 0.6, 0.0]) / 255  # third one rounds to another level
    assert metrics.exact8(pred, target) == pytest.approx(0.75)
    assert metrics.exact8(torch.tensor([-0.1, 1.2]), torch.tensor([0.0, 1.0])) == 1.0  # 8-bit clips


def test_identical_images():
    x = torch.rand(3, 1, 28, 28)
    assert metrics.psnr(x, x) == math.inf and metrics.exact8(x, x) == 1.0 and metrics.max_abs(x, x) == 0


def test_shape_mismatch():
    with pytest.raises(ValueError, match="shape"):
        metrics.mae(torch.zeros(2), torch.zeros(3))
