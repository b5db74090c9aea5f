"""Closed-form fits: the least-squares optimum of each linear model, no gradient steps.

Every model here is linear in its input, so its summed squared error over a training set is minimised in
closed form. The route is the same for all three:

1. One float64 pass gives the training set's moments; the centred normal equations of the full linear
   map y = W x + c (784 x 3072 and 784) are solved by Cholesky. This is ``fc_large``'s optimum.
2. ``dense`` computes y = M (w . x + b) + c: a 784x3072 map whose three channel blocks are one block M
   scaled by w. The nearest such map (in the least-squares sense of the weights) is the rank-1 SVD of W
   laid out as 3 x (784 * 1024). For any pipeline that grays first the second singular value is zero up to
   noise; its ratio to the first is reported, so a pipeline for which the factorisation is lossy says so.
3. ``separable`` computes Y = A G B^T, whose 784x1024 spatial map is the Kronecker product of A and B.
   The nearest Kronecker product of M is the rank-1 SVD of M rearranged as (28 * 32) x (28 * 32)
   (Van Loan and Pitsianis, 1993); again the second singular value says how far from separable M is.

All three need a training set that excites every input direction; photographs alone leave the high
spatial frequencies nearly unconstrained, which is why the notebooks add synthetic images (lib.core.synthetic).
When the normal matrix is singular (fewer images than pixels) the minimum-norm solution is used instead.

``conv5`` is linear too, with one shared 3x5x5 kernel: its optimum is the least-squares fit of every
output pixel on the 75 input values under the kernel (``conv_lstsq``), the best any single convolution
can do, which says what the design can represent rather than how fast Adam gets there.

Each fittable model says how it takes a fit (``set_linear``, or ``fit_kernel`` for ``conv5``): nothing here asks a
model's name. ``separable`` takes its parts (lib.core.separable), as every other caller does.
"""

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from lib.core.moments import raw_moments
from lib.core.registry import REGISTRY
from lib.core.separable import SeparableParts, balanced

EIG_CUTOFF = 1e-12  # relative eigenvalue below which a direction counts as unseen (singular fallback)
LSTSQ_INPUTS = 16_384  # inputs a pixel above which the full least squares is refused: its normal matrix alone
# would take 2 GiB in float64 (3x64x64 = 12,288 inputs fit; 3x128x128 = 49,152 would take 18 GiB)


@dataclass
class LinearFit:
    """y = weight @ x.flatten() + bias, the least-squares optimum over a training set (float64)."""

    weight: torch.Tensor  # (out, in)
    bias: torch.Tensor  # (out,)
    solver: str  # "cholesky", or "eigh (minimum norm)" when the normal matrix is singular
    diagnostics: dict = field(default_factory=dict)


@torch.no_grad()
def linear_lstsq(x: torch.Tensor, y: torch.Tensor) -> LinearFit:
    """The least-squares linear map from flattened images to flattened targets, with intercept."""
    if x.shape[1] > LSTSQ_INPUTS:
        raise ValueError(f"the full least squares over {x.shape[1]:,} inputs a pixel needs a {x.shape[1]:,}-square "
                         f"normal matrix (more than {LSTSQ_INPUTS:,} are refused): fit the separable structure with "
                         f"lib.core.fit.separable_als instead")  # fmt: skip
    m = raw_moments(x, y)
    mx, my = m.xsum / m.n, m.ysum / m.n
    cov = m.xx - m.n * torch.outer(mx, mx)  # (in, in) centred: the intercept is solved exactly
    cross = m.yx - m.n * torch.outer(my, mx)  # (out, in)
    chol, info = torch.linalg.cholesky_ex(cov)
    if info.item() == 0:
        weight = torch.cholesky_solve(cross.T, chol).T
        solver = "cholesky"
    else:
        vals, vecs = torch.linalg.eigh(cov)
        keep = vals > EIG_CUTOFF * vals.max()
        weight = ((cross @ vecs[:, keep]) / vals[keep]) @ vecs[:, keep].T
        solver = "eigh (minimum norm)"
    return LinearFit(weight, my - weight @ mx, solver, {"n_images": m.n})


@torch.no_grad()
def conv_lstsq(
    x: torch.Tensor, y: torch.Tensor, kernel: int | tuple[int, int], chunk: int = 1024
) -> tuple[torch.Tensor, torch.Tensor]:
    """The least-squares kernel (O, C, kh, kw) and bias (O,) of one valid convolution from x to y (O channels).

    Every output channel meets the same patches, so one normal matrix serves them all."""
    c, out = x.shape[1], y.shape[1]
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    d = c * kh * kw + 1  # the kernel's weights and the bias
    normal, rhs = torch.zeros(d, d, dtype=torch.float64), torch.zeros(d, out, dtype=torch.float64)
    for i in range(0, len(x), chunk):
        patches = F.unfold(x[i : i + chunk].double(), (kh, kw))  # (n, C*kh*kw, positions)
        a = torch.cat([patches.transpose(1, 2).reshape(-1, d - 1), torch.ones(patches.shape[0] * patches.shape[2], 1,
                      dtype=torch.float64)], dim=1)  # fmt: skip
        normal += a.T @ a
        for o in range(out):  # a matrix-vector product per channel: (n * positions,) pixels in patch order
            rhs[:, o] += a.T @ y[i : i + chunk, o].double().flatten()
    sol = torch.linalg.lstsq(normal, rhs, driver="gelsd").solution  # (d, O)
    return sol[:-1].T.reshape(out, c, kh, kw), sol[-1]


def _rank1(matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float]:
    """matrix ~ u v^T, with the singular value split evenly, and sigma_2 / sigma_1 (0 when exact)."""
    u, s, vh = torch.linalg.svd(matrix, full_matrices=False)
    root = s[0].sqrt()
    ratio = (s[1] / s[0]).item() if len(s) > 1 and s[0] > 0 else 0.0
    return u[:, 0] * root, vh[0] * root, ratio


def factor_channels(fit: LinearFit, channels: int = 3, out_channels: int = 1):
    """W (C * out, channels * pixels) ~ mix ⊗ M: the channel mix (C, channels), its rows scaled to sum 1 in
    absolute value for C = 1 (the gray weights), and the spatial map M (out, pixels) shared by every
    output channel; with sigma_2 / sigma_1 of the rearranged W. For C = 1 the mix is returned as (channels,)."""
    rows, d = fit.weight.shape
    out, pixels = rows // out_channels, d // channels
    blocks = fit.weight.view(out_channels, out, channels, pixels).permute(0, 2, 1, 3)
    w, spatial, ratio = _rank1(blocks.reshape(out_channels * channels, out * pixels))
    sign = 1.0 if w.sum() >= 0 else -1.0  # the factorisation fixes the mix only up to sign and scale
    scale = w.abs().sum() / out_channels
    mix = (w * sign / scale).view(out_channels, channels)
    return mix[0] if out_channels == 1 else mix, (spatial * sign * scale).view(out, pixels), ratio


def nearest_kronecker(spatial: torch.Tensor, out_hw: tuple[int, int], in_hw: tuple[int, int]):
    """M (P*Q, H*W) ~ kron(A, B) with A (P, H), B (Q, W): the rank-1 SVD of M rearranged [p, h] x [q, w]."""
    (p, q), (h, w) = out_hw, in_hw
    rearranged = spatial.reshape(p, q, h, w).permute(0, 2, 1, 3).reshape(p * h, q * w)
    a, b, ratio = _rank1(rearranged)
    return a.view(p, h), b.view(q, w), ratio


def _check(model: nn.Module) -> None:
    """Refuse a model without a closed form (it has neither ``set_linear`` nor ``fit_kernel``), or with an output
    constraint, which no least squares honours."""
    if not (hasattr(model, "set_linear") or hasattr(model, "fit_kernel")):
        fittable = sorted(n for n, cls in REGISTRY.items() if hasattr(cls, "set_linear") or hasattr(cls, "fit_kernel"))
        name = getattr(model, "registry_name", None) or type(model).__name__
        raise TypeError(f"no closed-form fit for {name}; fittable models: {', '.join(fittable)}")
    if model.output.mode != "none":
        raise ValueError(
            f"the closed-form fit minimises the plain squared error of a linear map; a {model.output.mode!r} "
            f"output constraint is not linear: build the model with output='none'"
        )


@torch.no_grad()
def fit_model(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict:
    """Set ``model``'s weights to the least-squares optimum on (x, y): a model with ``fit_kernel`` (one shared
    convolution) fits it itself; any other takes the nearest map of its structure to the full linear optimum
    (:func:`set_from_fit`).

    Returns the diagnostics: the solver and, for the factored models, the singular-value ratios that
    say how close the full linear optimum is to the model's structure (0: exactly representable).
    """
    _check(model)
    if hasattr(model, "fit_kernel"):
        return model.fit_kernel(x, y)
    return set_from_fit(model, linear_lstsq(x, y), tuple(y.shape[1:]))


@torch.no_grad()
def set_from_fit(model: nn.Module, fit: LinearFit, out_shape: tuple[int, int, int] | None = None) -> dict:
    """Set a model with ``set_linear`` (dense, separable, fc_large) to the nearest map of its structure to ``fit``:
    one least squares serves every model of a pipeline. Returns the diagnostics, as :func:`fit_model`.
    ``out_shape`` is the model's own (kept for callers that pass it)."""
    _check(model)
    if out_shape is not None and tuple(out_shape) != tuple(model.out_shape):
        raise ValueError(f"the model gives {tuple(model.out_shape)} images, the fit {tuple(out_shape)}")
    return {"solver": fit.solver, **fit.diagnostics, **model.set_linear(fit)}


def separable_from_fit(fit: LinearFit, in_shape, out_shape) -> tuple[SeparableParts, dict]:
    """The separable parts nearest to ``fit`` (the channel mix, then A and B by the nearest Kronecker product),
    with the two rank-1 ratios. separable's only constant is b (A 1)(B 1)^T per channel: the least-squares b for
    the fitted intercept."""
    (c, p, q), (in_channels, h, w_in) = out_shape, in_shape
    w, spatial, channel_ratio = factor_channels(fit, in_channels, c)
    a, b, kronecker_ratio = nearest_kronecker(spatial, (p, q), (h, w_in))
    ones = torch.outer(a.sum(1), b.sum(1)).flatten()
    norm = (ones @ ones).item()
    intercept = fit.bias.view(c, p * q)
    bias = intercept @ ones / norm if norm > 0 else torch.zeros(c)
    parts = SeparableParts(w.view(c, in_channels), bias, a, b)
    return parts, {"channel_rank1_ratio": channel_ratio, "kronecker_rank1_ratio": kronecker_ratio}


@torch.no_grad()
def separable_als(
    x: torch.Tensor, y: torch.Tensor, rounds: int = 60, progress: float = 1e-3, seed: int = 0
) -> SeparableParts:
    """The least-squares separable map Y = A (mix . X + bias) B^T from images ``x`` (N, c, h, w) to ``y``
    (N, C, H, W), by alternating least squares: with two of (mix, B, A) fixed the third solves a linear
    least-squares problem, so each step lowers the error. Its unknowns are C c + H h + W w, so it fits images
    of any size (the full least squares of :func:`linear_lstsq` has c h w unknowns an output pixel: 196,608
    for 3x256x256). The images and targets are centred first (uncentred, the images' shared mean dominates
    every step and the rounds crawl: 26 gray levels off after 8 rounds on the target pipeline, against 3e-5
    centred); the bias is then the least-squares constant for the means. Centred, the error creeps down for a few
    rounds from a random start (8 rounds at 3x256x256, 1% a round), then falls about tenfold a round down to
    float rounding (relative squared error near 3e-13); the rounds stop when one lowers it by less than
    ``progress`` (a fraction), or after ``rounds``. The products run in float32, the solves in float64, so
    entries off the pipeline's band come out near 1e-6 of the largest, not zero (keep the band with
    ``lib.core.banded.TRAINED_SUPPORT_TOL``)."""
    x, y = x.float(), y.float()
    (_, c_in, h, w), (_, c_out, p, q) = x.shape, y.shape
    x_mean, y_mean = x.mean(0), y.mean(0)
    x, y = x - x_mean, y - y_mean
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(p, h, generator=gen) / h**0.5
    b = torch.randn(q, w, generator=gen) / w**0.5
    mix = torch.full((c_out, c_in), 1.0 / c_in)
    scale, last = (y.double() ** 2).sum().clamp_min(1e-30), float("inf")

    def solve(design: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        d, t = design.double(), target.double()
        return torch.linalg.lstsq(d.T @ d, d.T @ t, driver="gelsd").solution.float()

    for _ in range(rounds):
        g = torch.einsum("ok,nkhw->nohw", mix, x)  # (N, C, h, w)
        b = solve((a @ g).reshape(-1, w), y.reshape(-1, q)).T  # rows of A g against rows of y: (Q, w)
        a = solve((g @ b.T).transpose(2, 3).reshape(-1, h), y.transpose(2, 3).reshape(-1, p)).T  # (P, h)
        feats = (a @ x @ b.T).permute(0, 2, 3, 1)  # (N, P, Q, c): each input channel through the spatial map
        for c in range(c_out):
            mix[c] = solve(feats.reshape(-1, c_in), y[:, c].reshape(-1, 1))[:, 0]
        err = (((a @ torch.einsum("ok,nkhw->nohw", mix, x) @ b.T) - y).double() ** 2).sum() / scale
        if err > (1 - progress) * last:
            break
        last = err
    pattern = torch.outer(a.sum(1), b.sum(1))  # what a bias of 1 adds to a channel
    rest = y_mean - a @ torch.einsum("ok,khw->ohw", mix, x_mean) @ b.T  # (C, P, Q): the means left to the bias
    norm = (pattern * pattern).sum()
    bias = (rest * pattern).sum((1, 2)) / norm if norm > 0 else torch.zeros(c_out)
    return balanced(SeparableParts(mix, bias, a, b))
