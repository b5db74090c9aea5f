from lib.report import ship_text


def _row(graph, max_gray, ort_s, error="", source="float"):
    return {"pipeline": "p", "graph": graph, "source": source, "max_gray": max_gray, "ort_s": ort_s, "torch_s": 0.02,
            "n_images": 10000, "error": error}  # fmt: skip


def test_the_summary_names_the_worst_and_fastest_graphs_and_the_exporters_outcome():
    rows = [_row("banded", 0.004, 0.012), _row("separable", 0.002, 0.010, source="uint8"), _row("exact", 9e-5, 0.008),
            _row("the torchvision pipeline (TorchScript exporter)", float("nan"), float("nan"),
                 "UnsupportedOperatorError: aa"),
            _row("the torchvision pipeline (dynamo exporter)", 6.5e-4, 0.070)]  # fmt: skip
    (v,) = ship_text.verdicts(rows)
    assert (v["worst"], v["fastest"]["graph"], round(v["speedup"], 6)) == ("banded", "separable", 7.0)  # learned only
    text = ship_text.summary(rows + [{**r, "pipeline": "q"} for r in rows])
    assert "within **0.004 gray levels**" in text and "(the worst: `banded`)" in text
    assert "`separable` from uint8, takes 10 ms for the 10,000 test images" in text and "**7.0x** faster." in text
    assert "the pipeline's own export (dynamo exporter, 0.00065 gray levels off) 70 ms" in text
    assert text.endswith("- The TorchScript exporter fails on p and q: `UnsupportedOperatorError: aa`.")  # once
    assert text.count("UnsupportedOperatorError") == 1


def test_the_onnx_table_lists_the_graphs_that_ran():
    rows = [{**_row("banded", 0.004, 0.012), "test_exact8_pct": 99.96},
            {**_row("the torchvision pipeline (dynamo exporter)", 6.5e-4, 0.070), "test_exact8_pct": 99.9983,
             "torch_s": None},
            _row("the torchvision pipeline (TorchScript exporter)", None, None, "Error: x")]  # fmt: skip
    learned, own = ship_text.onnx_table(rows)
    assert learned == {"pipeline": "p", "graph": "banded", "input": "float", "worst (gray)": "0.004",
                       "exact 8-bit %": "99.960", "ONNX Runtime ms": "12", "LearnedTransform ms": "20"}  # fmt: skip
    assert own["LearnedTransform ms"] == "-" and own["ONNX Runtime ms"] == "70"


def test_without_a_working_export_of_the_pipeline_there_is_no_ratio():
    rows = [_row("banded", 0.004, 0.012), _row("the torchvision pipeline (dynamo exporter)", None, None, "Error: x")]
    (v,) = ship_text.verdicts(rows)
    assert v["own"] is None and v["speedup"] is None
    assert "no export of the pipeline itself ran." in ship_text.summary(rows)


def test_a_faster_export_of_the_pipeline_is_said_so():
    rows = [_row("banded", 0.004, 0.020), _row("the torchvision pipeline (dynamo exporter)", 6e-4, 0.010)]
    assert "the learned graph taking **2.0x** its time." in ship_text.summary(rows)


def test_the_loader_summary_reads_its_rows_by_name():
    rows = [{"transform": "the target pipeline (torchvision)", "arrangement": "image by image", "seconds": 0.9,
             "max_gray_vs_pipeline": 0.0},
            {"transform": "the target pipeline (torchvision)", "arrangement": "on the collated batch", "seconds": 0.3,
             "max_gray_vs_pipeline": 0.001},
            {"transform": "LearnedTransform (the engine)", "arrangement": "image by image", "seconds": 0.6,
             "max_gray_vs_pipeline": 0.002},
            {"transform": "LearnedTransform (the engine)", "arrangement": "on the collated batch", "seconds": 0.1,
             "max_gray_vs_pipeline": 0.004}]  # fmt: skip
    text = ship_text.loader_summary(rows)
    assert "**9.0x** the pipeline's as users set it up" in text and "3.0x the pipeline on each collated batch" in text
    assert "1.50x apart" in text and "within 0.004 gray levels" in text


def _case(name, speedup, refused="", photo=0.001, tol=0.01):
    if refused:
        return {"case": name, "sizes": "3x8x8", "refused": refused}
    return {"case": name, "sizes": "3x8x8", "family": "banded", "numbers": 90, "fit_s": 0.2, "photo_gray": photo,
            "noise_gray": 0.002, "on_levels": False, "tolerance_gray": tol, "speedup": speedup,
            "speedup_with_fits": speedup / 2, "speedup_first_call": 0.5, "opencv_gray": 21.0, "pillow_gray": 1.5,
            "refused": ""}  # fmt: skip


def test_the_suite_table_gives_each_accepted_case_its_error_tolerance_and_speedups():
    rows = [_case("a", 5.0), _case("c", 0, refused="'c' is random")]
    (a,) = ship_text.suite_table(rows)
    assert a == {"case": "a", "sizes": "3x8x8", "family": "banded", "numbers": "90", "fit s": "0.20",
                 "worst (gray)": "0.002", "tolerance": "0.01", "x fastest user route": "5.0x",
                 "OpenCV / Pillow (gray off)": "21 / 1.5"}  # fmt: skip
    assert ship_text.suite_table([{**_case("d", 4.0), "opencv_gray": float("nan")}])[0][
        "OpenCV / Pillow (gray off)"] == "- / 1.5"  # fmt: skip


def test_the_suite_summary_names_the_slow_and_the_inexact_cases_and_the_refusals():
    fits = [{"shape": "3x300x400", "order": "1 of 2", "method": "axis probe", "fit_s": 2.5}]
    rows = [_case("a", 5.0), _case("b", 2.0, photo=0.02), _case("c", 0, refused="'c' is random")]
    text = ship_text.suite_summary(rows, fits)
    assert text.startswith("Over their tolerance: b. Below 3x the fastest user route: b.")
    assert "- **c**: refused. 'c' is random" in text and "3x300x400 (1 of 2, axis probe): 2.50 s" in text
    assert ship_text.suite_summary([_case("a", 5.0)], fits).startswith(
        "Every accepted pipeline is within its tolerance. Each is at least 3x its fastest user route."
    )
