"""The prose of ``notebooks/02_architectures.ipynb``, built from the tables of ``lib.experiments.designs``.

Each function takes the tables it speaks of (read by row and column name, never by position) and returns
Markdown; ``conclusions`` puts them together. Numbers are rounded as the notebook's tables show them
(``{:.3g}`` for errors in gray levels), so that a number in the text is the number in its table.
"""

from dataclasses import dataclass

import pandas as pd

from lib.core.metrics import percent

REASONS = {  # properties of a loss that can stop full-batch L-BFGS short of its minimum (not results)
    "range_sse": "the assignment's loss jumps where a prediction crosses 0 or 1 (its weight changes there), "
    "while L-BFGS's line search assumes a smooth loss",
    "mse": "the mean over every pixel is the summed loss divided by their number, a value so small that torch's "
    "L-BFGS, whose stopping thresholds and curvature test are absolute, can take it for converged early",
    "l1": "the absolute error has a kink at zero error, where L-BFGS's curvature model does not hold",
    "sse": "",
}


def _g(value: float) -> str:
    """An error in gray levels as the tables show it."""
    return f"{value:.3g}"


def _names(items: list[str]) -> str:
    quoted = [f"`{i}`" for i in items]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _reached(stopped_by: str) -> bool:
    return str(stopped_by).endswith("_rule")


def loss_text(losses: pd.DataFrame, check: pd.DataFrame, optimum: str, iterations: int, images: str) -> str:
    """What the loss study shows: which losses reached the tolerance rule within the same budget, and whether
    the exact map (``optimum``) is lower than each run's end by that loss's own measure.

    ``losses``: the rows of ``loss_study.loss_study`` for one model (columns ``loss``, ``stopped_by``,
    ``epochs``, ``test_max_gray``, ``exact8_pct``); ``check``: ``loss_study.own_loss_check`` (index ``loss``,
    column ``end / optimum``); ``iterations``: the budget's cap; ``images``: the training images in words."""
    rows = losses.set_index("loss")
    reached = [loss for loss, r in rows.iterrows() if _reached(r["stopped_by"])]
    missed = [loss for loss in rows.index if loss not in reached]
    model = rows["model"].iloc[0]
    parts = [
        f"Every loss trained `{model}` from the same initial weights by full-batch L-BFGS on the same images "
        f"({images}), with the same budget of at most {iterations:,} iterations."
    ]
    if reached:
        parts.append(
            f"{_names(reached)} reached the tolerance rule: largest test error "
            + ", ".join(f"{_g(rows.loc[loss, 'test_max_gray'])} gray levels (`{loss}`)" for loss in reached)
            + "."
        )
    if missed:
        parts.append(
            f"{_names(missed)} did not within the budget: largest test error "
            + ", ".join(
                f"{_g(rows.loc[loss, 'test_max_gray'])} gray levels, "
                f"{percent(rows.loc[loss, 'exact8_pct'])}% exact 8-bit (`{loss}`)"
                for loss in missed
            )
            + "."
        )
    higher = [loss for loss in check.index if check.loc[loss, "end / optimum"] > 1]
    lower = [loss for loss in check.index if loss not in higher]
    if higher:
        parts.append(
            f"By its own measure, each of {_names(higher)} is lower at {optimum} than where its run ended ("
            + ", ".join(f"{check.loc[loss, 'end / optimum']:.3g}x lower for `{loss}`" for loss in higher)
            + "): the exact map is a minimum of every one of these losses (each is zero exactly when every error "
            "is), and a run that ends above it had not reached it."
        )
    if lower:
        parts.append(
            f"{_names(lower)} ended at or below {optimum}'s value of its own loss: a minimum at least as low "
            "by its own measure."
        )
    why = [f"`{loss}`: {REASONS[loss]}" for loss in missed if REASONS.get(loss)]
    if why:
        parts.append("What can stop the optimizer short of that minimum (the loss's shape, not its minimum): "
                     + "; ".join(why) + ".")  # fmt: skip
    return " ".join(parts)


def out_of_range_text(oor: pd.DataFrame, optimum: str) -> str:
    """The out-of-range weight's effect, from ``loss_study.out_of_range_study`` (index ``run``: "weight W"
    rows and the ``optimum`` row)."""
    weights = oor.drop(index=optimum, errors="ignore")
    parts = [
        "Test predictions outside [0, 1], how far out at worst, and the largest test error: "
        + "; ".join(
            f"{row['outside_pct']:.3f}%, {_g(row['max_overshoot_gray'])} and {_g(row['test_max_gray'])} gray levels "
            f"with {run}{'' if _reached(row['stopped_by']) else ' (rule not reached)'}"
            for run, row in weights.iterrows()
        )
        + "."
    ]
    if optimum in oor.index:
        o = oor.loc[optimum]
        parts.append(
            f"At the exact map ({optimum}) {o['outside_pct']:.3f}% of test predictions leave [0, 1], by at most "
            f"{_g(o['max_overshoot_gray'])} gray levels: the out-of-range weight multiplies almost nothing there, so "
            "at convergence it cannot change where a model that holds the pipeline ends; before convergence it "
            "changes only the path."
        )
    return " ".join(parts)


def conv_text(conv: pd.DataFrame, arch: pd.DataFrame) -> str:
    """Why a convolution cannot flip, from ``designs.conv_control`` and the design table."""
    best = conv.loc["conv5 (closed form: the best 5x5 kernel)"]
    adam = conv.loc["conv5 (Adam)"]
    return (
        f"The best single 5x5 kernel (closed form) is off by {_g(best['with flips: mean |err| (gray)'])} gray levels "
        f"on average ({_g(best['with flips: max |err| (gray)'])} at worst) on the flipped target and "
        f"{_g(best['without flips: mean |err| (gray)'])} ({_g(best['without flips: max |err| (gray)'])} at worst) "
        f"without the flips: no local window can express a flip. Adam with the same budget gets `conv5` to "
        f"{_g(adam['with flips: mean |err| (gray)'])} and {_g(adam['without flips: mean |err| (gray)'])} (`conv3`, "
        f"two 3x3 layers with the same 5x5 reach, to {_g(arch.loc['conv3', 'test_mae_gray'])} with the flips). The "
        "largest errors without flips come from where one kernel cannot follow the resize's drifting sampling phase "
        "and from the borders, which a valid convolution never sees whole."
    )


@dataclass
class Findings:
    """The tables and numbers the conclusions speak of, as the notebook computed them."""

    arch: pd.DataFrame  # designs.compare_designs + exact_routes + the exact row, index "model"
    losses: pd.DataFrame  # loss_study.loss_study for the final model
    loss_check: pd.DataFrame  # loss_study.own_loss_check
    oor: pd.DataFrame  # loss_study.out_of_range_study
    conv: pd.DataFrame  # designs.conv_control
    spectrum: pd.DataFrame  # designs.channel_spectrum
    gen_max: pd.DataFrame  # designs.generalisation (largest error), rows by model, columns by image set
    gray: dict[str, list[float]]  # grayscale mixes scaled to sum 1: "pipeline", "dense (Adam)", "dense (closed form)"
    firings: str  # lib.core.stopping.firing_text of the moment-trained separable (+ noise)
    optimum: str  # the closed-form label the loss study is checked against
    loss_iterations: int  # the loss study's iteration cap
    loss_images: str  # the loss study's training images, in words
    max_epochs: int  # the Adam budget
    n_train: int  # CIFAR-10 training images of the designs
    n_noise: int  # noise images of the exact routes
    lbfgs_iters: int  # L-BFGS iterations per epoch of the moment-trained routes
    minutes: float  # the notebook's run time


def minimal_text(arch: pd.DataFrame) -> str:
    """The end of the design study: ``separable``'s fit kept on its support (``banded``), from the design table."""
    b, s = arch.loc["banded (closed form)"], arch.loc["separable (closed form)"]
    return (
        f"**The floor.** Kept on the entries its resize uses, the separable fit is `banded`: {int(b['params']):,} "
        f"parameters instead of {int(s['params']):,}, {b['mflops'] * 1e3:.1f} thousand FLOPs an image instead of "
        f"{s['mflops'] * 1e3:.0f} thousand, and {_g(b['test_max_gray'])} gray levels largest test error "
        f"({percent(b['exact8_pct'])}% exact 8-bit; `separable`: {_g(s['test_max_gray'])}). Each output pixel of an "
        "antialiased resize reads only the input pixels under its filter, 2 or 3 a row and a column here, so no "
        "model of this structure with fewer entries holds the pipeline: the filter's support is the floor."
    )


def conclusions(f: Findings) -> str:
    """The notebook's conclusions, one paragraph per question."""
    r = f.arch.loc
    best_learned = f.arch.drop(index=["exact"])["test_max_gray"].idxmin()
    off = [c for c in f.gen_max.columns if c != "CIFAR-10 test"]
    gen = lambda label: _g(f.gen_max.loc[label, off].max())  # noqa: E731
    mix = lambda name, digits: ", ".join(f"{v:.{digits}f}" for v in f.gray[name])  # noqa: E731
    moments, iterative = "separable (moments)", "separable (moments + noise)"
    dense_cf, sep_cf = "dense (closed form)", "separable (closed form)"
    text = [
        f"**Exact operator.** Probed from the pipeline, it matches it on every test pixel to within "
        f"{_g(r['exact', 'test_max_gray'])} gray levels, with {r['exact', 'mflops']:.3f} MFLOPs per image and no "
        "parameters to learn.",
        f"**Designs.** With the same {f.max_epochs}-epoch Adam budget on {f.n_train:,} images (a ranking of "
        f"convergence speed, not of what each design can represent): `dense` reaches "
        f"{_g(r['dense', 'test_mae_gray'])} gray levels mean error ({percent(r['dense', 'exact8_pct'])}% exact 8-bit), "
        f"`fc_large` {_g(r['fc_large', 'test_mae_gray'])} with {r['fc_large', 'params']:,} parameters, "
        f"`separable` {_g(r['separable', 'test_mae_gray'])} with {r['separable', 'params']:,}. The convolution-only "
        f"models stay at {_g(r['conv3', 'test_mae_gray'])} (`conv3`) and {_g(r['conv5', 'test_mae_gray'])} (`conv5`) "
        f"gray levels, and even `conv5`'s optimum at {_g(r['conv5 (closed form)', 'test_mae_gray'])}: they cannot "
        f"flip. Trained by L-BFGS on the second moments of CIFAR-10 alone, `separable` reaches "
        f"{_g(r[moments, 'test_max_gray'])} gray levels max error and {percent(r[moments, 'exact8_pct'])}% exact "
        f"8-bit in {r[moments, 'seconds']:.0f} s. "
        f"Lowest max error among models fitted to data: `{best_learned}`.",
        f"**Output constraints.** Test pixels outside [0, 1]: `dense` {r['dense', 'outside_01_pct']:.3f}%, with "
        f"sigmoid {r['dense+sigmoid', 'outside_01_pct']:.3f}%, with clamp {r['dense+clamp', 'outside_01_pct']:.3f}%; "
        f"mean errors {_g(r['dense', 'test_mae_gray'])}, {_g(r['dense+sigmoid', 'test_mae_gray'])} and "
        f"{_g(r['dense+clamp', 'test_mae_gray'])} gray levels.",
        "**Loss at convergence.** " + loss_text(f.losses, f.loss_check, f.optimum, f.loss_iterations, f.loss_images),
        "**Out-of-range weight.** " + out_of_range_text(f.oor, f.optimum),
        f"**Gray weights.** The training images' colour covariance has variance "
        f"{f.spectrum.loc['largest', 'variance']:.3g} along its first direction and "
        f"{f.spectrum.loc['smallest', 'variance']:.3g} along its last: photographs barely constrain the gray mix "
        f"along the small directions, so `dense` (Adam) learns {mix('dense (Adam)', 2)} against the pipeline's "
        f"{mix('pipeline', 2)}; at its optimum `dense` (closed form) learns {mix('dense (closed form)', 4)}.",
        f"**Stopping.** On the moment-trained `separable` (+ noise), {f.firings}",
        f"**Exact fits.** On {f.n_train:,} CIFAR-10 images plus {f.n_noise:,} noise images, one least-squares solve "
        f"gives `dense` {_g(r[dense_cf, 'test_max_gray'])} and `separable` {_g(r[sep_cf, 'test_max_gray'])} gray "
        f"levels largest test error ({percent(r[dense_cf, 'exact8_pct'])}% and {percent(r[sep_cf, 'exact8_pct'])}% "
        f"exact 8-bit) in {r[dense_cf, 'seconds']:.1f} and {r[sep_cf, 'seconds']:.1f} s; "
        f"the iterative route (L-BFGS on moments, same images, tolerance rule) took {r[iterative, 'seconds']:.1f} s "
        f"over {r[iterative, 'epochs']} epochs of {f.lbfgs_iters} iterations to reach "
        f"{_g(r[iterative, 'test_max_gray'])} gray levels ({r[iterative, 'stopped_by']}).",
        *([minimal_text(f.arch)] if "banded (closed form)" in f.arch.index else []),
        f"**Generalisation.** Largest error off CIFAR-10 (any synthetic family): trained on CIFAR-10 alone, "
        f"`separable` (moments) {gen('separable (moments) on CIFAR')} gray levels; with noise added, "
        f"{gen('separable (moments) on CIFAR + noise')} (iterative) and "
        f"{gen('separable (closed form) on CIFAR + noise')} (closed form); `dense` in closed form "
        f"{gen('dense (closed form) on CIFAR + noise')}.",
        "**Convolutions.** " + conv_text(f.conv, f.arch),
        f"This notebook ran in {f.minutes:.1f} minutes.",
    ]
    return "\n\n".join(text)
