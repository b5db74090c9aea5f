import importlib.util
import shutil
import time

import pytest
import torch

from lib import timing
from lib.core import engine, models
from lib.experiments import bench, bench_run
from lib.timing import Timing, measure


def test_measure_counts_warmup_and_repeats():
    calls = []
    t = measure(lambda: calls.append(1) or time.sleep(0.01), repeats=3, warmup=2)
    assert len(calls) == 5 and len(t.times) == 3
    assert 0.009 < t.median < 0.5
    with pytest.raises(ValueError):
        measure(lambda: None, repeats=0)


def test_interleaved_timing_runs_every_piece_in_each_round():
    order = []
    timed = timing.measure_interleaved({"a": lambda: order.append("a"), "b": lambda: order.append("b")}, repeats=3,
                                       warmup=1)  # fmt: skip
    assert order == ["a", "b"] * 4  # rounds, not blocks: one warm-up round, then three timed
    assert set(timed) == {"a", "b"} and all(len(t.times) == 3 for t in timed.values())
    with pytest.raises(ValueError):
        timing.measure_interleaved({"a": lambda: None}, repeats=0)


def test_each_timed_run_follows_an_untimed_run_of_its_own():
    order = []
    timed = timing.measure_interleaved({"a": lambda: order.append("a"), "b": lambda: order.append("b")}, repeats=2,
                                       warmup=1, lead_in=1)  # fmt: skip
    assert order == ["a", "b"] + ["a", "a", "b", "b"] * 2  # warm-up round, then each piece twice, once timed
    assert all(len(t.times) == 2 for t in timed.values())
    with pytest.raises(ValueError, match="lead_in"):
        bench.BenchConfig(lead_in=-1)


def test_uint8_routes_are_measured_against_the_uint8_read_floor():
    rows = [
        bench.BenchRow(device="cpu", method=m, model=model, median_s=t, batch_size=8, n_images=1000)
        for m, model, t in (("read_input", "-", 0.004), ("read_uint8", "-", 0.001),
                            ("pipeline_batched", "pipeline", 0.2), ("fast_path", "m", 0.03),
                            ("compiled_uint8", "m", 0.008))
    ]  # fmt: skip
    bench.add_speedups(rows)
    record = bench.RunRecord(rows, mflops_per_image={"m": 0.5}, matmul_peak_gflops={"cpu": 200.0})
    s = bench.summarize(record, {}, "test", bench.BenchConfig()).devices["cpu"]
    assert s.best_model.method == "compiled_uint8" and s.best_eager.method == "fast_path"
    assert s.floor_method == "read_uint8" and s.floor_s == pytest.approx(0.001)
    assert s.roofline_s == pytest.approx(0.0025) and s.times_roofline == pytest.approx(3.2)  # compute-bound


def test_memory_floor_adds_writing_the_output_to_reading_the_input():
    rows = [
        bench.BenchRow(device="cpu", method=m, model=model, median_s=t, batch_size=8, n_images=1000)
        for m, model, t in (("read_input", "-", 0.004), ("read_uint8", "-", 0.001), ("write_output", "-", 0.0015),
                            ("pipeline_batched", "pipeline", 0.2), ("transform_uint8", "m", 0.005))
    ]  # fmt: skip
    bench.add_speedups(rows)
    # 0.01 MFLOPs x 1,000 images at 200 GFLOPS: a compute floor of 0.05 ms, far under the 2.5 ms memory floor
    record = bench.RunRecord(rows, mflops_per_image={"m": 0.01}, matmul_peak_gflops={"cpu": 200.0})
    s = bench.summarize(record, {}, "test", bench.BenchConfig()).devices["cpu"]
    assert s.read_floor_s == pytest.approx(0.001) and s.write_floor_s == pytest.approx(0.0015)
    assert s.floor_s == pytest.approx(0.0025) and s.compute_floor_s == pytest.approx(5e-5)
    assert s.roofline_s == pytest.approx(0.0025) and s.times_roofline == pytest.approx(2)  # memory-bound
    assert s.times_floor == pytest.approx(2)


def test_from_uint8_is_the_model_on_the_float_images():
    net = models.build("separable").eval()
    x = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    torch.testing.assert_close(models.FromUint8(net)(x), net(x.float() / 255))
    with pytest.raises(TypeError, match="expected uint8"):
        models.FromUint8(net)(torch.rand(4, 3, 32, 32))


def test_timing_statistics():
    t = Timing([4.0, 1.0, 3.0, 2.0, 100.0])
    assert t.median == 3.0  # one slow outlier does not move the median
    assert t.iqr == (2.0, 4.0)
    assert Timing([1.0, 2.0]).iqr == (1.0, 2.0)


def test_speedups_and_summary():
    rows = [
        bench.BenchRow(device="cpu", method="read_input", model="-", median_s=0.01, batch_size=8),
        bench.BenchRow(device="cpu", method="pipeline_loop", model="pipeline", median_s=2.0, batch_size=8),
        bench.BenchRow(device="cpu", method="pipeline_batched", model="pipeline", median_s=0.2, batch_size=8),
        bench.BenchRow(device="cpu", method="fast_path", model="m", median_s=0.05, batch_size=8),
        bench.BenchRow(device="cpu", method="dataloader", model="m", median_s=0.4, batch_size=8),
    ]
    bench.add_speedups(rows)
    assert rows[3].speedup_vs_loop == pytest.approx(40) and rows[3].speedup_vs_batched == pytest.approx(4)
    s = bench.summarize(bench.RunRecord(rows), {}, "test", bench.BenchConfig()).devices["cpu"]
    assert s.best_model.method == "fast_path" and s.times_floor == pytest.approx(5)


def test_summary_roofline_and_user_baselines():
    rows = [
        bench.BenchRow(device="cpu", method=m, model=model, median_s=t, batch_size=8, n_images=1000)
        for m, model, t in (("read_input", "-", 0.001), ("pipeline_loop", "pipeline", 1.0),
                            ("pipeline_batched", "pipeline", 0.2), ("pipeline_uint8", "pipeline", 0.1),
                            ("pillow_loop", "pillow", 0.3), ("fast_path", "m", 0.03), ("compiled", "m", 0.02),
                            ("fast_path", "exact", 0.01))
    ]  # fmt: skip
    bench.add_speedups(rows)
    record = bench.RunRecord(rows, mflops_per_image={"m": 2.0, "exact": 2.0}, matmul_peak_gflops={"cpu": 200.0})
    s = bench.summarize(record, {}, "test", bench.BenchConfig()).devices["cpu"]
    assert s.best_model.method == "compiled" and s.best_eager.method == "fast_path"  # the oracle is not learned
    assert s.user_best.method == "pipeline_uint8" and s.speedup_vs_user_best == pytest.approx(5)
    assert s.compute_floor_s == pytest.approx(2e6 * 1000 / 200e9)  # 0.01 s: compute-bound, above the read floor
    assert s.roofline_s == pytest.approx(0.01) and s.times_roofline == pytest.approx(2)
    without = bench.summarize(bench.RunRecord(rows), {}, "test", bench.BenchConfig()).devices["cpu"]  # no peak
    assert without.times_roofline is None and without.times_floor == pytest.approx(20)


def test_run_times_every_route_with_its_fidelity(tmp_path):
    cfg = bench.BenchConfig(n_images=8, repeats=1, batch_sizes=[4], num_workers=[0], chunk_sizes=[8], devices=["cpu"],
                            compile=False)  # fmt: skip
    x, source = bench.load_images(None, 8)
    assert x.dtype == torch.uint8 and source == "synthetic uniform noise"
    nets = {"separable": models.build("separable").eval(), "exact": models.build("exact")}
    record = bench.run(cfg, x, nets, progress=False)
    rows = record.rows
    methods = [
        "read_input",
        "read_uint8",
        "write_output",
        "pipeline_loop",
        "pipeline_batched",
        "pipeline_uint8",
        "pillow_loop",
        *(["opencv_area", "opencv_linear"] if importlib.util.find_spec("cv2") else []),
    ]
    engine_rows = ["transform_uint8"] if record.engine_unavailable is None else []  # needs a C compiler
    methods += ["dataloader", "fast_path", "fast_path_uint8", *engine_rows] * 2
    assert [r.method for r in rows] == methods
    by = {(r.method, r.model): r for r in rows}
    assert by[("fast_path", "exact")].max_gray < 0.01 and by[("fast_path", "separable")].max_gray > 10
    if engine_rows:  # scored on the loop's own output
        assert by[("transform_uint8", "exact")].max_gray < 0.01 and by[("transform_uint8", "separable")].max_gray > 10
    assert by[("pipeline_loop", "pipeline")].max_gray == 0  # the same float arithmetic, image by image
    assert 0.5 < by[("pillow_loop", "pillow")].max_gray < 3  # 8-bit throughout: close, not the same
    assert record.mflops_per_image["exact"] == pytest.approx(record.mflops_per_image["separable"], rel=0.1)
    assert set(record.matmul_peak_gflops) == {"cpu"} and record.matmul_peak_gflops["cpu"] > 1
    assert record.compile == {"cpu": {}}  # compile=False: nothing tried
    csv_path, json_path = bench.write(rows, bench.summarize(record, {}, source, cfg), tmp_path)
    assert csv_path.read_text().startswith("device,method,model,batch_size")
    with pytest.raises(FileNotFoundError, match="no saved models"):
        bench.load_models(tmp_path)


def test_without_a_c_compiler_the_engine_rows_are_left_out_with_the_reason(monkeypatch):
    def no_compiler():
        raise engine.Unavailable("no C compiler (cc or gcc) on this machine")

    monkeypatch.setattr(engine, "library", no_compiler)
    cfg = bench.BenchConfig(n_images=8, repeats=1, batch_sizes=[8], num_workers=[0], chunk_sizes=[8], devices=["cpu"],
                            compile=False)  # fmt: skip
    record = bench.run(cfg, bench.load_images(None, 8)[0], {"exact": models.build("exact")}, progress=False)
    methods = {r.method for r in record.rows}
    assert "transform_uint8" not in methods and "fast_path_uint8" in methods
    assert record.engine_unavailable == "no C compiler (cc or gcc) on this machine"
    summary = bench.summarize(record, {}, "test", cfg).devices["cpu"]
    assert summary.engine_unavailable == "no C compiler (cc or gcc) on this machine"


def _compile_cfg():
    return bench.BenchConfig(n_images=8, repeats=1, batch_sizes=[8], num_workers=[0], chunk_sizes=[3, 8],
                             devices=["cpu"])  # fmt: skip


def test_compile_failure_leaves_the_eager_rows(monkeypatch):
    def no_compiler(*args, **kwargs):
        raise RuntimeError("no C++ compiler found\nmore detail")

    monkeypatch.setattr(torch, "compile", no_compiler)
    record = bench.run(_compile_cfg(), bench.load_images(None, 8)[0], {"separable": models.build("separable")},
                       progress=False)  # fmt: skip
    methods = {r.method for r in record.rows}
    assert "fast_path" in methods and not {"compiled", "compiled_uint8"} & methods
    assert record.compile == {"cpu": {"separable": "RuntimeError: no C++ compiler found",
                                      "separable from uint8": "RuntimeError: no C++ compiler found"}}  # fmt: skip


@pytest.mark.skipif(shutil.which("c++") is None, reason="torch.compile on CPU needs a C++ compiler")
def test_compiled_rows_compute_what_the_eager_model_does():
    net = models.build("separable").eval().requires_grad_(False)
    x = torch.rand(8, 3, 32, 32)
    compiled, seconds = bench.compile_model(net, x, [3, 8], "cpu")
    assert isinstance(seconds, float) and seconds > 0
    torch.testing.assert_close(compiled(x[:3]), net(x[:3]), rtol=1e-5, atol=1e-6)  # a shape compiled above
    record = bench.run(_compile_cfg(), bench.load_images(None, 8)[0], {"separable": net}, progress=False)
    assert [r.batch_size for r in record.rows if r.method == "compiled"] == [3, 8]
    assert [r.batch_size for r in record.rows if r.method == "compiled_uint8"] == [3, 8]
    assert list(record.compile["cpu"]) == ["separable", "separable from uint8"]
    assert all(isinstance(s, float) and s > 0 for s in record.compile["cpu"].values())


def test_fresh_models_are_labelled_untrained(tmp_path):
    nets = bench.fresh_models()
    assert set(nets) == {"dense (untrained)", "separable (untrained)", "banded (untrained)", "exact"}
    assert not any(p.requires_grad for net in nets.values() for p in net.parameters())


def test_synchronize_waits_for_cuda_only(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: calls.append(device))
    timing.synchronize("cpu")
    assert calls == []
    timing.synchronize("cuda")
    timing.synchronize(torch.device("cuda", 0))
    assert len(calls) == 2
    measure(lambda: None, repeats=2, warmup=1, device="cuda")  # after the warm-up and after every timed run
    assert len(calls) == 2 + 3


def test_slow_work_gets_fewer_repeats():
    t = measure(lambda: time.sleep(0.02), repeats=5, warmup=1, slow_s=0.01)
    assert len(t.times) == 3
    assert len(measure(lambda: None, repeats=5, warmup=1, slow_s=0.01).times) == 5


def test_another_pipeline_is_checked_first_and_gets_models_of_its_shape():
    with pytest.raises(ValueError, match="unknown step 'sharpen'"):
        bench.BenchConfig(pipeline="resize(28,28) | sharpen")
    cfg = bench.BenchConfig(pipeline="resize(16,20) | hflip")
    assert not cfg.is_target and bench.BenchConfig().is_target
    nets = bench.fresh_models(out_shape=cfg.transform.out_shape)
    assert set(nets) == {"dense (untrained)", "separable (untrained)", "banded (untrained)"}  # exact: the target's
    for name in ("separable (untrained)", "banded (untrained)"):
        assert nets[name](torch.rand(2, 3, 32, 32)).shape == (2, 3, 16, 20)


class _Counting(torch.nn.Module):
    """A model that counts the images it is given, to see how many a timed run goes through."""

    def __init__(self):
        super().__init__()
        self.net = models.build("separable").eval().requires_grad_(False)
        self.registry_name = "separable"
        self.seen = 0

    def forward(self, x):
        self.seen += len(x)
        return self.net(x)


def test_small_dataloader_batches_run_on_fewer_images_and_are_scaled(monkeypatch):
    net, seen, asked = _Counting(), {}, []

    def fake_measure(fn, repeats, warmup, device, slow_s=None):  # one run counted, then a known time
        before = net.seen
        fn()
        seen[len(seen)] = net.seen - before
        asked.append(repeats)
        return Timing([0.5] * repeats)

    monkeypatch.setattr(bench_run, "measure", fake_measure)
    cfg = bench.BenchConfig(n_images=8, repeats=1, dataloader_repeats=2, batch_sizes=[1, 4], small_batch_images=2,
                            num_workers=[0], chunk_sizes=[8], devices=["cpu"], compile=False)  # fmt: skip
    rows = bench.run(cfg, bench.load_images(None, 8)[0], {"mine": net}, progress=False).rows
    dl = {r.batch_size: r for r in rows if r.method == "dataloader"}
    assert list(seen.values()) == [2, 8] and asked == [2, 2]  # batch size 1 on 2 images; dataloader_repeats runs
    assert dl[1].n_timed == 2 and dl[1].n_images == 8 and dl[4].n_timed == 8
    assert dl[1].median_s == pytest.approx(0.5 * 8 / 2) and dl[4].median_s == pytest.approx(0.5)
    assert dl[1].images_per_s == pytest.approx(8 / dl[1].median_s)  # the same rate, scaled or not
    assert dl[1].architecture == "separable" and dl[1].model == "mine"
    assert all(r.architecture == "-" for r in rows if r.method.startswith(("read", "pipeline", "pillow")))
    with pytest.raises(ValueError, match="small_batch_images"):
        bench.BenchConfig(small_batch_images=0)


def test_the_summary_reads_each_devices_measures_from_the_run_record():
    rows = [
        bench.BenchRow(device=d, method=m, model=model, median_s=t, batch_size=8, n_images=1000)
        for d in ("cpu", "cuda")
        for m, model, t in (("read_input", "-", 0.001), ("pipeline_batched", "pipeline", 0.2), ("fast_path", "m", 0.05))
    ]  # fmt: skip
    bench.add_speedups(rows)
    record = bench.RunRecord(
        rows, mflops_per_image={"m": 1.0}, matmul_peak_gflops={"cuda": 1000.0},
        compile={"cpu": {"m": "RuntimeError: no C++ compiler found"}, "cuda": {"m": 2.5, "m from uint8": 3.5}},
        engine_unavailable="no C compiler (cc or gcc) on this machine",
    )  # fmt: skip
    devices = bench.summarize(record, {}, "test", bench.BenchConfig()).devices
    assert devices["cpu"].compile == {"m": "RuntimeError: no C++ compiler found"}
    assert devices["cuda"].compile == {"m": 2.5, "m from uint8": 3.5}
    assert devices["cpu"].engine_unavailable == "no C compiler (cc or gcc) on this machine"
    assert devices["cuda"].engine_unavailable is None  # the engine loop is a CPU route
    assert devices["cpu"].matmul_peak_gflops is None and devices["cpu"].times_roofline is None  # no peak
    assert devices["cuda"].compute_floor_s == pytest.approx(1e6 * 1000 / 1e12)  # 1 MFLOP x 1,000 at 1 TFLOPS
    assert devices["cuda"].times_roofline == pytest.approx(0.05 / 0.001)  # the read floor is the larger
    empty = bench.RunRecord(rows)  # rows alone (a recorded run): no roofline, nothing compiled
    assert bench.summarize(empty, {}, "test", bench.BenchConfig()).devices["cuda"].compile == {}


def test_on_a_gpu_the_pipeline_image_by_image_runs_on_a_subset_and_is_scaled():
    """The GPU's baseline jobs, run here on CPU tensors: the loop goes through gpu_loop_images images, the batch through
    all, and no CPU library is timed on a GPU."""
    from lib.experiments import bench_jobs

    cfg = bench.BenchConfig(n_images=8, gpu_loop_images=3)
    assert cfg.loop_images("cpu") == 8 and cfg.loop_images("cuda") == 3
    x_u8 = bench.load_images(None, 8)[0]
    x = x_u8.float() / 255
    jobs = {j.fields["method"]: j for j in bench_jobs.baseline_jobs(cfg, bench_jobs.Images("cuda", x_u8, x, x, x_u8))}
    assert set(jobs) == {"pipeline_loop", "pipeline_batched", "pipeline_uint8"}  # Pillow and OpenCV: CPU only
    assert jobs["pipeline_loop"].fields["n_timed"] == 3 and jobs["pipeline_loop"].work().shape == (3, 1, 28, 28)
    assert "n_timed" not in jobs["pipeline_batched"].fields and jobs["pipeline_batched"].work().shape[0] == 8
    on_cpu = {j.fields["method"]: j for j in bench_jobs.baseline_jobs(cfg, bench_jobs.Images.on(x_u8, "cpu"))}
    assert "n_timed" not in on_cpu["pipeline_loop"].fields and on_cpu["pipeline_loop"].work().shape[0] == 8
    with pytest.raises(ValueError, match="gpu_loop_images"):
        bench.BenchConfig(gpu_loop_images=0)


def test_the_command_times_the_saved_models_with_banded_and_records_torch(tmp_path, monkeypatch, capsys):
    """``python -m lib.experiments.bench`` (what ``make bench-gpu`` runs) on saved models: the final model's banded
    version is timed beside them, and the summary holds torch's version."""
    models.save(models.build("separable").eval(), tmp_path / "separable.pt")
    timed = {}

    def fake_run(cfg, x_u8, nets, progress=True):
        timed.update(nets=set(nets), cfg=cfg)
        rows = [bench.BenchRow(device="cpu", method="read_input", model="-", n_images=8, median_s=1e-4)]
        return bench.RunRecord(rows)

    monkeypatch.setattr(bench, "run", fake_run)
    bench.main(["--out", str(tmp_path / "out"), "--models-dir", str(tmp_path), "--n-images", "8", "--devices", "cpu",
                "--gpu-loop-images", "4"])  # fmt: skip
    assert timed["nets"] == {"separable", "banded"} and timed["cfg"].gpu_loop_images == 4
    _, summary = bench.read(tmp_path / "out")
    assert summary.environment.torch_version == torch.__version__ and summary.config.gpu_loop_images == 4
    assert f"torch {torch.__version__}" in capsys.readouterr().out


def test_one_model_is_swept_through_the_dataloader_and_the_others_run_once():
    from lib.experiments import bench_jobs

    cfg = bench.BenchConfig(n_images=8, batch_sizes=[4, 8], num_workers=[0, 2])
    assert cfg.loader_swept(["dense_seed", "separable", "banded"]) == {"separable"}
    assert cfg.loader_swept(["dense (untrained)", "separable (untrained)"]) == {"separable (untrained)"}  # stand-in
    assert cfg.loader_swept(["rgb"]) == {"rgb"}  # the swept model is not timed: every model is swept
    assert bench.BenchConfig(loader_model="").loader_swept(["a", "b"]) == {"a", "b"}
    im = bench_jobs.Images.on(bench.load_images(None, 8)[0], "cpu")
    net = models.build("separable").eval()
    swept = [j.fields for j in bench_jobs.dataloader_jobs(cfg, im, "separable", net)]
    assert [(f["batch_size"], f["num_workers"]) for f in swept] == [(4, 0), (4, 2), (8, 0), (8, 2)]
    once = [j.fields for j in bench_jobs.dataloader_jobs(cfg, im, "dense_seed", net, sweep=False)]
    assert [(f["batch_size"], f["num_workers"], f["pin_memory"]) for f in once] == [(8, 0, False)]
