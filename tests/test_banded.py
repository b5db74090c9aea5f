import pytest
import torch

from lib.core import models
from lib.core.banded import Banded, fit_banded, from_separable, support_of
from lib.core.moments import moments, separable_sse
from lib.core.pipeline import make_targets
from lib.core.separable import parts_of

ROWS = [[0, 1], [3, 4, 5], [30, 31]]  # a known support: 3 output rows reading 2 or 3 input rows each
COLS = [[1, 2, 3], [10, 11], [28, 29], [31]]


def _known(seed: int = 0) -> Banded:
    gen = torch.Generator().manual_seed(seed)
    net = models.build("banded", out_shape=(1, 3, 4), row_support=ROWS, col_support=COLS)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.rand(p.shape, generator=gen) + 0.1)  # every kept entry well away from zero
    return net


def test_shapes_and_parameters_of_a_known_band():
    net = _known()
    assert models.n_params(net) == 3 + 1 + sum(map(len, ROWS)) + sum(map(len, COLS))  # mix, bias, kept entries
    parts = parts_of(net)
    assert parts.rows.shape == (3, 32) and parts.cols.shape == (4, 32)
    assert (parts.rows != 0).sum() == 7 and parts.rows[1, 3:6].ne(0).all() and parts.rows[1, :3].eq(0).all()
    assert net(torch.rand(5, 3, 32, 32)).shape == (5, 1, 3, 4)
    assert net.band_mflops() == pytest.approx((2 * 3 * 1024 + 2 * 32 * 8 + 2 * 4 * 7) / 1e6)


def test_fit_finds_the_band_and_its_values():
    truth = _known()
    x = torch.rand(3200, 3, 32, 32, generator=torch.Generator().manual_seed(1))  # more than 3,072 pixels: determined
    with torch.no_grad():
        y = truth(x)
    fitted = fit_banded(x, y)
    assert (fitted.row_support, fitted.col_support) == (ROWS, COLS)
    with torch.no_grad():
        assert (fitted(x) - y).abs().max() < 1e-4


def test_the_target_pipelines_band_is_the_resize_filters_taps():
    net = from_separable(models.build("exact"))
    rows, cols = support_of(net)
    assert models.n_params(net) == 128 and sum(map(len, rows)) == sum(map(len, cols)) == 62
    assert all(len(r) in (2, 3) for r in rows + cols)
    assert rows[0][-1] == 31 and rows[-1][0] == 0  # the vertical flip: the first output row reads the last rows


def test_saved_and_loaded_with_its_support(tmp_path):
    net = _known()
    back = models.load(models.save(net, tmp_path / "b.pt"))
    x = torch.rand(3, 3, 32, 32)
    assert back.row_support == ROWS and torch.equal(back(x), net.eval()(x))


def test_moment_training_reaches_the_kept_values():
    net = models.build("banded").double()  # the default band of the target's shape
    x = torch.rand(64, 3, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    y = make_targets(x.float()).double()
    loss = separable_sse(net, moments(x, y))
    direct = ((net(x) - y) ** 2).sum()
    assert loss.item() == pytest.approx(direct.item(), rel=1e-9)
    loss.backward()
    assert net.row_values.grad.abs().min() > 0 and net.col_values.grad.abs().min() > 0


def test_refuses_a_support_outside_the_image():
    with pytest.raises(ValueError, match="distinct inputs in 0..31"):
        models.build("banded", out_shape=(1, 1, 1), row_support=[[32]], col_support=[[0]])
    with pytest.raises(ValueError, match="do not fit the output"):
        models.build("banded", out_shape=(1, 2, 1), row_support=[[0]], col_support=[[0]])
