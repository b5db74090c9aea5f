"""The paragraphs of ``notebooks/01_train.ipynb`` that are built from a run's numbers, as functions of
the run's parameters and record (``lib.report.records.TrainRecord``, saved as ``results/train_<run>.json``), so
that the two runs of the page share one text and differ only where their numbers do."""

import math

from lib.core import synthetic
from lib.core.constants import GRAY_LEVELS
from lib.core.metrics import percent
from lib.core.stopping import first_firing, rule_value, threshold
from lib.report.records import TrainRecord

# The baseline recipe: the minimal design, the summed squared error with out-of-range predictions weighted 2, the
# mean rule (the baseline recipe's), trained by Adam at lr 1e-3 in batches of 64 on CIFAR-10 alone
BASELINE_RECIPE = {"model": "dense", "optimizer": "adam", "lr": 1e-3, "batch_size": 64, "loss": "range_sse",
                   "out_of_range_weight": 2.0, "stopping": "mean", "n_synthetic": 0}  # fmt: skip

TEST = "CIFAR-10 test"  # the fidelity row of the test split
SEEN = "CIFAR-10 training (seen)"  # the fidelity row of training images the model was fitted to
VALIDATION = "validation"  # the fidelity row of the validation images the rule looked at
LOSS_WORDS = {
    "range_sse": "the squared error summed over pixels, predictions outside [0, 1] weighted {w:g}",
    "sse": "the squared error summed over pixels",
    "mse": "the mean squared error",
    "l1": "the absolute error summed over pixels",
}
RULE_WORDS = {
    "mean": "the mean rule (the mean per-image sum of absolute errors below half a gray level per pixel)",
    "strict": "the strict rule (every validation pixel within half a gray level)",
    "tolerance": "the tolerance rule (every validation pixel and every held-out synthetic pixel within {t:g} gray "
    "levels; derived in 02_architectures)",
}


def is_baseline_recipe(params: dict, pipeline: str, target: str) -> bool:
    """Whether a run's parameters are the baseline recipe on the target pipeline."""
    return pipeline == target and all(params.get(k) == v for k, v in BASELINE_RECIPE.items())


def epoch_words(cfg: dict, n_images: int) -> str:
    """What one epoch of this run is, in images and optimizer steps."""
    if cfg["optimizer"] in ("adam", "sgd"):
        steps = math.ceil(n_images / cfg["batch_size"])
        return f"one pass over the {n_images:,} training images: {steps:,} steps of {cfg['batch_size']} images"
    if cfg["optimizer"] == "moments":
        return (f"{cfg['lbfgs_iters']} L-BFGS iterations on the training images' second moments (one pass over the "
                f"{n_images:,} images before the first)")  # fmt: skip
    if cfg["optimizer"] == "lbfgs":
        return f"{cfg['lbfgs_iters']} full-batch L-BFGS iterations, a pass over the {n_images:,} images per evaluation"
    return f"one least-squares solve on the {n_images:,} images"


def setup(run_name: str, role: str, model: str, words: str, n_params: int, cfg: dict, sizes: dict) -> str:
    """This run in one paragraph: what it stands for, its model, data, optimizer, loss, rule and unit of training."""
    n_images = sizes["train"] + sizes.get("synthetic_train", 0)
    data = f"{sizes['train']:,} CIFAR-10 training images" + (
        f" and {sizes['synthetic_train']:,} uniform-noise images" if sizes.get("synthetic_train") else ""
    )
    optimizer = {"adam": "Adam", "sgd": "SGD (momentum 0.9)"}.get(cfg["optimizer"], cfg["optimizer"])
    schedule = f", {cfg['schedule']} schedule over {cfg['max_epochs']} epochs" if cfg["schedule"] != "none" else ""
    held = f" and {sizes['synthetic_held_out']:,} held-out synthetic images" if sizes.get("synthetic_held_out") else ""
    guard = f"patience {cfg['patience']}, " if cfg["patience"] else ""
    return (
        f"**`{run_name}`: {role}.** Model `{model}` ({words}; {n_params:,} parameters), from its random "
        f"initialisation (seed {cfg['seed']}), on {data}. {optimizer}, lr {cfg['lr']:g}{schedule}, minimising "
        f"{LOSS_WORDS[cfg['loss']].format(w=cfg['out_of_range_weight'])}; it stops by "
        f"{RULE_WORDS[cfg['stopping']].format(t=cfg['tolerance_gray'])}, checked after every epoch on "
        f"{sizes['val']:,} validation images{held} ({guard}at most {cfg['max_epochs']} epochs as guards). "
        f"An epoch here is {epoch_words(cfg, n_images)}."
    )


def firing_note(
    history: list[dict], rule: str, tolerance_gray: float, stopped_by: str, epochs: int | None = None
) -> str:
    """Where the run ended (epoch ``epochs``: the model's; by default the history's last) and the epoch before, in the
    rule's own value, when a rule asking the same of the mean over the last three epochs would have fired, and, when
    the history goes on past the rule, that it did."""
    epochs = epochs or len(history)
    if epochs < 2:
        return "One step (the closed form): the rule was checked once, on the optimum."
    limit = threshold(rule, tolerance_gray) * GRAY_LEVELS
    last, before = history[epochs - 1], history[epochs - 2]
    window = first_firing(history, rule, tolerance_gray, window=3)
    later = f"would have fired at epoch {window['epoch']}" if window else "would not have fired within this run"
    text = (
        f"Ended at epoch {last['epoch']} ({stopped_by}, {last['images']:,} images seen, {last['seconds']:.1f} s) "
        f"with the rule's value at {rule_value(last, rule):.3g} gray levels against {limit:g}; the epoch before had "
        f"{rule_value(before, rule):.3g}. The same rule on the mean of the last three epochs {later}."
    )
    if len(history) > epochs:
        text += (
            f" Training went on to epoch {history[-1]['epoch']} only to record what a tighter threshold would cost "
            f"(02_architectures); the model kept is epoch {last['epoch']}'s."
        )
    return text


def gap_text(fidelity: list[dict]) -> str:
    """Overfitting, from the fidelity rows: the errors on training images seen, validation and test images."""
    rows = {r["images"]: r for r in fidelity}
    if not {SEEN, VALIDATION, TEST} <= set(rows):
        return ""
    seen, val, test = rows[SEEN], rows[VALIDATION], rows[TEST]
    return (
        f"Seen against unseen: mean error {seen['mae_gray']:.3g} gray levels on training images, {val['mae_gray']:.3g} "
        f"on validation and {test['mae_gray']:.3g} on test images (largest {seen['max_gray']:.3g}, "
        f"{val['max_gray']:.3g}, {test['max_gray']:.3g}): a test/training ratio of "
        f"{test['mae_gray'] / seen['mae_gray']:.2f} in mean error."
    )


def synthetic_extremes(fidelity: list[dict]) -> tuple[dict | None, float | None, int]:
    """From a run's fidelity rows: the synthetic family with the largest error, the lowest exact-8-bit
    share over the families, and how many families there are (None, None, 0 without any)."""
    families = [r for r in fidelity if r["images"] in synthetic.FAMILIES]
    if not families:
        return None, None, 0
    return max(families, key=lambda r: r["max_gray"]), min(r["exact8_pct"] for r in families), len(families)


def verdict(res: TrainRecord, recipe: bool = False) -> str:
    """What the run reached, on the test split and on the synthetic families, in a few sentences."""
    how = f"reached the {res.stopping} rule" if res.reached_rule else f"did **not** reach the {res.stopping} rule"
    if not res.reached_rule:
        how += f" (stopped by {res.stopped_by})"
    row = next((h for h in res.history if h["epoch"] == res.epochs), {})  # the epoch of the model kept
    images = row.get("images")
    seen = f", {images:,} images seen," if images else ""
    text = [
        f"`{res.run_name}` {how} after {res.epochs} epoch{'s' if res.epochs != 1 else ''}{seen} in "
        f"{res.train_seconds:.1f} s. On the {res.n_test:,} test images: mean error {res.test_mae_gray:.3g}, largest "
        f"{res.test_max_gray:.3g} gray levels, {percent(100 * res.test_exact8)}% exact 8-bit."
    ]
    worst, lowest, _ = synthetic_extremes(res.fidelity)
    if worst is not None:
        text.append(
            f"On images unlike CIFAR-10 the largest error is {worst['max_gray']:.3g} gray levels "
            f"(`{worst['images']}`), the lowest exact-8-bit share {percent(lowest)}%."
        )
    if recipe:
        text.append("This is the baseline recipe: the mean rule bounds the *average* error only.")
    return " ".join(text)
