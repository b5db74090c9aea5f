import pytest
import torch

from lib import designs, synthetic
from lib.data import Data
from lib.pipeline import make_targets


@pytest.fixture(scope="module")
def budget():
    x = synthetic.images("smooth", 96, seed=0)
    v, t = synthetic.images("smooth", 16, seed=1), synthetic.images("blocks", 24, seed=2)
    ds = Data(x, make_targets(x), v, make_targets(v), t, make_targets(t), torch.zeros(24), ["a"], "synthetic")
    return designs.Budget(ds, max_epochs=2, batch_size=32, seed=0)


def test_every_design_gets_a_row_and_the_same_budget(budget):
    table = designs.compare_designs(budget)
    assert list(table.index) == [n if o == "none" else f"{n}+{o}" for n, o in designs.DESIGNS]
    assert (table["epochs"] == 2).all() and (table["stopped_by"] == "max_epochs").all()
    assert table.loc["separable", "params"] == 1796 and table.loc["conv5", "params"] == 76


def test_exact_routes_reach_the_pipeline_when_noise_determines_the_fit(budget):
    table = designs.exact_routes(budget, n_noise=3200, n_held_out=4, tolerance_gray=0.01, moments_epochs=1,
                                 lbfgs_iters=3)  # fmt: skip
    for name in designs.CONTAIN_PIPELINE:
        assert table.loc[f"{name} (closed form)", "test_max_gray"] < 0.01
        assert table.loc[f"{name} (closed form)", "stopped_by"] == "tolerance_rule"
    assert table.loc["separable (moments)", "test_max_gray"] > 1  # three iterations are nowhere near
    assert table.loc["conv5 (closed form)", "test_mae_gray"] > 1  # no single kernel can flip


def test_out_of_range_and_conv_control_tables(budget):
    arch = designs.compare_designs(budget)
    oor = designs.out_of_range_study(budget, weights=(1.0, 2.0))
    assert list(oor.index) == [1.0, 2.0]
    assert oor.loc[2.0, "test_mae_gray"] == pytest.approx(arch.loc["dense", "test_mae_gray"])  # the same run
    assert oor.loc[1.0, "test_mae_gray"] != pytest.approx(arch.loc["dense", "test_mae_gray"])  # another loss
    conv = designs.conv_control(budget, arch)
    assert conv.loc["conv5 (Adam)", "with flips: mean |err| (gray)"] == arch.loc["conv5", "test_mae_gray"]
    best = conv.loc["conv5 (closed form: the best 5x5 kernel)"]
    assert best["without flips: mean |err| (gray)"] < best["with flips: mean |err| (gray)"]  # flips need reach


def test_channel_spectrum_finds_the_shared_direction():
    gray = torch.rand(50, 1, 8, 8)
    x = gray.expand(50, 3, 8, 8) + 0.01 * torch.rand(50, 3, 8, 8)  # channels nearly equal
    spec = designs.channel_spectrum(x)
    top = spec.loc["largest"]
    assert top["variance"] > 100 * spec.loc["smallest", "variance"]
    assert abs(abs(top["R"]) - 3**-0.5) < 0.01  # the luminance-like direction (1, 1, 1) / sqrt(3)
