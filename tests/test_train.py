import pytest
import torch

from lib.core import models, optimizers, synthetic
from lib.core import train as train_module
from lib.core.losses import get_loss
from lib.core.pipeline import make_targets
from lib.core.probe import probe
from lib.core.separable import parts_of, set_parts
from lib.core.stopping import EarlyStopper
from lib.core.train import EXACT_SOLVERS, OPTIMIZERS, TrainConfig, seed_everything, train


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
    assert set(r.history[0]) == {
        "epoch",
        "loss",
        "val_mae_gray",
        "val_max_gray",
        "val_exact8",
        "val_outside_01_pct",
        "lr",
        "images",
        "seconds",
    }
    assert [h["images"] for h in r.history] == [96, 192, 288]  # one pass over the 96 training images an epoch
    assert r.history[-1]["val_mae_gray"] < r.history[0]["val_mae_gray"]  # training helps the validation images
    assert r.history[-1]["loss"] < r.history[0]["loss"]


@pytest.mark.parametrize("optimizer", ["sgd", "lbfgs"])
def test_other_optimizers_lower_the_loss(optimizer):
    lr = {"sgd": 1e-6, "lbfgs": 1.0}[optimizer]  # sum reduction: gradients scale with batch x pixels
    _, r = _run(TrainConfig(optimizer=optimizer, lr=lr, batch_size=32, max_epochs=3, lbfgs_iters=5, patience=0))
    assert r.history[-1]["loss"] < r.history[0]["loss"]
    if optimizer == "lbfgs":  # a pass over the set per function evaluation: at least one per iteration
        assert r.history[0]["images"] >= 5 * 96 and r.history[0]["images"] % 96 == 0


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


# The strategies, one by one, and the loop's contract with them.


class _Bar:
    """Counts the images an epoch reports, as the progress bar would."""

    def __init__(self):
        self.n = 0

    def update(self, n):
        self.n += n


def _prepared(cfg, name="dense", n=96):
    seed_everything(cfg.seed)
    model, (x, y) = models.build(name), _data(n, 0)
    how = optimizers.strategy(cfg)
    how.check_model(model, y)
    model.to(cfg.device, how.dtype)
    how.prepare(model, x, y)
    return how, model, x, y


def test_the_table_names_every_optimizer_and_its_properties():
    assert OPTIMIZERS == ("adam", "sgd", "lbfgs", "moments", "closed_form")
    assert EXACT_SOLVERS == ("moments", "closed_form")
    kinds = {name: type(optimizers.strategy(TrainConfig(optimizer=name, loss="sse"))) for name in OPTIMIZERS}
    assert kinds == optimizers.STRATEGIES
    assert [name for name, s in kinds.items() if s.solves_at_once] == ["closed_form"]
    assert [name for name, s in kinds.items() if s.dtype != torch.float32] == ["moments"]


@pytest.mark.parametrize("loss", ["sse", "mse"])
def test_a_minibatch_epoch_reports_the_loss_per_image_and_draws_one_permutation(loss):
    cfg = TrainConfig(optimizer="adam", loss=loss, lr=1e-12, batch_size=40, seed=3)  # too small a step to move
    how, model, x, y = _prepared(cfg)
    assert isinstance(how.opt, torch.optim.Adam) and how.lr == 1e-12
    before = get_loss(loss)(model(x), y).item() / (len(x) if loss == "sse" else 1)
    bar = _Bar()
    assert how.epoch(model, bar) == pytest.approx(before, rel=1e-5)  # batches of 40, 40 and 16, weighted
    assert bar.n == len(x)
    gen = torch.Generator().manual_seed(3)
    torch.randperm(len(x), generator=gen)
    assert torch.equal(how.gen.get_state(), gen.get_state())


def test_sgd_uses_momentum_and_the_schedule_steps_once_per_epoch():
    how, model, _, _ = _prepared(TrainConfig(optimizer="sgd", lr=1e-9, schedule="exponential", gamma=0.5))
    assert isinstance(how.opt, torch.optim.SGD) and how.opt.param_groups[0]["momentum"] == 0.9
    how.epoch(model, _Bar())
    assert how.lr == pytest.approx(0.5e-9)


def test_full_batch_lbfgs_reports_the_loss_after_its_iterations():
    how, model, x, y = _prepared(TrainConfig(optimizer="lbfgs", loss="sse", lr=1, lbfgs_iters=3, batch_size=40))
    assert isinstance(how.opt, torch.optim.LBFGS) and how.opt.defaults["max_iter"] == 3
    before = get_loss("sse")(model(x), y).item() / len(x)
    bar = _Bar()
    loss = how.epoch(model, bar)
    assert bar.n == len(x) and loss < before
    with torch.no_grad():
        assert loss == pytest.approx(get_loss("sse")(model(x), y).item() / len(x), rel=1e-5)


def test_moments_trains_in_float64_on_the_statistics():
    cfg = TrainConfig(optimizer="moments", loss="sse", lr=1, lbfgs_iters=3)
    how, model, x, y = _prepared(cfg, "separable")
    assert how.stats.n == len(x) and all(p.dtype == torch.float64 for p in model.parameters())
    bar = _Bar()
    loss = how.epoch(model, bar)
    assert bar.n == len(x)
    with torch.no_grad():  # the statistics give the loss over the images themselves
        assert loss == pytest.approx(((model(x.double()) - y.double()) ** 2).sum().item() / len(x), rel=1e-9)


def test_closed_form_solves_in_one_epoch_and_reports_its_fit(monkeypatch):
    def fit_zero(model, x, y):  # a stand-in for the solver (lib.core.fit has its own tests): every weight 0
        for p in model.parameters():
            p.data.zero_()
        return {"solver": "zeros", "n_images": len(x)}

    monkeypatch.setattr(optimizers, "fit_model", fit_zero)
    how, model, x, y = _prepared(TrainConfig(optimizer="closed_form", loss="sse"), n=64)
    assert how.lr is None and how.info == {}
    bar = _Bar()
    loss = how.epoch(model, bar)
    assert how.info == {"solver": "zeros", "n_images": 64} and bar.n == 64
    assert loss == pytest.approx((y**2).sum().item() / 64, rel=1e-6)  # the loss of the fitted (zero) model


def test_only_the_exact_solvers_ask_for_the_plain_loss_and_no_output_constraint():
    x, y = _data(8, 0)
    for name in ("adam", "sgd", "lbfgs"):
        TrainConfig(optimizer=name, loss="range_sse")
        optimizers.strategy(TrainConfig(optimizer=name)).check_model(models.build("dense", output="clamp"), y)
    with pytest.raises(ValueError, match="sigmoid"):
        optimizers.strategy(TrainConfig(optimizer="closed_form", loss="sse")).check_model(
            models.build("dense", output="sigmoid"), y
        )


class _Recorder(optimizers.Strategy):
    """A strategy that does nothing but record how the loop calls it."""

    dtype = torch.float64

    def __init__(self, cfg, calls, interrupt_at=None):
        super().__init__(cfg)
        self.calls, self.interrupt_at = calls, interrupt_at

    def check_model(self, model, train_y):
        self.calls.append(("check_model", next(model.parameters()).dtype))

    def prepare(self, model, train_x, train_y):
        self.calls.append(("prepare", next(model.parameters()).dtype))

    def epoch(self, model, bar):
        self.calls.append(("epoch", next(model.parameters()).dtype))
        if len(self.calls) - 2 == self.interrupt_at:
            raise KeyboardInterrupt
        return 1.0


@pytest.mark.parametrize("interrupt_at", [None, 2])
def test_the_loop_follows_the_strategy_and_returns_a_float32_model(monkeypatch, interrupt_at):
    calls = []
    monkeypatch.setattr(train_module, "strategy", lambda cfg: _Recorder(cfg, calls, interrupt_at))
    model, r = _run(TrainConfig(max_epochs=3, patience=0))
    f32, f64 = torch.float32, torch.float64
    epochs = 3 if interrupt_at is None else interrupt_at
    assert calls == [("check_model", f32), ("prepare", f64)] + [("epoch", f64)] * epochs
    assert r.stopped_by == ("max_epochs" if interrupt_at is None else "interrupted")
    assert r.epochs == epochs - (interrupt_at is not None) and r.history[0]["lr"] is None
    assert all(p.dtype == f32 for p in model.parameters())


def test_float32_comes_back_when_training_fails(monkeypatch):
    def fail(self, model, bar):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(optimizers.MomentsLBFGS, "steps", fail)
    model = models.build("separable")
    x, y = _data(8, 0)
    with pytest.raises(RuntimeError, match="out of memory"):
        train(model, x, y, x, y, TrainConfig(optimizer="moments", loss="sse"), progress=False)
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_the_loop_asks_the_stopper_whether_to_restore(monkeypatch):
    # the diverging run of test_best_weights_are_restored_when_a_guard_stops, with the stopper saying no
    monkeypatch.setattr(EarlyStopper, "restore_best", property(lambda self: False))
    model, r = _run(TrainConfig(optimizer="sgd", lr=3e-5, batch_size=16, max_epochs=2, patience=0))
    vx, vy = _data(16, 1)
    assert r.stopped_by == "max_epochs"
    assert (model(vx) - vy).abs().mean().item() * 255 == pytest.approx(r.history[-1]["val_mae_gray"], rel=1e-4)


def test_an_optimizer_says_before_any_work_which_outputs_it_trains_for():
    from lib.core.optimizers import STRATEGIES

    STRATEGIES["adam"].check_shape((3, 16, 20))  # any
    STRATEGIES["moments"].check_shape((1, 28, 28))  # the target pipeline's
    with pytest.raises(ValueError, match="closed_form"):
        STRATEGIES["moments"].check_shape((3, 16, 20))


def test_training_on_past_the_rule_records_more_epochs_and_returns_the_rules_model():
    # separable starts at the pipeline's operator, so the rule holds from the first epoch; the run goes on
    x, y = _data(64, 0)
    cfg = TrainConfig(loss="sse", lr=1e-7, batch_size=32, max_epochs=3, patience=0, stopping="tolerance",
                      tolerance_gray=0.5)  # fmt: skip
    runs = {}
    for observe in (False, True):
        model = models.build("separable")
        set_parts(model, parts_of(probe()))  # the pipeline's own operator
        runs[observe] = (
            model,
            train(
                model, x, y, *_data(16, 1), TrainConfig(**{**vars(cfg), "observe_past_rule": observe}), progress=False
            ),
        )
    (stopped_model, stopped), (model, r) = runs[False], runs[True]
    assert stopped.stopped_by == r.stopped_by == "tolerance_rule" and stopped.epochs == r.epochs == 1
    assert len(stopped.history) == 1 and len(r.history) == 3 and r.seconds == r.history[0]["seconds"]
    assert r.history[1]["images"] == 128  # two epochs of 64 images were recorded after the rule's
    for a, b in zip(model.state_dict().values(), stopped_model.state_dict().values(), strict=True):
        assert torch.equal(a, b)  # the model the rule chose, not the one of the last epoch
