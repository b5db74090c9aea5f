import pandas as pd
import pytest
import torch

from lib.core import synthetic
from lib.core.data import Data
from lib.core.pipeline import make_targets
from lib.experiments import designs, loss_study
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
    return designs.exact_routes(budget, n_noise=NOISE, n_held_out=4, tolerance_gray=0.01, moments_epochs=1,
                                lbfgs_iters=3)  # fmt: skip


def test_exact_routes_reach_the_pipeline_when_noise_determines_the_fit(routes):
    for name in designs.CONTAIN_PIPELINE:
        assert routes.loc[f"{name} (closed form)", "test_max_gray"] < 0.01
        assert routes.loc[f"{name} (closed form)", "stopped_by"] == "tolerance_rule"
        assert routes.loc[f"{name} (closed form)", "epochs"] == 1
    assert routes.loc["separable (moments)", "test_max_gray"] > 1  # three iterations are nowhere near
    assert routes.loc["conv5 (closed form)", "test_mae_gray"] > 1  # no single kernel can flip
    # one timing per architecture: the closed-form separable is timed as the moment-trained one was
    assert routes.loc["separable (closed form)", "cpu_10k_s"] == routes.loc["separable (moments)", "cpu_10k_s"]


def test_closed_forms_say_when_the_rule_fails(budget):
    x, y, held_out = budget.exact_images(NOISE, 4)
    few = 500  # fewer images than input pixels: the minimum-norm fit misses the held-out images
    budget.closed_forms(("separable",), x[:few], y[:few], held_out, tolerance_gray=0.01)
    res = budget.results["separable (closed form)"]
    assert res.stopped_by == "optimum" and res.history[0]["held_out_max_gray"] > 0.01
    budget.closed_forms(("separable",), x, y, held_out, tolerance_gray=0.01)  # put the determined fit back
    assert budget.results["separable (closed form)"].stopped_by == "tolerance_rule"


STUDY = loss_study.LossStudy(n_cifar=32, n_noise=NOISE, lbfgs_iters=4, max_epochs=2, tolerance_gray=0.01)


def test_loss_study_rows_and_the_check_against_the_exact_map(budget, routes):
    table, histories = loss_study.loss_study(budget, STUDY, n_held_out=4)
    assert list(table["loss"]) == list(loss_study.LOSSES_COMPARED) and list(histories) == list(
        loss_study.LOSSES_COMPARED
    )
    assert list(table.columns) == ["model", "loss", "optimizer", "epochs", "seconds", "stopped_by", "test_mae_gray",
                                   "test_max_gray", "exact8_pct", "outside_01_pct"]  # fmt: skip
    assert (table["model"] == "separable").all() and (table["epochs"] == 2).all()
    assert (table["stopped_by"] == "max_epochs").all()  # eight iterations from random weights
    x, _, _ = STUDY.images(budget, 4)
    assert len(x) == 32 + NOISE
    # every loss is lower at the exact map than where eight iterations left it, by its own measure
    check = loss_study.own_loss_check(budget, STUDY, 4, "separable (closed form)")
    assert list(check.index) == list(loss_study.LOSSES_COMPARED) and (check["end / optimum"] > 10).all()
    assert (check["run's end (gray levels)"] > 1).all()  # as errors: far from the map
    assert (check["separable (closed form) (gray levels)"] < 0.01).all()  # the exact map, by every loss


def test_out_of_range_study_reuses_the_loss_runs(budget, routes):
    table, _ = loss_study.loss_study(budget, STUDY, n_held_out=4, losses=("range_sse", "sse"))
    oor = loss_study.out_of_range_study(budget, STUDY, 4, weights=(1.0, 2.0, 10.0), optimum="separable (closed form)")
    assert list(oor.index) == ["weight 1", "weight 2", "weight 10", "separable (closed form)"]
    by_loss = table.set_index("loss")
    assert oor.loc["weight 1", "test_max_gray"] == pytest.approx(by_loss.loc["sse", "test_max_gray"])  # the same run
    assert oor.loc["weight 2", "test_max_gray"] == pytest.approx(by_loss.loc["range_sse", "test_max_gray"])
    assert oor.loc["weight 10", "test_max_gray"] != pytest.approx(by_loss.loc["range_sse", "test_max_gray"])
    assert oor.loc["separable (closed form)", "max_overshoot_gray"] < 0.01  # the exact map barely leaves [0, 1]


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


def test_channel_spectrum_finds_the_shared_direction():
    gray = torch.rand(50, 1, 8, 8)
    x = gray.expand(50, 3, 8, 8) + 0.01 * torch.rand(50, 3, 8, 8)  # channels nearly equal
    spec = designs.channel_spectrum(x)
    top = spec.loc["largest"]
    assert top["variance"] > 100 * spec.loc["smallest", "variance"]
    assert abs(abs(top["R"]) - 3**-0.5) < 0.01  # the luminance-like direction (1, 1, 1) / sqrt(3)


def test_losses_as_gray_levels():
    level = 1 / 255
    assert loss_study.as_gray("sse", 4 * level**2, n_pixels=4) == pytest.approx(1)  # summed over four pixels
    assert loss_study.as_gray("range_sse", 8 * level**2, n_pixels=2) == pytest.approx(2)
    assert loss_study.as_gray("mse", (3 * level) ** 2, n_pixels=4) == pytest.approx(3)  # a mean: pixels do not matter
    assert loss_study.as_gray("l1", 0.5 * level, n_pixels=4) == pytest.approx(0.5)
