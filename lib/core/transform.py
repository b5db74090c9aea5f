"""The learned model of a pipeline as a transform for a user's own code.

:class:`LearnedTransform` wraps a saved or fitted model so that it takes what a user's images are: uint8 or
float, one image (C, H, W) or a batch (N, C, H, W), on the CPU or a GPU; and returns what the pipeline
returns, float (in [0, 1] for the target pipeline), or uint8 when asked, rounded to the nearest level as the
report's exact-8-bit measure rounds (``lib.core.metrics.to_8bit``). It is an ``nn.Module``: it goes in a
``v2.Compose`` or a ``Dataset``'s transform (and pickles, so ``DataLoader`` workers take it), at the head of a
model (``nn.Sequential(transform, net)``, moved with ``.to("cuda")``), and through ``torch.compile`` and
``torch.export``: its checks read only shapes and dtypes, never pixel values. The model it wraps, itself and not a
copy, is put in eval mode with its weights frozen.

It runs the model through the engine (lib.core.engine): the compiled CPU loop or the CUDA kernel, whichever takes the
model on the device its weights are on, else the model's eager forward; ``t.backend`` names the one it uses, and
``repr(t)`` says it. Under ``torch.compile`` and ``torch.export`` the eager forward is what gets traced. Give it a
whole batch where you can: one engine call per batch of a ``DataLoader`` (:meth:`LearnedTransform.collate`) costs far
less than one per image.

Three ways to get one::

    t = LearnedTransform.load("reports/models/separable.pt")        # a model the report saved
    t = LearnedTransform.fit(my_compose, in_shape=(3, 96, 96))       # fitted for a pipeline you already have
    t = LearnedTransform(model)                                      # any model of lib.core.models
"""

import itertools
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import default_collate

from lib.core import banded, engine, fit, registry, spec
from lib.core.classify import classify
from lib.core.constants import GRAY_LEVELS
from lib.core.metrics import to_8bit
from lib.core.separable import set_parts

FIT_NOISE = 64  # noise images fitted when none are given: the separable map has only C c + H h + W w unknowns


def fit_separable_and_banded(s: spec.Spec, x: torch.Tensor) -> tuple[tuple[nn.Module, float], tuple[nn.Module, float]]:
    """((``separable``, seconds), (``banded``, seconds)) for pipeline ``s`` (a ``lib.core.spec.Spec``) from images
    ``x`` of its input shape: the separable map fitted by alternating least squares (``lib.core.fit.separable_als``),
    then kept on its support (its seconds include the fit's)."""
    start = time.perf_counter()
    sep = registry.build("separable", out_shape=s.out_shape, in_shape=s.in_shape)
    with torch.no_grad():
        set_parts(sep, fit.separable_als(x, s(x)))
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    band = banded.from_separable(sep, banded.TRAINED_SUPPORT_TOL)
    return (sep.eval(), fit_s), (band.eval(), fit_s + time.perf_counter() - start)


class LearnedTransform(nn.Module):
    """``model`` (any model of ``lib.core.models``, which knows its ``in_shape``) as a transform: see the module's
    notes. ``out_dtype`` is ``torch.float32`` (the pipeline's own output) or ``torch.uint8`` (rounded to the
    nearest of 256 levels and clipped: for pipelines whose output is in [0, 1])."""

    def __init__(self, model: nn.Module, out_dtype: torch.dtype = torch.float32):
        super().__init__()
        if out_dtype not in (torch.float32, torch.uint8):
            raise ValueError(f"out_dtype is torch.float32 or torch.uint8, got {out_dtype}")
        in_shape = getattr(model, "in_shape", None)
        if in_shape is None:
            raise TypeError(f"{type(model).__name__} does not say its input shape (in_shape): build it with "
                            f"lib.core.models.build")  # fmt: skip
        self.model = model.eval().requires_grad_(False)
        self.in_shape = tuple(in_shape)
        self.out_dtype = out_dtype
        self._apply(lambda t: t)  # notes the weights' device; _backends: device -> the engine's backend, made at the
        # first call on that device

    def _device(self) -> torch.device:
        """The device of the weights (the CPU for a model without any), kept from the last move (``_apply``)."""
        return self._weights_device

    def _apply(self, fn, recurse: bool = True):
        """``.to()``, ``.cuda()`` and the like move or change the weights: note where they are now, and plan anew."""
        moved = super()._apply(fn, recurse)
        weight = next(itertools.chain(self.model.parameters(), self.model.buffers()), None)
        self._weights_device = weight.device if weight is not None else torch.device("cpu")
        self._backends = {}
        return moved

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self._apply(lambda t: t)  # unpickled, perhaps onto another device: note where the weights are

    def _backend(self, device: torch.device):
        backend = self._backends.get(device)
        if backend is None:
            backend = self._backends[device] = engine.backend_for(self.model, device)
        return backend

    @property
    def backend(self) -> str:
        """The engine's backend on the weights' device: "cpu-loop", "triton" or "eager" (:attr:`backend_reason`)."""
        return self._backend(self._device()).name

    @property
    def backend_reason(self) -> str:
        """Why the engine runs eager PyTorch here ("" when a compiled backend runs)."""
        return getattr(self._backend(self._device()), "reason", "")

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_backends": {}}  # compiled code stays in its process; a copy builds its own

    @classmethod
    def load(cls, path: str | Path, out_dtype: torch.dtype = torch.float32) -> "LearnedTransform":
        """The model saved at ``path`` (``lib.core.models.save``) as a transform."""
        return cls(registry.load(path), out_dtype)

    @classmethod
    def fit(cls, pipeline, in_shape: tuple[int, int, int], x: torch.Tensor | None = None, minimal: bool = True,
            out_dtype: torch.dtype = torch.float32) -> "LearnedTransform":  # fmt: skip
        """A transform fitted for ``pipeline`` (a spec string or any deterministic callable on float image batches,
        ``lib.core.spec.wrap``) on images of ``in_shape``: ``separable`` fitted on ``x`` (float images of that
        shape in [0, 1]; FIT_NOISE noise images when none), kept on its support (``banded``) when ``minimal``.
        A random pipeline, or one that fails on the shape, is refused with the reason; so is one that is not
        affine and row/column separable, which no such model reproduces."""
        s = spec.wrap(pipeline, tuple(in_shape))
        found = classify(s, n=8)
        if not (found.affine and found.separable):
            why = "not affine" if not found.affine else "affine but not row/column separable"
            raise ValueError(f"{s.text!r} is {why}: no separable or banded model reproduces it "
                             f"(lib.experiments.generality fits curves around one)")  # fmt: skip
        if x is None:
            x = torch.rand(FIT_NOISE, *s.in_shape, generator=torch.Generator().manual_seed(0))
        (sep, _), (band, _) = fit_separable_and_banded(s, x)
        return cls(band if minimal else sep, out_dtype)

    def _images(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` as a float batch the model takes, or an error that says what was expected."""
        if isinstance(x, torch.Tensor) and x.dtype in engine.DTYPES and x.ndim in (3, 4) \
                and x.shape[-3:] == self.in_shape and x.device == self._device():  # fmt: skip
            return x if x.ndim == 4 else x.unsqueeze(0)  # the common case, checked without building messages
        c, h, w = self.in_shape
        want = f"uint8 or float images ({c}, {h}, {w}), or a batch (N, {c}, {h}, {w})"
        if not isinstance(x, torch.Tensor):
            hint = ": convert a PIL image with v2.PILToTensor() first" if type(x).__module__.startswith("PIL") else ""
            raise TypeError(f"expected a tensor of {want}, got {type(x).__name__}{hint}")
        if x.dtype != torch.uint8 and not x.is_floating_point():
            raise TypeError(f"expected {want}, got dtype {x.dtype}")
        if x.ndim not in (3, 4):
            raise ValueError(f"expected {want}, got shape {tuple(x.shape)}")
        shape = tuple(x.shape[-3:])
        if shape[0] != c and shape[0] in (1, 3) and shape[1:] == (h, w):  # a gray image for RGB, or the reverse
            kind = {1: "1 channel (gray)", 3: "3 channels (RGB)"}
            wanted, got = kind.get(c, f"{c} channels"), kind.get(shape[0], f"{shape[0]} channels")
            raise ValueError(f"expected {wanted}, got {got} in shape {tuple(x.shape)}")
        if shape != self.in_shape:
            raise ValueError(f"expected {want}, got shape {tuple(x.shape)}")
        device = self._device()
        if device != x.device:
            raise ValueError(f"the images are on {x.device}, the transform's weights on {device}: "
                             f"move one to the other (transform.to({str(x.device)!r}))")  # fmt: skip
        x = x if x.ndim == 4 else x.unsqueeze(0)
        return x if x.dtype in engine.DTYPES else x.float()  # the engine refuses an empty or non-contiguous batch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = self._images(x)
        traced = torch.compiler.is_compiling() or torch.compiler.is_exporting() or torch.jit.is_tracing()
        if traced:  # the model's own operations, which a tracer can record
            y = self.model(batch.float() / GRAY_LEVELS if batch.dtype == torch.uint8 else batch)
            y = to_8bit(y).to(torch.uint8) if self.out_dtype == torch.uint8 else y
        else:
            y = self._backend(batch.device)(batch, self.out_dtype)
        return y if x.ndim == 4 else y[0]

    def collate(self, images: list[torch.Tensor]) -> torch.Tensor:
        """A ``DataLoader``'s ``collate_fn`` that stacks a batch of images and runs the transform once on it:
        ``DataLoader(dataset_of_uint8_images, batch_size=256, collate_fn=t.collate)``."""
        return self(default_collate(images))

    def extra_repr(self) -> str:
        b = self._backend(self._device())
        return f"in_shape={self.in_shape}, out_dtype={self.out_dtype}, backend={b.name!r}: {b.label}"
