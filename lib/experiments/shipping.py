"""The learned transform outside the notebook: the checks of ``06_ship``.

For one pipeline and its models, :func:`onnx_rows` exports each model as an ONNX graph (``lib.core.export_onnx``) from
uint8 and from float images, runs it with ONNX Runtime on the CPU, and scores it against the torchvision
pipeline on the test images and on every synthetic family (8-bit versions of ``lib.core.synthetic``'s images,
as a deployed model would receive them), with ONNX Runtime's time beside torch's for the same images.
:func:`pipeline_rows` does what a user would try first: export the torchvision pipeline itself, with either of
torch's exporters, and, where that works, the same scoring and timing. :func:`loader_rows` times a two-worker
``DataLoader`` with the pipeline or the learned transform, image by image as a ``Dataset``'s transform, and on each
collated batch (one call a batch).
"""

import tempfile
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, default_collate

from lib.core import export_onnx, metrics, synthetic
from lib.core.constants import GRAY_LEVELS
from lib.core.transform import LearnedTransform
from lib.timing import measure


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Float images in [0, 1] as the 8-bit images a file would store (rounded)."""
    return metrics.to_8bit(x).to(torch.uint8)


def family_sets(n: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """{family: n uint8 images} for every synthetic family."""
    return {f: to_uint8(synthetic.images(f, n, seed=seed + k)) for k, f in enumerate(synthetic.FAMILIES)}


def _as_float(sets: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Every set of uint8 images as the float images in [0, 1] the pipeline and the float graphs take."""
    return {k: x.float() / GRAY_LEVELS for k, x in sets.items()}


def _scores(outputs: dict[str, torch.Tensor], targets: dict[str, torch.Tensor]) -> dict:
    """The worst error (gray levels) over the sets and the test set's exact-8-bit share."""
    worst = max(metrics.max_abs(outputs[k], targets[k]) for k in outputs) * GRAY_LEVELS
    return {"max_gray": worst, "test_max_gray": metrics.max_abs(outputs["test"], targets["test"]) * GRAY_LEVELS,
            "test_exact8_pct": 100 * metrics.exact8(outputs["test"], targets["test"])}  # fmt: skip


def targets_of(pipeline, sets: dict[str, torch.Tensor], chunk: int = 2048) -> dict[str, torch.Tensor]:
    """The pipeline's output for every set of uint8 images (through their float values)."""
    with torch.no_grad():
        return {k: torch.cat([pipeline(x[i : i + chunk].float() / GRAY_LEVELS) for i in range(0, len(x), chunk)])
                for k, x in sets.items()}  # fmt: skip


def onnx_rows(name: str, models: dict[str, nn.Module], sets: dict[str, torch.Tensor], targets: dict[str, torch.Tensor],
              folder: str | Path, repeats: int = 3) -> list[dict]:  # fmt: skip
    """One row per model and input dtype: the graph's operators, its worst error against the pipeline over
    ``sets`` (uint8 images: "test" and the families), and ONNX Runtime's and torch's seconds on the test set, all of
    it in one call. Torch (``LearnedTransform``: the engine) is timed first, before any ONNX Runtime session: the
    sessions' threads spin on the cores after each run, and a timing right after one took about 1.8 times as long."""
    feeds = {"uint8": sets, "float": _as_float(sets)}  # made once: every model's graph reads the same images
    torch_s = {}
    with torch.inference_mode():
        for model_name, model in models.items():
            transform = LearnedTransform(model)  # the engine on the same input, uint8 or float
            for source, feed in feeds.items():
                work = lambda t=transform, x=feed["test"]: t(x)  # noqa: E731
                torch_s[(model_name, source)] = measure(work, repeats=repeats, warmup=1).median
    rows = []
    for model_name, model in models.items():
        for source, feed in feeds.items():
            path = export_onnx.export(model, Path(folder) / f"{name}_{model_name}_{source}.onnx", source)
            sess = export_onnx.session(path)
            outputs = {k: export_onnx.run(sess, x) for k, x in feed.items()}
            rows.append({"pipeline": name, "graph": model_name, "source": source,
                         "operators": " ".join(export_onnx.operators(path)), **_scores(outputs, targets),
                         "ort_s": export_onnx.seconds(sess, feed["test"], repeats),
                         "torch_s": torch_s[(model_name, source)], "n_images": len(sets["test"])})  # fmt: skip
    return rows


def pipeline_rows(name: str, pipeline: nn.Module, sets: dict[str, torch.Tensor], targets: dict[str, torch.Tensor],
                  in_shape: tuple[int, int, int], repeats: int = 3) -> list[dict]:  # fmt: skip
    """The torchvision pipeline exported with each of torch's exporters (float input): what happened, and where a
    graph came out, its operators, its worst error against the pipeline and ONNX Runtime's seconds on the test set."""
    rows, feed = [], _as_float(sets)
    with tempfile.TemporaryDirectory() as folder:
        for exporter, dynamo in (("TorchScript", False), ("dynamo", True)):
            path = Path(folder) / f"{name}_{exporter}.onnx"
            got = export_onnx.export_pipeline(pipeline, path, in_shape, dynamo)
            row = {"pipeline": name, "graph": f"the torchvision pipeline ({exporter} exporter)", "source": "float",
                   "n_images": len(sets["test"])}  # fmt: skip
            if not got["ok"]:
                rows.append({**row, "error": got["error"]})
                continue
            sess = export_onnx.session(path)
            outputs = {k: export_onnx.run(sess, x) for k, x in feed.items()}
            rows.append({**row, "operators": " ".join(got["operators"]), **_scores(outputs, targets),
                         "ort_s": export_onnx.seconds(sess, feed["test"], repeats)})  # fmt: skip
    return rows


class ImageSet(Dataset):
    """uint8 images (N, C, H, W), each returned through ``transform``: a user's dataset."""

    def __init__(self, images: torch.Tensor, transform):
        self.images, self.transform = images, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.transform(self.images[i])


class OnBatch:
    """A ``collate_fn`` that stacks a batch of images and runs ``transform`` once on the whole batch."""

    def __init__(self, transform):
        self.transform = transform

    def __call__(self, images: list[torch.Tensor]) -> torch.Tensor:
        return self.transform(default_collate(images))


def loader_seconds(images: torch.Tensor, transform, workers: int = 2, batch_size: int = 256, repeats: int = 3,
                   on_batch: bool = False) -> tuple[float, torch.Tensor]:  # fmt: skip
    """Median seconds of one pass of a ``DataLoader`` (``workers`` processes) over ``images`` through ``transform``,
    image by image (the dataset's transform) or, ``on_batch``, once per collated batch; and the batches it gave,
    concatenated."""
    if on_batch:
        loader = DataLoader(ImageSet(images, nn.Identity()), batch_size=batch_size, num_workers=workers,
                            persistent_workers=workers > 0, collate_fn=OnBatch(transform))  # fmt: skip
    else:
        loader = DataLoader(ImageSet(images, transform), batch_size=batch_size, num_workers=workers,
                            persistent_workers=workers > 0)  # fmt: skip
    out = torch.cat(list(loader))
    return measure(lambda: [b for b in loader], repeats=repeats, warmup=0).median, out


class _PipelineOnFloat:
    """The pipeline on uint8 images (one or a batch) made float in [0, 1] first, so that no step rounds to 8 bits: the
    faithful way to run it, and the reference every arrangement is scored against."""

    def __init__(self, pipeline):
        self.pipeline = pipeline

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.pipeline(x.float() / GRAY_LEVELS)


def loader_rows(images: torch.Tensor, pipeline, transform: LearnedTransform, workers: int = 2, batch_size: int = 256,
                repeats: int = 3) -> list[dict]:  # fmt: skip
    """One pass of a ``DataLoader`` over uint8 ``images`` four ways: the pipeline and the learned transform, each
    image by image (a ``Dataset``'s transform, as users set it up) and on the collated batch; seconds (median of
    ``repeats``), images a second, and the largest difference from the pipeline image by image (gray levels)."""
    rows, reference = [], None
    for name, fn in (("the target pipeline (torchvision)", _PipelineOnFloat(pipeline)),
                     ("LearnedTransform (the engine)", transform)):  # fmt: skip
        for on_batch in (False, True):
            seconds, out = loader_seconds(images, fn, workers, batch_size, repeats, on_batch)
            reference = out if reference is None else reference
            rows.append({"transform": name, "arrangement": "on the collated batch" if on_batch else "image by image",
                         "seconds": seconds, "images_per_s": len(images) / seconds,
                         "max_gray_vs_pipeline": (out - reference).abs().max().item() * GRAY_LEVELS})  # fmt: skip
    return rows
