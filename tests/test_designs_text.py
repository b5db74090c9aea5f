"""02's prose, on small hand-made tables: each number quoted as its table rounds it."""

import pandas as pd
from factories import history_row

from lib.experiments import threshold
from lib.report import designs_text

FINAL = "separable (final: Adam, 01)"


def _conv() -> pd.DataFrame:
    cols = ["with flips: mean |err| (gray)", "with flips: max |err| (gray)", "without flips: mean |err| (gray)",
            "without flips: max |err| (gray)"]  # fmt: skip
    rows = {"conv5 (Adam)": [46.82, 174.2, 3.1, 50.0],
            "conv5 (closed form: the best 5x5 kernel)": [46.7636, 163.713, 1.234, 40.04]}  # fmt: skip
    return pd.DataFrame.from_dict(rows, orient="index", columns=cols)


def _arch() -> pd.DataFrame:
    names = ["dense", "separable", "conv3", "conv5", "fc_large", "dense (closed form)", "fc_large (closed form)",
             "separable (closed form)", "conv5 (closed form)", "banded (closed form)", FINAL, "exact"]  # fmt: skip
    arch = pd.DataFrame({"trainer": "closed form", "test_mae_gray": 10.0, "test_max_gray": 100.0, "exact8_pct": 50.0,
                         "outside_01_pct": 0.5, "params": 1796, "mflops": 0.113664, "seconds": 2.0, "epochs": 8,
                         "stopped_by": "max_epochs"}, index=names)  # fmt: skip
    arch.loc[["dense", "separable", "conv3", "conv5", "fc_large"], "trainer"] = "adam"
    arch.loc["separable", "test_mae_gray"] = 4.66
    arch.loc["conv5 (closed form)", ["test_mae_gray", "test_max_gray"]] = [46.7636, 163.713]
    arch.loc["separable (closed form)", "test_max_gray"] = 9.12e-05
    arch.loc["banded (closed form)", ["params", "test_max_gray"]] = [128, 7.6e-05]
    arch.loc[FINAL, ["test_max_gray", "exact8_pct", "epochs", "seconds"]] = [0.00246, 99.9937, 28, 33.4]
    return arch


def test_designs_text_ranks_speed_then_says_who_can_hold_the_pipeline():
    text = designs_text.designs_text(_arch(), FINAL, max_epochs=5, n_train=10000)
    assert (
        "With 5 Adam epochs on 10,000 images every design stops at the epoch cap" in text
        and "`separable` is closest (4.66 gray levels" in text
    )
    assert "`banded` does with 128 parameters (7.6e-05)" in text and "`conv5`'s best kernel stays 46.8" in text
    assert "reaches 0.00246 at worst and 99.99% exact 8-bit in 28 epochs and 33 s" in text


def _losses() -> pd.DataFrame:
    rows = [("range_sse (w=2): the final run", "range_sse", 2.0, "tolerance_rule", 28, 33.4, 4.3, 0.0025, 0.004),
            ("sse", "sse", 1.0, "tolerance_rule", 30, 36.0, 4.1, 0.0024, 0.005),
            ("range_sse (w=10)", "range_sse", 10.0, "max_epochs", 40, 48.0, 2.9, 0.0357, 0.004)]  # fmt: skip
    cols = ["run", "loss", "out_of_range_weight", "stopped_by", "epochs", "seconds", "val_outside_pct_epoch1",
            "test_max_gray", "outside_01_pct"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def test_loss_text_names_who_met_the_rule_and_explains_the_weight_from_numbers():
    text = designs_text.loss_text(_losses())
    assert "`range_sse (w=2): the final run` at epoch 28 (33 s), `sse` at epoch 30 (36 s)" in text
    assert "Not within it: `range_sse (w=10)` (largest test error 0.0357 gray levels after 40 epochs)" in text
    assert "4.1% of validation pixels after the first epoch at weight 1, 2.9% at weight 10" in text
    assert "ends 0.0357 gray levels off at worst against 0.0024" in text


def test_threshold_text_derives_the_tolerance_and_prices_the_others():
    history = [history_row(1, 40.0, 60.0, 0.5), history_row(2, 0.05, 0.08, 0.999),
               history_row(3, 0.004, 0.008, 0.99993), history_row(4, 0.002, 0.004, 0.99993)]  # fmt: skip
    boundary = pd.DataFrame({"within (gray levels)": [0.1, 0.01], "pixels (%)": [20.1, 1.996], "2t (%)": [20, 2]})
    check = threshold.rounding_check({"baseline recipe": (0.418, 37.4)})
    costs = threshold.costs(history, (0.1, 0.01, 0.001))
    text = designs_text.threshold_text(boundary, check, costs, threshold.derived_tolerance(history, (0.1, 0.01, 0.001)),
                                       0.01)  # fmt: skip
    assert "2% of the pipeline's test pixels lie within 0.01 gray levels" in text
    assert "baseline recipe: 41.8% predicted, 37.4% measured" in text
    assert "mean rule would fire at epoch 2 with 0.1% of validation pixels on a wrong level" in text
    assert "is **0.01 gray levels** (epoch 3, 30 images seen, 3 s, 0.007% wrong)" in text
    assert "tolerance 0.1: epoch 2, 0.1% wrong; tolerance 0.001: not met within the budget" in text


def test_conv_text_takes_each_number_from_its_table_with_its_rounding():
    text = designs_text.conv_text(_conv(), _arch())
    assert "off by 46.8 gray levels on average on the flipped target and 1.23 without the flips" in text
    assert "gets `conv5` to 46.8 and 3.1 (`conv3`, two 3x3 layers with the same reach: 10 with the flips)" in text
