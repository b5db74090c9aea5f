"""The prose of ``notebooks/02_architectures.ipynb``, built from its tables.

Each function takes the tables it speaks of (read by row and column name, never by position) and returns
Markdown. Numbers are rounded as the tables show them (``{:.3g}`` for errors in gray levels), so that a number in
the text is the number in its table.
"""

import pandas as pd

from lib.core.metrics import percent


def _g(value: float) -> str:
    """An error in gray levels as the tables show it."""
    return f"{value:.3g}"


def _reached(stopped_by: str) -> bool:
    return str(stopped_by).endswith("_rule")


def designs_text(arch: pd.DataFrame, final: str, max_epochs: int, n_train: int) -> str:
    """What the design table shows: the short equal budget ranks how fast each design learns, the closed forms
    say which can hold the pipeline, and the final run what gradient training reaches."""
    r = arch.loc
    adam = arch[arch["trainer"] == "adam"]
    fastest = adam["test_mae_gray"].idxmin()
    f, b = r[final], r["banded (closed form)"]
    capped = int((adam["stopped_by"] == "max_epochs").sum())
    cap = "every design stops" if capped == len(adam) else f"{capped} of {len(adam)} designs stop"
    return (
        f"With {max_epochs} Adam epochs on {n_train:,} images {cap} at the epoch cap; the ranking is "
        f"one of learning speed: `{fastest}` is closest ({_g(r[fastest, 'test_mae_gray'])} gray levels mean error). "
        f"Which designs can *be* the pipeline is answered by their least-squares optimum: `dense`, `fc_large` and "
        f"`separable` hold it (largest test error {_g(r['dense (closed form)', 'test_max_gray'])}, "
        f"{_g(r['fc_large (closed form)', 'test_max_gray'])}, {_g(r['separable (closed form)', 'test_max_gray'])}), "
        f"and `banded` does with {int(b['params']):,} parameters ({_g(b['test_max_gray'])}); `conv5`'s best kernel "
        f"stays {_g(r['conv5 (closed form)', 'test_mae_gray'])} gray levels off on average (below). The final "
        f"model, `separable` trained by Adam from a random start (01), reaches {_g(f['test_max_gray'])} at worst "
        f"and {percent(f['exact8_pct'])}% exact 8-bit in {f['epochs']:.0f} epochs and {f['seconds']:.0f} s."
    )


def loss_text(losses: pd.DataFrame) -> str:
    """What the loss study shows: which losses met the rule within the budget, how fast, and what the
    out-of-range weight did."""
    rows = losses.set_index("run")
    reached = rows[rows["stopped_by"].map(_reached)]
    missed = rows[~rows["stopped_by"].map(_reached)]
    parts = []
    if len(reached):
        parts.append(
            "Met the rule within the budget: "
            + ", ".join(f"`{run}` at epoch {r['epochs']:.0f} ({r['seconds']:.0f} s)" for run, r in reached.iterrows())
            + "."
        )
    if len(missed):
        parts.append(
            "Not within it: "
            + ", ".join(
                f"`{run}` (largest test error {_g(r['test_max_gray'])} gray levels after {r['epochs']:.0f} epochs)"
                for run, r in missed.iterrows()
            )  # fmt: skip
            + "."
        )
    weighted = rows[rows["loss"].isin(["range_sse", "sse"])].sort_values("out_of_range_weight")
    if len(weighted) > 1:
        low, high = weighted.iloc[0], weighted.iloc[-1]
        parts.append(
            f"The out-of-range weight acts only on predictions outside [0, 1]: {_g(low['val_outside_pct_epoch1'])}% "
            f"of validation pixels after the first epoch at weight {low['out_of_range_weight']:g}, "
            f"{_g(high['val_outside_pct_epoch1'])}% at weight {high['out_of_range_weight']:g}; at the end "
            f"{_g(low['outside_01_pct'])}% and {_g(high['outside_01_pct'])}% of test pixels."
        )
        if high["test_max_gray"] > low["test_max_gray"]:
            parts.append(
                "Adam divides every step by the running size of its gradients, so the larger gradients of those pixels "
                f"at weight {high['out_of_range_weight']:g} shrink the steps taken on all the others: within the same "
                f"schedule it ends {_g(high['test_max_gray'])} gray levels off at worst against "
                f"{_g(low['test_max_gray'])}."
            )
    return " ".join(parts)


def _cost(rule: str, r: pd.Series) -> str:
    if r["epoch"] != r["epoch"]:  # NaN: never met
        return f"{rule}: not met within the budget"
    return f"{rule}: epoch {r['epoch']:.0f}, {r['wrong_level_pct']:.3g}% wrong"


def threshold_text(boundary: pd.DataFrame, check: pd.DataFrame, costs: pd.DataFrame, derived: float | None,
                   used: float) -> str:  # fmt: skip
    """The threshold's derivation, from the boundary table, the rounding check and one run's costs."""
    at = boundary.set_index("within (gray levels)")["pixels (%)"]
    c = costs.set_index("rule")
    budget, mean = c.loc["whole budget"], c.loc["mean (the baseline recipe's)"]
    checks = "; ".join(
        f"{r['run']}: {r['predicted wrong 8-bit (%)']:.3g}% predicted, {r['measured wrong 8-bit (%)']:.3g}% measured"
        for _, r in check.iterrows()
    )
    near = (
        f"{at[used]:.3g}% of the pipeline's test pixels lie within {used:g} gray levels of a boundary "
        if used in at
        else ""
    )
    fired = (
        f"would fire at epoch {mean['epoch']:.0f} with {mean['wrong_level_pct']:.3g}% of validation pixels on a wrong "
        "level"
        if mean["epoch"] == mean["epoch"]  # NaN: never met
        else "never fires"
    )
    text = [
        f"{near}(about 2t), so the share of wrong 8-bit pixels should follow the mean error: {checks}.",
        f"On the final run the baseline recipe's mean rule {fired}; the whole budget ({budget['epoch']:.0f} epochs) "
        f"ends at {budget['wrong_level_pct']:.3g}%.",
    ]
    if derived is None:
        text.append("No tolerance reached that floor within the run.")
        return " ".join(text)
    row = c.loc[f"tolerance {derived:g}"]
    others = [
        _cost(rule, r) for rule, r in c.iterrows() if rule.startswith("tolerance") and rule != f"tolerance {derived:g}"
    ]
    text.append(
        f"The loosest tolerance whose rule fires on that floor (the rest of the budget changes fewer than one pixel in "
        f"100,000) is **{derived:g} gray levels** "
        f"(epoch {row['epoch']:.0f}, {row['images']:,.0f} images seen, {row['seconds']:.0f} s, "
        f"{row['wrong_level_pct']:.3g}% wrong); " + "; ".join(others) + "."
    )
    if derived != used:
        text.append(f"The final run stopped by {used:g}.")
    return " ".join(text)


def conv_text(conv: pd.DataFrame, arch: pd.DataFrame) -> str:
    """Why a convolution cannot flip, from ``designs.conv_control`` and the design table."""
    best = conv.loc["conv5 (closed form: the best 5x5 kernel)"]
    adam = conv.loc["conv5 (Adam)"]
    return (
        f"The best single 5x5 kernel (closed form) is off by {_g(best['with flips: mean |err| (gray)'])} gray levels "
        f"on average on the flipped target and {_g(best['without flips: mean |err| (gray)'])} without the flips; "
        f"Adam gets `conv5` to {_g(adam['with flips: mean |err| (gray)'])} and "
        f"{_g(adam['without flips: mean |err| (gray)'])} (`conv3`, two 3x3 layers with the same reach: "
        f"{_g(arch.loc['conv3', 'test_mae_gray'])} with the flips). A flip moves a pixel up to 31 places; no local "
        "window reaches that far."
    )
