import json
import math
import re

import pytest
from factories import make_record

from lib import paths
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
    for run in records.RUNS:  # each writes the record and the model the report reads
        outputs = re.search(rf"^OUT_01_train_{run.name}\s*:= (.*)$", makefile, flags=re.M).group(1)
        assert f"train_{run.name}.json" in outputs and f"{run.name}.pt" in outputs
        assert re.search(rf"-p run_name {run.name}\b", makefile)


def test_recorded_runs_lists_the_reports_runs_first(tmp_path):
    assert records.recorded_runs(tmp_path) == []
    for name in ("zz", "separable", "aa"):
        make_record(run_name=name).write(tmp_path)
    (tmp_path / "benchmark_summary.json").write_text("{}")  # not a training record
    assert records.recorded_runs(tmp_path) == ["separable", "aa", "zz"]
