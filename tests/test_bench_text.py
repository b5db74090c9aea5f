"""The benchmark's prose on small hand-made summaries whose numbers are known."""

import pytest

from lib.experiments import bench
from lib.report import bench_text


def _row(method: str, model: str, seconds: float, **fields) -> bench.BenchRow:
    return bench.BenchRow(**{"device": "cpu", "method": method, "model": model, "batch_size": 256, "n_images": 10_000,
                             "median_s": seconds, **fields})  # fmt: skip


def _summary(top: bench.BenchRow | None = None, **changes) -> bench.DeviceSummary:
    """One device's summary as bench.summarize writes it: by default the trained banded model's learned transform at
    13 ms, memory-bound (memory floor 1.25 ms above a compute floor of 1.14 ms)."""
    top = top or _row("transform_uint8", "banded", 0.013, architecture="banded", max_gray=0.003)
    s = {
        "best_by_method": {"pipeline_batched": _row("pipeline_batched", "pipeline", 0.226)},
        "best_model": top,
        "best_eager": _row("fast_path", "separable", 0.032, architecture="separable"),
        "best_dataloader": _row(
            "dataloader", "separable", 0.0825, batch_size=1024, num_workers=2, architecture="separable"
        ),  # fmt: skip
        "oracle": _row("transform_uint8", "exact", 0.0134, architecture="exact"),
        "user_best": _row("pipeline_uint8", "pipeline", 0.126, max_gray=2.0, exact8_pct=93.5),
        "speedup_vs_loop": 1.093 / top.median_s,
        "speedup_vs_batched": 0.226 / top.median_s,
        "speedup_vs_user_best": 0.126 / top.median_s,
        "times_floor": top.median_s / 0.00125,
        "floor_s": 0.00125,
        "floor_method": "read_uint8",
        "read_floor_s": 0.0005,
        "write_floor_s": 0.00075,
        "matmul_peak_gflops": 1000.0,
        "mflops_per_image": 0.114,
        "compute_floor_s": 0.00114,  # 0.114 MFLOPs x 10,000 images at 1,000 GFLOPS
        "roofline_s": 0.00125,
        "times_roofline": top.median_s / 0.00125,
        "compile": {},
        "engine_unavailable": None,
        "end_to_end_s": None,
    }
    return bench.DeviceSummary(**{**s, **changes})


def test_the_numbers_of_the_learned_transform_route():
    text = bench_text.answer(_summary(), "cpu")
    assert text.startswith(
        "**CPU** (measured here): the fastest learned route that reproduces the pipeline is banded (trained), "
        "LearnedTransform from uint8 (lib.core.engine): 13 ms, 84x the baseline, 17.4x the pipeline on the whole "
        "batch and 9.7x the fastest user route (pipeline on uint8, whole batch, 126 ms, max error 2 gray levels), "
        "with max error 0.003 gray levels."
    )
    assert "That is 10x its memory floor, 1.25 ms for reading its uint8 images once and writing its output once" in text
    assert "would take 1.14 ms, so memory traffic is the limit: it runs at 10x the roofline" in text
    assert "the best is 82.5 ms (separable (final model), batch 1024, 2 workers)." in text
    assert "mission" not in text.lower() and "assignment's design" not in text


def test_terms_are_defined_once_where_first_used():
    text = bench_text.answer(_summary(), "cpu")
    assert f"({bench_text.MEMORY_FLOOR})" in text and f"({bench_text.ROOFLINE})" in text
    again = bench_text.answer(_summary(), "cuda", define=False)
    assert "*memory floor*" not in again and "*roofline*" not in again
    both = bench_text.answers({"cpu": _summary(), "cuda": _summary()}, "recorded on Fixture GPU")
    assert both.count("*memory floor*") == 1 and both.count("*roofline*") == 1
    # a device without a learned model that reproduces the pipeline defines nothing: the next one does
    first_empty = bench_text.answers({"cpu": _summary(best_model=None), "cuda": _summary()}, "measured here")
    assert "no learned model was timed" in first_empty and first_empty.count("*memory floor*") == 1


def test_a_route_that_does_not_reproduce_the_pipeline_is_sold_as_nothing():
    wrong = _row(
        "fast_path", "separable (untrained)", 0.000265, device="cuda", architecture="separable", max_gray=369.3
    )
    text = bench_text.answer(_summary(wrong), "cuda", "recorded on Fixture GPU")
    assert "no learned model timed here reproduces the target pipeline" in text
    assert "takes 0.265 ms but computes something else (max error 369 gray levels), so no speedup is claimed" in text
    assert "`make bench-gpu`" in text  # untrained weights: how to time the trained ones
    assert "x the" not in text and "faster" not in text and "memory floor" not in text
    unmeasured = bench_text.answer(_summary(_row("fast_path", "separable", 0.01)), "cpu")  # fidelity not recorded
    assert "has a recorded fidelity" in unmeasured and "no speedup is claimed" in unmeasured
    assert "x the" not in unmeasured and "make bench" not in unmeasured and "something else" not in unmeasured
    at_limit = bench_text.answer(_summary(_row("fast_path", "m", 0.01, max_gray=bench.REPRODUCES_GRAY)), "cpu")
    assert "reproduces the pipeline is m, fast path" in at_limit


def test_no_gpu_and_recorded_gpu():
    alone = bench_text.answers({"cpu": _summary()}, "no GPU here and no recorded GPU results")
    assert alone.endswith("**GPU**: no numbers (no GPU here and no recorded GPU results).")
    gpu = _summary(speedup_vs_loop=None)
    both = bench_text.answers({"cpu": _summary(), "cuda": gpu}, "recorded on Fixture GPU on 2026-01-02")
    cuda = both.split("\n\n")[1]
    assert cuda.startswith("**GPU** (recorded on Fixture GPU on 2026-01-02): ")
    assert "the baseline" not in cuda and "17.4x the pipeline on the whole batch" in cuda


def test_the_user_route_is_named_only_when_it_is_not_the_batched_pipeline():
    batched = _row("pipeline_batched", "pipeline", 0.226, max_gray=0.0)
    text = bench_text.answer(_summary(user_best=batched), "cpu")
    assert "fastest user route" not in text and "84x the baseline and 17.4x the pipeline on the whole batch" in text
    pillow = _row("pillow_loop", "pillow", 0.527, max_gray=1.5, exact8_pct=60.0)
    text = bench_text.answer(_summary(user_best=pillow, speedup_vs_user_best=0.527 / 0.013), "cpu")
    assert "40.5x the fastest user route (Pillow, image by image, 527 ms, max error 1.5 gray levels)" in text


def test_no_engine_loop_says_why_and_no_roofline_without_a_peak():
    s = _summary(engine_unavailable="no C compiler (cc or gcc) on this machine", times_roofline=None)
    text = bench_text.answer(s, "cpu")
    assert "The engine could not compile its C loop: no C compiler (cc or gcc) on this machine." in text
    assert "roofline" not in text and "GFLOPS" not in text


def test_method_says_what_was_scaled_and_what_the_columns_mean():
    env = bench.Environment(torch_threads=2)
    text = bench_text.method(bench.BenchConfig(), env)
    assert "Every time is for 10,000 images already in memory, on 2 torch threads" in text
    assert "in 5 timed rounds" in text and "3 timed runs each" in text
    assert "DataLoader batch size 1 goes through 1,000 images, its time multiplied by 10." in text
    assert "On a GPU the pipeline image by image goes through 1,000 images, its time multiplied by 10." in text
    assert "at most 2 gray levels" in text and "*Exact 8-bit %*" in text
    whole = bench_text.method(bench.BenchConfig(n_images=500, dataloader_repeats=1), env)
    assert "multiplied" not in whole and "1 timed run each" in whole  # 500 images: nothing to scale
    assert "mission" not in (text + whole).lower()


def test_lead_caption_says_where_each_device_was_measured():
    env = bench.Environment(cpu="Test CPU", torch_threads=2, torch_version="2.14.1")
    text = bench_text.lead_caption(
        env, "recorded on H200 on 2026-11-30 under torch 2.11 with untrained weights", 10_000
    )
    assert text == ("Milliseconds for 10,000 images, median (quartiles). CPU: Test CPU, 2 threads, torch 2.14.1, "
                    "measured in this run. GPU: recorded on H200 on 2026-11-30 under torch 2.11 with untrained "
                    "weights.")  # fmt: skip


@pytest.mark.parametrize(("model", "arch", "label"), [
    ("dense_seed", "dense", "dense_seed (baseline recipe)"),
    ("separable", "separable", "separable (final model)"),
    ("banded", "banded", "banded (trained)"),  # built from the trained final model, not fitted in closed form
    ("exact", "exact", "exact (probed operator, not learned)"),
    ("dense (untrained)", None, "dense (untrained)"),  # recorded, no column
    ("rgb", "dense", "rgb (dense)"),
    ("conv5", "conv5", "conv5"),
])  # fmt: skip
def test_models_read_as_their_role(model, arch, label):
    row = bench.BenchRow(device="cpu", method="fast_path", model=model, median_s=0.01, architecture=arch)
    assert bench.model_label(row) == label


def test_the_loader_caption_and_the_folded_appendix():
    text = bench_text.loader_caption("separable (final model)", bench.BenchConfig())
    assert "of separable (final model) (on a recorded GPU, its untrained stand-in)" in text
    assert "* timed on 1,000 images, scaled" in text
    assert "scaled" not in bench_text.loader_caption("m", bench.BenchConfig(n_images=500))
    html = bench_text.folded("Appendix: <all>", "<table></table>")
    assert html == "<details><summary>Appendix: &lt;all&gt;</summary><table></table></details>"
