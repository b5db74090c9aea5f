import pandas as pd
import pytest
import torch

from lib.core import synthetic
from lib.core.data import Data
from lib.core.pipeline import make_targets
from lib.experiments import designs
from lib.report import plots


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


NOISE = 3200  # noise images of the exact routes: more than the 3,072 input pixels, so the fit is determined


@pytest.fixture(scope="module")
def routes(budget):
    return designs.exact_routes(budget, n_noise=NOISE, n_held_out=4, tolerance_gray=0.01)


def test_exact_routes_reach_the_pipeline_when_noise_determines_the_fit(routes):
    for name in designs.CONTAIN_PIPELINE:
        assert routes.loc[f"{name} (closed form)", "test_max_gray"] < 0.01
        assert routes.loc[f"{name} (closed form)", "stopped_by"] == "tolerance_rule"
        assert routes.loc[f"{name} (closed form)", "epochs"] == 1
    assert routes.loc["conv5 (closed form)", "test_mae_gray"] > 1  # no single kernel can flip
    assert routes.loc["banded (closed form)", "params"] < routes.loc["separable (closed form)", "params"]
    assert routes.loc["banded (closed form)", "test_max_gray"] < 0.01  # the same map on fewer entries


def test_closed_forms_say_when_the_rule_fails(budget):
    x, y, held_out = budget.exact_images(NOISE, 4)
    few = 500  # fewer images than input pixels: the minimum-norm fit misses the held-out images
    budget.closed_forms(("separable",), x[:few], y[:few], held_out, tolerance_gray=0.01)
    res = budget.results["separable (closed form)"]
    assert res.stopped_by == "optimum" and res.history[0]["held_out_max_gray"] > 0.01
    budget.closed_forms(("separable",), x, y, held_out, tolerance_gray=0.01)  # put the determined fit back
    assert budget.results["separable (closed form)"].stopped_by == "tolerance_rule"


def test_conv_control_shows_the_design_tables_optimum(budget, routes):
    arch = pd.concat([designs.compare_designs(budget), routes])
    conv = designs.conv_control(budget, arch, NOISE, 4)
    assert conv.loc["conv5 (Adam)", "with flips: mean |err| (gray)"] == arch.loc["conv5", "test_mae_gray"]
    best = conv.loc["conv5 (closed form: the best 5x5 kernel)"]
    # the optimum with flips is the design table's own row: one number in both tables
    assert best["with flips: mean |err| (gray)"] == arch.loc["conv5 (closed form)", "test_mae_gray"]
    assert best["with flips: max |err| (gray)"] == arch.loc["conv5 (closed form)", "test_max_gray"]
    assert best["without flips: mean |err| (gray)"] < best["with flips: mean |err| (gray)"]  # flips need reach


def test_plot_curves_refuses_what_it_cannot_show():
    run = [{"epoch": e, "val_mae_gray": 1.0 / e} for e in (1, 2, 3)]
    fig = plots.plot_curves({"a": run, "b": run}, title="t")
    assert len(fig.axes[0].lines) == 3  # two runs and half a gray level
    with pytest.raises(ValueError, match="1 to 6 runs"):
        plots.plot_curves({str(k): run for k in range(7)})
    with pytest.raises(ValueError, match="fewer than two points"):
        plots.plot_curves({"closed form": run[:1], "b": run})
