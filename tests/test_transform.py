import pickle

import pytest
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from lib.core import banded, models, spec
from lib.core.transform import LearnedTransform
from tests.test_engine import assert_same_8bit, needs_cc

HAS_CC = not needs_cc.args[0]


def _u8(n: int, shape=(3, 32, 32), seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, *shape), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


class _Images(Dataset):
    """uint8 images, each through a transform, as a user's dataset would hold them."""

    def __init__(self, images: torch.Tensor, transform):
        self.images, self.transform = images, transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(self.images[i])


def test_the_transform_gives_the_models_output_for_one_image_a_batch_uint8_and_float():
    net = banded.from_separable(models.build("exact")).eval()
    t = LearnedTransform(net)
    x = _u8(5)
    with torch.no_grad():
        expected = net(x.float() / 255)
    assert t.backend == ("cpu-loop" if HAS_CC else "eager") and t.backend in repr(t)
    close = {"rtol": 1e-5, "atol": 2e-6}  # the engine's sums in another order: float rounding apart
    torch.testing.assert_close(t(x), expected, **close)
    torch.testing.assert_close(t(x.float() / 255), expected, **close)
    torch.testing.assert_close(t(x[2]), expected[2], **close)  # one image in, one image out
    assert_same_8bit(LearnedTransform(net, out_dtype=torch.uint8)(x), expected)
    assert not any(p.requires_grad for p in t.parameters())
    loader = DataLoader(_Images(x, torch.nn.Identity()), batch_size=2, collate_fn=t.collate)  # one call a batch
    torch.testing.assert_close(torch.cat(list(loader)), t(x), rtol=0, atol=0)


@pytest.mark.parametrize("threads", [1, 2])
@needs_cc
def test_bad_input_gets_a_clear_error_from_the_transform(threads):
    t = LearnedTransform(banded.from_separable(models.build("exact")))
    x = _u8(3)
    torch.set_num_threads(threads)
    for bad, match in ((x[:0], "an empty batch"), (x.transpose(2, 3), "non-contiguous"),
                       (x.contiguous(memory_format=torch.channels_last), "channels-last")):  # fmt: skip
        with pytest.raises(ValueError, match=match):
            t(bad)


def test_the_transform_works_in_a_compose_and_under_two_dataloader_workers():
    t = LearnedTransform(models.build("exact"))
    x = _u8(12, seed=1)
    composed = v2.Compose([v2.ToDtype(torch.float32, scale=True), t])  # after a user's own steps
    expected = t(x)
    torch.testing.assert_close(torch.stack([composed(img) for img in x]), expected, rtol=1e-6, atol=1e-7)
    loader = DataLoader(_Images(x, t), batch_size=5, num_workers=2)  # each worker gets a pickled copy
    torch.testing.assert_close(torch.cat(list(loader)), expected, rtol=0, atol=0)
    assert torch.equal(pickle.loads(pickle.dumps(t))(x), expected)


def test_the_transform_heads_a_model_and_passes_compile_and_export():
    t = LearnedTransform(models.build("exact"))
    head = torch.nn.Sequential(t, torch.nn.Flatten(), torch.nn.Linear(784, 10))
    x = _u8(4, seed=2)
    assert head(x).shape == (4, 10)
    compiled = torch.compile(t, backend="eager", fullgraph=True)  # graph capture without code generation
    torch.testing.assert_close(compiled(x), t(x), rtol=1e-5, atol=2e-6)  # traced: the model's own operations
    batch = torch.export.Dim("batch", min=1)
    exported = torch.export.export(t, (x,), dynamic_shapes={"x": {0: batch}})
    torch.testing.assert_close(exported.module()(_u8(9, seed=3)), t(_u8(9, seed=3)), rtol=1e-5, atol=2e-6)


def test_a_traced_transform_records_the_models_operations_not_a_constant():
    t = LearnedTransform(banded.from_separable(models.build("exact")))
    traced = torch.jit.trace(t, (_u8(4, seed=7),), check_trace=False)
    x = _u8(4, seed=8)
    torch.testing.assert_close(traced(x), t(x), rtol=1e-5, atol=2e-6)


def test_wrong_inputs_get_errors_that_say_what_was_expected():
    t = LearnedTransform(models.build("exact"))
    cases = [
        (torch.zeros(2, 1, 32, 32), ValueError, r"expected 3 channels \(RGB\), got 1 channel \(gray\)"),
        (torch.zeros(2, 3, 28, 28), ValueError, r"or a batch \(N, 3, 32, 32\), got shape \(2, 3, 28, 28\)"),
        (torch.zeros(32, 32), ValueError, r"got shape \(32, 32\)"),
        (torch.zeros(5, 32, 32), ValueError, r"got shape \(5, 32, 32\)"),  # a batch without its channel axis
        (torch.zeros(2, 3, 32, 32, dtype=torch.int64), TypeError, "got dtype torch.int64"),
        ([[0.0]], TypeError, "expected a tensor of uint8 or float images"),
    ]  # fmt: skip
    for x, kind, match in cases:
        with pytest.raises(kind, match=match):
            t(x)
    with pytest.raises(ValueError, match="out_dtype"):
        LearnedTransform(models.build("exact"), out_dtype=torch.float16)


def test_a_transform_fitted_for_a_pipeline_with_normalize_reproduces_it():
    pipeline = v2.Compose([v2.Resize((16, 16), antialias=True), v2.Grayscale(), v2.Normalize([0.48], [0.23])])
    t = LearnedTransform.fit(pipeline, in_shape=(3, 48, 48))
    x = _u8(6, shape=(3, 48, 48), seed=4)
    with torch.no_grad():
        assert (t(x) - pipeline(x.float() / 255)).abs().max().item() * 255 < 0.01
    assert t.model.family == "banded" and type(t.model.linear).__name__ == "Banded"
    with pytest.raises(ValueError, match="RandomHorizontalFlip"):
        LearnedTransform.fit(v2.RandomHorizontalFlip(), in_shape=(3, 32, 32))
    with pytest.raises(ValueError, match=r"not affine.*from step 2.*folds after its linear steps"):
        LearnedTransform.fit(spec.parse("resize(16, 16) | solarize(0.5)").transform, in_shape=(3, 32, 32))


def test_a_saved_model_loads_as_a_transform(tmp_path):
    net = banded.from_separable(models.build("exact"))
    path = models.save(net, tmp_path / "banded.pt")
    x = _u8(3, seed=5)
    torch.testing.assert_close(LearnedTransform.load(path)(x), LearnedTransform(net)(x), rtol=0, atol=0)


def test_images_on_another_device_than_the_weights_are_refused():
    t = LearnedTransform(models.build("exact")).to("meta")  # a device every machine has, holding no data
    with pytest.raises(ValueError, match=r"the images are on cpu, the transform's weights on meta"):
        t(_u8(2))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_the_transform_runs_on_cuda_from_uint8():
    x = _u8(8, seed=6)
    on_gpu = LearnedTransform(banded.from_separable(models.build("exact"))).to("cuda")
    on_cpu = LearnedTransform(banded.from_separable(models.build("exact")))
    torch.testing.assert_close(on_gpu(x.cuda()).cpu(), on_cpu(x), rtol=1e-5, atol=2e-6)
