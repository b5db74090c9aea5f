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
from lib.core.banded import from_separable
from lib.core.classify import classify
from lib.core.constants import GRAY_LEVELS, IN_SHAPE
from lib.core.cost import cpu_seconds
from lib.core.pipeline import make_targets
from lib.core.separable import parts_of, set_parts
from lib.core.spec import parse
from lib.progress import bar as tqdm
from lib.timing import measure

BOUNDARY_GRAY = 0.001  # targets this close to an 8-bit rounding boundary flip with any float error


class Curve(nn.Module):
    """A point-wise curve on [0, 1]: linear between ``knots`` equally spaced knots, identity at the start."""

    def __init__(self, knots: int = 49):
        super().__init__()
        self.values = nn.Parameter(torch.linspace(0, 1, knots))

    def basis(self, x: torch.Tensor) -> torch.Tensor:
        """The hat functions at x: (..., knots), summing to 1; the curve is basis(x) @ values."""
        k = len(self.values)
        pos = x.clamp(0, 1)[..., None] * (k - 1)
        return (1 - (pos - torch.arange(k, dtype=x.dtype, device=x.device)).abs()).clamp(min=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = len(self.values)
        pos = x.clamp(0, 1) * (k - 1)
        i = pos.floor().clamp(max=k - 2).long()
        frac = pos - i
        return self.values[i] * (1 - frac) + self.values[i + 1] * frac


class Table(nn.Module):
    """A point-wise curve on 8-bit images: one value for each of the 256 levels. Any point-wise step is exactly
    a table on 8-bit inputs, however sharply it bends (a square root near 0, a threshold), where a curve
    between fixed knots can only approximate it. Inputs off the levels are taken at the nearest one."""

    def __init__(self, levels: int = GRAY_LEVELS + 1):
        super().__init__()
        self.values = nn.Parameter(torch.linspace(0, 1, levels))

    def _index(self, x: torch.Tensor) -> torch.Tensor:
        return (x.clamp(0, 1) * (len(self.values) - 1)).round().long()

    def basis(self, x: torch.Tensor) -> torch.Tensor:
        """The level of each pixel, one-hot: (..., levels); the table is basis(x) @ values."""
        return nn.functional.one_hot(self._index(x), len(self.values)).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.values[self._index(x)]


def to_levels(x: torch.Tensor) -> torch.Tensor:
    """Images on the 8-bit levels, as a table expects (CIFAR-10's are; noise images are not)."""
    return (x * GRAY_LEVELS).round() / GRAY_LEVELS


class CurveThen(nn.Sequential):
    """A point-wise curve on the input, then a linear model."""

    def __init__(self, curve: Curve, linear: nn.Module):
        super().__init__(curve, linear)


def _sse(model: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk: int = 4096) -> float:
    starts = range(0, len(x), chunk)
    outs = models.in_chunks(model, x, chunk)
    return sum(((out - y[i : i + chunk]).double() ** 2).sum().item() for i, out in zip(starts, outs, strict=True))


def constant_response(pipeline, levels: int, in_shape=IN_SHAPE) -> torch.Tensor:
    """The pipeline's mean output for a constant image at each of ``levels`` values from 0 to 1 (float64)."""
    with torch.no_grad():
        flat = torch.linspace(0, 1, levels).view(-1, 1, 1, 1).expand(levels, *in_shape).contiguous()
        return pipeline(flat).flatten(1).mean(1).double()


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
        r = constant_response(pipeline, knots, tuple(x.shape[1:]))
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


class ThenCurve(nn.Sequential):
    """A linear model, then a point-wise curve on its output."""

    def __init__(self, linear: nn.Module, curve: Curve):
        super().__init__(linear, curve)


@torch.no_grad()
def fit_separable_then_curve(x, y, out_shape, pipeline, knots: int = 49, curve_images: int = 512,
                             levels: int = 1024) -> ThenCurve | None:  # fmt: skip
    """``separable + curve`` for a pipeline that ends with a point-wise step after its linear ones: the curve
    starts as the pipeline's response to constant images (a resize, crop or grayscale keeps a constant image
    constant, so that response is the step itself), the targets are mapped back through it to the linear
    map's output and ``separable`` is fitted to them in closed form; then the curve's knot values are
    solved by least squares on the map's output. None where that response is not monotone: a fold such as
    solarize has no inverse to map the targets back through."""
    r = constant_response(pipeline, levels, tuple(x.shape[1:])).float()
    steps = r[1:] - r[:-1]
    sign = 1.0 if steps.sum() >= 0 else -1.0
    if not bool((sign * steps > 0).all()):
        return None
    grid, rs = torch.linspace(0, 1, levels), r * sign  # increasing
    ys = (y * sign).clamp(rs[0], rs[-1])
    i = torch.searchsorted(rs, ys.contiguous()).clamp(1, levels - 1)
    lo, hi = rs[i - 1], rs[i]
    z = grid[i - 1] + (ys - lo) / (hi - lo) * (grid[i] - grid[i - 1])  # the step inverted, level by level
    linear = models.build("separable", out_shape=out_shape)
    fit.fit_model(linear, x, z)
    curve = Curve(knots)
    pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:curve_images]
    u = torch.cat(list(models.in_chunks(linear, x[pick], 256))).flatten()
    basis = curve.basis(u).double()  # (pixels, knots)
    solution = torch.linalg.lstsq(basis.T @ basis, basis.T @ y[pick].flatten().double()[:, None], driver="gelsd")
    curve.values.copy_(solution.solution[:, 0].float())
    return ThenCurve(linear, curve).eval()


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
    after = fit_separable_then_curve(x, y, spec.out_shape, spec, knots)
    if after is not None:  # a step after the linear ones, when its constant response can be inverted
        fitted["separable + curve"] = (after, time.perf_counter() - start)
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
