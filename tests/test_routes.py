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


def test_table_rows_name_routes_and_models_in_words():
    table = bench.table_rows(_fixture_rows())
    cpu = [r for r in table if r["device"] == "cpu"]
    assert [r["ms"] for r in cpu] == sorted(r["ms"] for r in cpu)  # fastest first
    assert not any(r["route"].startswith("reading") for r in table)  # the floors are stated apart
    first = cpu[0]
    assert first["route"] == "learned transform from uint8 (the engine)" and first["ms"] == pytest.approx(10)
    dense = next(r for r in cpu if r["model"].startswith("dense"))
    assert dense["model"] == "dense (the assignment's design), dense_seed"
    dl = next(r for r in cpu if r["route"] == "DataLoader" and r["model"] == "separable (the final model)")
    assert dl["batch"] == 1 and dl["workers"] == 0 and dl["images timed"] == 100  # batch size 1: scaled
    loop = next(r for r in cpu if r["route"] == "the pipeline image by image (the assignment's baseline)")
    assert loop["batch"] is None and loop["model"] == "-" and loop["x loop"] == pytest.approx(1)


def test_roofline_points_are_each_models_fastest_route_but_the_dataloader():
    rows = _fixture_rows()
    for r in rows:
        if r.method == "dataloader":
            r.median_s = 1e-6  # faster than anything: still not the model's own time
    points = bench.roofline_points(rows, "cpu", {"dense_seed": 1.6, "separable": 0.11})
    assert points == {
        "dense (the assignment's design), dense_seed: learned transform from uint8 (the engine)": (
            1.6,
            pytest.approx(0.1),
        ),
        "separable (the final model): learned transform from uint8 (the engine)": (0.11, pytest.approx(0.01)),
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
    assert "dense (the assignment's design)" in cpu_dense.get_title() and "dense_seed" in cpu_dense.get_title()
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
