import pytest

from lib.core import stopping


def _epoch(epoch, mae, mx, held=None, exact=0.9):
    row = {"epoch": epoch, "seconds": float(epoch), "val_mae_gray": mae, "val_max_gray": mx, "val_exact8": exact}
    return row | ({"held_out_max_gray": held} if held is not None else {})


def test_a_window_rule_ignores_one_lucky_epoch():
    history = [_epoch(e, mae, 1.0) for e, mae in enumerate([0.9, 0.88, 4.7, 0.42, 0.45, 0.40, 0.3], start=1)]
    assert stopping.first_firing(history, "mean")["epoch"] == 4  # the baseline recipe's rule: the dip
    assert stopping.first_firing(history, "mean", window=3)["epoch"] == 6  # three epochs in a row on average
    assert stopping.first_firing(history[:5], "mean", window=3) is None


def test_a_window_tolerance_rule_averages_the_worst_of_validation_and_held_out():
    history = [_epoch(1, 0.001, 0.009, 0.030), _epoch(2, 0.001, 0.003, 0.004), _epoch(3, 0.001, 0.003, 0.005),
               _epoch(4, 0.001, 0.002, 0.004)]  # fmt: skip
    assert stopping.first_firing(history, "tolerance", 0.01)["epoch"] == 2
    # not 3: (0.030 + 0.004 + 0.005) / 3 is above 0.01
    assert stopping.first_firing(history, "tolerance", 0.01, window=3)["epoch"] == 4
    assert stopping.first_firing(history, "tolerance", 0.001) is None


def test_tolerance_costs_say_when_each_tolerance_fires():
    history = [_epoch(1, 0.5, 3.0, 4.0, 0.6), _epoch(2, 0.01, 0.09, 0.08, 0.99), _epoch(3, 0.001, 0.008, 0.009, 0.999)]
    costs = stopping.tolerance_costs(history, [0.1, 0.01, 0.001])
    assert [c["epoch"] for c in costs] == [2, 3, None]
    assert costs[0]["wrong_level_pct"] == pytest.approx(1.0) and costs[1]["seconds"] == 3.0
