import pytest
import torch

from lib.core import synthetic


@pytest.mark.parametrize("family", synthetic.FAMILIES)
def test_shapes_ranges_and_seeds(family):
    x = synthetic.images(family, 20, seed=4)
    assert x.shape == (20, 3, 32, 32) and x.dtype == torch.float32
    assert x.min() >= 0 and x.max() <= 1
    assert torch.equal(x, synthetic.images(family, 20, seed=4))
    assert not torch.equal(x, synthetic.images(family, 20, seed=5))
    assert family in synthetic.DESCRIPTIONS


def test_family_character():
    const = synthetic.images("constant", 5)
    assert (const.amax((2, 3)) == const.amin((2, 3))).all()  # one colour per image
    extremes = synthetic.images("extremes", 50)
    assert set(extremes.unique().tolist()) == {0.0, 1.0}
    blocks = synthetic.images("blocks", 50)
    smooth = synthetic.images("smooth", 50)
    # neighbouring pixels: blocks repeat exactly, smooth fields change a little everywhere
    assert (blocks[..., 1:] == blocks[..., :-1]).double().mean() > 0.5
    assert (smooth[..., 1:] == smooth[..., :-1]).double().mean() < 0.2
    grad = synthetic.images("gradients", 10)
    assert grad.amax((1, 2, 3)).sub(grad.amin((1, 2, 3))).min() > 0  # a ramp, not a constant


def test_mixture_splits_evenly_and_checks_names():
    x = synthetic.mixture(["noise", "constant"], 5)
    assert x.shape[0] == 5
    assert (x[3:].amax((2, 3)) == x[3:].amin((2, 3))).all()  # the last two are constant images
    with pytest.raises(ValueError, match="unknown synthetic"):
        synthetic.images("stripes", 2)
    with pytest.raises(ValueError, match="at least one"):
        synthetic.mixture([], 2)


def test_labelled_sets_carry_pipeline_targets():
    sets = synthetic.labelled_sets(3, seed=0, families=("noise", "blocks"))
    assert list(sets) == ["noise", "blocks"]
    assert all(x.shape == (3, 3, 32, 32) and y.shape == (3, 1, 28, 28) for x, y in sets.values())
