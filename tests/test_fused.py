import shutil

import pytest
import torch

from lib.core import banded, fused, models, spec
from lib.core.probe import probe

pytestmark = pytest.mark.skipif(
    shutil.which("cc") is None and shutil.which("gcc") is None, reason="the fused loop needs a C compiler"
)


def _images(n: int = 37) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize(
    "net",
    [models.build("separable"), models.build("exact"), models.build("separable", out_shape=(1, 16, 20)),
     models.build("separable", out_shape=(1, 13, 7)), probe("resize(20, 24) | grayscale | vflip")],
    ids=["separable", "exact", "separable 16x20", "separable 13x7", "probed operator 20x24"],
)  # fmt: skip
@pytest.mark.parametrize("threads", [1, 3, 64])  # 64 threads: more than images
def test_fused_loop_computes_what_the_model_does(net, threads):
    with torch.no_grad():
        if isinstance(net, models.Separable):
            net.gray.bias.fill_(0.05)  # a bias the loop must add too
        x = _images()
        expected = models.FromUint8(net.eval() if isinstance(net, torch.nn.Module) else net)(x)
        got = fused.Fused(net, threads=threads)(x)
    assert got.shape == expected.shape and got.is_contiguous()
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=2e-6)  # the same weights, another order of sums


def test_fused_loop_refuses_models_and_inputs_it_does_not_handle():
    not_one = "not a one-channel separable map"
    for net, why in ((models.build("dense"), not_one), (models.build("separable", out_shape=(3, 28, 28)), not_one),
                     (models.build("separable", output="sigmoid"), "no output constraint"),
                     (models.build("exact", pipeline="rot90 | grayscale"), not_one),  # a matrix, no parts
                     (models.build("exact", pipeline="resize(16, 20)"), not_one)):  # fmt: skip
        with pytest.raises(fused.Unavailable, match=why):
            fused.Fused(net)
    loop = fused.Fused(models.build("exact"))
    with pytest.raises(TypeError, match="uint8 images"):
        loop(torch.rand(2, 3, 32, 32))
    with pytest.raises(ValueError, match=r"\(N, 3, 32, 32\)"):
        loop(torch.zeros(2, 3, 28, 28, dtype=torch.uint8))
    empty = torch.zeros(0, 3, 32, 32, dtype=torch.uint8)
    assert loop(empty).shape == models.FromUint8(models.build("exact"))(empty).shape == (0, 1, 28, 28)


def test_a_broken_compiler_is_reported(monkeypatch, tmp_path):
    fake = tmp_path / "cc"
    fake.write_text("#!/bin/sh\necho 'cc: fatal error: no input' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("CC", f"{fake} -v")  # a compiler with options, as CC often is
    fused.library.cache_clear()
    try:
        with pytest.raises(fused.Unavailable, match="could not compile fused.c: cc: fatal error"):
            fused.library()
    finally:
        fused.library.cache_clear()


def test_the_build_follows_the_instruction_set():
    assert fused.shape_for("AVX-512") == (16, 4) and fused.shape_for("AVX2") == (8, 2)
    assert fused.shape_for("other") == fused.shape_for("no such thing") == (8, 2)
    for lanes, block in fused.SHAPES.values():  # the accumulators and one row's loads fit in the registers
        registers = 32 if lanes == 16 else 16
        assert block * (32 // lanes) + 32 // lanes + 1 <= registers


@pytest.mark.parametrize("lanes, block", [(16, 4), (8, 2), (8, 4), (16, 1)])
@pytest.mark.parametrize("n, threads", [(1, 1), (37, 3), (5, 8)])
def test_every_build_gives_the_same_numbers(lanes, block, n, threads):
    net = models.build("separable", out_shape=(1, 13, 7)).eval()  # h not a multiple of any block
    x = _images(n)
    default = fused.Fused(net, threads=threads)(x)
    built = fused.Fused(net, threads=threads, lib=fused.library(lanes, block))(x)
    assert torch.equal(built, default)  # every output is the same sum in the same order
    with torch.no_grad():
        torch.testing.assert_close(built, models.FromUint8(net)(x), rtol=1e-5, atol=2e-6)


BANDED = {  # banded models on the supports of real pipelines: flipped and not, outputs not a multiple of 8
    "target": lambda: banded.from_separable(models.build("exact")),
    "resize 20x24, vflip": lambda: banded.from_separable(probe("resize(20, 24) | grayscale | vflip")),
    "resize 16x20": lambda: banded.from_separable(probe("resize(16, 20) | grayscale")),
}


@pytest.mark.parametrize("name", list(BANDED))
@pytest.mark.parametrize("lanes, block", [(16, 4), (8, 2)])
@pytest.mark.parametrize("n, threads", [(1, 1), (37, 3), (5, 8)])
def test_banded_loop_does_the_band_and_computes_what_the_model_does(name, lanes, block, n, threads):
    net = BANDED[name]().eval()
    with torch.no_grad():
        net.gray.bias.fill_(0.05)
        x = _images(n)
        loop = fused.Fused(net, threads=threads, lib=fused.library(lanes, block))
        got, expected = loop(x), models.FromUint8(net)(x)
    assert loop.band is not None  # the band's plan, not the full products, with as many taps as the widest support
    assert loop.band["k"] == max(map(len, net.row_support + net.col_support)) == (3 if name == "target" else 4)
    assert got.shape == expected.shape and got.is_contiguous()
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=2e-6)


def test_a_band_too_wide_for_the_permute_is_refused():
    cols = [[0], [31]] + [[j] for j in range(2, 28)]  # output columns 0 and 1 read input columns 0 and 31
    net = models.build("banded", col_support=cols)
    with pytest.raises(fused.Unavailable, match="more than 16 input columns per 8 outputs"):
        fused.Fused(net, lib=fused.library(8, 2))


@pytest.mark.parametrize("text, in_shape", [("resize(32,32) | grayscale | hflip | vflip", (3, 64, 64)),
                                            ("resize(24,40) | vflip", (1, 48, 96)),
                                            ("center_crop(40) | resize(20) | grayscale", (3, 50, 44)),
                                            ("pad(2) | grayscale", (3, 40, 40))])  # fmt: skip
@pytest.mark.parametrize("threads", [1, 3])
def test_any_size_band_loop_computes_what_the_model_does(text, in_shape, threads):
    """Bands of other sizes, flipped or not, one channel or three; a pad's outer rows and columns read nothing."""
    net = banded.from_separable(probe(spec.parse(text, in_shape))).eval()
    with torch.no_grad():
        net.gray.bias.fill_(0.05)
        x = torch.randint(0, 256, (7, *in_shape), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
        loop = fused.Fused(net, threads=threads)
        got, expected = loop(x), models.FromUint8(net)(x)
    assert loop.taps is not None and loop.band is None  # band_any_u8, not the 32x32 loops
    assert got.shape == expected.shape and got.is_contiguous()
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=2e-6)
    with pytest.raises(ValueError, match=r"\(N, " + ", ".join(map(str, in_shape)) + r"\)"):
        loop(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))


def test_a_separable_map_of_another_size_is_refused():
    net = models.build("separable", out_shape=(1, 32, 32), in_shape=(3, 64, 64))
    with pytest.raises(fused.Unavailable, match=r"\(3, 64, 64\) -> \(32, 32\)\) only as a banded model"):
        fused.Fused(net)
