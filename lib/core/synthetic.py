"""Images that are not photographs: the families a model of the pipeline must also get right.

A model that has learned the pipeline's operator is right on any image. Training only pins the operator
down along the directions the training images excite, and photographs barely excite high spatial
frequencies, so these families test (and, added to the training set, teach) what CIFAR-10 alone does not.
Every family gives float32 images (n, 3, 32, 32) in [0, 1], seeded.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from lib.core.pipeline import make_targets

FAMILIES = ("noise", "smooth", "blocks", "gradients", "constant", "extremes")
DESCRIPTIONS = {
    "noise": "every pixel and channel uniform in [0, 1], independent: every input direction equally excited",
    "smooth": "uniform noise on a coarse 2x2 to 16x16 grid, blown up bilinearly: energy at low frequencies",
    "blocks": "uniform noise on a 2x2 to 16x16 grid, blown up by repeating pixels: flat patches, sharp edges",
    "gradients": "a linear ramp in a random direction between two random colours",
    "constant": "one random colour over the whole image",
    "extremes": "every pixel 0 or 1 per channel, in blocks of 1 to 8 pixels: the largest values and contrasts",
}
_GRIDS = (2, 4, 8, 16)
_BLOCKS = (1, 2, 4, 8)


def _upsampled(n: int, gen: torch.Generator, grids: tuple[int, ...], mode: str, binary: bool = False) -> torch.Tensor:
    """Coarse random images on a grid chosen per image, blown up to 32x32 with ``mode``."""
    sizes = torch.tensor(grids)[torch.randint(0, len(grids), (n,), generator=gen)]
    out = torch.empty(n, 3, 32, 32)
    for g in sizes.unique().tolist():
        idx = (sizes == g).nonzero().flatten()
        coarse = torch.rand(len(idx), 3, g, g, generator=gen)  # (k, 3, g, g)
        if binary:
            coarse = coarse.round()
        kw = {"align_corners": True} if mode == "bilinear" else {}
        out[idx] = F.interpolate(coarse, size=(32, 32), mode=mode, **kw)
    return out


def _gradients(n: int, gen: torch.Generator) -> torch.Tensor:
    angle = torch.rand(n, generator=gen) * 2 * torch.pi
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, 32), torch.linspace(-1, 1, 32), indexing="ij")
    t = xs * angle.cos()[:, None, None] + ys * angle.sin()[:, None, None]  # (n, 32, 32), within [-1.42, 1.42]
    t = ((t - t.amin((1, 2), keepdim=True)) / (t.amax((1, 2), keepdim=True) - t.amin((1, 2), keepdim=True)))[:, None]
    start, end = torch.rand(n, 3, 1, 1, generator=gen), torch.rand(n, 3, 1, 1, generator=gen)
    return start + (end - start) * t  # (n, 3, 32, 32)


def images(family: str, n: int, seed: int = 0) -> torch.Tensor:
    """``n`` seeded images of one family (see ``DESCRIPTIONS``): float32 (n, 3, 32, 32) in [0, 1]."""
    if family not in FAMILIES:
        raise ValueError(f"unknown synthetic image family {family!r}; choose from {FAMILIES}")
    if n < 0:
        raise ValueError(f"need n >= 0 images, got {n}")
    gen = torch.Generator().manual_seed(seed)
    if family == "noise":
        return torch.rand(n, 3, 32, 32, generator=gen)
    if family == "smooth":
        return _upsampled(n, gen, _GRIDS, "bilinear")
    if family == "blocks":
        return _upsampled(n, gen, _GRIDS, "nearest")
    if family == "extremes":
        return _upsampled(n, gen, tuple(32 // b for b in _BLOCKS), "nearest", binary=True)
    if family == "gradients":
        return _gradients(n, gen)
    return torch.rand(n, 3, 1, 1, generator=gen).expand(n, 3, 32, 32).contiguous()  # constant


def mixture(families: list[str] | tuple[str, ...], n: int, seed: int = 0) -> torch.Tensor:
    """``n`` images split as evenly as possible between ``families`` (each seeded apart)."""
    if not families:
        raise ValueError("name at least one synthetic image family")
    counts = [n // len(families) + (k < n % len(families)) for k in range(len(families))]
    parts = [images(f, c, seed=seed + 1000 * k) for k, (f, c) in enumerate(zip(families, counts, strict=True))]
    return torch.cat(parts)


def labelled_sets(n_per_family: int, seed: int, families: tuple[str, ...] = FAMILIES, transform=None) -> dict:
    """{family: (images, pipeline targets)} with ``n_per_family`` images each: held-out test material.
    ``transform``: another pipeline than the target (see ``lib.core.pipeline.make_targets``)."""
    out = {}
    for k, family in enumerate(families):
        x = images(family, n_per_family, seed=seed + 7919 * k)
        out[family] = (x, make_targets(x, transform=transform))
    return out


@dataclass
class TrainingSet:
    """A run's training images (CIFAR-10's plus synthetic ones) and the held-out synthetic images the stopping
    rule checks besides the validation split; ``sizes`` counts every part."""

    x: torch.Tensor
    y: torch.Tensor
    held_out: tuple[torch.Tensor, torch.Tensor] | None
    sizes: dict[str, int]


def training_set(ds, n_synthetic: int, families, n_held_out: int, seed: int, transform=None) -> TrainingSet:
    """``ds`` (``lib.core.data.prepare``'s) with ``n_synthetic`` images of ``families`` added to its training images
    and ``n_held_out`` images of every family held out (seeded apart): the same images for the same arguments, so
    that two notebooks that ask for them train on the same set."""
    x, y = ds.train_x, ds.train_y
    if n_synthetic:
        extra = mixture(families, n_synthetic, seed=seed)
        x, y = torch.cat([x, extra]), torch.cat([y, make_targets(extra, transform=transform)])
    held_out = None
    if n_held_out:
        held = labelled_sets(n_held_out, seed=seed + 1, transform=transform).values()
        held_out = (torch.cat([hx for hx, _ in held]), torch.cat([hy for _, hy in held]))
    sizes = {**ds.sizes, "synthetic_train": n_synthetic, "synthetic_held_out": len(held_out[0]) if held_out else 0}
    return TrainingSet(x, y, held_out, sizes)
