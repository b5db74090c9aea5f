"""Small hand-made results for the report's unit tests."""

from lib.report.records import TrainRecord

FIDELITY = [
    {"images": "CIFAR-10 test", "n": 10000, "mae_gray": 0.000192, "max_gray": 0.0034, "exact8_pct": 99.998},
    {"images": "noise", "n": 1000, "mae_gray": 0.0004, "max_gray": 0.0051, "exact8_pct": 99.97},
    {"images": "extremes", "n": 1000, "mae_gray": 0.0001, "max_gray": 0.0002, "exact8_pct": 99.999},
]  # fmt: skip


def make_record(**over) -> TrainRecord:
    """The record of a final-model run (separable, moments, tolerance rule met after 12 epochs); ``over``
    replaces any field."""
    fields = dict(
        run_name="separable", pipeline="resize(28,28) | grayscale | hflip | vflip", out_shape=[1, 28, 28],
        model="separable", optimizer="moments", output_constraint="none", n_params=1796, epochs=12,
        train_seconds=41.26, stopped_by="tolerance_rule", stopping="tolerance", tolerance_gray=0.01,
        loss_minimised="sse", n_test=10000, test_mae_px=0.000192 / 255, test_mae_gray=0.000192,
        test_max_abs=0.0034 / 255, test_max_gray=0.0034, test_exact8=0.99998, test_psnr_db=float("inf"),
        test_outside_01_pct=0.005, fidelity=FIDELITY, threshold=0.01 / 255, threshold_unit="max |error| per pixel",
        data_source="folder: ../shared/data/cifar10-jpeg", sizes={"train": 45000, "val": 5000, "test": 10000},
        synthetic_families=["noise"], device="cpu", config={"lbfgs_iters": 20}, history=[],
    )  # fmt: skip
    return TrainRecord(**(fields | over))


def history_row(epoch: int, max_gray: float, held: float, exact: float) -> dict:
    """One epoch of a training history (``lib.core.train``): 10 images and a second an epoch, the mean error a 40th
    of the largest."""
    return {"epoch": epoch, "images": 10 * epoch, "seconds": float(epoch), "val_mae_gray": max_gray / 40,
            "val_max_gray": max_gray, "held_out_max_gray": held, "val_exact8": exact}  # fmt: skip
