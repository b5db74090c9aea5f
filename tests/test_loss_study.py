"""The loss study repeats the final run with each other loss, everything else the same, and reads the final run's
own row from its record; the threshold is derived from one run's history."""

import pytest
import torch
from factories import history_row, make_record

from lib.core import synthetic
from lib.core.data import Data
from lib.core.pipeline import make_targets
from lib.experiments import loss_study, threshold


def _data():
    x = synthetic.images("smooth", 64, seed=0)
    v, t = synthetic.images("smooth", 16, seed=1), synthetic.images("blocks", 24, seed=2)
    ds = Data(x, make_targets(x), v, make_targets(v), t, make_targets(t), torch.zeros(24), ["a"], "synthetic")
    ds.sizes = {"train": 64, "val": 16, "test": 24}
    return ds, synthetic.training_set(ds, 32, ["noise"], 2, seed=0)


CONFIG = {"loss": "range_sse", "out_of_range_weight": 2.0, "optimizer": "adam", "lr": 1e-2, "schedule": "cosine",
          "gamma": 0.9, "batch_size": 32, "lbfgs_iters": 20, "stopping": "tolerance", "tolerance_gray": 0.01,
          "patience": 0, "max_epochs": 2, "observe_past_rule": True, "seed": 0, "device": "cpu"}  # fmt: skip


def test_the_loss_study_changes_only_the_loss_and_keeps_the_final_runshistory_row():
    ds, trainset = _data()
    history = [{"epoch": e, "images": 96 * e, "seconds": float(e), "val_mae_gray": 1.0, "val_max_gray": 9.0,
                "val_outside_01_pct": 3.0} for e in (1, 2, 3)]  # fmt: skip
    final = make_record(config=CONFIG, history=history, epochs=2, stopped_by="tolerance_rule", train_seconds=2.0)
    final_test = {"mae_gray": 1e-4, "max_gray": 0.003, "exact8_pct": 99.99, "outside_01_pct": 0.0}
    table, histories = loss_study.loss_study(final, final_test, ds, trainset, losses=(("sse", 1.0), ("l1", 1.0)))
    assert list(table["run"]) == ["range_sse (w=2): the final run", "sse", "l1"]
    first = table.iloc[0]
    assert first["epochs"] == 2 and first["images"] == 192 and first["test_max_gray"] == 0.003  # from the record
    assert len(histories["range_sse (w=2): the final run"]) == 2  # the epochs past the rule are not the run's
    for run in ("sse", "l1"):  # the same budget: two epochs over the 96 training images, no rule met from scratch
        assert len(histories[run]) == 2 and histories[run][-1]["images"] == 2 * len(trainset.x)
    assert (table["stopped_by"].iloc[1:] == "max_epochs").all()


def test_the_loss_study_rebuilds_the_final_runs_images_or_refuses():
    final = make_record(sizes={"train": 45000, "val": 5000, "test": 10000, "synthetic_train": 3200,
                               "synthetic_held_out": 600}, config=CONFIG)  # fmt: skip
    with pytest.raises(FileNotFoundError):
        loss_study.same_data(final, "/nonexistent")


def test_the_derived_tolerance_is_the_loosest_on_the_floor():
    history = [history_row(1, 40.0, 60.0, 0.5), history_row(2, 0.05, 0.08, 0.999), history_row(3, 0.004, 0.008, 0.9999),
               history_row(4, 0.002, 0.004, 0.99993)]  # fmt: skip
    costs = threshold.costs(history, tolerances=(0.1, 0.01, 0.005, 0.001)).set_index("rule")
    assert costs.loc["mean (the baseline recipe's)", "epoch"] == 2  # mean 0.05 / 40 < 0.5 at epoch 2, not 1
    assert costs.loc["tolerance 0.1", "epoch"] == 2 and costs.loc["tolerance 0.01", "epoch"] == 3
    assert costs.loc["whole budget", "wrong_level_pct"] == pytest.approx(0.007)
    # the floor is 0.007% wrong; 0.1 fires with 0.1% and 0.01 with 0.01%, more than 0.001 points above it; 0.005 on it
    assert threshold.derived_tolerance(history, (0.1, 0.01, 0.005, 0.001)) == 0.005
    history[2]["val_exact8"] = 0.999928  # now 0.0072% wrong at epoch 3: 0.0002 points above the floor
    assert threshold.derived_tolerance(history, (0.1, 0.01, 0.005, 0.001)) == 0.01
    assert threshold.derived_tolerance(history[:2], (0.001,)) is None


def test_the_boundary_table_and_the_rounding_check():
    targets = torch.rand(200_000, dtype=torch.float64)
    table = threshold.boundary_table(targets, (0.1, 0.01)).set_index("within (gray levels)")
    assert table.loc[0.1, "pixels (%)"] == pytest.approx(20, rel=0.05) and table.loc[0.01, "2t (%)"] == 2
    check = threshold.rounding_check({"a": (0.4, 37.0), "b": (3.0, 90.0), "c": (float("nan"), 1.0)})
    assert list(check["run"]) == ["a", "b"] and list(check["predicted wrong 8-bit (%)"]) == [40.0, 100.0]
