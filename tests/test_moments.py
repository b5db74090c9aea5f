import pytest
import torch

from lib.core import models
from lib.core.moments import moments, separable_sse
from lib.core.pipeline import make_targets


def test_moment_loss_equals_the_direct_sum():
    x = torch.rand(40, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    y = make_targets(x)
    torch.manual_seed(0)
    model = models.build("separable")
    direct = ((model.double()(x.double()) - y.double()) ** 2).sum().item()
    assert separable_sse(model, moments(x, y)).item() == pytest.approx(direct, rel=1e-9)


def test_moment_loss_has_the_direct_sums_gradient():
    x = torch.rand(40, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    y = make_targets(x)
    torch.manual_seed(0)
    direct, stats = models.build("separable").double(), models.build("separable").double()
    stats.load_state_dict(direct.state_dict())
    ((direct(x.double()) - y.double()) ** 2).sum().backward()
    separable_sse(stats, moments(x, y)).backward()  # reaches every parameter through the model's parts
    for (name, p), q in zip(direct.named_parameters(), stats.parameters(), strict=True):
        assert torch.allclose(q.grad, p.grad, rtol=1e-7, atol=1e-9), name


def test_moment_training_needs_a_separable_model():
    x = torch.rand(4, 3, 32, 32)
    with pytest.raises(TypeError, match="separable"):
        separable_sse(models.build("dense"), moments(x, make_targets(x)))


def test_moments_move_to_the_model_device():
    x = torch.rand(4, 3, 32, 32)
    stats = moments(x, make_targets(x)).to("meta")  # any device but the CPU shows the move
    assert {t.device.type for t in (stats.xx, stats.xsum, stats.yx, stats.ysum)} == {"meta"}
    assert stats.n == 4 and stats.xx.dtype == torch.float64
