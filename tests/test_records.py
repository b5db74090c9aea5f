import dataclasses
import json
import math
import re

import pytest
from factories import FIDELITY, make_record

from lib import paths
from lib.core import models, spec
from lib.core.constants import TARGET
from lib.core.stopping import threshold
from lib.core.train import TrainConfig, TrainResult
from lib.report import records
from lib.report.records import TrainRecord


def test_a_record_reads_back_what_it_wrote(tmp_path):
    rec = make_record(history=[{"epoch": 1, "val_max_gray": 0.5}])
    path = rec.write(tmp_path)
    assert path == tmp_path / "train_separable.json"
    back = TrainRecord.of_run(tmp_path, "separable")
    assert back == make_record(history=[{"epoch": 1, "val_max_gray": 0.5}], test_psnr_db=back.test_psnr_db)
    assert math.isinf(back.test_psnr_db)  # JSON holds it as the string "inf"; the record gives the float back


def test_a_file_that_is_not_a_record_is_refused(tmp_path):
    (tmp_path / "train_x.json").write_text(json.dumps({"run_name": "x", "model": "dense"}))
    with pytest.raises(ValueError, match="lacks .*n_params"):
        TrainRecord.of_run(tmp_path, "x")
    with pytest.raises(FileNotFoundError, match="make train"):
        TrainRecord.of_run(tmp_path, "missing")


def test_reached_rule():
    assert make_record().reached_rule
    assert not make_record(stopped_by="max_epochs").reached_rule
    assert not make_record(stopping="mean", stopped_by="tolerance_rule").reached_rule


def test_the_makefile_runs_exactly_the_listed_training_runs():
    makefile = (paths.ROOT / "Makefile").read_text()
    runs = re.search(r"^RUNS := (.*)$", makefile, flags=re.M).group(1).split()
    trained = {r.removeprefix("01_train_") for r in runs if r.startswith("01_train_")}
    assert trained == {r.name for r in records.RUNS}
    # each writes the record and the model the report reads: the record's name from lib.paths (TRAIN_RECORD, through
    # build/deps.mk), the model's after the run
    outputs = re.search(r"^train-outputs = (.*)$", makefile, flags=re.M).group(1)
    assert "$(TRAIN_RECORD)" in outputs and "$(M)/$(1).pt" in outputs
    assert records.record_path("", "%").name == paths.TRAIN_RECORD.format(run="%")
    for run in records.RUNS:
        assert re.search(rf"^OUT_01_train_{run.name} = \$\(call train-outputs,{run.name}\)$", makefile, flags=re.M)
        assert re.search(rf"-p run_name {run.name}\b", makefile)


def test_recorded_runs_lists_the_reports_runs_first(tmp_path):
    assert records.recorded_runs(tmp_path) == []
    for name in ("zz", "separable", "aa"):
        make_record(run_name=name).write(tmp_path)
    (tmp_path / "benchmark_summary.json").write_text("{}")  # not a training record
    assert records.recorded_runs(tmp_path) == ["separable", "aa", "zz"]


ENV = {"date": "2026-12-01T10:00:00+00:00", "cpu": "Test CPU", "cpu_vector": "AVX2", "cpu_count": 4,
       "torch_threads": 4, "gpu": None, "torch_version": "2.14.1", "torchvision_version": "0.29.1",
       "python": "3.12.3"}  # fmt: skip
TEST = {"mae_px": 1e-6, "mae_gray": 2.5e-4, "max_abs": 1.3e-5, "max_gray": 0.0034, "exact8": 0.99998,
        "psnr_db": float("inf"), "outside_01_pct": 0.004}  # fmt: skip


@pytest.mark.parametrize(
    "model, optimizer, loss, stopping",
    [("separable", "moments", "sse", "tolerance"), ("dense", "adam", "range_sse", "mean")],
)
def test_a_record_from_the_runs_pieces_is_the_one_assembled_field_by_field(tmp_path, model, optimizer, loss, stopping):
    """TrainRecord.from_run gives the record 01_train assembled by hand, field for field and byte for byte."""
    cfg = TrainConfig(loss=loss, optimizer=optimizer, stopping=stopping, tolerance_gray=0.02, lr=1.0, device="cpu")
    history = [{"epoch": 1, "val_mae_gray": 0.3, "val_max_gray": 4.0, "seconds": 1.5}]
    result = TrainResult(history=history, stopped_by=f"{stopping}_rule", epochs=1, seconds=1.5,
                         config=dataclasses.asdict(cfg), info={"solver": "test"})  # fmt: skip
    transform, net = spec.parse(TARGET), models.build(model)
    sizes = {"train": 900, "val": 100, "test": 200, "synthetic_train": 3200, "synthetic_held_out": 600}
    families, source = ["noise", "smooth"], "folder: ../shared/data/cifar10-jpeg"
    # as the notebook assembled it before from_run, from its parameters
    by_hand = TrainRecord(
        run_name="x", pipeline=transform.text, out_shape=list(transform.out_shape), model=model,
        optimizer=optimizer, output_constraint="none", n_params=models.n_params(net),
        epochs=result.epochs, train_seconds=result.seconds, stopped_by=result.stopped_by, stopping=stopping,
        tolerance_gray=0.02, loss_minimised=loss if optimizer not in ("moments", "closed_form") else "sse",
        n_test=sizes["test"], **{f"test_{k}": TEST[k] for k in ("mae_px", "mae_gray", "max_abs", "max_gray", "exact8")},
        test_psnr_db=TEST["psnr_db"], test_outside_01_pct=TEST["outside_01_pct"],
        fidelity=FIDELITY, threshold=threshold(stopping, 0.02),
        threshold_unit="mean |error| per pixel" if stopping == "mean" else "max |error| per pixel",
        data_source=source, sizes=sizes, synthetic_families=list(families), device="cpu",
        config=result.config, history=result.history, fit=result.info,
        **{k: ENV[k] for k in ("torch_version", "torchvision_version", "cpu", "cpu_vector", "torch_threads", "date")},
    )  # fmt: skip
    built = TrainRecord.from_run(
        run_name="x", pipeline=transform, model=model, output_constraint="none", net=net, result=result, test=TEST,
        fidelity=FIDELITY, data_source=source, sizes=sizes, synthetic_families=families, env=ENV,
    )  # fmt: skip
    assert dataclasses.asdict(built) == dataclasses.asdict(by_hand)
    assert built.loss_minimised == loss and built.threshold_unit.startswith("mean" if stopping == "mean" else "max")
    one, two = built.write(tmp_path / "new"), by_hand.write(tmp_path / "old")
    assert one.read_bytes() == two.read_bytes()
