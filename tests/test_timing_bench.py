import time

import pytest
import torch

from lib import bench, models
from lib.timing import Timing, measure


def test_measure_counts_warmup_and_repeats():
    calls = []
    t = measure(lambda: calls.append(1) or time.sleep(0.01), repeats=3, warmup=2)
    assert len(calls) == 5 and len(t.times) == 3
    assert 0.009 < t.median < 0.5
    with pytest.raises(ValueError):
        measure(lambda: None, repeats=0)


def test_timing_statistics():
    t = Timing([4.0, 1.0, 3.0, 2.0, 100.0])
    assert t.median == 3.0  # one slow outlier does not move the median
    assert t.iqr == (2.0, 4.0)
    assert Timing([1.0, 2.0]).iqr == (1.0, 2.0)


def test_speedups_and_summary():
    rows = [
        {"device": "cpu", "method": "read_input", "model": "-", "median_s": 0.01, "batch_size": 8},
        {"device": "cpu", "method": "pipeline_loop", "model": "pipeline", "median_s": 2.0, "batch_size": 8},
        {"device": "cpu", "method": "pipeline_batched", "model": "pipeline", "median_s": 0.2, "batch_size": 8},
        {"device": "cpu", "method": "fast_path", "model": "m", "median_s": 0.05, "batch_size": 8},
        {"device": "cpu", "method": "dataloader", "model": "m", "median_s": 0.4, "batch_size": 8},
    ]
    bench._add_speedups(rows)
    assert rows[3]["speedup_vs_loop"] == pytest.approx(40) and rows[3]["speedup_vs_batched"] == pytest.approx(4)
    s = bench.summarize(rows, {}, "test", bench.BenchConfig())["devices"]["cpu"]
    assert s["best_model"]["method"] == "fast_path" and s["times_floor"] == pytest.approx(5)


def test_run_times_every_configuration(tmp_path):
    cfg = bench.BenchConfig(n_images=8, repeats=1, batch_sizes=[4], num_workers=[0], chunk_sizes=[8], devices=["cpu"])
    x, source = bench.load_images(None, 8)
    assert x.dtype == torch.uint8 and source == "synthetic uniform noise"
    rows = bench.run(cfg, x, {"separable": models.build("separable").eval()}, progress=False)
    assert [r["method"] for r in rows] == ["read_input", "pipeline_loop", "pipeline_batched", "dataloader", "fast_path"]
    csv_path, json_path = bench.write(rows, bench.summarize(rows, {}, source, cfg), tmp_path)
    assert csv_path.read_text().startswith("device,method,model,batch_size")
    with pytest.raises(FileNotFoundError, match="no saved models"):
        bench.load_models(tmp_path)


def test_slow_work_gets_fewer_repeats():
    t = measure(lambda: time.sleep(0.02), repeats=5, warmup=1, slow_s=0.01)
    assert len(t.times) == 3
    assert len(measure(lambda: None, repeats=5, warmup=1, slow_s=0.01).times) == 5
