"""The answer of ``04_pipelines`` in words: what each pipeline is and which model learns it, from the rows of
``lib.experiments.generality.study`` (or ``results/pipelines.csv``)."""

from lib.core import metrics
from lib.core.fitting import ACCEPT_GRAY
from lib.experiments.generality import smallest_within


def _kind(first: dict) -> str:
    """Linear or not, separable or not, with the residual that decided."""
    if not first["linear"]:
        return f"**not linear** (superposition off by {first['superposition_gray']:.3g} gray levels)"
    if first["separable"]:
        return "linear, row/column separable"
    return f"linear, **not** separable (Kronecker ratio {first['kronecker_ratio']:.2g})"


def pipeline_line(mine: list[dict], pick: dict | None) -> str:
    """One pipeline's bullet from its rows (``mine``, one per model): its output shape and kind, then the smallest
    model within half a gray level (``pick``, :func:`lib.experiments.generality.smallest_within`) with its size,
    worst test pixel, exact share and speed, or, where none is (``pick`` None), the closest model."""
    first = mine[0]
    shape = tuple(int(n) for n in str(first["out_shape"]).split("x"))
    text = f"- `{first['pipeline']}` -> {shape}: {_kind(first)}. "
    if pick is not None:
        return text + (
            f"Smallest model within half a gray level: `{pick['model']}`, {pick['params']:,} parameters, worst "
            f"test pixel {pick['test_max_gray']:.2g} levels, {metrics.percent(pick['exact8_pct'])}% exact "
            f"at 8 bits, {pick['speedup_vs_loop']:.1f}x the pipeline image by image and "
            f"{pick['speedup_vs_batched']:.2f}x batched."
        )
    closest = min(mine, key=lambda r: r["test_max_gray"])
    return text + (
        f"No model reaches half a gray level: the closest, `{closest['model']}`, is "
        f"{closest['test_max_gray']:.3g} levels off at its worst pixel."
    )


def summary(rows: list[dict]) -> str:
    """A bullet per pipeline (:func:`pipeline_line`, in the order of ``rows``), then how many of the linear
    pipelines ``dense``, fitted in closed form, reproduces within ``ACCEPT_GRAY`` gray levels on every test pixel:
    the tolerance a linear family must meet for ``LearnedTransform.fit`` to keep it."""
    picks = smallest_within(rows)
    lines = [pipeline_line([r for r in rows if r["pipeline"] == p], pick) for p, pick in picks.items()]
    linear = [r for r in rows if r["linear"] and r["model"] == "dense"]
    within = sum(r["test_max_gray"] < ACCEPT_GRAY for r in linear)
    lines.append(
        f"\nOf {len(linear)} linear pipelines, `dense` fitted in closed form is within {ACCEPT_GRAY:g} gray levels on "
        f"every test pixel for {within}."
    )
    return "\n".join(lines)
