import pytest
import torch

from lib.core.constants import HALF_GRAY
from lib.core.stopping import EarlyStopper, per_image_abs_sum, rule_met, rule_value, threshold

TARGET = torch.zeros(4, 1, 28, 28)


def test_threshold_is_half_a_gray_level_per_pixel():
    assert threshold("mean") == threshold("strict") == pytest.approx(0.5 / 255)
    assert threshold("tolerance", 0.01) == pytest.approx(0.01 / 255)


@pytest.mark.parametrize("total, met", [(0.99, True), (1.01, False)])
def test_mean_rule_is_the_assignments_per_image_sum(total, met):
    # the assignment states it as a sum: the mean over images of each image's summed |error| below
    # 784 x 0.5/255; here every error sits on one pixel of each image, which the strict rule would refuse
    pred = TARGET.clone()
    pred[:, 0, 0, 0] = total * 784 * HALF_GRAY
    assert per_image_abs_sum(pred, TARGET) == pytest.approx(torch.full((4,), total * 784 * 0.5 / 255))
    assert rule_met("mean", pred, TARGET) is met
    assert not rule_met("strict", pred, TARGET)


@pytest.mark.parametrize("err, met", [(0.49, True), (0.51, False)])
def test_mean_rule_both_sides(err, met):
    assert rule_met("mean", TARGET + err / 255, TARGET) is met
    assert rule_met("strict", TARGET + err / 255, TARGET) is met


@pytest.mark.parametrize("err, met", [(0.0099, True), (0.0101, False)])
def test_tolerance_rule_both_sides(err, met):
    pred = TARGET.clone()
    pred[2, 0, 5, 7] = err / 255  # one pixel decides
    assert rule_met("tolerance", pred, TARGET, tolerance_gray=0.01) is met
    assert rule_met("strict", pred, TARGET)  # far inside half a level either way


def test_one_bad_pixel_fails_only_the_strict_rule():
    pred = TARGET.clone()
    pred[0, 0, 3, 3] = 0.6 / 255
    assert rule_met("mean", pred, TARGET)
    assert not rule_met("strict", pred, TARGET)


def test_the_rule_value_of_a_history_row_is_what_the_rule_compares_in_gray_levels():
    row = {"val_mae_gray": 0.1, "val_max_gray": 0.3, "held_out_max_gray": 0.7}
    assert [rule_value(row, r) for r in ("mean", "strict", "tolerance")] == [0.1, 0.3, 0.7]
    assert rule_value({"val_mae_gray": 0.1, "val_max_gray": 0.3}, "tolerance") == 0.3  # no held-out images
    with pytest.raises(ValueError, match="unknown stopping rule"):
        rule_value(row, "median")


def test_unknown_rule_and_bad_tolerance():
    with pytest.raises(ValueError, match="unknown stopping rule"):
        rule_met("median", TARGET, TARGET)
    with pytest.raises(ValueError):
        EarlyStopper(rule="median")
    with pytest.raises(ValueError, match="tolerance_gray"):
        EarlyStopper(rule="tolerance", tolerance_gray=0.0)


def test_stopper_records_why_it_stopped():
    near, far = TARGET + 0.1 * HALF_GRAY, TARGET + 0.5
    s = EarlyStopper("mean", patience=0, max_epochs=5)
    assert not s.update([(far, TARGET)])
    assert s.update([(near, TARGET)]) and s.stopped_by == "mean_rule" and s.epochs == 2

    s = EarlyStopper("mean", patience=2, max_epochs=50)
    results = [s.update([(far, TARGET)]) for _ in range(3)]
    assert results == [False, False, True] and s.stopped_by == "patience"

    s = EarlyStopper("strict", patience=0, max_epochs=3)
    results = [s.update([(far - k * 0.1, TARGET)]) for k in range(3)]
    assert results == [False, False, True] and s.stopped_by == "max_epochs"


def test_every_validation_set_must_pass():
    near = TARGET + 0.001 / 255
    held_bad = TARGET.clone()
    held_bad[1, 0, 0, 0] = 0.02 / 255
    s = EarlyStopper("tolerance", patience=0, max_epochs=5, tolerance_gray=0.01)
    assert not s.update([(near, TARGET), (held_bad, TARGET)])
    assert s.update([(near, TARGET), (near, TARGET)]) and s.stopped_by == "tolerance_rule"


def test_score_follows_the_rule():
    # the mean error falls while the largest error rises: the strict rule must not call that better
    spread = TARGET + 0.6 / 255
    spiky = TARGET.clone()
    spiky[0, 0, 0, 0] = 5 / 255
    s = EarlyStopper("strict", patience=0, max_epochs=5)
    s.update([(spread, TARGET)])
    s.update([(spiky, TARGET)])
    assert not s.improved and s.best == pytest.approx(0.6 / 255) and s.stopped_by is None
    m = EarlyStopper("mean", patience=0, max_epochs=5)
    m.update([(spread, TARGET)])
    m.update([(spiky, TARGET)])
    assert m.improved  # mean error 5/255/3136 per pixel is below 0.6/255


@pytest.mark.parametrize("rule", ["mean", "strict", "tolerance"])
def test_best_weights_are_kept_when_the_rule_fires(rule):
    s = EarlyStopper(rule, patience=0, max_epochs=5)
    assert not s.update([(TARGET + 0.5, TARGET)])
    assert s.update([(TARGET, TARGET)]) and s.rule_fired and not s.restore_best


def test_best_weights_are_restored_when_a_guard_or_an_outside_reason_ends_training():
    far = TARGET + 0.5
    s = EarlyStopper("mean", patience=1, max_epochs=50)
    s.update([(far, TARGET)])
    assert s.update([(far, TARGET)]) and s.stopped_by == "patience" and s.restore_best
    s = EarlyStopper("mean", patience=0, max_epochs=1)
    assert s.update([(far, TARGET)]) and s.stopped_by == "max_epochs" and s.restore_best
    for reason in ("interrupted", "optimum"):
        s = EarlyStopper("strict", patience=0, max_epochs=5)
        s.update([(far, TARGET)])
        s.stop(reason)
        assert s.stopped_by == reason and not s.rule_fired and s.restore_best


def test_another_rules_reason_is_not_this_rules_firing():
    s = EarlyStopper("tolerance")
    s.stop("mean_rule")  # the text of a reason alone does not make the rule fire
    assert not s.rule_fired and s.restore_best
