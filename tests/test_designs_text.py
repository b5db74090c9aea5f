import math

import pandas as pd
import pytest

from lib.report import designs_text

OPTIMUM = "separable (closed form)"


MAX_GRAY = {"range_sse": 7.5912, "sse": 0.0058, "mse": 0.24046, "l1": 72.81}


def _losses(stopped: dict[str, str]) -> pd.DataFrame:
    rows = [{"model": "separable", "loss": loss, "optimizer": "lbfgs", "epochs": 20, "seconds": 1.0, "stopped_by": s,
             "test_mae_gray": 0.5, "test_max_gray": MAX_GRAY[loss], "exact8_pct": 41.05, "outside_01_pct": 0.1}
            for loss, s in stopped.items()]  # fmt: skip
    return pd.DataFrame(rows)


def _check(ratios: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"loss": k, "at its run's end": v, f"at {OPTIMUM}": 1.0, "end / optimum": v} for k, v in ratios.items()]
    ).set_index("loss")


def test_loss_text_names_who_reached_the_rule_and_who_did_not():
    losses = _losses({"range_sse": "max_epochs", "sse": "tolerance_rule", "mse": "max_epochs"})
    text = designs_text.loss_text(losses, _check({"range_sse": 2.0e5, "sse": 3.0, "mse": 40.0}), OPTIMUM, 400, "X")
    assert "same budget of at most 400 iterations" in text and "(X)" in text
    assert "`sse` reached the tolerance rule: largest test error 0.0058 gray levels (`sse`)." in text
    assert "`range_sse` and `mse` did not within the budget: largest test error 7.59 gray levels, 41.05% exact" in text
    assert "0.24 gray levels" in text  # 0.24046 rounded as the table shows it
    assert "each of `range_sse`, `sse` and `mse` is lower at separable (closed form)" in text
    assert "2e+05x lower for `range_sse`" in text and "3x lower for `sse`" in text
    # the reasons are given for the losses that stopped short, and only for them
    assert "What can stop the optimizer short" in text
    assert designs_text.REASONS["range_sse"] in text and designs_text.REASONS["mse"] in text
    assert designs_text.REASONS["l1"] not in text


def test_loss_text_when_every_loss_converges_and_one_ends_below_the_optimum():
    losses = _losses({"sse": "tolerance_rule", "l1": "tolerance_rule"})
    text = designs_text.loss_text(losses, _check({"sse": 5.0, "l1": 1.0}), OPTIMUM, 10, "X")
    assert "`sse` and `l1` reached the tolerance rule" in text and "did not" not in text
    assert "What can stop the optimizer short" not in text
    assert "`l1` ended at or below separable (closed form)'s value of its own loss" in text
    assert "each of `sse` is lower" in text


def _oor(rule: str = "tolerance_rule") -> pd.DataFrame:
    rows = [
        {"run": "weight 1", "out_of_range_weight": 1.0, "stopped_by": "tolerance_rule", "outside_pct": 0.0047,
         "max_overshoot_gray": 0.0028, "test_max_gray": 0.0058},
        {"run": "weight 2", "out_of_range_weight": 2.0, "stopped_by": rule, "outside_pct": 0.1816,
         "max_overshoot_gray": 5.528, "test_max_gray": 7.592},
        {"run": OPTIMUM, "out_of_range_weight": math.nan, "stopped_by": "tolerance_rule", "outside_pct": 0.0049,
         "max_overshoot_gray": 0.000121, "test_max_gray": 9.1e-05},
    ]  # fmt: skip
    return pd.DataFrame(rows).set_index("run")


def test_out_of_range_text_marks_unconverged_runs_and_reads_the_optimum():
    text = designs_text.out_of_range_text(_oor("max_epochs"), OPTIMUM)
    assert "0.005%, 0.0028 and 0.0058 gray levels with weight 1;" in text
    assert "0.182%, 5.53 and 7.59 gray levels with weight 2 (rule not reached)." in text
    assert (
        "At the exact map (separable (closed form)) 0.005% of test predictions leave [0, 1], by at most 0.000121"
        in text
    )
    converged = designs_text.out_of_range_text(_oor(), OPTIMUM)
    assert "not reached" not in converged
    without = designs_text.out_of_range_text(_oor().drop(index=OPTIMUM), OPTIMUM)
    assert "At the exact map" not in without


def _conv() -> pd.DataFrame:
    cols = ["with flips: mean |err| (gray)", "with flips: max |err| (gray)", "without flips: mean |err| (gray)",
            "without flips: max |err| (gray)"]  # fmt: skip
    rows = {"conv5 (Adam)": [46.82, 174.2, 3.1, 50.0],
            "conv5 (closed form: the best 5x5 kernel)": [46.7636, 163.713, 1.234, 40.04]}  # fmt: skip
    return pd.DataFrame.from_dict(rows, orient="index", columns=cols)


def _arch() -> pd.DataFrame:
    names = ["dense", "dense+sigmoid", "dense+clamp", "separable", "conv3", "conv5", "fc_large", "separable (moments)",
             "separable (moments + noise)", "dense (closed form)", "separable (closed form)", "conv5 (closed form)",
             "exact"]  # fmt: skip
    arch = pd.DataFrame({"test_mae_gray": 10.0, "test_max_gray": 100.0, "exact8_pct": 50.0, "outside_01_pct": 0.5,
                         "params": 1796, "mflops": 0.113664, "seconds": 2.0, "epochs": 8,
                         "stopped_by": "max_epochs"}, index=names)  # fmt: skip
    arch.loc["conv5 (closed form)", ["test_mae_gray", "test_max_gray"]] = [46.7636, 163.713]
    arch.loc["exact", "test_max_gray"] = 7.599e-05
    arch.loc["separable (closed form)", "test_max_gray"] = 9.12e-05
    arch.loc["fc_large", "params"] = 2409232
    return arch


def test_conv_text_takes_each_number_from_its_table_with_its_rounding():
    text = designs_text.conv_text(_conv(), _arch())
    assert "off by 46.8 gray levels on average (164 at worst) on the flipped target and 1.23 (40 at worst)" in text
    assert (
        "gets `conv5` to 46.8 and 3.1 (`conv3`, two 3x3 layers with the same 5x5 reach, to 10 with the flips)" in text
    )


def test_conclusions_speak_in_gray_levels_and_quote_the_tables():
    gen = pd.DataFrame(
        {"CIFAR-10 test": [0.1] * 4, "noise": [12.345, 0.01, 0.0002, 0.0003], "smooth": [3.0, 0.02, 0.0001, 0.0001]},
        index=["separable (moments) on CIFAR", "separable (moments) on CIFAR + noise",
               "separable (closed form) on CIFAR + noise", "dense (closed form) on CIFAR + noise"],
    )  # fmt: skip
    spectrum = pd.DataFrame({"variance": [0.2, 0.001, 0.0001]}, index=["largest", "middle", "smallest"])
    f = designs_text.Findings(
        arch=_arch(), losses=_losses({"sse": "tolerance_rule"}), loss_check=_check({"sse": 3.0}), oor=_oor(),
        conv=_conv(), spectrum=spectrum, gen_max=gen,
        gray={"pipeline": [0.2989, 0.587, 0.114], "dense (Adam)": [0.5, 0.3, 0.2],
              "dense (closed form)": [0.29891, 0.58702, 0.11407]},
        firings="the strict rule fired at epoch 3.", optimum=OPTIMUM, loss_iterations=400, loss_images="X",
        max_epochs=10, n_train=10000, n_noise=500, lbfgs_iters=100, minutes=3.26,
    )  # fmt: skip
    text = designs_text.conclusions(f)
    assert "to within 7.6e-05 gray levels" in text  # the exact row's test max, in gray levels as in its table
    assert "e-07" not in text  # nothing in [0, 1] units
    assert "even `conv5`'s optimum at 46.8" in text and "off by 46.8 gray levels on average (164 at worst)" in text
    assert "`separable` (moments) 12.3 gray levels; with noise added, 0.02 (iterative) and 0.0002" in text
    assert "learns 0.50, 0.30, 0.20 against the pipeline's 0.30, 0.59, 0.11" in text
    assert "**Loss at convergence.** Every loss trained `separable`" in text
    assert "ran in 3.3 minutes" in text
    with pytest.raises(KeyError):  # a missing row is an error, not a silent gap
        designs_text.conclusions(designs_text.Findings(**{**f.__dict__, "arch": _arch().drop(index="exact")}))


def test_minimal_text_reads_the_band_from_the_design_table():
    columns = ["model", "params", "mflops", "test_max_gray", "exact8_pct"]
    arch = pd.DataFrame(
        [
            ("separable (closed form)", 1796, 0.1137, 9.1e-5, 99.999),
            ("banded (closed form)", 128, 0.0136, 6.1e-5, 99.9994),
        ],
        columns=columns,
    ).set_index("model")
    text = designs_text.minimal_text(arch)
    assert "`banded`: 128 parameters instead of 1,796" in text and "13.6 thousand FLOPs an image instead of 114" in text
    assert "6.1e-05 gray levels largest test error (99.999% exact 8-bit; `separable`: 9.1e-05)" in text
