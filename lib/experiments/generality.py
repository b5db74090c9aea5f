"""Which pipelines a tiny network can learn: the study behind ``04_pipelines``.

For each pipeline (a ``lib.core.spec`` string) the probe decides linearity and separability (``lib.core.classify``),
then candidate models are fitted and scored on test images:

- ``dense`` (the baseline recipe's design) and, for linear pipelines, ``separable``: least squares on training
  images plus noise images, each the nearest map of its structure to one least-squares fit;
- the closed form ``LearnedTransform.fit`` reads off the pipeline by probing it (lib.core.fitting): the smallest of
  its families (``banded``, ``permuted banded``, ``table + banded``, ``banded + curve``...) that reproduces it, or a
  refusal with the reason;
- where it refuses a non-linear pipeline, ``separable + curve``: a point-wise step after the linear ones is read off
  the pipeline's response to constant images, folds included, and the map is fitted where that response is monotone
  (:func:`fit_separable_then_curve`).

The candidates are the ``candidate`` column of the rows; the ``model`` column names the model (the closed form's
with its family: ``banded (closed form)``, ``table + banded (closed form)``...).
"""

import time

import torch
from torch import nn

from lib.core import fit, metrics, models
from lib.core.classify import classify
from lib.core.cost import cpu_seconds
from lib.core.curves import ThenCurve, constant_levels, longest_monotone, read_curve
from lib.core.pipeline import make_targets
from lib.core.spec import parse
from lib.experiments.user_pipelines import closed_form
from lib.progress import bar as tqdm
from lib.timing import measure

BOUNDARY_GRAY = 0.001  # targets this close to an 8-bit rounding boundary flip with any float error
CLOSED_FORM = "LearnedTransform.fit"  # the candidate column of the closed form's rows
CANDIDATES = ("dense", "separable", "separable + curve", CLOSED_FORM)  # every candidate, in the figure's order
MIN_BRANCH = 0.1  # the monotone stretch of the response that fits the map must span at least this much of [0, 1]


@torch.no_grad()
def fit_separable_then_curve(x, out_shape, pipeline, levels: int = 1024, margin: float = 0.05) -> ThenCurve | None:
    """``separable + curve`` for a pipeline that ends with a point-wise step after its linear ones. A resize,
    crop or grayscale keeps a constant image constant, so the pipeline's response to constant images is the
    step itself. The map is fitted where that step can be inverted: the training images are squeezed into
    the longest stretch of levels over which the response is monotone (all of [0, 1] for gamma; below the
    threshold for a fold such as solarize), the pipeline's own output on them is mapped back through the
    response, and ``separable`` is fitted to that in closed form. The curve is then the response itself, read at
    the knots it needs (:func:`read_curve`), folds included. None where no monotone stretch spans ``MIN_BRANCH``."""
    in_shape = tuple(x.shape[1:])
    grid = torch.linspace(0, 1, levels, dtype=torch.float64)
    r = constant_levels(pipeline, grid, in_shape)
    first, last, sign = longest_monotone(r)
    if grid[last] - grid[first] < MIN_BRANCH:
        return None
    lo, hi = grid[first].item(), grid[last].item()
    squeezed = lo + (hi - lo) * (margin + (1 - 2 * margin) * x)
    branch, rs = grid[first : last + 1], (r[first : last + 1] * sign).contiguous()  # float64: strictly increasing
    ys = (pipeline(squeezed).double() * sign).clamp(rs[0], rs[-1])
    i = torch.searchsorted(rs, ys.contiguous()).clamp(1, len(rs) - 1)
    below, above = rs[i - 1], rs[i]
    z = (branch[i - 1] + (ys - below) / (above - below) * (branch[i] - branch[i - 1])).float()
    linear = models.build("separable", out_shape=out_shape, in_shape=in_shape)
    fit.fit_model(linear, squeezed, z)  # the step inverted, level by level, on its monotone stretch
    return ThenCurve(linear, read_curve(pipeline, in_shape)).eval()


def _least_squares(spec, found, x, y) -> dict[str, tuple[str, nn.Module, float, int]]:
    """{candidate: (model name, model, seconds to fit, numbers)} of ``dense`` and, for a linear pipeline,
    ``separable``."""
    fitted = {}
    start = time.perf_counter()
    linear_fit = fit.linear_lstsq(x.flatten(1), y.flatten(1))
    shared_s = time.perf_counter() - start  # one least squares serves dense and separable
    for name in ("dense", "separable") if found.linear else ("dense",):
        start = time.perf_counter()
        model = models.build(name, out_shape=spec.out_shape)
        fit.set_from_fit(model, linear_fit, spec.out_shape)
        fitted[name] = (name, model.eval(), shared_s + time.perf_counter() - start, models.n_params(model))
    return fitted


def _curve_after(spec, x) -> tuple[str, nn.Module, float, int] | None:
    """(model name, model, seconds, numbers) of ``separable + curve``, or None where no monotone stretch serves."""
    start = time.perf_counter()
    after = fit_separable_then_curve(x, spec.out_shape, spec)
    if after is None:
        return None
    return "separable + curve", after, time.perf_counter() - start, sum(p.numel() for p in after.parameters())


def study(
    pipelines: list[str], train_x: torch.Tensor, test_x: torch.Tensor, n_time: int = 1000, repeats: int = 3,
    progress: bool = True,
) -> tuple[list[dict], dict, dict[str, str]]:  # fmt: skip
    """One row per pipeline and candidate: the probe's decision and residuals, the model's numbers, fit seconds, its
    error on ``test_x`` and its eager speed against the pipeline image by image and batched on ``n_time`` test images.
    Also {pipeline: {model name: fitted model}} for figures, and {pipeline: why LearnedTransform.fit refused it}."""
    rows, fitted_all, refused = [], {}, {}
    timed = test_x[:n_time]
    for text in tqdm(pipelines, desc="pipelines", unit="pipeline", disable=not progress):
        spec = parse(text)
        found = classify(spec)
        y, ty = make_targets(train_x, transform=spec), make_targets(test_x, transform=spec)
        fitted = _least_squares(spec, found, train_x, y)
        closed, why = closed_form(spec, train_x[:8])
        if closed is None:
            refused[spec.text] = why
            if not found.linear and (after := _curve_after(spec, train_x)) is not None:  # a step after the map
                fitted["separable + curve"] = after
        else:
            fitted[CLOSED_FORM] = closed
        fitted_all[spec.text] = {name: m for name, m, _, _ in fitted.values()}
        loop_s = measure(lambda s=spec: [s(img) for img in timed], repeats=repeats).median
        batched_s = measure(lambda s=spec: s(timed), repeats=repeats).median
        boundary = 100 * metrics.boundary_share(ty, BOUNDARY_GRAY)
        for candidate, (name, model, fit_s, numbers) in fitted.items():
            m = metrics.score_model(model, test_x, ty)
            model_s = cpu_seconds(model, timed, repeats=repeats, chunk=1024)
            rows.append({
                "pipeline": spec.text, "out_shape": "x".join(map(str, spec.out_shape)), **found.row(),
                "candidate": candidate, "model": name, "params": numbers, "fit_s": fit_s,
                "test_max_gray": m["max_gray"], "test_mae_gray": m["mae_gray"], "exact8_pct": m["exact8_pct"],
                "boundary_pct": boundary, "model_ms": 1e3 * model_s, "loop_ms": 1e3 * loop_s,
                "batched_ms": 1e3 * batched_s, "speedup_vs_loop": loop_s / model_s,
                "speedup_vs_batched": batched_s / model_s,
            })  # fmt: skip
    return rows, fitted_all, refused


def smallest_within(rows: list[dict], gray: float = 0.5) -> dict[str, dict | None]:
    """Per pipeline, the row of the model with the fewest numbers whose worst test pixel is within ``gray`` levels,
    or None when no model is. A probed operator (``exact``), not a learned model, is left out."""
    out: dict[str, dict | None] = {}
    for r in (r for r in rows if r["model"] != "exact"):
        best = out.get(r["pipeline"])
        if r["test_max_gray"] < gray and (best is None or r["params"] < best["params"]):
            out[r["pipeline"]] = r
        else:
            out.setdefault(r["pipeline"], None)
    return out
