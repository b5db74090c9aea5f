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
    text = ship_text.summary(rows)
    assert "within **0.004 gray levels**" in text and "(the worst: `banded`)" in text
    assert "`separable` from uint8, ran the 10,000 test images in 10 ms" in text and "**7.0x** faster" in text
    assert "The TorchScript exporter: `UnsupportedOperatorError: aa`." in text


def test_without_a_working_export_of_the_pipeline_there_is_no_ratio():
    rows = [_row("banded", 0.004, 0.012), _row("the torchvision pipeline (dynamo exporter)", None, None, "Error: x")]
    (v,) = ship_text.verdicts(rows)
    assert v["own"] is None and v["speedup"] is None
    assert "No export of the pipeline itself ran." in ship_text.summary(rows)


def test_a_faster_export_of_the_pipeline_is_said_so():
    rows = [_row("banded", 0.004, 0.020), _row("the torchvision pipeline (dynamo exporter)", 6e-4, 0.010)]
    assert "it is faster, the learned graph taking **2.0x** its time." in ship_text.summary(rows)


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
            "speedup_with_fits": speedup / 2, "speedup_first_call": 0.5, "refused": ""}  # fmt: skip


def test_the_suite_summary_gives_each_case_its_error_against_its_tolerance_and_names_the_slow_ones():
    fits = [{"shape": "3x300x400", "order": "1 of 2", "method": "axis probe", "fit_s": 2.5}]
    rows = [_case("a", 5.0), _case("b", 2.0, photo=0.02), _case("c", 0, refused="'c' is random")]
    text = ship_text.suite_summary(rows, fits)
    assert "**a** (3x8x8): `banded`, 90 numbers, fitted in 0.20 s" in text and "(within 0.01)" in text
    assert "(over 0.01)" in text and "**2.0x** the fastest user route (1.0x with the fits" in text
    assert "- **c**: refused. 'c' is random" in text
    assert "Below 3x the fastest user route: b." in text and "3x300x400 (1 of 2, axis probe): 2.50 s" in text
    assert "Every accepted pipeline" in ship_text.suite_summary([_case("a", 5.0)], fits)
    timed = {**_case("d", 4.0), "opencv_s": 0.2, "opencv_gray": 21.0, "pillow_s": 0.5, "pillow_gray": 1.5,
             "speedup_vs_libraries": 8.0}  # fmt: skip
    assert "; 8.0x the faster of OpenCV and Pillow (OpenCV 21 gray levels off, Pillow 1.5 gray levels off)" in (
        ship_text.suite_summary([timed], fits)
    )
