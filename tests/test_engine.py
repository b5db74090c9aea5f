import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lib.core import banded, engine, metrics, models, spec
from lib.core.fitted import Fitted
from lib.core.probe import probe

ROOT = Path(__file__).resolve().parents[1]
needs_cc = pytest.mark.skipif(
    shutil.which("cc") is None and shutil.which("gcc") is None, reason="the CPU loop needs a C compiler"
)


def _u8(n: int, shape=(3, 32, 32), seed: int = 1) -> torch.Tensor:
    return torch.randint(0, 256, (n, *shape), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def _with_bias(net):
    with torch.no_grad():
        if hasattr(net, "gray") and hasattr(net.gray, "bias"):
            net.gray.bias.fill_(0.05)  # a bias the loop must carry through A and B too
    return net.eval()


def _banded(text: str, in_shape) -> torch.nn.Module:
    return _with_bias(banded.from_separable(probe(spec.parse(text, in_shape))))


def _fitted(text: str, in_shape, **around) -> Fitted:
    """A band with what lib.core.fitting puts around one: a table, a curve, a clamp, an output order."""
    return Fitted(_banded(text, in_shape), **around)


SMOOTH = torch.linspace(0, 1, 256) ** 2  # a table or a curve; the order below turns a 16x24 output a quarter
TURN = torch.arange(16 * 24).view(16, 24).rot90(1).flatten()


NETS = {
    "separable": lambda: _with_bias(models.build("separable")),
    "exact": lambda: models.build("exact"),
    "separable 13x7": lambda: _with_bias(models.build("separable", out_shape=(1, 13, 7))),
    "probed 20x24": lambda: probe("resize(20, 24) | grayscale | vflip"),
    "banded 64x64": lambda: _banded("resize(32,32) | grayscale | hflip | vflip", (3, 64, 64)),
    "banded gray 48x96": lambda: _banded("resize(24,40) | vflip", (1, 48, 96)),
    "banded crop": lambda: _banded("center_crop(40) | resize(20) | grayscale", (3, 50, 44)),
    "banded pad": lambda: _banded("pad(2) | grayscale", (3, 40, 40)),
    "3 -> 3 channels": lambda: _with_bias(models.build("separable", out_shape=(3, 16, 16), in_shape=(3, 40, 36))),
    "banded 3 -> 3": lambda: _with_bias(models.build("banded", out_shape=(3, 16, 16), in_shape=(3, 40, 36))),
    "clamped": lambda: _with_bias(models.build("banded", output="clamp")),
    "table + clamp": lambda: _fitted("resize(20, 24) | grayscale", (3, 40, 48), table=SMOOTH.sqrt(), clamp=(0.2, 0.7)),
    "curve + turn": lambda: _fitted(
        "resize(16, 24) | grayscale",
        (3, 32, 48),
        curve=SMOOTH,
        curve_range=(-0.1, 1.1),
        order=TURN,
        out_shape=(1, 24, 16),
    ),
}


def _reference(net, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return net(x.float() / 255 if x.dtype == torch.uint8 else x)


def assert_same_8bit(got: torch.Tensor, expected_float: torch.Tensor) -> None:
    """uint8 output equals the model's rounded output, but where the model's value lies within float rounding of a
    rounding boundary (there either level is right)."""
    assert got.dtype == torch.uint8
    want = metrics.to_8bit(expected_float)
    off = got.float() != want
    scaled = expected_float * 255
    assert (got.float() - want).abs().max() <= 1
    assert ((scaled[off] - scaled[off].floor() - 0.5).abs() < 1e-3).all()


@needs_cc
@pytest.mark.parametrize("name", list(NETS))
@pytest.mark.parametrize("threads", [1, 2, 64])  # 64 threads: more than images
def test_the_cpu_loop_computes_what_the_model_does(name, threads):
    net = NETS[name]()
    loop = engine.CpuLoop(engine.plan_of(net), threads=threads)
    x8 = _u8(37, loop.plan.in_shape)  # an odd batch
    for x in (x8, x8.float() / 255):
        expected = _reference(net, x)
        got = loop(x)
        assert got.shape == expected.shape and got.is_contiguous() and got.dtype == torch.float32
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=2e-6)  # the same weights, another order of sums
        assert_same_8bit(loop(x, torch.uint8), expected)


@needs_cc
def test_every_build_gives_the_same_numbers():
    """The AVX2 build (8-float vectors, built on any x86 CPU with -mno-avx512f) and the generic build (sizes not
    fixed) compute what the default build does."""
    net = NETS["banded 64x64"]()
    plan = engine.plan_of(net)
    x = _u8(9, plan.in_shape)
    default = engine.CpuLoop(plan)(x)
    builds = [engine.library()]
    if engine.vector_isa() in ("AVX-512", "AVX2"):
        builds += [engine.library(("-mno-avx512f",)), engine.library(("-mno-avx512f",), plan)]
    for lib in builds:
        torch.testing.assert_close(engine.CpuLoop(plan, lib=lib)(x), default, rtol=1e-6, atol=1e-6)
    assert engine.library(("-mno-avx512f",)).lanes == 8


def test_models_the_engine_cannot_take_run_eagerly_with_the_reason():
    for net, why in ((models.build("dense"), "not a separable map"),
                     (models.build("separable", output="sigmoid"), "output is sigmoid"),
                     (models.build("exact", pipeline="rot90 | grayscale"), "not a separable map")):  # fmt: skip
        with pytest.raises(engine.Unavailable, match=why):
            engine.plan_of(net)
        with pytest.warns(RuntimeWarning, match=why):
            engine._say_once.cache_clear()
            backend = engine.backend_for(net)
        assert backend.name == "eager" and why in backend.reason
        x = _u8(3)
        torch.testing.assert_close(backend(x), _reference(net, x))


@needs_cc
def test_bad_input_gets_a_clear_error_not_a_crash():
    loop = engine.CpuLoop(engine.plan_of(models.build("exact")))
    x = _u8(4)
    cases = [
        (torch.zeros(2, 3, 28, 28, dtype=torch.uint8), ValueError, r"\(N, 3, 32, 32\), got shape \(2, 3, 28, 28\)"),
        (x[0], ValueError, r"got shape \(3, 32, 32\)"),
        (x.to(torch.int32), TypeError, "got dtype torch.int32"),
        (x.double(), TypeError, "got dtype torch.float64"),
        (x[:0], ValueError, "an empty batch"),
        (x.transpose(2, 3), ValueError, "a non-contiguous tensor: pass x.contiguous"),
        (x.contiguous(memory_format=torch.channels_last), ValueError, "a channels-last tensor"),
        ("pixels", TypeError, "expected a tensor"),
    ]  # fmt: skip
    for bad, kind, match in cases:
        with pytest.raises(kind, match=match):
            loop(bad)
    with pytest.raises(ValueError, match="out_dtype"):
        loop(x, torch.float16)


def test_a_broken_compiler_is_reported(monkeypatch, tmp_path):
    fake = tmp_path / "cc"
    fake.write_text("#!/bin/sh\necho 'cc: fatal error: no input' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("CC", f"{fake} -v")  # a compiler with options, as CC often is
    engine.library.cache_clear()
    try:
        with pytest.raises(engine.Unavailable, match="could not compile engine.c: cc: fatal error"):
            engine.library()
        engine._say_once.cache_clear()
        with pytest.warns(RuntimeWarning, match="could not compile"):
            backend = engine.backend_for(models.build("exact"))
        assert backend.name == "eager"
    finally:
        engine.library.cache_clear()


def test_a_band_too_wide_for_one_permute_is_gathered():
    cols = [[0], [31]] + [[j] for j in range(2, 28)]  # output columns 0 and 1 read input columns 0 and 31
    plan = engine.plan_of(models.build("banded", col_support=cols))
    base, mask, _ = engine.column_plan(plan.c_idx, plan.c_wt, 8)
    assert base[0, 0] == -1 and mask[0, 0, :2].tolist() == [0, 31]  # the first vector's lanes, gathered
    assert (base[1:] >= 0).all()  # the others, one permute each


def test_the_triton_kernel_computes_what_the_cpu_loop_does():
    """The CUDA kernel, run by Triton's interpreter on the CPU (where no GPU is) or on the GPU, against the CPU loop."""
    pytest.importorskip("triton")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if not torch.cuda.is_available():
        env["TRITON_INTERPRET"] = "1"
    done = subprocess.run([sys.executable, "-m", "tests.triton_check"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("ok") == 5 * 2, done.stdout  # five models, from uint8 and from float


def test_the_triton_kernel_refuses_a_dense_map_and_a_cpu_plan():
    pytest.importorskip("triton")
    from lib.core.engine.cuda import TritonKernel

    with pytest.raises(engine.Unavailable, match="reads 32 x 32 input pixels an output pixel"):
        TritonKernel(engine.plan_of(models.build("separable")))  # every entry of A and B nonzero
    if os.environ.get("TRITON_INTERPRET") != "1":
        with pytest.raises(engine.Unavailable, match="runs on a CUDA device"):
            TritonKernel(engine.plan_of(models.build("banded")))


@pytest.mark.parametrize("threads", [1, 2])
@needs_cc
def test_the_loop_reads_a_list_of_images_where_they_lie_as_it_reads_their_batch(threads):
    net = NETS["curve + turn"]()
    loop = engine.backend_for(net, threads=threads)
    x = _u8(7, (3, 32, 48), seed=4)
    images = [img.clone() for img in x]  # each in its own memory, as a decoder leaves them
    for out_dtype in (torch.float32, torch.uint8):
        assert torch.equal(loop(images, out_dtype), loop(x, out_dtype))
    with pytest.raises(ValueError, match="all uint8 or all float32"):
        loop([images[0], images[1].float()])
    with pytest.raises(ValueError, match="non-empty list"):
        loop([])
