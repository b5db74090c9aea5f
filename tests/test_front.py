"""The front page's numbers and sentences, on small hand-made results."""

import csv
import dataclasses

import pytest
from factories import make_record

from lib.experiments import bench
from lib.report import front, front_text


def _run(name, model, params, optimizer, stopping, stopped_by, test_max, synth_max, history, loss="sse"):
    fid = [{"images": "CIFAR-10 test", "n": 10000, "mae_gray": test_max / 10, "max_gray": test_max, "exact8_pct": 99.9},
           {"images": "noise", "n": 1000, "mae_gray": 0.1, "max_gray": synth_max, "exact8_pct": 99.5},
           {"images": "blocks", "n": 1000, "mae_gray": 0.1, "max_gray": synth_max / 2, "exact8_pct": 99.8}]  # fmt: skip
    return make_record(run_name=name, model=model, n_params=params, optimizer=optimizer, stopping=stopping,
                       stopped_by=stopped_by, epochs=min(len(history), 4), fidelity=fid, history=history,
                       loss_minimised=loss, test_max_gray=test_max, config={"loss": loss})  # fmt: skip


def _epoch(epoch, mae, val_max, held_max, exact):
    return {"epoch": epoch, "val_mae_gray": mae, "val_max_gray": val_max, "held_out_max_gray": held_max,
            "seconds": 10.0 * epoch, "images": 48200 * epoch, "val_exact8": exact}  # fmt: skip


# the rule (0.01) fires at epoch 4; training went on to epoch 5 for the threshold's costs
FINAL_HISTORY = [_epoch(1, 0.3, 40.0, 80.0, 0.7), _epoch(2, 0.01, 0.05, 0.08, 0.999),
                 _epoch(3, 0.001, 0.02, 0.025, 0.9998), _epoch(4, 1e-4, 0.004, 0.008, 0.99993),
                 _epoch(5, 9e-5, 0.003, 0.006, 0.99993)]  # fmt: skip
RECIPE_HISTORY = [{"epoch": 48, "val_mae_gray": 0.49, "val_max_gray": 11.0, "seconds": 200.0}]
BENCH = [  # device, method, model, median seconds, max error
    ("cpu", "pipeline_loop", "-", 1.0, 0.0), ("cpu", "pipeline_batched", "-", 0.2, 0.0),
    ("cpu", "pipeline_uint8", "-", 0.1, 2.0), ("cpu", "pillow_loop", "pillow", 0.5, 1.5),
    ("cpu", "fast_path", "separable", 0.04, 6e-5), ("cpu", "compiled_uint8", "separable", 0.02, 6e-5),
    ("cpu", "dataloader", "separable", 0.08, 6e-5), ("cpu", "fast_path", "dense_seed", 0.18, 11.7),
    ("cpu", "transform_uint8", "banded", 0.01, 0.003),
    ("cpu", "read_input", "-", 0.005, float("nan")),
]  # fmt: skip


def _results(**over) -> front.Results:
    rows = [bench.BenchRow(device=d, method=m, model=mo, median_s=t, max_gray=e, exact8_pct=99.0, n_images=10000)
            for d, m, mo, t, e in BENCH]  # fmt: skip
    env = bench.Environment(cpu="Test CPU", cpu_vector="AVX2", torch_threads=2, torch_version="2.14.1", gpu=None)
    res = front.Results(
        final=_run("separable", "separable", 1796, "adam", "tolerance", "tolerance_rule", 0.0034, 0.0051,
                   FINAL_HISTORY, "range_sse"),
        recipe=_run("dense_seed", "dense", 803604, "adam", "mean", "mean_rule", 11.7, 50.2, RECIPE_HISTORY,
                    "range_sse"),
        designs=[{"model": m, "trainer": t, "params": p, "mflops": f, "test_max_gray": e, "exact8_pct": x,
                  "seconds": 3.7} for m, t, p, f, e, x in (("dense", "adam", 803604, 1.61, 186.0, 1.5),
                                          ("dense (closed form)", "closed form", 803604, 1.61, 3e-4, 99.997),
                                          ("conv5", "adam", 76, 0.118, 174.0, 0.65),
                                          ("conv5 (closed form)", "closed form", 76, 0.118, 164.0, 0.66),
                                          ("separable", "adam", 1796, 0.114, 49.0, 8.9),
                                          ("separable (closed form)", "closed form", 1796, 0.114, 9e-5, 99.999))],
        losses=[{"run": run, "loss": loss, "stopped_by": s, "epochs": n, "test_max_gray": e, "exact8_pct": 99.9}
                for run, loss, s, n, e in (("range_sse (w=2): the final run", "range_sse", "tolerance_rule", 2, 0.004),
                                           ("sse", "sse", "tolerance_rule", 3, 0.003),
                                           ("l1", "l1", "max_epochs", 40, 0.9))],
        bench=rows, bench_summary=bench.summarize(bench.RunRecord(rows), dataclasses.asdict(env), "test",
                                                  bench.BenchConfig()),
        pipelines=[{"pipeline": "a", "model": "separable", "test_max_gray": 1e-4},
                   {"pipeline": "b", "model": "dense", "test_max_gray": 203.0}],
        scaling=[{"side": side, "route": route, "label": label, "user": user, "learned": learned, "seconds": t,
                  "us_per_image": t * 1e3} for side, scale in ((32, 1), (256, 64))
                 for route, label, user, learned, t in (("read_input", "reading", False, False, 1e-4 * scale),
                                                       ("pipeline_uint8", "the pipeline on uint8", True, False,
                                                        4e-3 * scale),
                                                       ("banded_transform", "banded, engine", False, True,
                                                        1e-3 * scale))],
        onnx=[{"pipeline": "target pipeline", "graph": g, "source": "float", "max_gray": e, "ort_s": t, "torch_s": 0.01,
               "n_images": 10000, "error": err}
              for g, e, t, err in (("banded", 8e-5, 0.012, ""), ("dense (closed form)", 3e-4, 0.05, ""),
                                   ("the torchvision pipeline (TorchScript exporter)", float("nan"), float("nan"),
                                    "UnsupportedOperatorError: aten::_upsample_bilinear2d_aa"),
                                   ("the torchvision pipeline (dynamo exporter)", 6e-4, 0.072, ""))],
        gpu=[], gpu_env=None,
        suite=[{"case": "Normalize", "family": "banded", "photo_gray": 4e-4, "noise_gray": 3e-4, "tolerance_gray": 0.01,
                "speedup": 9.0, "refused": ""},
               {"case": "gamma after", "family": "banded + curve", "photo_gray": 0.06, "noise_gray": 0.01,
                "tolerance_gray": 0.05, "speedup": 3.5, "refused": ""},
               {"case": "random flip", "refused": "'random flip' is random"}],
    )  # fmt: skip
    for k, v in over.items():
        setattr(res, k, v)
    return res


def test_the_speed_table_is_03s_lead_table_and_the_opening_quotes_it():
    res = _results()
    table = front.speed_table(res)
    rows, devices, _ = bench.with_recorded_gpu(res.bench, res.bench_summary.devices, None)
    assert table == bench.lead_rows(rows, devices)  # the same code and rows as 03's: one number per quantity
    cpu = front.lead(table)
    assert set(cpu) == {"loop", "batch", "user", "transform"} and cpu["transform"]["route"].startswith("banded")
    assert front.lead(table, "GPU") == {}
    text = front_text.opening(res)
    assert f"**{cpu['transform']['ms'].split(' (')[0]} ms** on the CPU (Test CPU, AVX2, 2 threads)" in text
    assert f"**{cpu['transform']['x baseline']}** the pipeline image by image" in text


def test_design_table_takes_each_design_at_its_best_and_ends_with_the_final_run():
    rows = front.design_table(_results().designs, _results().final)
    by = {r["design"]: r for r in rows}
    dense = by["dense (closed form)"]  # each design at its best, under that row's name
    assert dense["best test max error (gray)"] == 3e-4 and dense["reached by"] == "closed form"
    assert by["conv5 (closed form)"]["best test max error (gray)"] == 164.0  # its optimum: still cannot flip
    assert rows[-1]["design"] == "separable (final)" and rows[-1]["params"] == 1796
    assert rows[-1]["best test max error (gray)"] == 0.0034 and rows[-1]["MFLOPs/image"] == 0.114
    assert "fc_large" not in by  # a design the study did not run is not shown


def test_opening_is_three_sentences_with_the_headline_numbers():
    res = _results()
    text = front_text.opening(res)
    assert text.count(". ") + 1 <= 4  # three sentences (the GPU's clause closes the third)
    assert "**The final model is `separable`**, 1,796 parameters" in text and "by Adam on the baseline recipe's" in text
    assert "the rule fired at epoch 4, 192,800 images seen, 41 s" in text
    assert "at most **0.0034 gray levels**" in text and "baseline recipe is 11.7 gray levels off" in text
    assert "GPU: none measured (no GPU in this run, none recorded)." in text


def test_the_gpu_sentence_names_device_date_and_weights():
    res = _results()
    assert front_text.gpu_sentence(res) == "GPU: none measured (no GPU in this run, none recorded)."
    env = bench.Environment(gpu="H200", date="2026-12-01T10:00:00", torch_version="2.11")
    gpu = [bench.BenchRow(device="cuda", method="fast_path", model="separable (untrained)", median_s=0.001)]
    text = front_text.gpu_sentence(_results(gpu_env=env, gpu=gpu))
    assert "an H200 on 2026-12-01 (torch 2.11, untrained weights of the same shapes: times only)" in text


def test_stopping_loss_and_beyond_text():
    res = _results()
    stop = front_text.stopping_text(res)
    assert "would have stopped the final run at epoch 1 with 30% of validation pixels wrong" in stop
    assert "**0.01 gray levels** for the largest error (epoch 4, 0.007% wrong" in stop
    loss = front_text.loss_text(res.losses)
    assert "`range_sse (w=2): the final run` met the rule at epoch 2; `sse` met the rule at epoch 3" in loss
    assert "`l1` did not (0.9 gray levels at worst)" in loss and "at most 40 epochs" in loss
    beyond = front_text.beyond_text(res)
    assert "fitted that way is 9e-05 gray levels off" in beyond and "Of 2 pipelines" in beyond
    assert "reproduces 1 within half a gray level" in beyond and "none does for `b`" in beyond
    assert "side 32 to 256" in beyond and "32: 4.0x (banded, engine); 256: 4.0x (banded, engine)" in beyond
    yours = "took 2 of 3 real pipelines (`banded`, `banded + curve`), 1 within their tolerance on photographs and noise"
    assert yours in beyond and "3.5x-9.0x the fastest user route; refused: random flip" in beyond


def test_load_names_the_missing_files_and_reads_numbers(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"losses.csv \(from 02_architectures\)"):
        front.load(tmp_path)
    res = _results()
    res.final.write(tmp_path)
    res.recipe.write(tmp_path)
    bench.write(res.bench, res.bench_summary, tmp_path)
    for name, rows in (("architectures.csv", res.designs), ("losses.csv", res.losses), ("pipelines.csv", res.pipelines),
                       ("scaling.csv", res.scaling), ("onnx.csv", res.onnx)):  # fmt: skip
        with (tmp_path / name).open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    loaded = front.load(tmp_path, tmp_path / "no-gpu")
    assert loaded.bench[0].median_s == 1.0 and loaded.designs[0]["params"] == 803604
    assert loaded.bench_summary.environment == res.bench_summary.environment
    assert loaded.gpu == [] and loaded.gpu_env is None
    assert front_text.opening(loaded) == front_text.opening(res)  # the same numbers after a trip through the files


def test_the_suite_outcome_counts_fitted_and_refused_pipelines():
    rows = [
        {"case": "a", "refused": "", "photo_gray": 0.001, "noise_gray": 0.004, "tolerance_gray": 0.01, "speedup": 3.0},
        {"case": "b", "refused": "", "photo_gray": 0.02, "noise_gray": 0.003, "tolerance_gray": 0.01, "speedup": 9.5},
        {"case": "c", "refused": "random: RandomHorizontalFlip", "photo_gray": float("nan"),
         "noise_gray": float("nan"), "tolerance_gray": 0.01, "speedup": float("nan")},
    ]  # fmt: skip
    found = front.suite_outcome(rows)
    assert [r["case"] for r in found["done"]] == ["a", "b"] and found["refused"] == ["c"]
    assert [r["case"] for r in found["within"]] == ["a"]
    assert found["worst_gray"] == 0.02 and found["speedups"] == (3.0, 9.5)
    assert front.suite_outcome(rows[2:])["speedups"] is None
