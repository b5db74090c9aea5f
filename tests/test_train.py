import pytest
import torch

from lib import models
from lib.pipeline import make_targets
from lib.train import TrainConfig, seed_everything, train


def _data(n, seed):
    x = torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed))
    return x, make_targets(x)


def _run(cfg, name="dense"):
    seed_everything(cfg.seed)
    model = models.build(name)
    (x, y), (vx, vy) = _data(96, 0), _data(16, 1)
    return model, train(model, x, y, vx, vy, cfg, progress=False)


def test_seeded_cpu_run_repeats_exactly():
    cfg = TrainConfig(batch_size=32, max_epochs=2, patience=0, seed=5)
    (m1, r1), (m2, r2) = _run(cfg), _run(cfg)
    assert [h["loss"] for h in r1.history] == [h["loss"] for h in r2.history]
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values(), strict=True))


def test_history_and_guards():
    _, r = _run(TrainConfig(batch_size=32, max_epochs=3, patience=0, lr=1e-3))
    assert r.epochs == 3 and r.stopped_by == "max_epochs" and r.seconds > 0
    assert set(r.history[0]) == {"epoch", "loss", "val_mae_gray", "val_max_gray", "val_exact8", "lr", "seconds"}
    assert r.history[-1]["loss"] < r.history[0]["loss"]


@pytest.mark.parametrize("optimizer", ["sgd", "lbfgs"])
def test_other_optimizers_lower_the_loss(optimizer):
    lr = {"sgd": 1e-6, "lbfgs": 1.0}[optimizer]  # sum reduction: gradients scale with batch x pixels
    _, r = _run(TrainConfig(optimizer=optimizer, lr=lr, batch_size=32, max_epochs=3, lbfgs_iters=5, patience=0))
    assert r.history[-1]["loss"] < r.history[0]["loss"]


def test_bad_config():
    with pytest.raises(ValueError, match="unknown optimizer"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(schedule="warmup")
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=0)


def test_moments_optimizer_refuses_other_models_before_any_work():
    x, y = _data(8, 0)
    with pytest.raises(TypeError, match="separable"):
        train(models.build("dense"), x, y, x, y, TrainConfig(optimizer="moments"), progress=False)
