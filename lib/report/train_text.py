"""The paragraphs of ``notebooks/01_train.ipynb`` that are built from a run's numbers, as functions of
the run's record (``lib.report.records.TrainRecord``, saved as ``results/train_<run>.json``), so they can be
tested."""

from lib.core.metrics import percent
from lib.report.records import TrainRecord

# The assignment's recipe: its design, optimizer, loss, learning rate, batch size and stopping rule
ASSIGNMENT_RECIPE = {"model": "dense", "optimizer": "adam", "lr": 1e-3, "batch_size": 64, "loss": "range_sse",
                     "out_of_range_weight": 2.0, "stopping": "mean", "n_synthetic": 0}  # fmt: skip


TEST = "CIFAR-10 test"  # the fidelity row of the test split; the other rows are synthetic families


def synthetic_extremes(fidelity: list[dict]) -> tuple[dict | None, float | None, int]:
    """From a run's fidelity rows: the synthetic family with the largest error, the lowest exact-8-bit
    share over the families, and how many families there are (None, None, 0 without any)."""
    families = [r for r in fidelity if r["images"] != TEST]
    if not families:
        return None, None, 0
    return max(families, key=lambda r: r["max_gray"]), min(r["exact8_pct"] for r in families), len(families)


def is_assignment_recipe(params: dict, pipeline: str, target: str) -> bool:
    """Whether a run's parameters are the assignment's recipe on the target pipeline."""
    return pipeline == target and all(params.get(k) == v for k, v in ASSIGNMENT_RECIPE.items())


def verdict(res: TrainRecord, recipe: bool = False) -> str:
    """What the run reached, on the test split and on the synthetic families, in a few sentences."""
    how = f"reached the {res.stopping} rule" if res.reached_rule else f"did **not** reach the {res.stopping} rule"
    if not res.reached_rule:
        how += f" (stopped by {res.stopped_by})"
    text = [
        f"`{res.run_name}` (`{res.model}`, {res.n_params:,} parameters, {res.optimizer}) {how} "
        f"after {res.epochs} epoch{'s' if res.epochs != 1 else ''} and {res.train_seconds:.1f} s. On the "
        f"{res.n_test:,} CIFAR-10 test images its mean error is {res.test_mae_gray:.3g} gray levels and its "
        f"largest {res.test_max_gray:.3g}; {percent(100 * res.test_exact8)}% of test pixels round to the same "
        "8-bit value as the pipeline's."
    ]
    worst, lowest, _ = synthetic_extremes(res.fidelity)
    if worst is not None:
        text.append(
            f"On images unlike CIFAR-10 its largest error is {worst['max_gray']:.3g} gray levels (family "
            f"`{worst['images']}`) and the lowest exact-8-bit share {percent(lowest)}%."
        )
    if recipe:
        text.append(
            "This is the assignment's recipe (Adam, lr 1e-3, batch 64, the range-weighted summed squared error, "
            "the mean rule): the baseline, reported with its measured exactness. The mean rule bounds the "
            "*average* error only."
        )
    if res.test_max_gray >= 0.5:
        text.append("Not every test pixel is within half a gray level.")
    return "\n\n".join(text)


def firing_note(history: list[dict], key: str, stopped_by: str, window_epoch: int | None) -> str:
    """Where the run ended, the epoch before, when a three-epoch mean rule would have fired
    (``window_epoch``, None when never) and where the lowest value of ``key`` was."""
    if len(history) < 2:
        return "One step (the closed form): the rule was checked once, on the optimum."
    last, before = history[-1], history[-2]
    best = min(history, key=lambda h: h[key])["epoch"]
    window = f"would have fired at epoch {window_epoch}" if window_epoch else "would not have fired within this run"
    return (
        f"The run ended at epoch {last['epoch']} ({stopped_by}) with `{key}` = {last[key]:.3g} gray levels; "
        f"the epoch before had {before[key]:.3g}. A rule on the mean of the last three epochs {window}; the "
        f"lowest `{key}` was at epoch {best}."
    )
