"""CIFAR-10 loading: torchvision's pickle batches or an image-folder tree, decoded once and cached.

Images come back as uint8 tensors (N, 3, 32, 32); ``to_float`` gives the float32 view in [0, 1].
"""

import contextlib
import hashlib
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import v2

from lib import paths
from lib.core.pipeline import make_targets
from lib.progress import bar as tqdm

SPLITS = ("train", "test")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm"}
TORCHVISION_DIR = "cifar-10-batches-py"
_to_float = v2.ToDtype(torch.float32, scale=True)


@dataclass
class Split:
    """One split of the data set: uint8 images (N, 3, 32, 32), integer labels (N,), class names."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    source: str  # "torchvision" or "folder"


def to_float(images: torch.Tensor) -> torch.Tensor:
    """The float32 view in [0, 1] of uint8 images, exactly as ``v2.ToDtype(float32, scale=True)``."""
    if images.dtype != torch.uint8:
        raise TypeError(f"expected uint8 images, got {images.dtype}")
    return _to_float(images)


def detect(data_dir: str | Path) -> str | None:
    """Which layout ``data_dir`` holds: "torchvision", "folder", or None when neither."""
    data_dir = Path(data_dir)
    if (data_dir / TORCHVISION_DIR).is_dir():
        return "torchvision"
    if all((data_dir / s).is_dir() for s in SPLITS):
        return "folder"
    return None


def _missing_error(data_dir: Path, why: str) -> FileNotFoundError:
    return FileNotFoundError(
        f"no CIFAR-10 under {data_dir} ({why}). Either put torchvision's {TORCHVISION_DIR}/ there "
        f"(torchvision.datasets.CIFAR10 downloads it when the network allows), or an image folder "
        f"train/<class>/*.jpg and test/<class>/*.jpg of 32x32 images; then pass it as "
        f"`make report DATA=<dir>` or the notebook parameter data_dir."
    )


def load_split(
    data_dir: str | Path,
    split: str = "train",
    download: bool | None = None,
    cache_dir: str | Path | None = paths.CACHE,
) -> Split:
    """Load one split, detecting the layout; download torchvision's copy when nothing is there.

    ``download=None`` downloads only into the project's default folder ``data/``: a mistyped path
    elsewhere fails with a clear error instead of starting a 170 MB download into a folder named after
    the typo. ``download=True`` downloads into any folder, ``False`` never.

    Image folders are decoded once and cached under ``cache_dir`` (never inside ``data_dir``, which
    may be read-only), keyed on the files' paths, sizes and modification times.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
    data_dir = paths.resolve(data_dir)
    layout = detect(data_dir)
    if layout is None:
        if download is None:
            download = data_dir == paths.DATA
        if not download:
            why = "it does not exist" if not data_dir.exists() else "found neither layout"
            raise _missing_error(data_dir, f"{why}; downloads go only into the default {paths.DATA} unless asked")
        _download(data_dir)
        layout = "torchvision"
    if layout == "torchvision":
        return _load_torchvision(data_dir, split)
    return _load_folder(data_dir / split, cache_dir)


def _download(data_dir: Path) -> None:
    from torchvision.datasets import CIFAR10

    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        CIFAR10(root=data_dir, train=True, download=True)
    except Exception as err:  # no network, read-only directory, ...: one clear message instead
        raise _missing_error(data_dir, f"found neither layout and the download failed: {err}") from err


def _load_torchvision(data_dir: Path, split: str) -> Split:
    from torchvision.datasets import CIFAR10

    ds = CIFAR10(root=data_dir, train=split == "train", download=False)
    images = torch.from_numpy(np.ascontiguousarray(ds.data)).permute(0, 3, 1, 2).contiguous()
    return Split(images, torch.tensor(ds.targets, dtype=torch.int64), list(ds.classes), "torchvision")


def _list_folder(split_dir: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    classes = sorted(e.name for e in os.scandir(split_dir) if e.is_dir() and not e.name.startswith("."))
    files = []
    for label, name in enumerate(classes):
        entries = sorted(
            (e for e in os.scandir(split_dir / name) if e.is_file() and Path(e.name).suffix.lower() in IMAGE_SUFFIXES),
            key=lambda e: e.name,
        )
        files += [(Path(e.path), label) for e in entries]
    if not files:
        raise FileNotFoundError(f"no images under {split_dir}: expected {split_dir}/<class>/*.jpg")
    return classes, files


def _cache_key(split_dir: Path, files: list[tuple[Path, int]]) -> str:
    h = hashlib.sha1(str(split_dir).encode())
    for path, label in files:
        st = path.stat()
        h.update(f"{path.relative_to(split_dir)}|{label}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


def decode_image(path: Path) -> np.ndarray:
    """One 32x32 image file as a (32, 32, 3) uint8 array; gray or RGBA files become RGB.

    A file that is not a readable image (corrupt, truncated, another format) raises ``ValueError``
    naming it, at the moment it is met, not after the rest of the folder has been decoded."""
    try:
        with Image.open(path) as img:
            size = img.size
            rgb = np.asarray(img.convert("RGB"))
    except (OSError, SyntaxError, ValueError) as err:  # PIL's errors for unreadable files
        raise ValueError(f"{path} is not a readable image file ({err}); remove or replace it") from err
    if size != (32, 32):
        raise ValueError(f"{path} is {size[0]}x{size[1]}, expected a 32x32 image")
    return rgb


def _load_folder(split_dir: Path, cache_dir: str | Path | None) -> Split:
    classes, files = _list_folder(split_dir)
    cache = Path(cache_dir) / f"{split_dir.name}-{_cache_key(split_dir, files)}.pt" if cache_dir else None
    if cache is not None and cache.is_file():
        blob = torch.load(cache, weights_only=True)
        return Split(blob["images"], blob["labels"], classes, "folder")
    images = np.empty((len(files), 32, 32, 3), dtype=np.uint8)
    for i, (path, _) in enumerate(tqdm(files, desc=f"decoding {split_dir.name}", unit="img", mininterval=1)):
        images[i] = decode_image(path)
    split = Split(
        torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(),
        torch.tensor([label for _, label in files], dtype=torch.int64),
        classes,
        "folder",
    )
    if cache is not None:
        _write_cache(cache, split)
    return split


def _write_cache(cache: Path, split: Split) -> None:
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")  # one per process: two processes decoding at once both land
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"images": split.images, "labels": split.labels}, tmp)
        tmp.replace(cache)  # atomic: a crash never leaves a half-written cache behind
    except OSError as err:
        with contextlib.suppress(OSError):  # where the folder cannot be made, there is no file to remove either
            tmp.unlink(missing_ok=True)
        warnings.warn(f"could not cache decoded images at {cache}: {err}", stacklevel=3)


def train_val_indices(n: int, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded split of ``n`` training images into (train, validation) index tensors."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    n_val = max(1, round(n * val_fraction))
    if n - n_val < 1:
        raise ValueError(f"{n} images are too few to split off {val_fraction:.0%} for validation")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[n_val:], perm[:n_val]


@dataclass
class Data:
    """Float images in [0, 1] and their pipeline targets for training, validation and test."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    test_labels: torch.Tensor
    classes: list[str]
    source: str
    sizes: dict[str, int] = field(default_factory=dict)


def prepare(
    data_dir: str | Path, n_train: int = 0, val_fraction: float = 0.1, seed: int = 0, n_test: int = 0, transform=None
) -> Data:
    """Everything a notebook needs: the seeded train/validation division of the train split, the
    test split, and the pipeline's targets for each. ``n_train``/``n_test`` = 0 keeps all images.
    ``transform``: another pipeline than the target (see ``lib.core.pipeline.make_targets``)."""
    if n_train < 0 or n_test < 0:
        raise ValueError("n_train and n_test must be >= 0 (0 = all images)")
    train, test = load_split(data_dir, "train"), load_split(data_dir, "test")
    tr_idx, val_idx = train_val_indices(len(train.images), val_fraction, seed)
    if n_train:
        tr_idx = tr_idx[:n_train]
    keep = torch.arange(len(test.images))
    if n_test:  # a seeded sample across classes (the files are ordered by class)
        keep = torch.randperm(len(test.images), generator=torch.Generator().manual_seed(seed))[:n_test].sort().values
    test_images, test_labels = test.images[keep], test.labels[keep]
    x = {"train": to_float(train.images[tr_idx]), "val": to_float(train.images[val_idx]), "test": to_float(test_images)}
    y = {k: make_targets(v, transform=transform) for k, v in x.items()}
    return Data(
        x["train"],
        y["train"],
        x["val"],
        y["val"],
        x["test"],
        y["test"],
        test_labels,
        classes=train.classes,
        source=train.source,
        sizes={k: len(v) for k, v in x.items()},
    )
