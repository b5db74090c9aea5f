import pytest
import torch

from lib.stopping import HALF_GRAY, THRESHOLD_SUM, EarlyStopper, rule_met

TARGET = torch.zeros(4, 1, 28, 28)


def test_threshold_is_half_a_gray_level_per_pixel():
    assert THRESHOLD_SUM == pytest.approx(784 * 0.5 / 255)


@pytest.mark.parametrize("err, met", [(0.49, True), (0.51, False)])
def test_mean_rule_both_sides(err, met):
    assert rule_met("mean", TARGET + err / 255, TARGET) is met
    assert rule_met("strict", TARGET + err / 255, TARGET) is met


def test_one_bad_pixel_fails_only_the_strict_rule():
    pred = TARGET.clone()
    pred[0, 0, 3, 3] = 0.6 / 255
    assert rule_met("mean", pred, TARGET)
    assert not rule_met("strict", pred, TARGET)


def test_unknown_rule():
    with pytest.raises(ValueError, match="unknown stopping rule"):
        rule_met("median", TARGET, TARGET)
    with pytest.raises(ValueError):
        EarlyStopper(rule="median")


def test_stopper_records_why_it_stopped():
    near, far = TARGET + 0.1 * HALF_GRAY, TARGET + 0.5
    s = EarlyStopper("mean", patience=0, max_epochs=5)
    assert not s.update(far, TARGET, 1.0)
    assert s.update(near, TARGET, 0.5) and s.stopped_by == "mean_rule" and s.epochs == 2

    s = EarlyStopper("mean", patience=2, max_epochs=50)
    results = [s.update(far, TARGET, score) for score in (1.0, 1.0, 1.0)]
    assert results == [False, False, True] and s.stopped_by == "patience"

    s = EarlyStopper("strict", patience=0, max_epochs=3)
    results = [s.update(far, TARGET, score) for score in (3.0, 2.0, 1.0)]
    assert results == [False, False, True] and s.stopped_by == "max_epochs"
