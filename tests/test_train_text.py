from factories import make_record

from lib.core import constants
from lib.report import train_text


def test_verdict_gives_the_run_numbers_and_the_worst_family():
    text = train_text.verdict(make_record())
    assert "`separable` (`separable`, 1,796 parameters, moments) reached the tolerance rule after 12 epochs" in text
    assert "41.3 s" in text and "10,000 CIFAR-10 test images" in text and "largest 0.0034" in text
    assert "99.998% of test pixels" in text
    assert "largest error is 0.0051 gray levels (family `noise`)" in text and "lowest exact-8-bit share 99.97%" in text
    assert "assignment's recipe" not in text and "Not every test pixel" not in text


def test_verdict_of_the_recipe_that_missed_its_rule():
    res = make_record(stopped_by="max_epochs", stopping="mean", test_max_gray=11.7, epochs=1, fidelity=[])
    text = train_text.verdict(res, recipe=True)
    assert "did **not** reach the mean rule (stopped by max_epochs) after 1 epoch " in text
    assert "assignment's recipe" in text and "Not every test pixel is within half a gray level." in text
    assert "unlike CIFAR-10" not in text  # no synthetic families in this run


def test_assignment_recipe_is_recognised_only_with_all_its_settings():
    params = dict(train_text.ASSIGNMENT_RECIPE)
    assert train_text.is_assignment_recipe(params, constants.TARGET, constants.TARGET)
    assert not train_text.is_assignment_recipe(params, "resize(16,20) | hflip", constants.TARGET)
    assert not train_text.is_assignment_recipe(params | {"n_synthetic": 500}, constants.TARGET, constants.TARGET)
    assert not train_text.is_assignment_recipe(params | {"lr": 1e-2}, constants.TARGET, constants.TARGET)


def test_firing_note():
    history = [{"epoch": e, "val_mae_gray": v} for e, v in enumerate([3.0, 0.6, 0.45, 0.52, 0.48], start=1)]
    text = train_text.firing_note(history, "val_mae_gray", "mean_rule", None)
    assert "ended at epoch 5 (mean_rule) with `val_mae_gray` = 0.48 gray levels; the epoch before had 0.52" in text
    assert "would not have fired within this run" in text and "lowest `val_mae_gray` was at epoch 3" in text
    assert "would have fired at epoch 7" in train_text.firing_note(history, "val_mae_gray", "mean_rule", 7)
    assert "closed form" in train_text.firing_note(history[:1], "val_mae_gray", "optimum", None)
