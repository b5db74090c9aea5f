"""A torchvision v2 pipeline named by a short string: ``"resize(28,28) | grayscale | hflip | vflip"``.

Steps are separated by ``|``; each is a name with optional arguments in parentheses. The input is always
float images (N, 3, 32, 32) in [0, 1]; the output shape (1 or 3 channels, any size) follows from the
steps and is found by running the pipeline once on a blank image.

Linear steps: ``resize(h, w)`` (antialiased; ``resize(s)`` for s x s), ``center_crop(h, w)``,
``pad(p)`` (p zero pixels on every side), ``grayscale``, ``hflip``, ``vflip``, ``rot90(k)`` (k quarter
turns counter-clockwise, default 1), ``blur(kernel, sigma)`` (Gaussian). Point-wise non-linear steps:
``brightness(f)`` (multiply by f, clipped to [0, 1]: saturates for f > 1), ``gamma(g)`` (x ** g),
``solarize(t)`` (pixels >= t inverted).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from lib.core.constants import IN_SHAPE, TARGET


def _size(args: list[float], step: str) -> tuple[int, int]:
    h, w = (args[0], args[0]) if len(args) == 1 else args
    if h != int(h) or w != int(w) or h < 1 or w < 1:
        raise ValueError(f"{step}: sizes must be whole numbers >= 1, got {args}")
    return int(h), int(w)


def _resize(args, step):
    return v2.Resize(_size(args, step), antialias=True)


def _center_crop(args, step):
    return v2.CenterCrop(_size(args, step))


def _pad(args, step):
    (p,) = args
    if p != int(p) or p < 0:
        raise ValueError(f"{step}: padding must be a whole number >= 0, got {p:g}")
    return v2.Pad(int(p))


def _rot90(args, step):
    k = int(args[0]) if args else 1
    if args and args[0] != k:
        raise ValueError(f"{step}: k must be a whole number of quarter turns, got {args[0]:g}")
    return v2.Lambda(lambda x: torch.rot90(x, k, dims=(-2, -1)))


def _blur(args, step):
    kernel, sigma = args
    if kernel != int(kernel) or kernel < 1 or int(kernel) % 2 == 0 or sigma <= 0:
        raise ValueError(f"{step}: needs an odd kernel size >= 1 and a sigma > 0, got {kernel:g}, {sigma:g}")
    k = int(kernel)
    return v2.Lambda(lambda x: TF.gaussian_blur(x, [k, k], [sigma, sigma]))


def _positive(name: str, make: Callable[[float], Callable]):
    def build(args, step):
        (value,) = args
        if value <= 0:
            raise ValueError(f"{step}: {name} must be > 0, got {value:g}")
        return make(value)

    return build


def _solarize(args, step):
    (t,) = args
    if not 0 <= t <= 1:
        raise ValueError(f"{step}: the threshold must lie in [0, 1], got {t:g}")
    return v2.Lambda(lambda x: TF.solarize(x, t))


# name: (numbers of arguments accepted, builder, linear?)
# Every step is deterministic and draws no random numbers (v2's Random* and GaussianBlur classes do, even at
# p=1 or a fixed sigma): computing targets must not move a seeded run's random state.
STEPS: dict[str, tuple[tuple[int, ...], Callable, bool]] = {
    "resize": ((1, 2), _resize, True),
    "center_crop": ((1, 2), _center_crop, True),
    "pad": ((1,), _pad, True),
    "grayscale": ((0,), lambda args, step: v2.Grayscale(), True),
    "hflip": ((0,), lambda args, step: TF.hflip, True),
    "vflip": ((0,), lambda args, step: TF.vflip, True),
    "rot90": ((0, 1), _rot90, True),
    "blur": ((2,), _blur, True),
    "brightness": ((1,), _positive("factor", lambda f: v2.Lambda(lambda x: TF.adjust_brightness(x, f))), False),
    "gamma": ((1,), _positive("gamma", lambda g: v2.Lambda(lambda x: TF.adjust_gamma(x, g))), False),
    "solarize": ((1,), _solarize, False),
}
_STEP = re.compile(r"^([a-z_0-9]+)\s*(?:\((.*)\))?$")


@dataclass(frozen=True)
class Spec:
    """A parsed pipeline: its text, its steps (name, arguments), the v2 transform and its output shape."""

    text: str
    steps: tuple[tuple[str, tuple[float, ...]], ...]
    transform: v2.Compose
    out_shape: tuple[int, int, int]  # (channels, height, width)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.transform(x)

    @property
    def declared_linear(self) -> bool:
        """Whether every step is one the parser knows to be linear (the probe measures it, see lib.core.classify)."""
        return all(STEPS[name][2] for name, _ in self.steps)


def _number(text: str, step: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{step}: {text.strip()!r} is not a number") from None


def parse(text: str) -> Spec:
    """The pipeline named by ``text``; a clear ValueError for an unknown step or bad arguments."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"a pipeline is a non-empty string such as {TARGET!r}, got {text!r}")
    steps, transforms = [], []
    for raw in text.split("|"):
        step = raw.strip()
        match = _STEP.match(step)
        if not match:
            raise ValueError(f"cannot read step {step!r} in {text!r}; write name or name(arg, ...), steps joined by |")
        name, inside = match.groups()
        if name not in STEPS:
            raise ValueError(f"unknown step {name!r} in {text!r}; known steps: {', '.join(STEPS)}")
        args = tuple(_number(a, step) for a in inside.split(",")) if inside and inside.strip() else ()
        counts, build, _ = STEPS[name]
        if len(args) not in counts:
            raise ValueError(f"{step}: {name} takes {' or '.join(map(str, counts))} arguments, got {len(args)}")
        steps.append((name, args))
        transforms.append(build(list(args), step))
    transform = v2.Compose(transforms)
    with torch.no_grad():
        out = transform(torch.zeros(1, *IN_SHAPE))
    if out.ndim != 4 or out.shape[1] not in (1, 3) or min(out.shape[2:]) < 1:
        raise ValueError(f"{text!r} turns (3, 32, 32) images into {tuple(out.shape[1:])}, not 1 or 3 channel images")
    return Spec(" | ".join(s.strip() for s in text.split("|")), tuple(steps), transform, tuple(out.shape[1:]))
