"""The benchmark's files read into their types and written back: the same table, to the byte, and the same summary
data (the summary's rows list their keys in the table's column order), recorded GPU runs included."""

import json

import pandas as pd
import pytest

from lib.experiments import bench
from lib.paths import ROOT

RECORDED = [ROOT / "results" / "gpu", ROOT / "results" / "gpu" / "host_cpu"]  # committed, from earlier versions


@pytest.mark.parametrize("folder", RECORDED, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_recorded_run_read_and_written_back_is_the_same_table_and_summary(folder, tmp_path):
    rows, summary = bench.read(folder)
    assert rows and all(isinstance(r, bench.BenchRow) for r in rows)
    csv_path, json_path = bench.write(rows, summary, tmp_path)
    before, after = pd.read_csv(folder / "benchmark.csv"), pd.read_csv(csv_path)
    pd.testing.assert_frame_equal(before, after)  # same columns in the same order, same values, NaN where blank
    assert csv_path.read_text() == (folder / "benchmark.csv").read_text()
    assert json.loads(json_path.read_text()) == json.loads((folder / "benchmark_summary.json").read_text())  # as data


def test_a_recorded_summary_reads_as_fields_with_defaults_for_what_it_predates():
    rows, summary = bench.read(ROOT / "results" / "gpu")
    cuda = summary.devices["cuda"]
    assert summary.environment.gpu == "NVIDIA H200" and summary.config.devices == ["cuda"]
    assert summary.config.lead_in == bench.BenchConfig().lead_in  # recorded before the parameter existed
    assert cuda.write_floor_s is None and cuda.read_floor_s is None  # recorded before the write floor
    assert cuda.best_model.device == "cuda" and cuda.best_model.median_s == min(
        r.median_s for r in rows if r.method in bench.LEARNED_METHODS and r.model not in bench.ORACLES
    )
    floor = cuda.best_by_method["read_input"]
    assert floor.max_gray is None and floor.speedup_vs_loop is None  # no images, and no loop timed on a GPU
    assert isinstance(floor.pin_memory, bool) and isinstance(floor.batch_size, int)


def test_a_table_without_the_newer_columns_reads_with_their_defaults(tmp_path):
    (tmp_path / "benchmark.csv").write_text(
        "device,method,model,batch_size,num_workers,pin_memory,n_images,repeats,median_s\n"
        "cpu,fast_path,dense (untrained),256,0,False,1000,3,0.02\n"
    )
    old = {"environment": {"cpu": "Old CPU"}, "data_source": "noise", "devices": {}}  # no config recorded
    (tmp_path / "benchmark_summary.json").write_text(json.dumps(old))
    (row,), summary = bench.read(tmp_path)
    assert row.n_timed is None and row.timed == 1000 and row.architecture is None and row.max_gray is None
    assert bench.architecture(row) == "dense" and summary.environment.cpu == "Old CPU"
    bench.write([row], summary, tmp_path / "again")
    assert json.loads((tmp_path / "again" / "benchmark_summary.json").read_text()) == old
    (tmp_path / "benchmark_summary.json").write_text(json.dumps({"environment": {}}))
    with pytest.raises(ValueError, match="lacks data_source"):
        bench.read(tmp_path)


def test_a_run_writes_its_floors_without_fidelity_and_reads_back_its_summary(tmp_path):
    rows = [bench.BenchRow(device="cpu", method=m, model=model, n_images=100, median_s=t, max_gray=e, exact8_pct=x)
            for m, model, t, e, x in (("read_input", "-", 0.001, None, None),
                                      ("pipeline_loop", "pipeline", 1.0, 0.0, 100.0),
                                      ("fast_path", "m", 0.01, 0.5, 99.0))]  # fmt: skip
    bench.add_speedups(rows)
    summary = bench.summarize(bench.RunRecord(rows), {"cpu": "Test CPU"}, "noise", bench.BenchConfig(n_images=100))
    _, json_path = bench.write(rows, summary, tmp_path)
    written = json.loads(json_path.read_text())
    assert "max_gray" not in written["devices"]["cpu"]["best_by_method"]["read_input"]
    assert written["devices"]["cpu"]["best_model"]["max_gray"] == 0.5 and written["environment"] == {"cpu": "Test CPU"}
    assert written["config"]["n_images"] == 100
    again_rows, again = bench.read(tmp_path)
    assert again_rows == rows and again.devices["cpu"] == summary.devices["cpu"]
    assert again.devices["cpu"].best_model.speedup_vs_loop == pytest.approx(100)


def test_reading_a_folder_without_a_run_names_the_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="benchmark.csv or benchmark_summary.json"):
        bench.read(tmp_path)
