import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lib.core.data import detect


def write_image_folder(root: Path, per_class: dict[str, int], seed: int = 0) -> Path:
    """A tiny CIFAR-like tree root/<split>/<class>/NNNN.png of smooth random 32x32 RGB images."""
    rng = np.random.default_rng(seed)
    for split, n in per_class.items():
        for cls in ("cat", "ship"):
            folder = root / split / cls
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                coarse = rng.uniform(0, 255, size=(4, 4, 3)).astype(np.uint8)
                smooth = np.asarray(Image.fromarray(coarse).resize((32, 32), Image.BILINEAR), dtype=np.int16)
                noisy = np.clip(smooth + rng.integers(-20, 21, size=smooth.shape), 0, 255).astype(np.uint8)
                Image.fromarray(noisy).save(folder / f"{i:04d}.png")
    return root


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory) -> Path:
    return write_image_folder(tmp_path_factory.mktemp("cifar"), {"train": 60, "test": 20})


@pytest.fixture(scope="session")
def smoke_data_dir(tiny_folder, tmp_path_factory) -> Path:
    """Real images when CIFAR_DATA names them (CI does; a CIFAR_DATA without data is an error), otherwise
    the generated tiny folder, whose decoded cache then goes to a temporary folder, not data/cache."""
    real = os.environ.get("CIFAR_DATA", "")
    if real:  # asked for real images: never fall back to generated ones without saying so
        if detect(real) is None:
            raise pytest.UsageError(
                f"CIFAR_DATA={real} holds no CIFAR-10 (neither layout of lib.core.data); fix the path"
            )
        return Path(real)
    os.environ["CIFAR_CACHE"] = str(tmp_path_factory.mktemp("cache"))  # read by the notebook kernels
    return tiny_folder
