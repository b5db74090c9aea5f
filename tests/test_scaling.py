import pytest
import torch

from lib.core import engine, models
from lib.experiments import scaling
from lib.report import scaling_text


def test_the_gathered_band_equals_the_matrix_products_and_trains():
    net = models.build("banded", out_shape=(1, 64, 48), in_shape=(3, 128, 128), width=4)
    with torch.no_grad():
        net.row_values.copy_(torch.rand(net.row_values.shape, generator=torch.Generator().manual_seed(0)))
        net.col_values.copy_(torch.rand(net.col_values.shape, generator=torch.Generator().manual_seed(1)))
    x = torch.rand(5, 3, 128, 128, generator=torch.Generator().manual_seed(2))
    assert net.gathered  # 128x128 inputs take the taps only
    out = net(x)
    net.gathered = False
    torch.testing.assert_close(out, net(x), rtol=1e-5, atol=1e-6)
    net.gathered = True
    net(x).sum().backward()
    assert net.row_values.grad.abs().sum() > 0 and net.col_values.grad.abs().sum() > 0
    assert not models.build("banded").gathered  # 32x32: the matrix products, as the benchmark times them


def test_the_scaling_family_refuses_an_odd_or_tiny_side():
    assert scaling.family(64).out_shape == (1, 32, 32)
    for side in (63, 4):
        with pytest.raises(ValueError, match="even sides of at least 8"):
            scaling.family(side)


def test_scaling_rows_time_every_route_and_the_learned_models_are_faithful():
    source = torch.rand(48, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    rows = scaling.study(source[:16], source[16:], sides=(32, 64), repeats=1, progress=False)
    try:
        engine.library()
        routes = [r for r, *_ in scaling.ROUTES]
    except engine.Unavailable:  # no C compiler: the learned transform's rows are left out, the rest stay
        routes = [r for r, *_ in scaling.ROUTES if r != "banded_transform"]
    assert [(r["side"], r["route"]) for r in rows] == [(s, r) for s in (32, 64) for r in routes]
    assert all(r["seconds"] > 0 for r in rows)
    for r in (r for r in rows if r["learned"]):
        assert r["photo_max_gray"] < 0.01 and r["noise_max_gray"] < 0.01, r
    band64 = next(r for r in rows if r["side"] == 64 and r["route"] == "banded")
    sep64 = next(r for r in rows if r["side"] == 64 and r["route"] == "separable")
    assert band64["mflops"] < sep64["mflops"] and band64["params"] < sep64["params"]
    pillow = [r["photo_max_gray"] for r in rows if r["route"] == "pillow_loop"]
    assert all(0 < e < 3 for e in pillow)  # the same steps, in 8-bit arithmetic
    v = scaling_text.verdicts(rows)
    assert [d["side"] for d in v] == [32, 64] and all(d["fastest_learned"] in scaling.LEARNED for d in v)
    with pytest.raises(ValueError, match="no test images"):
        scaling.study_side(32, source[:0], source)


def test_the_scaling_summary_names_the_winner_and_the_growth():
    def row(side, route, us, user=False, learned=False, mflops=None, params=None, fit_s=None, gray=None):
        return {"side": side, "route": route, "seconds": us * 1e-6, "us_per_image": us, "user": user,
                "learned": learned, "mflops": mflops, "params": params, "fit_s": fit_s, "photo_max_gray": gray,
                "noise_max_gray": gray, "n_images": 500}  # fmt: skip

    rows = [row(32, "read_input", 0.1), row(32, "pipeline_uint8", 4.0, user=True),
            row(32, "separable", 2.0, learned=True, mflops=0.05, params=1028, fit_s=0.04, gray=6e-5),
            row(32, "banded", 1.0, learned=True, mflops=0.01, params=94, fit_s=0.05, gray=7e-5),
            row(64, "read_input", 0.5), row(64, "pipeline_uint8", 8.0, user=True),
            row(64, "separable", 16.0, learned=True, mflops=0.4, params=4100, fit_s=0.1, gray=6e-5),
            row(64, "banded", 10.0, learned=True, mflops=0.04, params=190, fit_s=0.1, gray=1e-4)]  # fmt: skip
    v = scaling_text.verdicts(rows)
    assert [(d["fastest_learned"], d["speedup"]) for d in v] == [("banded", 4.0), ("banded", 0.8)]
    labels = {r["route"]: r["route"] for r in rows}
    first, second = scaling_text.side_table(rows, labels)
    assert first == {
        "input": "32x32", "fastest user route (µs)": "pipeline_uint8 (4)", "fastest learned route (µs)": "banded (1)",
        "speedup": "4.0x", "learned, worst (gray)": "7e-05", "numbers: banded, separable": "94, 1,028", "fit": "0.05 s",
    }  # fmt: skip
    assert second["speedup"] == "0.8x" and second["learned, worst (gray)"] == "0.0001"
    text = scaling_text.summary(rows, labels)
    assert "arithmetic per image grew 8x" in text and "lose at 64 pixels a side" in text
    assert "- separable loses to the fastest user route at 64 (0.50x)." in text
    note = scaling_text.against_benchmark(rows, (1, 16, 16), (1, 28, 28))
    assert note.startswith("At 32 this family resizes to 16x16, not to the target's 28x28, and times 500 images")
    assert scaling_text.against_benchmark(rows[4:], (1, 16, 16), (1, 28, 28)) == ""
