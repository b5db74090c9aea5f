import pytest
from factories import make_record

from lib.report import summary

FIDELITY = [{"images": "CIFAR-10 test", "max_gray": 2.1e-4, "exact8_pct": 99.998},
            {"images": "noise", "max_gray": 3.5e-4, "exact8_pct": 99.9963},
            {"images": "blocks", "max_gray": 1.0e-4, "exact8_pct": 99.9990}]  # fmt: skip
RUN = make_record(
    run_name="dense", model="dense", n_params=803604, config={"optimizer": "closed_form", "lr": 1e-3, "batch_size": 64},
    sizes={"train": 45000, "val": 5000, "test": 10000, "synthetic_train": 500}, synthetic_families=["noise"],
    stopped_by="tolerance_rule", epochs=1, train_seconds=12.34, test_mae_gray=1.9e-5, test_max_gray=2.1e-4,
    test_exact8=0.99998, fidelity=FIDELITY, cpu="Test CPU", torch_threads=2, torch_version="2.x",
    date="2026-11-28T12:00:00", data_source="here",
)  # fmt: skip


def test_summary_reads_the_numbers_of_the_run(tmp_path):
    RUN.write(tmp_path)
    text = summary.write(tmp_path, tmp_path / "SUMMARY.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| `dense`"))
    for cell in ("closed form (+500 noise)", "tolerance_rule", "12.3", "0.00021", "99.998", "0.00035", "99.996"):
        assert cell in row, cell
    assert "Test CPU" in text and "2026-11-28" in text


def test_summary_needs_results(tmp_path):
    with pytest.raises(FileNotFoundError, match="no results"):
        summary.write(tmp_path, tmp_path / "SUMMARY.md")


def test_summary_lists_every_pipeline_and_model(tmp_path):
    header = (
        "pipeline,out_shape,linear,separable,model,params,test_max_gray,exact8_pct,speedup_vs_loop,speedup_vs_batched"
    )
    (tmp_path / "pipelines.csv").write_text(
        header + "\n" + '"rot90 | grayscale",1x32x32,True,False,dense,1049604,6.1e-05,99.9998,7.5,0.17\n'
        '"gamma(2.2)",3x32x32,False,,curve + separable,1845,0.023,99.69785,3.8,0.33\n'
    )
    text = summary.write(tmp_path, tmp_path / "SUMMARY.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert rows[0].split(" | ")[1:8] == ["1x32x32", "yes", "no", "`dense`", "1,049,604", "6.1e-05", "99.9998"]
    assert rows[1].split(" | ")[2:4] == ["no", "-"] and "99.70" in rows[1]
    assert rows[0].startswith(r"| `rot90 \| grayscale` |")  # the pipe inside a cell is escaped


def test_training_runs_in_the_reports_order_then_the_others(tmp_path):
    for name in ("zz_extra", "separable", "dense_seed"):
        make_record(run_name=name, config=RUN.config).write(tmp_path)
    text = summary.write(tmp_path, tmp_path / "SUMMARY.md").read_text()
    order = [line.split("`")[1] for line in text.splitlines() if line.startswith("| `")]
    assert order == ["dense_seed", "separable", "zz_extra"]


def test_summary_gives_each_size_its_winner(tmp_path):
    lines = ["side,route,label,user,learned,seconds,us_per_image,photo_max_gray,n_images"]
    for side, scale in ((32, 1), (64, 4)):
        lines += [f"{side},read_input,reading,False,False,{1e-4 * scale},{0.1 * scale},,1000",
                  f"{side},pipeline_uint8,the pipeline on uint8,True,False,{4e-3 * scale},{4 * scale},,1000",
                  f"{side},banded_transform,engine,False,True,{1e-3 * scale},{1 * scale},{6e-5 * scale},"
                  "1000"]  # fmt: skip
    (tmp_path / "scaling.csv").write_text("\n".join(lines) + "\n")
    text = summary.write(tmp_path, tmp_path / "SUMMARY.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| 32x32") or line.startswith("| 64x64")]
    assert rows == ["| 32x32 | the pipeline on uint8 | 4 | engine | 1 | 4x | 0.1 | 6e-05 |",
                    "| 64x64 | the pipeline on uint8 | 16 | engine | 4 | 4x | 0.4 | 0.00024 |"]  # fmt: skip


def test_summary_lists_the_onnx_graphs_and_the_exporters_errors(tmp_path):
    (tmp_path / "onnx.csv").write_text(
        "pipeline,graph,source,max_gray,ort_s,torch_s,error\n"
        "target pipeline,banded,uint8,8e-05,0.0166,0.015,\n"
        "target pipeline,the torchvision pipeline (TorchScript exporter),float,,,,UnsupportedOperatorError: aa\n"
    )
    text = summary.write(tmp_path, tmp_path / "SUMMARY.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| target pipeline")]
    assert rows == ["| target pipeline | `banded` | uint8 | 8e-05 | 16.6 | 15 |  |",
                    "| target pipeline | `the torchvision pipeline (TorchScript exporter)` | float | - | - | - | "
                    "UnsupportedOperatorError: aa |"]  # fmt: skip


def test_summary_lists_the_suite_of_real_pipelines_and_the_fit_times(tmp_path):
    (tmp_path / "suite.csv").write_text(
        "case,sizes,family,fit_s,photo_gray,noise_gray,speedup,refused\n"
        "Normalize at 96x96,3x96x96,banded,0.04,0.0004,0.0003,9.5,\n"
        "random flip,3x96x96,,,,,,'random flip' is random\n"
    )
    (tmp_path / "fit_times.csv").write_text(
        "shape,order,method,fit_s,noise_gray\n3x300x400,1 of 2,axis probe,2.4,4e-4\n"
    )
    text = summary.write(tmp_path, tmp_path / "SUMMARY.md").read_text()
    assert "| Normalize at 96x96 | 3x96x96 | `banded` | 0.04 | 0.0004 | 0.0003 | 9.5x |  |" in text
    assert "| random flip | 3x96x96 | refused | - | - | - | - | 'random flip' is random |" in text
    assert "3x300x400 (1 of 2, axis probe): 2.40 s" in text


def test_a_bar_inside_a_cell_does_not_split_the_row(tmp_path):
    header = "case,sizes,family,fit_s,photo_gray,noise_gray,speedup,refused\n"
    (tmp_path / "suite.csv").write_text(header + "r,3x8x8,,,,,,'a | b' is random\n")
    text = summary.write(tmp_path, tmp_path / "SUMMARY.md").read_text()
    assert "| r | 3x8x8 | refused | - | - | - | - | 'a \\| b' is random |" in text
