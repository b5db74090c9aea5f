from factories import make_record

from lib.core import constants
from lib.report import train_text

ADAM = {"optimizer": "adam", "lr": 1e-2, "schedule": "cosine", "batch_size": 256, "max_epochs": 40, "loss": "sse",
        "out_of_range_weight": 2.0, "stopping": "tolerance", "tolerance_gray": 0.01, "patience": 0, "seed": 0,
        "lbfgs_iters": 20}  # fmt: skip
SIZES = {"train": 45000, "val": 5000, "test": 10000, "synthetic_train": 3200, "synthetic_held_out": 600}


def test_verdict_gives_the_run_numbers_and_the_worst_family():
    history = [{"epoch": 12, "images": 578_400, "seconds": 41.26}]
    text = train_text.verdict(make_record(history=history))
    assert "`separable` reached the tolerance rule after 12 epochs, 578,400 images seen, in 41.3 s" in text
    assert "10,000 test images" in text and "largest 0.0034" in text and "99.998% exact 8-bit" in text
    assert "largest error is 0.0051 gray levels (`noise`)" in text and "lowest exact-8-bit share 99.97%" in text
    assert "baseline recipe" not in text


def test_verdict_of_the_recipe_that_missed_its_rule():
    res = make_record(stopped_by="max_epochs", stopping="mean", test_max_gray=11.7, epochs=1, fidelity=[])
    text = train_text.verdict(res, recipe=True)
    assert "did **not** reach the mean rule (stopped by max_epochs) after 1 epoch in" in text
    assert "baseline recipe" in text
    assert "unlike CIFAR-10" not in text  # no synthetic families in this run


def test_the_baseline_recipe_is_recognised_only_with_all_its_settings():
    params = dict(train_text.BASELINE_RECIPE)
    assert train_text.is_baseline_recipe(params, constants.TARGET, constants.TARGET)
    assert not train_text.is_baseline_recipe(params, "resize(16,20) | hflip", constants.TARGET)
    assert not train_text.is_baseline_recipe(params | {"n_synthetic": 500}, constants.TARGET, constants.TARGET)
    assert not train_text.is_baseline_recipe(params | {"lr": 1e-2}, constants.TARGET, constants.TARGET)


def test_an_epoch_is_said_in_images_and_steps():
    assert train_text.epoch_words(ADAM, 48_200) == "one pass over the 48,200 training images: 189 steps of 256 images"
    moments = train_text.epoch_words(ADAM | {"optimizer": "moments"}, 48_200)
    assert moments.startswith("20 L-BFGS iterations") and "48,200" in moments


def test_setup_says_model_data_optimizer_loss_rule_and_epoch():
    text = train_text.setup("separable", "the final model", "separable", "two matrices", 1796, ADAM, SIZES)
    assert "**`separable`: the final model.**" in text and "1,796 parameters" in text
    assert "random initialisation" in text
    assert "45,000 CIFAR-10 training images and 3,200 uniform-noise images" in text
    assert "Adam, lr 0.01, cosine schedule over 40 epochs" in text and "squared error summed over pixels" in text
    assert "within 0.01 gray levels" in text and "600 held-out synthetic images" in text
    assert "189 steps of 256 images" in text and "patience" not in text


def test_firing_note_follows_the_rules_own_value():
    rows = [(0.02, 0.009), (0.004, 0.03), (0.003, 0.008), (0.002, 0.004)]  # (validation max, held-out max)
    history = [{"epoch": e, "images": 100 * e, "seconds": float(e), "val_mae_gray": 1e-4, "val_max_gray": v,
                "held_out_max_gray": h} for e, (v, h) in enumerate(rows, start=1)]  # fmt: skip
    text = train_text.firing_note(history, "tolerance", 0.01, "tolerance_rule")
    assert "Ended at epoch 4 (tolerance_rule, 400 images seen, 4.0 s)" in text
    assert "value at 0.004 gray levels against 0.01; the epoch before had 0.008" in text
    assert "last three epochs would not have fired within this run" in text  # (0.03 + 0.008 + 0.004) / 3 > 0.01
    assert "closed form" in train_text.firing_note(history[:1], "tolerance", 0.01, "optimum")


def test_gap_text_compares_seen_and_unseen_images():
    rows = [{"images": name, "mae_gray": mae, "max_gray": 10 * mae} for name, mae in
            ((train_text.SEEN, 1e-4), (train_text.VALIDATION, 1.1e-4), (train_text.TEST, 1.2e-4))]  # fmt: skip
    text = train_text.gap_text(rows)
    assert "0.0001 gray levels on training images, 0.00011 on validation and 0.00012 on test" in text
    assert "ratio of 1.20" in text
    assert train_text.gap_text(rows[2:]) == ""
