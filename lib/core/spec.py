"""A pipeline to learn: a torchvision v2 pipeline named by a short string, ``"resize(28,28) | grayscale |
hflip | vflip"``, or one a user already has (:func:`wrap`: a ``v2.Compose``, an ``nn.Module``, a function).

Steps are separated by ``|``; each is a name with optional arguments in parentheses. The input is float
images (N, C, H, W) in [0, 1], CIFAR-10's (3, 32, 32) unless another ``in_shape`` is given (C 1 or 3, sides
up to :data:`MAX_SIDE`); the output shape (1 or 3 channels, any size) follows from the steps and is found by
running the pipeline once on a blank image.

Linear steps: ``resize(h, w)`` (antialiased; ``resize(s)`` for s x s), ``center_crop(h, w)``,
``pad(p)`` (p zero pixels on every side), ``grayscale``, ``hflip``, ``vflip``, ``rot90(k)`` (k quarter
turns counter-clockwise, default 1), ``blur(kernel, sigma)`` (Gaussian). Point-wise non-linear steps:
``brightness(f)`` (multiply by f, clipped to [0, 1]: saturates for f > 1), ``gamma(g)`` (x ** g),
``solarize(t)`` (pixels >= t inverted).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from lib.core.constants import IN_SHAPE, TARGET

MAX_SIDE = 1024  # the largest image side a pipeline may take or give


def _size(args: list[float], step: str) -> tuple[int, int]:
    h, w = (args[0], args[0]) if len(args) == 1 else args
    if h != int(h) or w != int(w) or h < 1 or w < 1:
        raise ValueError(f"{step}: sizes must be whole numbers >= 1, got {', '.join(f'{a:g}' for a in args)}")
    if max(h, w) > MAX_SIDE:
        raise ValueError(f"{step}: sizes must be at most {MAX_SIDE}, got {', '.join(f'{a:g}' for a in args)}")
    return int(h), int(w)


def _resize(args, step):
    return v2.Resize(_size(args, step), antialias=True)


def _center_crop(args, step):
    return v2.CenterCrop(_size(args, step))


def _pad(args, step):
    (p,) = args
    if p != int(p) or p < 0 or p > MAX_SIDE:
        raise ValueError(f"{step}: padding must be a whole number from 0 to {MAX_SIDE}, got {p:g}")
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


# name: (numbers of arguments accepted, builder, linear?). No step draws random numbers (v2's Random* and GaussianBlur
# classes do, even at p=1 or a fixed sigma): computing targets must not move a seeded run's random state.
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

    text: str  # the string it was parsed from, or a description of a wrapped callable
    steps: tuple[tuple[str, tuple[float, ...]], ...]  # none for a wrapped callable
    transform: Callable[[torch.Tensor], torch.Tensor]  # a v2.Compose, or the callable wrapped
    out_shape: tuple[int, int, int]  # (channels, height, width)
    in_shape: tuple[int, int, int] = IN_SHAPE  # the images it takes: (channels, height, width)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.transform(x)

    @property
    def declared_linear(self) -> bool:
        """Whether every step is one the parser knows to be linear (the probe measures it, see lib.core.classify);
        False for a wrapped callable, whose steps are not known."""
        return bool(self.steps) and all(STEPS[name][2] for name, _ in self.steps)

    @property
    def wrapped(self) -> bool:
        """Whether it wraps a user's callable (no steps of its own)."""
        return not self.steps

    def without(self, *names: str) -> "Spec":
        """The same pipeline without its steps called ``names`` (``without("hflip", "vflip")``)."""
        return self._edited({name: None for name in names})

    def with_args(self, name: str, *args: float, in_shape: tuple[int, int, int] | None = None) -> "Spec":
        """Step ``name`` given ``args``, on ``in_shape`` images (its own by default): ``with_args("blur", 5, 2)``."""
        text = ",".join(f"{a:g}" if float(a).is_integer() else repr(float(a)) for a in args)  # every digit kept
        return self._edited({name: f"{name}({text})"}, in_shape)

    def _edited(self, steps: dict[str, str | None], in_shape: tuple[int, int, int] | None = None) -> "Spec":
        if self.wrapped:
            raise TypeError(f"{self.text} is a wrapped callable: its steps are not known, so none can be changed")
        if missing := set(steps) - {name for name, _ in self.steps}:
            raise ValueError(f"{self.text!r} has no step {', '.join(sorted(missing))}")
        texts = [steps.get(name, text) for text, (name, _) in zip(self.text.split(" | "), self.steps, strict=True)]
        return parse(" | ".join(t for t in texts if t), in_shape or self.in_shape)


def check_in_shape(in_shape) -> tuple[int, int, int]:
    """``in_shape`` as (C, H, W) ints, refusing what no pipeline here takes: C other than 1 or 3, a side
    below 1 or above :data:`MAX_SIDE`."""
    try:
        c, h, w = (int(v) for v in in_shape)
    except (TypeError, ValueError):
        raise ValueError(f"an input shape is (channels, height, width), got {in_shape!r}") from None
    if c not in (1, 3) or not (1 <= h <= MAX_SIDE and 1 <= w <= MAX_SIDE) or (c, h, w) != tuple(in_shape):
        raise ValueError(f"input images must have 1 or 3 channels and sides from 1 to {MAX_SIDE}, got {in_shape}")
    return c, h, w


def output_shape(transform: Callable, in_shape: tuple[int, int, int], text: str) -> tuple[int, int, int]:
    """The shape of what ``transform`` makes of a blank batch of ``in_shape`` images, refusing what it cannot
    take and what is not a batch of 1- or 3-channel float images."""
    try:
        with torch.no_grad():
            out = transform(torch.zeros(2, *in_shape))
    except Exception as err:  # noqa: BLE001 - a user's pipeline may raise anything; say which shape it refused
        raise ValueError(f"{text} cannot run on images of shape {in_shape}: {type(err).__name__}: {err}") from err
    if not isinstance(out, torch.Tensor):
        raise ValueError(f"{text} returns {type(out).__name__}, not a tensor of images")
    if not out.is_floating_point():
        raise ValueError(f"{text} returns {out.dtype} images; end it with v2.ToDtype(torch.float32, scale=True) so "
                         f"that its output is float")  # fmt: skip
    if out.ndim != 4 or len(out) != 2 or out.shape[1] not in (1, 3) or min(out.shape[2:]) < 1:
        raise ValueError(f"{text} turns {in_shape} images into {tuple(out.shape[1:])}, not 1 or 3 channel images")
    if max(out.shape[2:]) > MAX_SIDE:
        raise ValueError(f"{text} makes images of {tuple(out.shape[2:])}, larger than {MAX_SIDE} a side")
    return tuple(out.shape[1:])


def _number(text: str, step: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{step}: {text.strip()!r} is not a number") from None


def parse(text: str, in_shape: tuple[int, int, int] = IN_SHAPE) -> Spec:
    """The pipeline named by ``text``, on images of ``in_shape``; a clear ValueError for an unknown step, bad
    arguments or an input the steps cannot take. Parsed once: the same text (up to spaces around ``|``) on the same
    shape gives back the same Spec, so a caller may parse where it needs one and everything keyed on it (the
    probe's operators) is found again."""
    in_shape = check_in_shape(in_shape)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"a pipeline is a non-empty string such as {TARGET!r}, got {text!r}")
    return _parse(" | ".join(s.strip() for s in text.split("|")), in_shape)


@lru_cache(maxsize=128)
def _parse(text: str, in_shape: tuple[int, int, int]) -> Spec:
    steps, transforms = [], []
    for step in text.split(" | "):
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
    out_shape = output_shape(transform, in_shape, repr(text))
    return Spec(text, tuple(steps), transform, out_shape, in_shape)


def on_shape(spec: Spec, in_shape: tuple[int, int, int]) -> Spec:
    """The same pipeline on images of another shape (its output shape found anew); on its own shape, itself (a
    wrapped callable is not called again to check it)."""
    if tuple(in_shape) == spec.in_shape:
        return spec
    return wrap(spec.transform, in_shape, spec.text) if spec.wrapped else parse(spec.text, in_shape)


# Steps that draw random numbers, and what to use instead: a learned transform is one deterministic function
RANDOM_STEPS = {
    "RandomHorizontalFlip": "v2.functional.hflip (or leave it out)",
    "RandomVerticalFlip": "v2.functional.vflip (or leave it out)",
    "RandomCrop": "v2.CenterCrop",
    "RandomResizedCrop": "v2.CenterCrop then v2.Resize",
    "RandomRotation": "v2.functional.rotate with a fixed angle",
    "RandomAffine": "v2.functional.affine with fixed parameters",
    "RandomGrayscale": "v2.Grayscale",
    "ColorJitter": "v2.functional.adjust_brightness (or adjust_contrast, ...) with fixed factors",
    "GaussianBlur": "v2.functional.gaussian_blur with a fixed sigma",
    "GaussianNoise": "leave it out (noise is not a function of the image)",
}
RANDOM_TRIES = 8  # calls on the same images: a step applied with probability 1/2 shows in 8 calls but for 1 in 128


def random_steps(transform) -> list[str]:
    """The steps of ``transform`` (searched through ``transforms`` lists, as in v2.Compose) known to draw random
    numbers: any ``Random*`` class, or one of :data:`RANDOM_STEPS`."""
    name = type(transform).__name__
    found = [name] if name.startswith("Rand") or name in RANDOM_STEPS else []
    for inner in getattr(transform, "transforms", None) or []:
        found += random_steps(inner)
    return found


def check_deterministic(transform: Callable, in_shape: tuple[int, int, int], text: str) -> None:
    """Refuse a pipeline whose output changes between calls on the same images: it draws random numbers. The
    calls run on a copy of the random state, so a seeded run's draws are not moved."""
    x = torch.rand(4, *in_shape, generator=torch.Generator().manual_seed(0))
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        outs = [transform(x.clone()) for _ in range(RANDOM_TRIES)]
    apart = max((o.float() - outs[0].float()).abs().max().item() for o in outs[1:])
    if apart == 0:
        return
    steps = random_steps(transform)
    named = "; ".join(f"{s}: use {RANDOM_STEPS.get(s, 'its deterministic form')}" for s in dict.fromkeys(steps))
    raise ValueError(
        f"{text} is random: {RANDOM_TRIES} calls on the same images gave outputs up to {apart * 255:.3g} gray levels "
        f"apart" + (f". It draws random numbers in {named}" if steps else "")
        + ". A learned transform reproduces one deterministic function: replace each random step by a fixed one."
    )  # fmt: skip


def describe(transform: Callable) -> str:
    """A short name for a wrapped pipeline: its steps' class names joined by ``|`` (a v2.Compose), or its
    class or function name."""
    steps = getattr(transform, "transforms", None)
    if steps:
        return " | ".join(describe(t) for t in steps)
    name = getattr(transform, "__name__", None) or type(transform).__name__
    extra = transform.extra_repr() if hasattr(transform, "extra_repr") else ""
    return f"{name}({extra})" if extra else name


def wrap(pipeline, in_shape: tuple[int, int, int] | None = None, name: str | None = None) -> Spec:
    """A pipeline a user already has, as a :class:`Spec`: a string (:func:`parse`, on CIFAR-10's shape unless
    ``in_shape`` says otherwise), a Spec (on ``in_shape``, else its own), or any callable on float image batches
    (N, C, H, W) in [0, 1] (a ``v2.Compose``, an ``nn.Module``, a function), whose ``in_shape`` must be given: nothing
    in a callable says what images it takes. Refused, with what to do: a callable that draws random numbers, fails on
    ``in_shape`` images, or returns anything but 1- or 3-channel float images."""
    if isinstance(pipeline, str):
        return parse(pipeline, IN_SHAPE if in_shape is None else in_shape)
    if isinstance(pipeline, Spec):
        return pipeline if in_shape is None else on_shape(pipeline, in_shape)
    if not callable(pipeline):
        raise TypeError(f"a pipeline is a string such as {TARGET!r} or a callable on image batches, got "
                        f"{type(pipeline).__name__}")  # fmt: skip
    if in_shape is None:
        raise TypeError(f"say the shape of the images {describe(pipeline)} takes: wrap(pipeline, in_shape=(C, H, W))")
    in_shape = check_in_shape(in_shape)
    text = name or describe(pipeline)
    with torch.random.fork_rng(devices=[]):  # a random step draws here too: leave the caller's state as it was
        out_shape = output_shape(pipeline, in_shape, repr(text))
    check_deterministic(pipeline, in_shape, repr(text))
    return Spec(text, (), pipeline, out_shape, in_shape)
