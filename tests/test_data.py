import numpy as np
import pytest
import torch
from PIL import Image

from lib.core import data
from tests.conftest import write_image_folder


def test_loads_image_folder(tiny_folder, tmp_path):
    split = data.load_split(tiny_folder, "train", cache_dir=tmp_path)
    assert split.images.shape == (120, 3, 32, 32) and split.images.dtype == torch.uint8
    assert split.classes == ["cat", "ship"] and split.labels.tolist() == [0] * 60 + [1] * 60
    first = np.array(Image.open(tiny_folder / "train" / "cat" / "0000.png"))
    assert torch.equal(split.images[0], torch.from_numpy(first).permute(2, 0, 1))


def test_cache_is_used_and_kept_outside_the_data(tiny_folder, tmp_path):
    before = sorted(p.name for p in tiny_folder.rglob("*"))
    first = data.load_split(tiny_folder, "test", cache_dir=tmp_path)
    cached = list(tmp_path.glob("test-*.pt"))
    assert len(cached) == 1
    again = data.load_split(tiny_folder, "test", cache_dir=tmp_path)
    assert torch.equal(first.images, again.images)
    assert sorted(p.name for p in tiny_folder.rglob("*")) == before  # nothing written into the data


def test_cache_key_follows_the_files(tmp_path):
    root = write_image_folder(tmp_path / "d", {"train": 2, "test": 2})
    cache = tmp_path / "cache"
    data.load_split(root, "test", cache_dir=cache)
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(root / "test" / "cat" / "0009.png")
    assert len(data.load_split(root, "test", cache_dir=cache).images) == 5
    assert len(list(cache.glob("test-*.pt"))) == 2


def test_gray_and_rgba_files_become_rgb(tmp_path):
    root = write_image_folder(tmp_path, {"train": 1, "test": 1})
    Image.fromarray(np.full((32, 32), 200, np.uint8), mode="L").save(root / "train" / "cat" / "gray.png")
    Image.fromarray(np.full((32, 32, 4), 90, np.uint8), mode="RGBA").save(root / "train" / "ship" / "rgba.png")
    split = data.load_split(root, "train", cache_dir=None)
    assert split.images.shape == (4, 3, 32, 32)
    assert (split.images[1] == 200).all() and (split.images[3] == 90).all()


def test_wrong_size_names_the_file(tmp_path):
    root = write_image_folder(tmp_path, {"train": 1, "test": 1})
    Image.fromarray(np.zeros((28, 30, 3), np.uint8)).save(root / "train" / "cat" / "big.png")
    with pytest.raises(ValueError, match=r"big\.png is 30x28, expected a 32x32 image"):
        data.load_split(root, "train", cache_dir=None)


def test_corrupt_and_truncated_files_are_named(tmp_path):
    root = write_image_folder(tmp_path, {"train": 1, "test": 1})
    good = (root / "train" / "cat" / "0000.png").read_bytes()
    (root / "train" / "cat" / "half.png").write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match=r"half\.png is not a readable image file"):
        data.load_split(root, "train", cache_dir=None)
    (root / "train" / "cat" / "half.png").write_bytes(b"not an image at all")
    with pytest.raises(ValueError, match=r"half\.png is not a readable image file"):
        data.load_split(root, "train", cache_dir=None)


def test_cache_write_failure_warns_and_still_returns_the_images(tmp_path):
    root = write_image_folder(tmp_path / "d", {"train": 1, "test": 1})
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    with pytest.warns(UserWarning, match="could not cache decoded images"):
        split = data.load_split(root, "test", cache_dir=blocker / "sub")
    assert split.images.shape == (2, 3, 32, 32)


def test_missing_data_names_both_options(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py.*train/<class>"):
        data.load_split(tmp_path, "train", download=False)

    import torchvision.datasets

    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    with pytest.raises(FileNotFoundError, match="download failed: network unreachable.*train/<class>"):
        data.load_split(tmp_path / "empty", "test", download=True)


def test_a_mistyped_folder_is_never_downloaded_into(tmp_path, monkeypatch):
    import torchvision.datasets

    def must_not_download(*args, **kwargs):
        raise AssertionError("a download was started")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", must_not_download)
    with pytest.raises(FileNotFoundError, match="does not exist; downloads go only into the default"):
        data.load_split(tmp_path / "cifra10", "train")
    assert not (tmp_path / "cifra10").exists()
    with pytest.raises(ValueError, match="unknown split"):
        data.load_split(tmp_path, "validation")


def test_loads_torchvision_layout(tmp_path, monkeypatch):
    (tmp_path / "cifar-10-batches-py").mkdir()
    fake = np.arange(2 * 32 * 32 * 3, dtype=np.uint8).reshape(2, 32, 32, 3)

    class FakeCIFAR10:
        def __init__(self, root, train, download):
            assert not download
            self.data, self.targets, self.classes = fake, [3, 7], ["a", "b"]

    import torchvision.datasets

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", FakeCIFAR10)
    split = data.load_split(tmp_path, "train")
    assert split.source == "torchvision" and split.labels.tolist() == [3, 7]
    assert torch.equal(split.images[1, :, 5, 6], torch.from_numpy(fake[1, 5, 6]))


def test_to_float_divides_by_255():
    # known answers, not the one line it wraps: every 8-bit value k becomes k / 255, 0 and 255 exactly 0 and 1
    x = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    out = data.to_float(x)
    assert out.dtype == torch.float32 and out.shape == x.shape
    assert out[0, 0, 0, 0] == 0 and out[0, 0, 15, 15] == 1
    assert torch.allclose(out.flatten().double(), torch.arange(256, dtype=torch.float64) / 255, rtol=0, atol=1e-7)
    with pytest.raises(TypeError):
        data.to_float(x.float())


def test_train_val_split_is_seeded_and_disjoint():
    tr, val = data.train_val_indices(100, 0.1, seed=3)
    assert len(val) == 10 and len(tr) == 90 and not set(tr.tolist()) & set(val.tolist())
    assert torch.equal(val, data.train_val_indices(100, 0.1, seed=3)[1])
    assert not torch.equal(val, data.train_val_indices(100, 0.1, seed=4)[1])
    with pytest.raises(ValueError):
        data.train_val_indices(100, 1.5, seed=0)


def test_prepare_sizes_and_targets(tiny_folder):
    ds = data.prepare(tiny_folder, n_train=50, val_fraction=0.1, n_test=10)
    assert ds.sizes == {"train": 50, "val": 12, "test": 10}
    assert ds.train_x.dtype == torch.float32 and ds.test_y.shape == (10, 1, 28, 28)
    assert 0 <= ds.val_y.min() and ds.val_y.max() <= 1
