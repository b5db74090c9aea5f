import pytest
import torch

from lib.core.losses import LABELS, LOSSES, get_loss, l1, mse, range_weighted_sse

PRED = torch.tensor([[0.5, 1.5], [-0.5, 0.2]])
TARGET = torch.tensor([[0.5, 1.0], [0.0, 0.0]])
# squared errors 0, 0.25, 0.25, 0.04; the middle two predictions lie outside [0, 1]


def test_range_weighted_sse_2x2():
    assert range_weighted_sse(PRED, TARGET).item() == pytest.approx(0.25 * 2 + 0.25 * 2 + 0.04)
    assert range_weighted_sse(PRED, TARGET, out_of_range_weight=3).item() == pytest.approx(0.75 + 0.75 + 0.04)
    assert range_weighted_sse(PRED, TARGET, out_of_range_weight=1).item() == pytest.approx(0.54)


def test_sum_reduction_adds_images():
    two = range_weighted_sse(torch.stack([PRED, PRED]), torch.stack([TARGET, TARGET]))
    assert two.item() == pytest.approx(2 * range_weighted_sse(PRED, TARGET).item())


def test_plain_losses():
    assert mse(PRED, TARGET).item() == pytest.approx(0.54 / 4)
    assert l1(PRED, TARGET).item() == pytest.approx((0.5 + 0.5 + 0.2) / 4)


def test_get_loss_passes_weight_and_rejects_bad_names():
    assert get_loss("range_sse", out_of_range_weight=3)(PRED, TARGET).item() == pytest.approx(1.54)
    with pytest.raises(ValueError, match="unknown loss"):
        get_loss("huber")
    with pytest.raises(ValueError, match="takes no options"):
        get_loss("mse", out_of_range_weight=2)


def test_bad_inputs():
    with pytest.raises(ValueError, match="shape"):
        range_weighted_sse(PRED, TARGET[:1])
    with pytest.raises(ValueError, match="out_of_range_weight"):
        range_weighted_sse(PRED, TARGET, out_of_range_weight=0.5)


def test_every_loss_has_words():
    assert set(LABELS) == set(LOSSES) and all(LABELS.values())
