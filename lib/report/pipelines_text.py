"""The answer of ``04_pipelines``: what each pipeline is and which model learns it, as a table and in words, from the
rows of ``lib.experiments.generality.study`` (or ``results/pipelines.csv``)."""

from lib.core import metrics
from lib.core.fitting import ACCEPT_GRAY
from lib.experiments.generality import smallest_within


def kind(first: dict) -> str:
    """Linear or not, separable or not, with the residual that decided."""
    if not first["linear"]:
        return f"not linear (superposition {first['superposition_gray']:.2g} gray)"
    if first["separable"]:
        return "linear, separable"
    return f"linear, not separable (Kronecker ratio {first['kronecker_ratio']:.2g})"


def answer(rows: list[dict]) -> list[dict]:
    """One row per pipeline (in the order of ``rows``): its output shape and kind, and the smallest model within half a
    gray level (:func:`lib.experiments.generality.smallest_within`) with its numbers, worst test pixel, exact share and
    fit seconds; where none is, the closest model and its error. (The rows' speeds are 04's quick eager measure, kept
    in ``results/pipelines.csv``; the benchmark of the target pipeline is 03's.)"""
    out = []
    for pipeline, pick in smallest_within(rows).items():
        mine = [r for r in rows if r["pipeline"] == pipeline]
        row = {"pipeline": pipeline, "output": mine[0]["out_shape"], "kind": kind(mine[0])}
        if pick is None:
            closest = min(mine, key=lambda r: r["test_max_gray"])
            out.append({**row, "smallest model within ½ level": f"none (closest: {closest['model']})",
                        "worst (gray)": f"{closest['test_max_gray']:.2g}"})  # fmt: skip
            continue
        out.append({
            **row, "smallest model within ½ level": pick["model"], "numbers": f"{int(pick['params']):,}",
            "worst (gray)": f"{pick['test_max_gray']:.2g}", "exact 8-bit": metrics.percent_sign(pick["exact8_pct"]),
            "fit s": f"{pick['fit_s']:.2f}",
        })  # fmt: skip
    return out


def refusal(message: str) -> str:
    """The reason in a ``lib.core.fitting.Refused`` message: the sentence after its first (which names the pipeline
    and its shape), without the list of what was tried; the first sentence where there is no other."""
    head = message.split(" Tried:")[0]
    sentences = head.split(". ")
    reason = (sentences[-1] if len(sentences) > 1 else head).rstrip(".") + "."
    return reason[0].lower() + reason[1:]


def summary(rows: list[dict], refused: dict[str, str]) -> str:
    """How many pipelines a model reproduces within half a gray level and at what size and fit time; how the baseline
    recipe's design (``dense``) does on the linear and the non-linear ones; what ``LearnedTransform.fit`` refused."""
    picks = smallest_within(rows)
    ok = [p for p in picks.values() if p is not None]
    dense = [r for r in rows if r["model"] == "dense"]
    linear = [r for r in dense if r["linear"]]
    within = sum(r["test_max_gray"] < ACCEPT_GRAY for r in linear)
    text = (
        f"{len(ok)} of {len(picks)} pipelines are reproduced within half a gray level on every test pixel"
        + (f", each by a model of at most {max(int(p['params']) for p in ok):,} numbers fitted in at most "
           f"{max(p['fit_s'] for p in ok):.2g} s" if ok else "")
        + f". `dense`, the baseline recipe's design, is within {ACCEPT_GRAY:g} gray levels on {within} of the "
        f"{len(linear)} linear pipelines"
    )  # fmt: skip
    curved = [r for r in dense if not r["linear"]]
    if curved:
        text += f" and at best {min(r['test_max_gray'] for r in curved):.3g} gray levels off on the non-linear ones"
    text += "."
    for pipeline, message in refused.items():
        text += f" `LearnedTransform.fit` refuses `{pipeline}`: {refusal(message)}"
    return text
