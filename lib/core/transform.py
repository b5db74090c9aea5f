"""The learned model of a pipeline as a transform for a user's own code.

:class:`LearnedTransform` takes what a user's images are: uint8 or float, one image (C, H, W), a batch (N, C, H, W) or
a list of images of different sizes, on the CPU or a GPU; and returns what the pipeline returns, float, or uint8 when
asked (rounded to the nearest level as ``lib.core.metrics.to_8bit`` rounds). It is an ``nn.Module``: it goes in a
``v2.Compose`` or a ``Dataset``'s transform (and pickles, so ``DataLoader`` workers take it), at the head of a model
(``nn.Sequential(transform, net)``, moved with ``.to("cuda")``), and through ``torch.compile`` and ``torch.export``
(one input shape): its checks read only shapes and dtypes, never pixel values.

It holds one fitted map per input shape. ``LearnedTransform.fit(pipeline)`` without a shape fits each new shape when
it first sees it (lib.core.fitting: the smallest of the report's families that reproduces the pipeline, checked on
noise and on the images of that first call) and keeps the fit; an axis map read for one shape is reused for
another with the same length in and out on that axis. ``t.fits`` lists the fits, their families, errors and seconds.

Every fit runs through the engine (lib.core.engine): the compiled CPU loop or the CUDA kernel, whichever takes the map
on the device its weights are on, else the eager forward; ``t.backend`` names it. Give it a whole batch where you
can: one engine call per batch (:meth:`LearnedTransform.collate` in a ``DataLoader``) costs far less than one per
image. Ways to get one::

    t = LearnedTransform.fit(pipeline)                           # any deterministic pipeline, fitted per shape
    t = LearnedTransform.fit(pipeline, in_shape=(3, 96, 96))     # fitted now, for one shape
    t = LearnedTransform.load("reports/models/separable.pt")     # a model the report saved, or a saved transform
    t = LearnedTransform(model)                                  # any model of lib.core.models
"""

import pickle
import time
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import default_collate

from lib.core import engine, fitted, fitting, registry, spec
from lib.core.constants import GRAY_LEVELS
from lib.core.images import check as _check
from lib.core.images import wrong_shape as _wrong_shape
from lib.core.metrics import to_8bit

FORMAT = 1  # version of a saved transform's layout (a saved model is lib.core.registry's)
KIND = "LearnedTransform"
# a transform that fits shapes as they come runs the engine's generic build (compiled once per process) for images
# above this many pixels, and a build for the shape's own sizes (0.4-0.6 s to compile) at or below it: there it ran
# about twice as fast (the loops over a small image's rows are short enough to unroll)
SPECIALISE_PIXELS = 64 * 64


def _key(shape) -> str:
    return "x".join(map(str, shape))


class LearnedTransform(nn.Module):
    """A transform of images by fitted maps, one per input shape (see the module's notes). ``model``: a model of
    ``lib.core.models`` (or a ``lib.core.fitted.Fitted``) for its ``in_shape``, or None for a transform that fits
    ``pipeline`` on each new shape. ``out_dtype`` is ``torch.float32`` (the pipeline's own output) or ``torch.uint8``
    (rounded to the nearest of 256 levels and clipped: for pipelines whose output is in [0, 1])."""

    def __init__(self, model: nn.Module | None = None, out_dtype: torch.dtype = torch.float32, pipeline=None):
        super().__init__()
        if out_dtype not in (torch.float32, torch.uint8):
            raise ValueError(f"out_dtype is torch.float32 or torch.uint8, got {out_dtype}")
        if model is None and pipeline is None:
            raise TypeError("a LearnedTransform needs a model, or a pipeline to fit (LearnedTransform.fit)")
        self.out_dtype, self.pipeline = out_dtype, pipeline
        self.maps = nn.ModuleDict()  # "CxHxW" -> the fitted map for that input shape
        self.reports: dict[str, fitting.FitReport] = {}  # the same keys: how each was fitted
        self.axes: dict = {}  # row and column maps read so far, for the next shapes (lib.core.fitting.fit_shape)
        self._lazy: set[str] = set()  # the shapes fitted on first sight (the rest were given: a build of their own)
        self.register_buffer("_anchor", torch.empty(0), persistent=False)  # moves with .to(): where new fits go
        if model is not None:
            self._add(model)

    def _add(self, model: nn.Module, report: fitting.FitReport | None = None) -> None:
        in_shape = getattr(model, "in_shape", None)
        if in_shape is None:
            raise TypeError(f"{type(model).__name__} does not say its input shape (in_shape): build it with "
                            f"lib.core.models.build")  # fmt: skip
        key = _key(in_shape)
        self.maps[key] = model.eval().requires_grad_(False).to(self._anchor.device)
        if report is not None:
            self.reports[key] = report
        self._backends = {}

    @classmethod
    def fit(cls, pipeline, in_shape: tuple[int, int, int] | None = None, x: torch.Tensor | None = None,
            out_dtype: torch.dtype = torch.float32) -> "LearnedTransform":  # fmt: skip
        """A transform of ``pipeline`` (a spec string, or any deterministic callable on float image batches: a
        ``v2.Compose``, an ``nn.Module``, a function; ``lib.core.spec.wrap``). With ``in_shape`` it is fitted on that
        shape now, checked on ``x`` (photographs of that shape, uint8 or float) as well as noise; without, on each
        shape when it first sees it. A pipeline that no family reproduces is refused with the step and the reason
        (``lib.core.fitting.Refused``), a random one with its random steps."""
        t = cls(None, out_dtype, pipeline)
        if in_shape is not None:
            t._fit_shape(tuple(in_shape), x)
        return t

    def _fit_shape(self, in_shape: tuple[int, int, int], photos: torch.Tensor | None) -> nn.Module:
        if self.pipeline is None:
            have = ", ".join(self.maps) or "none"
            raise ValueError(f"this transform holds fits for input shapes {have}, not {_key(in_shape)}, and no "
                             f"pipeline to fit a new one (a transform loaded from a file, or pickled with a pipeline "
                             f"that does not pickle): fit it with LearnedTransform.fit(pipeline)")  # fmt: skip
        start = time.perf_counter()
        s = spec.wrap(self.pipeline, in_shape)
        model, report = fitting.fit_shape(s, photos, self.axes)
        report.seconds = time.perf_counter() - start  # the checks of spec.wrap included
        self._add(model, report)
        return model

    def _apply(self, fn, recurse: bool = True):
        """``.to()``, ``.cuda()`` and the like move the weights: plan anew on the next call."""
        moved = super()._apply(fn, recurse)
        self._backends = {}
        return moved

    def __getstate__(self) -> dict:
        state = {**self.__dict__, "_backends": {}}  # compiled code stays in its process; a copy builds its own
        try:
            pickle.dumps(self.pipeline)
        except Exception:  # noqa: BLE001 - a lambda or a local function: the copy keeps its fits, not the pipeline
            state["pipeline"] = None
        return state

    @property
    def fits(self) -> list[str]:
        """One line per fitted input shape: family, numbers, method, seconds and worst errors."""
        return [
            self.reports[k].line() if k in self.reports else f"{k}: {type(m).__name__}" for k, m in self.maps.items()
        ]

    @property
    def fit_seconds(self) -> float:
        """The fits' total time."""
        return sum(r.seconds for r in self.reports.values())

    @property
    def model(self) -> nn.Module:
        """The one fitted map, for a transform of one input shape."""
        if len(self.maps) != 1:
            raise ValueError(f"this transform holds {len(self.maps)} fits ({', '.join(self.maps) or 'none yet'}); "
                             f"take one from t.maps['CxHxW']")  # fmt: skip
        return next(iter(self.maps.values()))

    @property
    def in_shape(self) -> tuple[int, int, int] | None:
        """The input shape of a transform that takes one (None where it fits any)."""
        return None if self.pipeline is not None or len(self.maps) != 1 else tuple(self.model.in_shape)

    def _backend(self, key: str, device: torch.device):
        backend = self._backends.get((key, device))
        if backend is None:
            _, h, w = self.maps[key].in_shape  # shapes fitted as they come share the generic build, but small ones
            generic = key in self._lazy and h * w > SPECIALISE_PIXELS  # ran about 2x faster on their own build
            backend = self._backends[(key, device)] = engine.backend_for(self.maps[key], device, generic=generic)
        return backend

    @property
    def backend(self) -> str:
        """The engine's backend for the first fit on the weights' device: "cpu-loop", "triton" or "eager"."""
        return self._backend(next(iter(self.maps)), self._anchor.device).name

    @property
    def backend_reason(self) -> str:
        """Why the engine runs eager PyTorch for the first fit ("" when a compiled backend runs)."""
        return getattr(self._backend(next(iter(self.maps)), self._anchor.device), "reason", "")

    def save(self, path: str | Path) -> Path:
        """Write every fit (its map, and how it was fitted) to one file; :meth:`load` reads it back. The pipeline is
        kept where it is a spec string; a callable is code, so the loaded transform takes the saved shapes only."""
        fits = []
        for key, model in self.maps.items():
            data = fitted.to_blob(model) if isinstance(model, fitted.Fitted) else registry.blob(model)
            report = self.reports.get(key)
            fits.append({"fitted": isinstance(model, fitted.Fitted), "model": data,
                         "report": None if report is None else asdict(report)})  # fmt: skip
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        pipeline = self.pipeline if isinstance(self.pipeline, str) else None
        torch.save({"format": FORMAT, "kind": KIND, "out_dtype": str(self.out_dtype).removeprefix("torch."),
                    "pipeline": pipeline, "fits": fits}, path)  # fmt: skip
        return path

    @classmethod
    def load(cls, path: str | Path, out_dtype: torch.dtype | None = None) -> "LearnedTransform":
        """A transform saved by :meth:`save`, or a model saved by ``lib.core.models.save`` as a transform."""
        data = registry.read(path)
        if not (isinstance(data, dict) and data.get("kind") == KIND):
            return cls(registry.from_blob(data, where=str(path)), out_dtype or torch.float32)
        if data.get("format") != FORMAT:
            raise ValueError(f"{path} is a transform saved in format {data.get('format')}; this code reads {FORMAT}")
        fits = []
        for item in data["fits"]:
            model = fitted.from_blob(item["model"]) if item["fitted"] else registry.from_blob(item["model"])
            r = item["report"]
            fits.append((model, None if r is None else fitting.FitReport(**{k: tuple(v) if k.endswith("shape") else v
                                                                            for k, v in r.items()})))  # fmt: skip
        if not fits and data["pipeline"] is None:
            raise ValueError(f"{path} holds no fit and no pipeline to fit")
        t = cls(fits[0][0] if fits else None, out_dtype or getattr(torch, data["out_dtype"]), data["pipeline"])
        for model, report in fits:
            t._add(model, report)
            fitting.note_axes(model, t.axes)  # a plain separable fit's axis maps, for the next shapes
        return t

    def _map_for(self, x) -> str:
        """The key of the fit for the images ``x`` (checked), fitting one first where the transform can."""
        _check(x, self._anchor.device)
        shape = tuple(int(v) for v in x.shape[-3:])  # ints, also where a tracer records the sizes as tensors
        key = _key(shape)
        if key not in self.maps:
            if self.pipeline is None or torch.compiler.is_compiling():
                want = next(iter(self.maps.values())).in_shape if len(self.maps) == 1 else None
                _wrong_shape(x, want, self.maps)
            spec.check_in_shape(shape)
            photos = (x if x.ndim == 4 else x[None])[: fitting.CHECK_IMAGES]  # checked on a few of these images
            self._fit_shape(shape, photos.float() / GRAY_LEVELS if photos.dtype == torch.uint8 else photos.float())
            self._lazy.add(key)
        return key

    def forward(self, x):
        if isinstance(x, (list, tuple)):  # images of any sizes: one engine call per size
            return self._list(x)
        key = self._map_for(x)
        batch = x if x.ndim == 4 else x.unsqueeze(0)
        batch = batch if batch.dtype in engine.DTYPES else batch.float()
        if torch.compiler.is_compiling() or torch.compiler.is_exporting() or torch.jit.is_tracing():
            y = self.maps[key](batch.float() / GRAY_LEVELS if batch.dtype == torch.uint8 else batch)
            y = to_8bit(y).to(torch.uint8) if self.out_dtype == torch.uint8 else y  # the map's own operations
        else:
            y = self._backend(key, batch.device)(batch, self.out_dtype)
        return y if x.ndim == 4 else y[0]

    def _list(self, images) -> list[torch.Tensor]:
        """Each image's output, in order: the images grouped by size and dtype, each group one engine call (the CPU
        loop reads the images where they lie; elsewhere they are stacked first)."""
        groups: dict[tuple, list[int]] = {}
        for i, img in enumerate(images):
            _check(img, self._anchor.device)
            groups.setdefault((tuple(img.shape), img.dtype), []).append(i)
        out = [None] * len(images)
        for members in groups.values():
            imgs = [images[i].contiguous() for i in members]  # each where it lies (a copy only where it is strided)
            key = self._map_for(torch.stack(imgs[: fitting.CHECK_IMAGES]))  # fitted here on a first sight of the size
            backend = self._backend(key, imgs[0].device)
            direct = backend.name == "cpu-loop" and imgs[0].dtype in engine.DTYPES
            ys = backend(imgs, self.out_dtype) if direct else self(torch.stack(imgs))
            for i, y in zip(members, ys, strict=True):
                out[i] = y
        return out

    def collate(self, images: list[torch.Tensor]) -> torch.Tensor | list[torch.Tensor]:
        """A ``DataLoader``'s ``collate_fn`` that runs the transform once per input shape of a batch: a batch tensor
        where the outputs share a shape (``DataLoader(dataset, batch_size=256, collate_fn=t.collate)``), else a
        list."""
        if len({tuple(i.shape) for i in images}) == 1:
            return self(default_collate(images))
        out = self(list(images))
        return torch.stack(out) if len({tuple(o.shape) for o in out}) == 1 else out

    def extra_repr(self) -> str:
        lines = [
            f"out_dtype={self.out_dtype}, "
            + (
                f"fits any input shape ({len(self.maps)} fitted in {self.fit_seconds:.2f} s)"
                if self.pipeline is not None
                else f"{len(self.maps)} input shape(s)"
            )
        ]
        for key, line in zip(self.maps, self.fits, strict=True):
            b = self._backend(key, self._anchor.device)
            lines.append(f"{line}; backend={b.name!r}: {b.label}")
        return "\n".join(lines)
