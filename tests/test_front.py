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
                       stopped_by=stopped_by, epochs=len(history), fidelity=fid, history=history,
                       loss_minimised=loss, test_max_gray=test_max)  # fmt: skip


FINAL_HISTORY = [{"epoch": 1, "val_mae_gray": 3.0, "val_max_gray": 40.0, "held_out_max_gray": 80.0, "seconds": 9.0},
                 {"epoch": 2, "val_mae_gray": 1e-4, "val_max_gray": 0.004, "held_out_max_gray": 0.008,
                  "seconds": 21.4}]  # fmt: skip
RECIPE_HISTORY = [{"epoch": 48, "val_mae_gray": 0.49, "val_max_gray": 11.0, "seconds": 200.0}]
BENCH = [  # device, method, model, median seconds, max error
    ("cpu", "pipeline_loop", "-", 1.0, 0.0), ("cpu", "pipeline_batched", "-", 0.2, 0.0),
    ("cpu", "pipeline_uint8", "-", 0.1, 2.0), ("cpu", "pillow_loop", "pillow", 0.5, 1.5),
    ("cpu", "fast_path", "separable", 0.04, 6e-5), ("cpu", "compiled_uint8", "separable", 0.02, 6e-5),
    ("cpu", "dataloader", "separable", 0.08, 6e-5), ("cpu", "fast_path", "dense_seed", 0.18, 11.7),
    ("cpu", "read_input", "-", 0.005, float("nan")),
]  # fmt: skip


def _results(**over) -> front.Results:
    rows = [bench.BenchRow(device=d, method=m, model=mo, median_s=t, max_gray=e, exact8_pct=99.0, n_images=10000)
            for d, m, mo, t, e in BENCH]  # fmt: skip
    env = bench.Environment(cpu="Test CPU", cpu_vector="AVX2", torch_threads=2, torch_version="2.14.1", gpu=None)
    res = front.Results(
        final=_run("separable", "separable", 1796, "moments", "tolerance", "tolerance_rule", 0.0034, 0.0051,
                   FINAL_HISTORY),
        recipe=_run("dense_seed", "dense", 803604, "adam", "mean", "mean_rule", 11.7, 50.2, RECIPE_HISTORY,
                    "range_sse"),
        designs=[{"model": m, "trainer": t, "params": p, "mflops": f, "test_max_gray": e, "exact8_pct": x,
                  "seconds": 3.7} for m, t, p, f, e, x in (("dense", "adam", 803604, 1.61, 186.0, 1.5),
                                          ("dense (closed form)", "closed form", 803604, 1.61, 3e-4, 99.997),
                                          ("conv5", "adam", 76, 0.118, 174.0, 0.65),
                                          ("conv5 (closed form)", "closed form", 76, 0.118, 164.0, 0.66),
                                          ("separable", "adam", 1796, 0.114, 49.0, 8.9),
                                          ("separable (closed form)", "closed form", 1796, 0.114, 9e-5, 99.999))],
        losses=[{"model": "separable", "loss": loss, "optimizer": "lbfgs", "stopped_by": s, "test_max_gray": e}
                for loss, s, e in (("range_sse", "tolerance_rule", 0.004), ("sse", "tolerance_rule", 0.003),
                                   ("l1", "max_epochs", 0.9))],
        bench=rows, bench_summary=bench.BenchSummary(environment=env, data_source="test", config=bench.BenchConfig(),
                                                     devices={}),
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


def test_speed_rows_pick_each_route_from_the_benchmark():
    rows = {r["route"]: r for r in front.speed_rows(_results().bench)}
    base = rows["the target pipeline, image by image (the assignment's baseline)"]
    assert base["ms"] == pytest.approx(1000) and base["x baseline"] == pytest.approx(1) and base["how"] == ""
    user = rows["the fastest route a user would take instead"]
    assert user["how"] == front.ROUTE_WORDS["pipeline_uint8"] and user["max error (gray)"] == 2.0
    fastest = rows["the final model (`separable`), at its fastest"]
    assert fastest["ms"] == pytest.approx(20) and fastest["x baseline"] == pytest.approx(50)
    assert fastest["x fastest user route"] == pytest.approx(5)
    eager = rows["the final model (`separable`), eager PyTorch"]  # compiled routes excluded
    assert eager["ms"] == pytest.approx(40) and eager["how"] == front.ROUTE_WORDS["fast_path"]
    assert rows["the assignment's design (`dense_seed`), at its fastest"]["max error (gray)"] == 11.7
    assert front.speed_rows(_results().bench, "cuda") == []  # no rows, no table


def test_recorded_gpu_rows_stand_in_by_architecture_with_times_only():
    cpu = [dataclasses.replace(r, architecture="dense" if r.model == "dense_seed" else r.model)
           for r in _results().bench]  # fmt: skip
    gpu = [bench.BenchRow(device="cuda", method=m, model=mo, median_s=t, max_gray=e, exact8_pct=50.0, n_images=10000)
           for m, mo, t, e in (("pipeline_batched", "-", 0.004, 0.0),
                               ("fast_path", "separable (untrained)", 0.001, 300.0),
                               ("fast_path", "dense (untrained)", 0.002, 500.0),
                               ("fast_path", "conv5 (untrained)", 0.0005, 90.0))]  # fmt: skip
    rows = {r["route"]: r for r in front.recorded_gpu_rows(_results(bench=cpu, gpu=gpu))}
    final = rows["the final model (`separable`), at its fastest"]
    assert final["ms"] == pytest.approx(1) and final["x fastest user route"] == pytest.approx(4)
    assert final["how"].endswith("untrained weights, time only")
    assert final["max error (gray)"] != final["max error (gray)"]  # blank (NaN): untrained errors mean nothing
    assert rows["the assignment's design (`dense_seed`), at its fastest"]["ms"] == pytest.approx(2)
    assert len(rows) == 5  # no loop on the GPU; conv5 is neither run's architecture
    # a run's own rows win over stand-ins
    own = gpu + [bench.BenchRow(device="cuda", method="fast_path", model="separable", median_s=0.003, max_gray=1e-4,
                                exact8_pct=99.9, n_images=10000)]  # fmt: skip
    mine = {r["route"]: r for r in front.recorded_gpu_rows(_results(bench=cpu, gpu=own))}
    assert mine["the final model (`separable`), at its fastest"]["max error (gray)"] == 1e-4


def test_design_table_takes_each_design_at_its_best_and_ends_with_the_final_run():
    rows = front.design_table(_results().designs, _results().final)
    by = {r["design"]: r for r in rows}
    assert by["dense"]["best test max error (gray)"] == 3e-4 and by["dense"]["reached by"] == "closed form"
    assert by["conv5"]["best test max error (gray)"] == 164.0  # its optimum: still cannot flip
    assert rows[-1]["design"] == "separable (final)" and rows[-1]["params"] == 1796
    assert rows[-1]["best test max error (gray)"] == 0.0034 and rows[-1]["MFLOPs/image"] == 0.114
    assert "fc_large" not in by  # a design the study did not run is not shown


def test_opening_and_conclusion_carry_the_headline_numbers():
    res = _results()
    text = front_text.opening(res)
    assert "**The final model is `separable`**" in text and "1,796 parameters against the 803,604" in text
    assert "at most **0.0034 gray levels**" in text and "at most 0.0051 on 2 families" in text
    assert "11.7 gray levels off at its worst" in text
    assert "Test CPU, AVX2, 2 threads" in text and "5.0x faster than" in text
    assert f"**20 ms** ({front.ROUTE_WORDS['compiled_uint8']}), 50x faster" in text
    assert "Trained by L-BFGS on the training images' second moments on the summed" in text
    end = front_text.conclusion(res)
    assert "at most 0.0051 gray levels" in end and "50x the target pipeline" in end and "5.0x the fastest" in end
    assert "GPU: not measured (no GPU in this run, none recorded)." in end
    recorded = front_text.conclusion(_results(gpu_env=bench.Environment(gpu="H200", date="2026-12-01T10:00:00")))
    assert "GPU: recorded on H200 on 2026-12-01." in recorded


def test_stopping_loss_and_beyond_text():
    res = _results()
    stop = front_text.stopping_text(res.final, res.recipe)
    assert "fired at epoch 2, when the worst validation or held-out pixel was 0.008 gray levels off" in stop
    assert "mean validation error of 0.49 gray levels but a worst pixel 11 gray levels off" in stop
    missed = dataclasses.replace(res.final, stopped_by="max_epochs")
    assert "did **not** fire: the run ended by max_epochs at epoch 2" in front_text.stopping_text(missed, res.recipe)
    loss = front_text.loss_text(front.loss_rows(res.losses), res.final)
    assert "from 0.003 gray levels (`sse`) to 0.9 (`l1`)" in loss and "2 of 3 losses reached" in loss
    beyond = front_text.beyond_text(res)
    assert "fitted that way is 9e-05 gray levels off" in beyond and "Of 2 pipelines" in beyond
    assert "reproduces 1 within half a gray level" in beyond and "none does for `b`" in beyond
    shipped = "target pipeline: within 0.0003 gray levels (the worst graph: `dense (closed form)`), 6.0x the pipeline's"
    assert shipped in beyond
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


def test_the_minimal_design_gets_its_row_and_sentences_where_it_was_timed():
    res = _results()
    assert front.minimal_fastest(res.bench) is None and "Kept on its support" not in front_text.opening(res)
    banded = bench.BenchRow(device="cpu", method="transform_uint8", model="banded", median_s=0.01, max_gray=0.003,
                            exact8_pct=99.9, n_images=10000)  # fmt: skip
    res = _results(bench=res.bench + [banded], designs=res.designs + [{"model": "banded (closed form)", "params": 128}])
    row = front.minimal_fastest(res.bench)
    assert row["ms"] == pytest.approx(10) and row["x fastest user route"] == pytest.approx(10)  # user route: 100 ms
    assert row["route"] == front.speed_rows(res.bench)[-1]["route"] == front.MINIMAL_ROUTE
    opening = front_text.opening(res)
    assert "`banded`, 128 parameters, the minimal design), it takes **10 ms**" in opening
    assert "10.0x faster than the fastest route a user would take instead, at most 0.003 gray levels" in opening
    assert "Kept on its support (`banded`): 10 ms, 10.0x the fastest user route." in front_text.conclusion(res)


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
