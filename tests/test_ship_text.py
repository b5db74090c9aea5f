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
