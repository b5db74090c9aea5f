import pytest
import torch

from lib.core import models, synthetic
from lib.core.pipeline import make_targets
from lib.core.train import TrainConfig, seed_everything, train


def _data(n, seed):
    x = torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed))
    return x, make_targets(x)


def _run(cfg, name="dense", train_set=None, held_out=None):
    seed_everything(cfg.seed)
    model = models.build(name)
    (x, y), (vx, vy) = train_set or _data(96, 0), _data(16, 1)
    return model, train(model, x, y, vx, vy, cfg, progress=False, held_out=held_out)


def test_seeded_cpu_run_repeats_exactly():
    cfg = TrainConfig(batch_size=32, max_epochs=2, patience=0, seed=5)
    (m1, r1), (m2, r2) = _run(cfg), _run(cfg)
    assert [h["loss"] for h in r1.history] == [h["loss"] for h in r2.history]
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values(), strict=True))


def test_history_and_guards():
    _, r = _run(TrainConfig(batch_size=32, max_epochs=3, patience=0, lr=1e-3))
    assert r.epochs == 3 and r.stopped_by == "max_epochs" and r.seconds > 0
    assert set(r.history[0]) == {"epoch", "loss", "val_mae_gray", "val_max_gray", "val_exact8", "lr", "seconds"}
    assert r.history[-1]["val_mae_gray"] < r.history[0]["val_mae_gray"]  # training helps the validation images
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
        train(models.build("dense"), x, y, x, y, TrainConfig(optimizer="moments", loss="sse"), progress=False)


@pytest.mark.parametrize("optimizer", ["moments", "closed_form"])
def test_exact_solvers_refuse_settings_they_do_not_honour(optimizer):
    with pytest.raises(ValueError, match="loss='sse'"):
        TrainConfig(optimizer=optimizer)  # the default loss is the range-weighted one
    x, y = _data(8, 0)
    with pytest.raises(ValueError, match="clamp"):
        train(models.build("separable", output="clamp"), x, y, x, y, TrainConfig(optimizer=optimizer, loss="sse"))


def test_moments_training_end_to_end_returns_a_float32_model():
    x = synthetic.images("smooth", 400)
    cfg = TrainConfig(optimizer="moments", loss="sse", lr=1, lbfgs_iters=40, stopping="tolerance", max_epochs=4,
                      patience=0)  # fmt: skip
    model, r = _run(cfg, "separable", (x, make_targets(x)), held_out=_data(32, 2))
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert {"held_out_max_gray", "held_out_mae_gray"} <= set(r.history[0])
    losses = [h["loss"] for h in r.history]
    assert losses[-1] < losses[0] / 100  # the recorded loss is the one after each epoch's iterations
    # max_epochs stopped it, so the weights with the smallest largest error (the tolerance rule's score, over
    # validation and held-out images) are restored; the float32 model gives what the float64 one scored then
    best = min(r.history, key=lambda h: max(h["val_max_gray"], h["held_out_max_gray"]))
    vx, vy = _data(16, 1)
    assert r.stopped_by == "max_epochs"
    assert (model(vx) - vy).abs().mean().item() * 255 == pytest.approx(best["val_mae_gray"], rel=1e-4)


def test_closed_form_fits_in_one_epoch_and_reports_the_fit():
    x, y = _data(3200, 0)
    cfg = TrainConfig(optimizer="closed_form", loss="sse", stopping="tolerance", tolerance_gray=0.01)
    model, r = _run(cfg, "dense", (x, y), held_out=_data(32, 2))
    assert r.epochs == 1 and r.stopped_by == "tolerance_rule"
    assert r.info["solver"] == "cholesky" and r.info["channel_rank1_ratio"] < 1e-4
    assert r.history[0]["val_max_gray"] < 0.01 and r.history[0]["held_out_max_gray"] < 0.01
    tight = TrainConfig(optimizer="closed_form", loss="sse", stopping="tolerance", tolerance_gray=1e-9 * 255 / 255)
    _, r = _run(tight, "dense", _data(3200, 0))
    assert r.epochs == 1 and r.stopped_by == "optimum"  # nothing left to iterate when the rule is out of reach


def test_best_weights_are_restored_when_a_guard_stops():
    # lr too large for summed gradients: the first epoch is the best and the second diverges
    cfg = TrainConfig(optimizer="sgd", lr=3e-5, batch_size=16, max_epochs=2, patience=0)
    model, r = _run(cfg)
    errs = [h["val_mae_gray"] for h in r.history]
    assert r.stopped_by == "max_epochs" and errs[1] > 10 * errs[0], errs
    vx, vy = _data(16, 1)
    restored = (model(vx) - vy).abs().mean().item() * 255
    assert restored == pytest.approx(errs[0], rel=1e-4)


def test_devices_are_checked_before_any_work(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="no usable GPU; use device='cpu'"):
        TrainConfig(device="cuda")
    with pytest.raises(ValueError, match="unknown device"):
        TrainConfig(device="gpu0")


def test_moments_refuses_another_output_shape():
    x = torch.rand(8, 3, 32, 32)
    y = torch.rand(8, 3, 16, 20)
    model = models.build("separable", out_shape=(3, 16, 20))
    with pytest.raises(ValueError, match="use optimizer='closed_form' for another pipeline"):
        train(model, x, y, x, y, TrainConfig(optimizer="moments", loss="sse"), progress=False)
