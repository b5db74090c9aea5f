"""The checks a ``LearnedTransform`` makes of a user's images, with errors that say what to pass."""

import torch

from lib.core import engine


def check(x, device: torch.device) -> None:
    """Refuse what is not a tensor of uint8 or float images, or lies on another device than the weights."""
    if isinstance(x, torch.Tensor) and x.dtype in engine.DTYPES and x.ndim in (3, 4) and x.device == device:
        return  # the common case, checked without building messages
    want = "uint8 or float images (C, H, W), a batch (N, C, H, W) or a list of images"
    if not isinstance(x, torch.Tensor):
        hint = ": convert a PIL image with v2.PILToTensor() first" if type(x).__module__.startswith("PIL") else ""
        raise TypeError(f"expected a tensor of {want}, got {type(x).__name__}{hint}")
    if x.dtype != torch.uint8 and not x.is_floating_point():
        raise TypeError(f"expected {want}, got dtype {x.dtype}")
    if x.ndim not in (3, 4):
        raise ValueError(f"expected {want}, got shape {tuple(x.shape)}")
    if device != x.device:
        raise ValueError(f"the images are on {x.device}, the transform's weights on {device}: "
                         f"move one to the other (transform.to({str(x.device)!r}))")  # fmt: skip


def wrong_shape(x: torch.Tensor, want, maps) -> None:
    """The error for images of a shape the transform holds no fit for and cannot fit."""
    shape = tuple(x.shape[-3:])
    if want is not None:
        c, h, w = want
        kind = {1: "1 channel (gray)", 3: "3 channels (RGB)"}
        if shape[0] != c and shape[0] in (1, 3) and shape[1:] == (h, w):  # a gray image for RGB, or the reverse
            raise ValueError(f"expected {kind.get(c, f'{c} channels')}, got {kind[shape[0]]} in shape {tuple(x.shape)}")
        raise ValueError(f"expected uint8 or float images ({c}, {h}, {w}), or a batch (N, {c}, {h}, {w}), got shape "
                         f"{tuple(x.shape)}")  # fmt: skip
    key = "x".join(map(str, shape))
    raise ValueError(f"this transform holds fits for input shapes {', '.join(maps)}, not {key}, and no pipeline to "
                     f"fit a new one: fit it with LearnedTransform.fit(pipeline)")  # fmt: skip
