"""Which pipelines a tiny network can learn: the study behind ``04_pipelines``.

For each pipeline (a ``lib.core.spec`` string) the probe decides linearity and separability (``lib.core.classify``),
then the models are fitted in closed form on training images plus noise images and scored on test images:

- linear pipelines: ``dense`` and ``separable`` built for the pipeline's output shape, each the nearest map
  of its structure to one least-squares fit, and the probed operator itself (the ``exact`` model built for
  the pipeline, no parameters: the separable map where the pipeline is separable, one matrix otherwise);
- non-linear pipelines: the best linear map (``dense``), the same with its output clamped to [0, 1]
  (``dense + clamp``), and a learned point-wise curve on the input followed by ``separable``
  (``curve + separable``), fitted by alternating least squares: with the linear map fixed the curve's knot
  values solve a small least-squares problem, with the curve fixed the linear map does.
"""

import time
from dataclasses import replace

import torch
from torch import nn

from lib.core import fit, metrics, models
from lib.core.banded import TRAINED_SUPPORT_TOL, from_separable
from lib.core.classify import classify
from lib.core.constants import IN_SHAPE
from lib.core.cost import cpu_seconds
from lib.core.curves import Curve, CurveThen, Table, ThenCurve, constant_levels, longest_monotone, read_curve, to_levels
from lib.core.pipeline import make_targets
from lib.core.separable import parts_of, set_parts
from lib.core.spec import parse
from lib.progress import bar as tqdm
from lib.timing import measure

BOUNDARY_GRAY = 0.001  # targets this close to an 8-bit rounding boundary flip with any float error


def _sse(model: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk: int = 4096) -> float:
    starts = range(0, len(x), chunk)
    outs = models.in_chunks(model, x, chunk)
    return sum(((out - y[i : i + chunk]).double() ** 2).sum().item() for i, out in zip(starts, outs, strict=True))


@torch.no_grad()
def fit_curve_then_separable(
    x, y, out_shape, knots: int = 49, rounds: int = 3, curve_images: int = 2048, chunk: int | None = None,
    seed: int = 0, curve: nn.Module | None = None, pipeline=None,
) -> CurveThen:  # fmt: skip
    """Alternating least squares for ``curve + separable`` on (x, y): start from the identity curve and
    the closed-form separable map; then, ``rounds`` times, solve the curve's knot values with the map fixed
    (y is linear in them: sum_k v_k L0(h_k(x)), with L0 the map without its constant; ``curve_images``
    random training images suffice for its few unknowns) and refit the map in closed form. Returns the
    round with the smallest training error (the start included). ``curve`` replaces the ``knots``-knot
    :class:`Curve` by another with ``values`` and ``basis`` (a :class:`Table`); ``chunk`` images at a time
    (by default as many as keep each chunk's basis near 100 MB). With ``pipeline``, the curve starts from
    the pipeline's mean response to a constant image at each knot (scaled to a largest step of 1; the map
    takes the scale): for a point-wise step before a linear map that is the step's own shape, where the
    identity start can stall (a fold such as solarize stayed 146 gray levels off after three rounds)."""
    curve = curve if curve is not None else Curve(knots)
    knots = len(curve.values)
    chunk = chunk or max(1, 25_000_000 // (knots * x[0].numel()))
    if pipeline is not None:
        r = constant_levels(pipeline, torch.linspace(0, 1, knots), tuple(x.shape[1:]))
        span = (r - r[0]).abs().max()
        if span > 0:
            curve.values.data.copy_(((r - r[0]) / span).float())
    linear = models.build("separable", out_shape=out_shape)
    model = CurveThen(curve, linear)  # holds curve and linear themselves: it sees every update below
    fit.fit_model(linear, torch.cat(list(models.in_chunks(curve, x, 4096))), y)
    best = (_sse(model, x, y), {k: v.clone() for k, v in model.state_dict().items()})
    pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:curve_images]
    xs, ys = x[pick], y[pick]
    for _ in range(rounds):
        parts = parts_of(linear)  # the hat functions sum to 1: a constant shift of the curve replaces the bias
        set_parts(linear, replace(parts, bias=torch.zeros_like(parts.bias)))
        normal = torch.zeros(knots, knots, dtype=torch.float64)
        rhs = torch.zeros(knots, dtype=torch.float64)
        for i in range(0, len(xs), chunk):
            h = curve.basis(xs[i : i + chunk]).permute(0, 4, 1, 2, 3)  # (n, knots, 3, 32, 32)
            feats = linear(h.reshape(-1, *IN_SHAPE)).view(len(h), knots, -1).double()  # (n, knots, C*H*W)
            normal += torch.einsum("nkp,nlp->kl", feats, feats)
            rhs += torch.einsum("nkp,np->k", feats, ys[i : i + chunk].flatten(1).double())
        curve.values.copy_(torch.linalg.lstsq(normal, rhs[:, None], driver="gelsd").solution[:, 0].float())
        fit.fit_model(linear, torch.cat(list(models.in_chunks(curve, x, 4096))), y)
        sse = _sse(model, x, y)
        if sse < best[0]:
            best = (sse, {k: v.clone() for k, v in model.state_dict().items()})
    model.load_state_dict(best[1])
    return model.eval()


MIN_BRANCH = 0.1  # the monotone stretch of the response that fits the map must span at least this much of [0, 1]


@torch.no_grad()
def fit_separable_then_curve(x, out_shape, pipeline, levels: int = 1024, margin: float = 0.05) -> ThenCurve | None:
    """``separable + curve`` for a pipeline that ends with a point-wise step after its linear ones. A resize,
    crop or grayscale keeps a constant image constant, so the pipeline's response to constant images is the
    step itself. The map is fitted where that step can be inverted: the training images are squeezed into
    the longest stretch of levels over which the response is monotone (all of [0, 1] for gamma; below the
    threshold for a fold such as solarize), the pipeline's own output on them (it gives the targets, so the
    caller's are not needed) is mapped back through the response,
    and ``separable`` is fitted to that in closed form. The curve is then the response itself, read at the
    knots it needs (:func:`read_curve`). None where no monotone stretch spans ``MIN_BRANCH`` of [0, 1]."""
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


def _fit_models(spec, found, x, y, knots, rounds) -> dict[str, tuple[nn.Module, float]]:
    """{model name: (fitted model, seconds to fit)} for one pipeline."""
    fitted = {}
    start = time.perf_counter()
    linear_fit = fit.linear_lstsq(x.flatten(1), y.flatten(1))
    shared_s = time.perf_counter() - start  # one least squares serves dense and separable
    names = ("dense", "separable") if found.linear else ("dense",)
    for name in names:
        start = time.perf_counter()
        model = models.build(name, out_shape=spec.out_shape)
        fit.set_from_fit(model, linear_fit, spec.out_shape)
        fitted[name] = (model.eval(), shared_s + time.perf_counter() - start)
    if found.linear and found.separable:  # the separable fit kept on its support: the pipeline's own band
        start = time.perf_counter()
        fitted["banded"] = (
            from_separable(fitted["separable"][0]).eval(),
            fitted["separable"][1] + time.perf_counter() - start,
        )
    if found.linear:  # built from the operator classify has just probed (lib.core.probe keeps it)
        fitted["exact"] = (models.build("exact", out_shape=spec.out_shape, pipeline=spec.text).eval(), 0.0)
        return fitted
    clamped = models.build("dense", output="clamp", out_shape=spec.out_shape)
    clamped.load_state_dict(fitted["dense"][0].state_dict())
    fitted["dense + clamp"] = (clamped.eval(), fitted["dense"][1])
    start = time.perf_counter()
    fitted["curve + separable"] = (fit_curve_then_separable(x, y, spec.out_shape, knots, rounds),
                                   time.perf_counter() - start)  # fmt: skip
    start = time.perf_counter()  # the same on the 8-bit levels, with a table for the curve
    levels = to_levels(x)
    fitted["table + separable"] = (fit_curve_then_separable(levels, make_targets(levels, transform=spec),
                                   spec.out_shape, rounds=rounds, curve_images=256, curve=Table(), pipeline=spec),
                                   time.perf_counter() - start)  # fmt: skip
    start = time.perf_counter()
    after = fit_separable_then_curve(x, spec.out_shape, spec)
    if after is not None:  # a step after the linear ones, where its constant response is monotone somewhere
        fitted["separable + curve"] = (after, time.perf_counter() - start)
        band = from_separable(after[0], TRAINED_SUPPORT_TOL)  # its map kept on its support: the minimal form
        fitted["banded + curve"] = (ThenCurve(band, after[1]).eval(), time.perf_counter() - start)
    return fitted


def study(
    pipelines: list[str], train_x: torch.Tensor, test_x: torch.Tensor, n_time: int = 2000, knots: int = 49,
    rounds: int = 3, repeats: int = 3, progress: bool = True,
) -> tuple[list[dict], dict]:  # fmt: skip
    """One row per pipeline and model: the probe's decision and residuals, the model's parameters, its
    error on ``test_x`` and its speed against the pipeline image by image and batched on ``n_time`` test
    images. Also {pipeline: {model: fitted model}} for figures."""
    rows, fitted_all = [], {}
    timed = test_x[:n_time]
    for text in tqdm(pipelines, desc="pipelines", unit="pipeline", disable=not progress):
        spec = parse(text)
        found = classify(spec)
        y, ty = make_targets(train_x, transform=spec), make_targets(test_x, transform=spec)
        fitted = _fit_models(spec, found, train_x, y, knots, rounds)
        fitted_all[spec.text] = {name: m for name, (m, _) in fitted.items()}
        loop_s = measure(lambda s=spec: [s(img) for img in timed], repeats=repeats).median
        batched_s = measure(lambda s=spec: s(timed), repeats=repeats).median
        for name, (model, fit_s) in fitted.items():
            m = metrics.score_model(model, test_x, ty)
            model_s = cpu_seconds(model, timed, repeats=repeats, chunk=1024)
            rows.append({
                "pipeline": spec.text, "out_shape": "x".join(map(str, spec.out_shape)), **found.row(),
                "model": name, "params": sum(p.numel() for p in model.parameters()),
                "fit_s": fit_s, "test_max_gray": m["max_gray"], "test_mae_gray": m["mae_gray"],
                "exact8_pct": m["exact8_pct"],
                "boundary_pct": 100 * metrics.boundary_share(ty, BOUNDARY_GRAY),
                "model_ms": 1e3 * model_s, "loop_ms": 1e3 * loop_s, "batched_ms": 1e3 * batched_s,
                "speedup_vs_loop": loop_s / model_s, "speedup_vs_batched": batched_s / model_s,
            })  # fmt: skip
    return rows, fitted_all


def smallest_within(rows: list[dict], gray: float = 0.5) -> dict[str, dict | None]:
    """Per pipeline, the row of the model with the fewest parameters whose worst test pixel is within
    ``gray`` levels, or None when no model is. The probed operator is not a learned model and is left out."""
    out: dict[str, dict | None] = {}
    for r in (r for r in rows if r["model"] != "exact"):
        best = out.get(r["pipeline"])
        if r["test_max_gray"] < gray and (best is None or r["params"] < best["params"]):
            out[r["pipeline"]] = r
        else:
            out.setdefault(r["pipeline"], None)
    return out
