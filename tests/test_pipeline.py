import pytest
import torch
from torchvision.transforms import v2

from lib.core import pipeline


def test_batched_equals_loop_and_shape():
    x = torch.rand(5, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    batched, loop = pipeline.apply_batched(x), pipeline.apply_loop(x)
    assert batched.shape == (5, 1, 28, 28)
    assert torch.allclose(batched, loop, atol=1e-6)
    assert torch.allclose(pipeline.make_targets(x, chunk=2), batched, atol=1e-6)


def test_flips_move_top_left_to_bottom_right():
    x = torch.zeros(1, 3, 32, 32)
    x[..., :8, :8] = 1.0  # bright top-left corner
    y = pipeline.apply_batched(x)[0, 0]
    assert y[-4:, -4:].min() > 0.99 and y[:4, :4].max() < 1e-6


def test_constant_image_stays_constant():
    y = pipeline.apply_batched(torch.full((1, 3, 32, 32), 0.25))
    assert torch.allclose(y, torch.full_like(y, 0.25 * 0.9999), atol=1e-6)  # luma weights add up to 0.9999


@pytest.mark.parametrize(
    "bad, err", [(torch.rand(2, 3, 28, 28), ValueError), (torch.zeros(2, 3, 32, 32, dtype=torch.uint8), TypeError)]
)
def test_rejects_bad_input(bad, err):
    with pytest.raises(err):
        pipeline.apply_batched(bad)


def test_the_target_is_the_assignments_pipeline_bit_for_bit():
    resize_gray = [v2.Resize((28, 28), antialias=True), v2.Grayscale()]
    assignment = v2.Compose([*resize_gray, v2.functional.hflip, v2.functional.vflip])
    x = torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    assert torch.equal(pipeline.make_pipeline()(x), assignment(x))
    assert torch.equal(pipeline.make_pipeline(flips=False)(x), v2.Compose(resize_gray)(x))
    assert pipeline.WITHOUT_FLIPS.text == "resize(28,28) | grayscale"
