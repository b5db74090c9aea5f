"""The benchmark's prose on small hand-made summaries whose numbers are known."""

import pytest

from lib.experiments import bench
from lib.report import bench_text


def _row(method: str, model: str, seconds: float, **fields) -> bench.BenchRow:
    return bench.BenchRow(**{"device": "cpu", "method": method, "model": model, "batch_size": 256, "n_images": 10_000,
                             "median_s": seconds, **fields})  # fmt: skip


def _summary(top: bench.BenchRow | None = None, **changes) -> bench.DeviceSummary:
    """One device's summary as bench.summarize writes it: by default the separable model's learned transform at
    13 ms, memory-bound (read floor 1.25 ms above a compute floor of 1.14 ms)."""
    top = top or _row("transform_uint8", "separable", 0.013, architecture="separable", max_gray=7.6e-5)
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
        "**cpu** (measured here): the fastest learned model is separable (the final model), run as the learned "
        "transform from uint8 (the engine), in slices of 256: 13 ms for 10,000 images"
    )
    assert "17.4x the pipeline on the whole batch (226 ms)" in text
    assert "84x the pipeline image by image on CPU (the assignment's baseline)" in text
    assert "Reading its uint8 images once takes 1.25 ms" in text and "it runs at 10.4x the read floor" in text
    assert "best learned model takes 82.5 ms" in text and "batch size 1024 and 2 workers), still faster" in text
    assert "is the pipeline on the uint8 images, whole batch: 126 ms (max error 2 gray levels, 93.50% of pixels" in text
    assert "the model is 9.7x faster, with max error 7.6e-05 gray levels" in text
    assert "compute floor of 1.14 ms" in text and "the limit is memory (reading the input)" in text
    assert "**10.4x the roofline**" in text
    assert "It computes at 88 GFLOPS against the 1000 of a 2048x2048 product" in text  # 0.114e6 * 1e4 / 0.013 s
    assert "the model's own FLOPs, which the engine's loop does and no more" in text
    assert "Without compiled code the best is 32 ms (the fast path, in slices of 256)" in text
    assert "The exact operator (not learned, the same arithmetic) takes 13.4 ms" in text
    assert "mission" not in text.lower()


def test_terms_are_defined_once_where_first_used():
    text = bench_text.answer(_summary(), "cpu")
    assert f"({bench_text.READ_FLOOR})" in text and f"({bench_text.ROOFLINE})" in text
    assert text.index("*read floor*") < text.index("*roofline*")  # the roofline is defined from the floors
    again = bench_text.answer(_summary(), "cuda", define=False)
    assert "*read floor*" not in again and "*roofline*" not in again and "(the read floor)" in again
    both = bench_text.answers({"cpu": _summary(), "cuda": _summary()}, "recorded on Fixture GPU")
    assert both.count("*read floor*") == 1 and both.count("*roofline*") == 1 and both.count("*compute floor*") == 1
    # a device without a learned model defines nothing: the next one does
    first_empty = bench_text.answers({"cpu": _summary(best_model=None), "cuda": _summary()}, "measured here")
    assert "no learned model was timed" in first_empty and first_empty.count("*read floor*") == 1


def test_compiled_route_is_compared_with_the_eager_one():
    top = _row("compiled_uint8", "separable", 0.0216, batch_size=512, architecture="separable", max_gray=6.1e-5)
    text = bench_text.answer(_summary(top, compile={"separable": 9.94, "separable from uint8": 12.47}), "cpu",
                             out_shape=(1, 16, 20))  # fmt: skip
    assert "run as the fast path from uint8, compiled, in slices of 512: 21.6 ms" in text
    assert "its products are 16x32 and 32x20 matrices per image" in text  # the output shape given
    assert "Without compiled code the best is 32 ms" in text
    assert "`torch.compile`: `separable` 9.9 s to compile; `separable` from uint8 12.5 s to compile." in text
    failed = bench_text.answer(_summary(top, compile={"separable": "RuntimeError: no C++ compiler found"}), "cpu")
    assert "`separable` not compiled (RuntimeError: no C++ compiler found)" in failed


def test_eager_route_of_a_dense_model_that_is_compute_bound():
    top = _row("fast_path", "dense_seed", 0.175, architecture="dense", max_gray=11.7)
    s = _summary(top, mflops_per_image=1.61, compute_floor_s=0.0161, roofline_s=0.0161, times_roofline=0.175 / 0.0161,
                 floor_method="read_input", floor_s=0.0056, times_floor=0.175 / 0.0056)  # fmt: skip
    text = bench_text.answer(s, "cpu")
    assert "the fastest learned model is dense (the assignment's design), `dense_seed`, run as the fast path" in text
    assert "Reading its float input once takes 5.6 ms" in text
    assert "the limit is compute: the model runs at **10.9x the roofline**" in text
    assert "of a 2048x2048 product." in text  # no structural explanation for a dense matrix
    assert "Without compiled code" not in text  # the best is already eager
    assert "with max error 12 gray levels" in text


def test_no_gpu_and_recorded_gpu():
    alone = bench_text.answers({"cpu": _summary()}, "no GPU here and no recorded GPU results")
    assert alone.endswith("**GPU**: no numbers (no GPU here and no recorded GPU results).")
    gpu = _summary(speedup_vs_loop=None, end_to_end_s=0.0021)
    both = bench_text.answers({"cpu": _summary(), "cuda": gpu}, "recorded on Fixture GPU on 2026-01-02")
    assert "**GPU**: no numbers" not in both
    cuda = both.split("\n\n")[1]
    assert cuda.startswith("**cuda** (recorded on Fixture GPU on 2026-01-02): ")
    assert "image by image" not in cuda and "End to end from uint8 host memory: 2.1 ms." in cuda


def test_with_and_without_a_user_route():
    without = bench_text.answer(_summary(user_best=None, speedup_vs_user_best=None), "cpu")
    assert "No route a user would take instead of a model was timed on this device." in without
    assert "The fastest route a user would take" not in without
    pillow = _row("pillow_loop", "pillow", 0.527, max_gray=1.5, exact8_pct=60.0)
    text = bench_text.answer(_summary(user_best=pillow, speedup_vs_user_best=0.527 / 0.013), "cpu")
    assert "instead is Pillow, image by image: 527 ms (max error 1.5 gray levels, 60.00% of pixels exact" in text
    assert "the model is 40.5x faster" in text
    recorded = _row("pipeline_batched", "pipeline", 0.226)  # recorded without its fidelity
    assert "(max error unmeasured, an unmeasured share of pixels" in bench_text.answer(_summary(user_best=recorded),
                                                                                       "cpu")  # fmt: skip


def test_no_engine_loop_says_why_and_no_roofline_without_a_peak():
    s = _summary(engine_unavailable="no C compiler (cc or gcc) on this machine", times_roofline=None)
    text = bench_text.answer(s, "cpu")
    assert "The engine could not compile its C loop: no C compiler (cc or gcc) on this machine." in text
    assert "roofline" not in text and "GFLOPS" not in text


def test_the_engine_build_is_named():
    s = _summary(engine_build="8 floats a vector, 2 rows a block (AVX2)")
    assert "The engine's C loop was built for this CPU: 8 floats a vector, 2 rows a block (AVX2)." in bench_text.answer(
        s, "cpu"
    )
    without = bench_text.answer(_summary(engine_unavailable="no C compiler", engine_build=None), "cpu")
    assert "built for this CPU" not in without


def test_timing_plan_says_what_was_scaled():
    plan = bench_text.timing_plan(bench.BenchConfig())
    assert "Every time is for 10,000 images" in plan and "then 5 timed rounds" in plan
    assert "then 3 times timed" in plan and "once untimed" in plan
    assert "batch size 1 go through the first 1,000 images only" in plan and "multiplied by 10 " in plan
    whole = bench_text.timing_plan(bench.BenchConfig(n_images=500, dataloader_repeats=5))
    assert "first" not in whole and "multiplied" not in whole  # 500 images: nothing to scale
    assert "is timed 3 times at most" in whole  # more DataLoader repeats than a slow configuration gets
    assert "mission" not in (plan + whole).lower()


@pytest.mark.parametrize(("model", "arch", "label"), [
    ("dense_seed", "dense", "dense (the assignment's design), `dense_seed`"),
    ("separable", "separable", "separable (the final model)"),
    ("exact", "exact", "exact (the pipeline's own operator, probed; not learned)"),
    ("dense (untrained)", None, "dense (the assignment's design), `dense (untrained)`"),  # recorded, no column
    ("conv5", "conv5", "conv5"),
])  # fmt: skip
def test_models_read_as_their_architecture(model, arch, label):
    row = bench.BenchRow(device="cpu", method="fast_path", model=model, median_s=0.01, architecture=arch)
    assert bench.model_label(row) == label


def test_memory_floors_are_the_floor_routes_in_words():
    rows = [
        bench.BenchRow(device="cpu", method="read_input", model="-", median_s=0.0056),
        bench.BenchRow(device="cpu", method="read_uint8", model="-", median_s=0.00125),
        bench.BenchRow(device="cpu", method="pipeline_batched", model="pipeline", median_s=0.226),  # no floor
        bench.BenchRow(device="cpu", method="write_output", model="-", median_s=0.0021),
        bench.BenchRow(device="cuda", method="read_input", model="-", median_s=2.5e-5),
    ]
    assert bench_text.memory_floors(rows) == (
        "Memory floors: cpu, reading the float input once: 5.6 ms; cpu, reading the uint8 images once: 1.25 ms; "
        "cpu, writing the float32 output once: 2.1 ms; cuda, reading the float input once: 0.025 ms"
    )


def test_a_dataloader_route_reads_with_its_batch_and_workers():
    dl = _row("dataloader", "separable", 0.08, batch_size=64, num_workers=1)
    assert bench_text._route(dl) == "a DataLoader with batch size 64 and 1 worker"
    assert bench_text._route(_row("compiled", "separable", 0.02)) == "the fast path, compiled, in slices of 256"
