"""The benchmark's route table (``lib.experiments.routes``) and each reader's lookup of it: the summary, the
tables, the time figure and SUMMARY.md. Expectations are written out by hand, not read from the table under
test, so that a route declared in the wrong class fails here."""

import matplotlib
import pytest
from matplotlib.colors import to_hex

from lib.experiments import bench, routes
from lib.report import summary

matplotlib.use("Agg")

FLOORS = {"read_input", "read_uint8", "write_output"}
USER = {"pipeline_batched", "pipeline_uint8", "pillow_loop"}  # what a user would take instead of a model
LEARNED = {"dataloader", "fast_path", "fast_path_uint8", "compiled", "compiled_uint8", "transform_uint8"}
BUILT = {"compiled", "compiled_uint8", "transform_uint8"}  # compile code before they run
FROM_UINT8 = {"read_uint8", "pipeline_uint8", "pillow_loop", "fast_path_uint8", "compiled_uint8", "transform_uint8",
              "end_to_end", "opencv_area", "opencv_linear"}  # fmt: skip
STYLE = {  # the time figure's families, in drawing order: (colour, marker)
    "DataLoader": ("C0", "s"), "fast path": ("C1", "o"), "fast path, compiled": ("C2", "D"),
    "the learned transform": ("C3", "*"), "end to end from host memory": ("C4", "P"),
}  # fmt: skip


def test_every_route_is_declared_once_in_its_class():
    methods = [r.method for r in routes.ROUTES]
    assert len(methods) == len(set(methods)) == len(routes.ROUTE)  # one declaration per identifier
    assert set(methods) == FLOORS | USER | LEARNED | {"pipeline_loop", "end_to_end", "opencv_area", "opencv_linear"}
    assert set(routes.FLOORS) == FLOORS and set(routes.USER_BASELINES) == USER
    assert set(routes.LEARNED_METHODS) == LEARNED and set(routes.BUILT_METHODS) == BUILT
    assert {r.method for r in routes.ROUTES if r.source == "uint8"} == FROM_UINT8
    assert set(routes.UINT8_METHODS) == FROM_UINT8 & LEARNED
    assert routes.LOADER_METHODS == ("dataloader",) and routes.TRANSFER_METHODS == ("end_to_end",)
    assert (routes.LOOP.method, routes.BATCHED.method) == ("pipeline_loop", "pipeline_batched")
    assert all("_" not in r.label and "_" not in r.short for r in routes.ROUTES)  # words, not identifiers
    assert bench.ROUTES is routes.ROUTES and bench.METHOD_LABELS == {r.method: r.label for r in routes.ROUTES}


def test_a_route_from_uint8_has_the_uint8_read_floor():
    for method in LEARNED | USER | {"pipeline_loop", "end_to_end"}:
        expected = "read_uint8" if method in FROM_UINT8 else "read_input"
        assert routes.FLOOR_OF[routes.ROUTE[method].source] == expected, method
    assert routes.FLOOR_INPUTS == {"read_input": "float input", "read_uint8": "uint8 images"}


def test_each_family_is_drawn_in_one_style():
    assert {f: (r.colour, r.marker) for f, r in routes.FAMILIES.items()} == STYLE
    assert list(routes.FAMILIES) == list(STYLE)  # drawing and legend order
    for r in routes.ROUTES:
        assert (r.colour, r.marker) == STYLE.get(r.family, ("", "")), r.method
        assert bool(r.family) == (r.kind in ("model", "transfer")) == r.batched, r.method
    assert {r.method: r.line for r in routes.ROUTES if r.line} == {"pipeline_loop": ":", "pipeline_batched": "-."}


def _row(method: str, model: str, seconds: float, size: int = 1000, device: str = "cpu", **fields) -> bench.BenchRow:
    return bench.BenchRow(device=device, method=method, model=model, batch_size=size, n_images=1000, median_s=seconds,
                          q1_s=seconds, q3_s=seconds, **fields)  # fmt: skip


@pytest.mark.parametrize("method", sorted(LEARNED))
def test_the_summary_classes_each_route_as_declared(method):
    rows = [
        _row("read_input", "-", 0.004), _row("read_uint8", "-", 0.001), _row("pipeline_loop", "pipeline", 2.0),
        _row("pipeline_batched", "pipeline", 0.2), _row("pipeline_uint8", "pipeline", 0.0001),
        _row("pillow_loop", "pillow", 0.3), _row(method, "m", 0.05, 256), _row("fast_path", "exact", 0.01, 256),
    ]  # fmt: skip
    bench.add_speedups(rows)
    s = bench.summarize(bench.RunRecord(rows), {}, "test", bench.BenchConfig()).devices["cpu"]
    # the fastest pipeline is a user's route, the exact operator the oracle: neither is the best learned model
    assert s.best_model.method == method and s.best_model.model == "m"
    assert s.user_best.method == "pipeline_uint8" and s.oracle.model == "exact"
    assert s.floor_method == ("read_uint8" if method in FROM_UINT8 else "read_input")
    assert (s.best_eager is None) == (method in BUILT)
    assert (s.best_dataloader is None) == (method != "dataloader")
    assert s.speedup_vs_loop == pytest.approx(40)


def test_summary_md_names_and_sizes_each_route_as_declared(tmp_path):
    rows = [
        _row("read_input", "-", 0.004), _row("read_uint8", "-", 0.001), _row("pipeline_loop", "pipeline", 2.0),
        _row("pipeline_batched", "pipeline", 0.2), _row("pillow_loop", "pillow", 0.3),
        _row("fast_path_uint8", "separable", 0.02, 256), _row("dataloader", "separable", 0.5, 64),
    ]  # fmt: skip
    bench.add_speedups(rows)
    record = bench.RunRecord(rows, mflops_per_image={"separable": 0.1}, matmul_peak_gflops={"cpu": 100.0})
    env = {"cpu": "Test CPU", "torch_threads": 2, "gpu": None, "torch_version": "2.x", "date": "2026-01-02T03:04:05"}
    bench.write(rows, bench.summarize(record, env, "noise", bench.BenchConfig(n_images=1000)), tmp_path)
    lines = summary.benchmark_section(tmp_path)
    table = [line.strip("| ").split(" | ") for line in lines if line.startswith("| ") and "---" not in line]
    cells = {c[0]: c[2] for c in table}  # route in words: its batch
    assert cells == {
        "cpu: fastest of each method and model": "batch",
        "reading the input once (the floor)": "-", "reading the uint8 images once (the floor from uint8)": "-",
        "pipeline, image by image (the baseline)": "-", "pipeline, whole batch": "1000",
        "Pillow, image by image": "1000", "fast path from uint8": "256", "DataLoader": "64",
    }  # fmt: skip
    roofline = next(line for line in lines if line.startswith("Best learned model"))
    assert "(fast_path_uint8)" in roofline and "read floor 1 ms, reading the uint8 images once (the floor" in roofline


def test_the_time_figure_draws_each_route_in_its_familys_style():
    rows = [
        _row("read_input", "-", 0.001), _row("pipeline_loop", "pipeline", 2.0),
        _row("pipeline_batched", "pipeline", 0.2), _row("pipeline_uint8", "pipeline", 0.1),
        _row("dataloader", "separable", 0.3, 16, architecture="separable"),
        _row("fast_path", "separable", 0.02, 256, architecture="separable"),  # faster from float at 256 ...
        _row("fast_path_uint8", "separable", 0.03, 256, architecture="separable"),
        _row("fast_path", "separable", 0.03, 1000, architecture="separable"),  # ... from uint8 at 1000
        _row("fast_path_uint8", "separable", 0.01, 1000, architecture="separable"),
    ]  # fmt: skip
    from lib.report import bench_plots

    fig = bench_plots.plot_benchmark(rows)
    (ax,) = [ax for ax in fig.axes if ax.has_data()]
    points = {(line.get_marker(), int(line.get_xdata()[0])): line for line in ax.get_lines() if line.get_ls() == "None"}
    assert set(points) == {("s", 16), ("o", 256), ("o", 1000)}
    assert to_hex(points[("s", 16)].get_color()) == to_hex("C0")
    assert to_hex(points[("o", 256)].get_color()) == to_hex("C1")
    filled = {key: to_hex(line.get_markerfacecolor()) != to_hex("white") for key, line in points.items()}
    assert filled == {("s", 16): False, ("o", 256): False, ("o", 1000): True}  # filled: from uint8 images
    lines = {line.get_label(): line.get_ls() for line in ax.get_lines() if line.get_ls() != "None"}
    assert lines["the pipeline image by image (the assignment's baseline)"] == ":"
    assert lines["fastest route a user would take: the pipeline on the uint8 images, whole batch"] == "--"
    assert lines["DataLoader"] == lines["fast path"] == "-"
    matplotlib.pyplot.close(fig)


def _fixture_rows() -> list[bench.BenchRow]:
    rows = [
        bench.BenchRow(device=d, method=m, model=model, architecture=arch, batch_size=bs, n_images=1000, n_timed=timed,
                       median_s=t, q1_s=t, q3_s=t, max_gray=0.0)
        for d in ("cpu", "cuda")
        for m, model, arch, bs, timed, t in (
            ("read_input", "-", "-", 1000, 1000, 0.001), ("read_uint8", "-", "-", 1000, 1000, 0.0005),
            ("pipeline_loop", "pipeline", "-", 1000, 1000, 1.0), ("pipeline_batched", "pipeline", "-", 1000, 1000, 0.2),
            ("pipeline_uint8", "pipeline", "-", 1000, 1000, 0.1), ("pillow_loop", "pillow", "-", 1000, 1000, 0.5),
            *((m, model, arch, bs, 100 if (m, bs) == ("dataloader", 1) else 1000, t * k)
              for model, arch, k in (("dense_seed", "dense", 10), ("separable", "separable", 1), ("exact", "exact", 1))
              for m, t in (("dataloader", 0.3), ("fast_path", 0.03), ("fast_path_uint8", 0.025), ("compiled", 0.02),
                           ("compiled_uint8", 0.015), ("transform_uint8", 0.01), ("end_to_end", 0.05))
              for bs in (1, 256, 1000)),
        )
        if not (d == "cuda" and m in ("pipeline_loop", "pillow_loop", "transform_uint8"))
        and not (d == "cpu" and m == "end_to_end")
    ]  # fmt: skip
    bench.add_speedups(rows)
    return rows


def _summaries(rows: list[bench.BenchRow]) -> dict:
    return bench.summarize(bench.RunRecord(rows), {}, "test", bench.BenchConfig(n_images=1000)).devices


def test_the_lead_table_has_the_baselines_the_minimal_design_and_the_floor():
    rows = _fixture_rows()
    rows += [bench.BenchRow(device=d, method="transform_uint8" if d == "cpu" else "fast_path", model=model,
                            architecture="banded", batch_size=256, n_images=1000, median_s=0.008, q1_s=0.007,
                            q3_s=0.009, max_gray=0.003 if d == "cpu" else 323.0, exact8_pct=99.97)
             for d, model in (("cpu", "banded"), ("cuda", "banded (untrained)"))]  # fmt: skip
    rows.append(bench.BenchRow(device="cpu", method="write_output", model="-", n_images=1000, median_s=0.0003))
    bench.add_speedups(rows)
    lead = bench.lead_rows(rows, _summaries(rows))
    assert [(r["device"], r["route"]) for r in lead] == [
        ("CPU", "target pipeline, image by image (baseline)"),
        ("CPU", "target pipeline, whole batch"),
        ("CPU", "user route: pipeline on uint8, whole batch"),  # faster than the whole batch; Pillow is not
        ("CPU", "banded (trained), LearnedTransform from uint8 (lib.core.engine)"),
        ("CPU", "memory floor: read the uint8 images, write the output"),
        ("GPU", "target pipeline, whole batch"),
        ("GPU", "banded (untrained), fast path (in-memory slices); no LearnedTransform row"),  # none recorded there
    ]  # fmt: skip
    banded, floor, gpu_batched, untrained = lead[3], lead[4], lead[5], lead[6]
    assert banded["x baseline"] == "125x" and banded["ms"] == "8 (7-9)"  # median (quartiles)
    assert floor["ms"] == "0.8" and floor["x baseline"] == "-"  # reading the uint8 images, writing the output
    assert untrained["x baseline"] == "-" and untrained["max error (gray)"] == "323 (untrained)"  # no speedup claimed
    assert gpu_batched["x baseline"] == "5x"  # over the CPU's loop
    assert "nan" not in str(lead)
    rows.append(bench.BenchRow(device="cuda", method="pipeline_loop", model="pipeline", n_images=1000, n_timed=100,
                               median_s=0.5, max_gray=0.0))  # fmt: skip  # a GPU run with its per-image loop
    full = bench.lead_rows(rows, _summaries(rows))
    assert len(full) == 8 and full[5]["route"] == "target pipeline, image by image (timed on 100 images, scaled)"


def test_a_speedup_is_per_image_and_only_for_a_route_that_reproduces_the_pipeline():
    loop = bench.BenchRow(device="cpu", method="pipeline_loop", model="pipeline", n_images=10_000, median_s=1.0,
                          max_gray=0.0)  # fmt: skip
    rows = [loop,
            bench.BenchRow(device="cuda", method="pipeline_batched", model="pipeline", n_images=1000, median_s=0.001,
                           max_gray=0.0),
            bench.BenchRow(device="cpu", method="opencv_area", model="opencv", n_images=10_000, median_s=0.1,
                           max_gray=20.0),
            bench.BenchRow(device="cpu", method="read_input", model="-", n_images=10_000, median_s=0.001)]  # fmt: skip
    table = {r["route"]: r for r in bench.route_rows(rows)}
    assert table["the pipeline on the whole batch"]["x baseline"] == "100x"  # a tenth of the images in 1 ms
    assert table["OpenCV area resize, image by image (not the pipeline)"]["x baseline"] == "-"  # 20 gray levels off
    assert table["reading the float input once"]["max error (gray)"] == "-"
    assert not bench.reproduces(rows[3]) and bench.reproduces(loop)


def test_the_summary_picks_the_fastest_model_that_reproduces_the_pipeline():
    rows = [_row("read_input", "-", 0.004), _row("pipeline_loop", "pipeline", 2.0),
            _row("fast_path", "wrong", 0.01, max_gray=50.0), _row("fast_path", "right", 0.02, max_gray=0.01),
            _row("dataloader", "wrong", 0.1, max_gray=50.0)]  # fmt: skip
    bench.add_speedups(rows)
    s = _summaries(rows)["cpu"]
    assert s.best_model.model == "right" and s.speedup_vs_loop == pytest.approx(100) and s.best_dataloader is None
    for r in rows:
        r.max_gray = 50.0  # none reproduces it: the fastest stands, and the prose claims nothing for it
    assert _summaries(rows)["cpu"].best_model.model == "wrong"


def test_the_grid_and_the_dataloader_sweep_hold_no_nan():
    rows = _fixture_rows()
    grid = bench.model_grid(rows, "cpu")
    assert [r["route"] for r in grid][-2:] == ["max error (gray)", "exact 8-bit %"]
    assert list(grid[0]) == ["route", "dense_seed (baseline recipe)", "separable (final model)",
                             "exact (probed operator, not learned)"]  # fmt: skip
    transform = next(r for r in grid if r["route"] == "learned transform from uint8 (the engine)")
    assert transform["separable (final model)"] == "10 (1)"  # ms (batch or slice)
    label, sweep = bench.loader_rows(rows)
    assert label == "separable (final model)"
    assert [(r["device"], r["workers"], r["pin_memory"]) for r in sweep] == [("CPU", 0, "no"), ("GPU", 0, "no")]
    assert sweep[0]["batch 1*"] == "300" and set(sweep[0]) >= {"batch 256", "batch 1000"}  # batch 1: scaled
    gpu_only = [r for r in rows if r.device == "cuda" or r.method != "dataloader" or r.batch_size != 256]
    assert bench.loader_rows(gpu_only)[1][0]["batch 256"] == "-"  # not timed on the CPU: "-", never nan
    for table in (grid, sweep, bench.route_rows(rows), bench.model_grid(rows, "cuda")):
        assert "nan" not in str(table).lower() and "None" not in str(table)
    assert bench.loader_rows([r for r in rows if r.method != "dataloader"]) == ("", [])


def test_roofline_points_are_each_models_fastest_route_but_the_dataloader():
    rows = _fixture_rows()
    for r in rows:
        if r.method == "dataloader":
            r.median_s = 1e-6  # faster than anything: still not the model's own time
    points = bench.roofline_points(rows, "cpu", {"dense_seed": 1.6, "separable": 0.11})
    assert points == {
        "dense_seed (baseline recipe): learned transform from uint8 (the engine)": (
            1.6,
            pytest.approx(0.1),
        ),
        "separable (final model): learned transform from uint8 (the engine)": (0.11, pytest.approx(0.01)),
    }  # exact has no FLOP count here: left out


def test_time_figure_has_few_series_per_panel_in_words():
    import matplotlib

    matplotlib.use("Agg")
    from lib.report import bench_plots

    fig = bench_plots.plot_benchmark(_fixture_rows(), title="t")
    panels = [ax for ax in fig.axes if ax.has_data()]
    assert len(panels) == 6  # three models on two devices
    for ax in panels:
        series = [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
        assert 3 <= len(series) <= 6, series
        assert all("_" not in label for label in series)  # words, not method identifiers
        assert "seconds" in ax.get_ylabel() or ax.get_ylabel() == ""  # the row's first panel carries the unit
        assert "images" in ax.get_xlabel()
    cpu_dense = panels[0]
    labels = {line.get_label() for line in cpu_dense.get_lines()}
    assert {"DataLoader", "fast path", "fast path, compiled", "the learned transform"} <= labels
    assert "the pipeline image by image (the assignment's baseline)" in labels
    assert cpu_dense.get_title() == "dense_seed (baseline recipe)\non cpu"
    assert "DataLoader at batch size 1: timed on 100 images, scaled to 1,000." in fig._suptitle.get_text()
    matplotlib.pyplot.close(fig)


def test_the_summary_names_the_engine_build_for_the_recorded_cpu():
    rows = [_row("read_input", "-", 0.004), _row("pipeline_loop", "pipeline", 2.0), _row("transform_uint8", "m", 0.01)]
    bench.add_speedups(rows)
    avx2 = bench.summarize(bench.RunRecord(rows), {"cpu_vector": "AVX2"}, "test", bench.BenchConfig()).devices
    assert avx2["cpu"].engine_build == "8 floats a vector, 4 rows at a time (AVX2)"
    none = bench.RunRecord(rows, engine_unavailable="no C compiler")
    without = bench.summarize(none, {"cpu_vector": "AVX2"}, "test", bench.BenchConfig()).devices
    assert without["cpu"].engine_build is None
