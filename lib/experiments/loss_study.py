"""The loss study of ``notebooks/02_architectures.ipynb``: the final model's training run repeated with each other
loss, everything else the same (design, random start, Adam and its schedule, images, batch order, stopping rule and
epoch budget), so that the loss is the only difference; the final model's own run (01_train) is the row of its loss.
"""

import pandas as pd

from lib.core import data, metrics, synthetic
from lib.core.train import TrainConfig, build_and_train

# (loss, out-of-range weight) of the runs besides the final model's: weight 1 is the plain summed squared error
OTHER_LOSSES = (("sse", 1.0), ("range_sse", 10.0), ("mse", 1.0), ("l1", 1.0))


def same_data(final, data_dir: str) -> tuple[data.Data, synthetic.TrainingSet]:
    """The images of the final model's run (01_train), rebuilt from its record (``lib.report.records.TrainRecord``):
    its split, its synthetic training images and its held-out images; refused if they come out another size."""
    sizes, seed = final.sizes, final.config["seed"]
    ds = data.prepare(data_dir, n_train=sizes["train"], val_fraction=final.val_fraction, seed=seed,
                      n_test=sizes["test"])  # fmt: skip
    per_family = sizes.get("synthetic_held_out", 0) // len(synthetic.FAMILIES)
    trainset = synthetic.training_set(ds, sizes.get("synthetic_train", 0), final.synthetic_families, per_family, seed)
    if trainset.sizes != sizes:
        raise ValueError(f"the images rebuilt for the loss study ({trainset.sizes}) are not the final run's ({sizes})")
    return ds, trainset


def row(label: str, loss: str, weight: float, history: list[dict], epochs: int, stopped_by: str, seconds: float,
        test: dict) -> dict:  # fmt: skip
    """One row of the loss table: the run's training cost up to the model kept and its test scores."""
    kept = next(h for h in history if h["epoch"] == epochs)
    return {
        "run": label, "loss": loss, "out_of_range_weight": weight, "stopped_by": stopped_by, "epochs": epochs,
        "images": kept["images"], "seconds": seconds, "val_outside_pct_epoch1": history[0].get("val_outside_01_pct"),
        "test_mae_gray": test["mae_gray"], "test_max_gray": test["max_gray"], "exact8_pct": test["exact8_pct"],
        "outside_01_pct": test["outside_01_pct"],
    }  # fmt: skip


def loss_study(
    final, final_test: dict, ds: data.Data, trainset: synthetic.TrainingSet, losses=OTHER_LOSSES
) -> tuple[pd.DataFrame, dict[str, list[dict]]]:
    """The final run's row (its record and ``final_test``, its model's scores on ``ds``'s test images) and a run per
    other (loss, weight) with the final run's configuration otherwise: the table, and each run's history by label."""
    cfg = {k: v for k, v in final.config.items() if k in TrainConfig.__dataclass_fields__}
    cfg["observe_past_rule"] = False
    label = f"{final.config['loss']} (w={final.config['out_of_range_weight']:g}): the final run"
    rows = [row(label, final.config["loss"], final.config["out_of_range_weight"], final.history, final.epochs,
                final.stopped_by, final.train_seconds, final_test)]  # fmt: skip
    histories = {label: final.history[: final.epochs]}
    for loss, weight in losses:
        run_cfg = TrainConfig(**(cfg | {"loss": loss, "out_of_range_weight": weight}))
        net, res = build_and_train(final.model, trainset.x, trainset.y, ds.val_x, ds.val_y, run_cfg,
                                   held_out=trainset.held_out)  # fmt: skip
        label = f"{loss} (w={weight:g})" if loss == "range_sse" else loss
        test = metrics.score_model(net, ds.test_x, ds.test_y)
        rows.append(row(label, loss, weight, res.history, res.epochs, res.stopped_by, res.seconds, test))
        histories[label] = res.history
    return pd.DataFrame(rows), histories
