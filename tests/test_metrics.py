import math

import pytest
import torch

from lib.core import metrics


def test_known_array():
    target = torch.tensor([0.0, 0.5, 1.0, 0.2])
    pred = torch.tensor([0.1, 0.5, 0.9, 0.2])
    assert metrics.mae(pred, target) == pytest.approx(0.05)
    assert metrics.max_abs(pred, target) == pytest.approx(0.1)
    assert metrics.psnr(pred, target) == pytest.approx(10 * math.log10(1 / 0.005), rel=1e-6)
    s = metrics.score(pred, target)
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


def test_percent_never_rounds_up_to_100():
    assert metrics.percent(99.998) == "99.998"
    assert metrics.percent(99.9999994) == "99.999999"
    assert metrics.percent(100.0) == "100.00" and metrics.percent(63.456) == "63.46"


def test_boundary_share_counts_pixels_near_a_rounding_boundary():
    # 10.5 levels sits on a boundary, 10.45 is 0.05 from it, 10.2 is 0.3 from it, 10.0 is 0.5 from it
    target = torch.tensor([10.5, 10.45, 10.2, 10.0], dtype=torch.float64) / 255
    assert metrics.boundary_share(target, 0.01) == pytest.approx(0.25)
    assert metrics.boundary_share(target, 0.1) == pytest.approx(0.5)
    assert metrics.boundary_share(target, 0.4) == pytest.approx(0.75)


def test_outside_share_and_fidelity_rows():
    assert metrics.outside_share(torch.tensor([-0.1, 0.0, 0.5, 1.0, 1.2])) == pytest.approx(0.4)
    x = torch.rand(6, 3, 4, 4)

    class Half(torch.nn.Module):
        def forward(self, x):
            return x[:, :1] * 0.5

    rows = metrics.fidelity(Half(), {"a": (x, x[:, :1] * 0.5), "b": (x, x[:, :1] * 0.5 + 2 / 255)})
    assert [r["images"] for r in rows] == ["a", "b"] and rows[0]["n"] == 6
    assert rows[0]["max_gray"] == 0 and rows[0]["exact8_pct"] == 100
    assert rows[1]["max_gray"] == pytest.approx(2, rel=1e-4) and rows[1]["exact8_pct"] == 0


def test_8bit_means_rounding_to_the_nearest_level():
    # the report's exact-8-bit compares values rounded to the nearest gray level (what an error of under
    # half a level keeps), not truncated ones: flooring would turn 0.7 into 0 and 254.6 into 254
    levels = metrics.to_8bit(torch.tensor([0.7, 1.4, 254.6, 300.0, -3.0]) / 255)
    assert levels.tolist() == [1, 1, 255, 255, 0]
