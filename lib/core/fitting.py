"""A user's pipeline fitted on one input shape: the smallest of the report's model families that reproduces it.

Each family is read off the pipeline by probing it (lib.core.probe), not trained, and is kept only if it matches the
pipeline on held-out images: noise, smooth images and any photographs given. Tried smallest first:

- affine: ``banded`` (row/column separable; its A and B read by axis, from H + W + C images, one axis map reused
  from another shape with the same length in and out where the transform holds one); else ``permuted banded`` (a
  quarter turn or a transpose after a separable map: each output's source row and column, read from two ramp
  images, sort the outputs into the separable map's grid); else ``dense`` (one matrix, from C H W basis images)
  where it holds at most :data:`DENSE_LIMIT` entries;
- not affine: ``banded + clamp`` (a clamp after the map, found where the response to constant images is a line
  between two flat ends), ``banded + curve`` (a monotone step after the map, its inverse read on the constant
  images), ``table + banded`` (any point-wise step before the map, exact on 8-bit images: the step is the response
  to constant images up to scale, and the map is read on images of two levels, where the table is 0 or 1).

Everything else is refused (:class:`Refused`) with the step that breaks it and why: a fold after the map (its response
to constant images rises then falls: no curve after a map can fold), a map that is neither separable nor small
enough for one matrix. Random steps, output that is not an image and sizes over the limits are refused by
``lib.core.spec.wrap`` before any of this.
"""

import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from lib.core import families
from lib.core.classify import LINEAR_TOL_GRAY, residuals
from lib.core.constants import GRAY_LEVELS
from lib.core.fitted import Fitted, Matrix
from lib.core.models import Banded
from lib.core.spec import Spec, describe

ACCEPT_GRAY = 0.01  # the worst pixel a linear family or a table may miss the pipeline by, on every held-out image
CURVE_GRAY = 0.05  # the same for a curve or clamp after the map
CURVE_POINTS = (256, 4096)  # sizes of the curve after the map, tried smallest first
CHECK_IMAGES = 8  # held-out images of each kind


class Refused(ValueError):
    """No family of the report reproduces the pipeline on this shape; the message says which step and why."""


@dataclass
class FitReport:
    """How one input shape was fitted."""

    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    family: str  # lib.core.fitted.Fitted.family: "banded", "table + banded", "banded + curve", ...
    method: str  # how its map was read: "axis probe", "axis probe, row map reused", "basis images", ...
    params: int  # numbers the fitted map holds
    seconds: float  # wall time of the fit, checks included
    noise_gray: float  # worst pixel on noise and smooth images (on 8-bit levels for a table), gray levels
    photo_gray: float | None  # worst pixel on the photographs given; None when none were
    tried: list[str] = field(default_factory=list)  # the smaller families measured first, with their errors

    def line(self) -> str:
        photo = "" if self.photo_gray is None else f", photographs {self.photo_gray:.2g}"
        return (f"{'x'.join(map(str, self.in_shape))}: {self.family} ({self.params:,} numbers, {self.method}, "
                f"{self.seconds:.2f} s), worst {self.noise_gray:.2g} gray levels on noise{photo}")  # fmt: skip


def held_out(in_shape: tuple[int, int, int], photos: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """The images a family is checked on: uniform noise, smooth images (noise on a coarse grid, upsampled), and the
    photographs given (float in [0, 1])."""
    gen = torch.Generator().manual_seed(1)
    c, h, w = in_shape
    coarse = torch.rand(CHECK_IMAGES, c, max(2, h // 8), max(2, w // 8), generator=gen)
    sets = {"noise": torch.rand(CHECK_IMAGES, *in_shape, generator=gen),
            "smooth": F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)}  # fmt: skip
    if photos is not None and len(photos):
        sets["photos"] = photos[:CHECK_IMAGES].float() / GRAY_LEVELS if photos.dtype == torch.uint8 else photos.float()
    return sets


@torch.no_grad()
def worst(model: Fitted, s: Spec, sets: dict[str, torch.Tensor], levels: bool = False,
          targets: dict | None = None) -> tuple[float, float | None]:  # fmt: skip
    """(worst pixel on noise and smooth images, worst on photographs or None), in gray levels; on the images' 8-bit
    levels when ``levels`` (a table holds a step exactly there only). ``targets`` keeps the pipeline's outputs
    between calls, so that each candidate of one fit runs the model only."""
    targets = {} if targets is None else targets
    out = {}
    for name, x in sets.items():
        if (name, levels) not in targets:
            x = (x * GRAY_LEVELS).round() / GRAY_LEVELS if levels else x
            targets[(name, levels)] = (x, s(x))
        x, y = targets[(name, levels)]
        out[name] = (model(x) - y).abs().max().item() * GRAY_LEVELS
    return max(out["noise"], out["smooth"]), out.get("photos")


@torch.no_grad()
def fit_shape(s: Spec, photos: torch.Tensor | None = None, axes: dict | None = None) -> tuple[Fitted, FitReport]:
    """The smallest family that reproduces pipeline ``s`` on its input shape (see the module's notes), checked on
    held-out images and ``photos`` (of that shape, uint8 or float). ``axes`` holds row and column maps of earlier
    shapes, keyed ("rows", h, H) and ("cols", w, W); the fit reads from it and adds its own. :class:`Refused` where
    no family does, saying why."""
    start = time.perf_counter()
    axes = {} if axes is None else axes
    sets = held_out(s.in_shape, photos)
    superposition, scaling, _ = residuals(s, n=4)
    affine = max(superposition, scaling) < LINEAR_TOL_GRAY
    if affine:
        candidates = [("banded", lambda: families.separable(s, axes), ACCEPT_GRAY, False),
                      ("permuted banded", lambda: families.permuted(s), ACCEPT_GRAY, False),
                      ("dense", lambda: families.dense(s), ACCEPT_GRAY, False)]  # fmt: skip
    else:
        long_curve = f"banded + curve of {CURVE_POINTS[1]}"
        candidates = [("banded + clamp or curve", lambda: families.after(s, CURVE_POINTS[0]), CURVE_GRAY, False),
                      ("table + banded", lambda: families.table(s), ACCEPT_GRAY, True),
                      (long_curve, lambda: families.after(s, CURVE_POINTS[1]), CURVE_GRAY, False)]  # fmt: skip
    tried, folds, targets = [], False, {}
    for name, make, tol, levels in candidates:
        if folds and name.startswith("banded + "):
            continue
        try:
            model, method = make()
        except families.Skip as why:
            tried.append(f"{name}: {why}")
            folds = folds or isinstance(why, families.Fold)
            continue
        noise, photo = worst(model, s, sets, levels, targets)
        if max(noise, photo or 0.0) <= tol:
            note_axes(model, axes)
            report = FitReport(s.in_shape, s.out_shape, model.family, method, numbers(model),
                               time.perf_counter() - start, noise, photo, tried)  # fmt: skip
            return model, report
        tried.append(f"{model.family}: {max(noise, photo or 0.0):.3g} gray levels off")
    kind = "affine" if affine else f"not affine (its superposition is {superposition:.3g} gray levels off)"
    fold = (
        ". It folds after its linear steps, which no family reproduces (a fold before them is a table's)"
        if folds
        else ""
    )  # the table failed too, so the fold is not a point-wise step on the input
    raise Refused(f"no family of the report reproduces {s.text} on {s.in_shape} images; it is {kind}"
                  f"{breaking_step(s)}{fold}. Tried: " + "; ".join(tried))  # fmt: skip


def note_axes(model, axes: dict) -> None:
    """Keep the row and column maps of a plain ``banded`` fit in ``axes``, keyed ("rows", h, H) and ("cols", w, W)."""
    if isinstance(model, Fitted) and model.bare and isinstance(model.linear, Banded):
        parts = model.linear.read_parts()
        (_, h, w), (_, ho, wo) = model.in_shape, model.out_shape
        axes[("rows", h, ho)] = parts.rows.detach().double()
        axes[("cols", w, wo)] = parts.cols.detach().double()


def numbers(model: Fitted) -> int:
    """The numbers a fitted map holds: its parameters, a dense map's matrix and offset, its table and curve (an
    output order is indices, not counted)."""
    held = [model.table, model.curve] + ([model.linear.weight, model.linear.offset]
                                         if isinstance(model.linear, Matrix) else [])  # fmt: skip
    return sum(p.numel() for p in model.parameters()) + sum(b.numel() for b in held if b is not None)


def breaking_step(s: Spec) -> str:
    """ ", from step k (name) on": the first step of a ``v2.Compose`` (or a parsed pipeline) after which the pipeline
    stops being affine; "" where it has no steps to name."""
    steps = list(getattr(s.transform, "transforms", None) or [])
    if len(steps) < 2:
        return ""
    for k in range(1, len(steps) + 1):
        head = steps[:k]
        prefix = families.derived(s, lambda x, head=head: _run(head, x), None, "prefix")
        if max(residuals(prefix, n=2)[:2]) >= LINEAR_TOL_GRAY:
            return f", from step {k} ({describe(steps[k - 1])}) on"
    return ""


def _run(steps, x):
    for step in steps:
        x = step(x)
    return x
