import pytest
import torch

from lib.core import models


@pytest.mark.parametrize(
    "name, n",
    [("dense", 3 + 1 + 1024 * 784 + 784), ("separable", 3 + 1 + 2 * 28 * 32), ("conv3", 27 + 1 + 9 + 1),
     ("conv5", 75 + 1), ("fc_large", 3072 * 784 + 784), ("exact", 0)],
)  # fmt: skip
def test_shapes_and_sizes(name, n):
    model = models.build(name)
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 1, 28, 28)
    assert models.n_params(model) == n


def test_conv1x1_matches_the_stock_convolution():
    conv = models.Conv1x1(3, 1)
    stock = torch.nn.Conv2d(3, 1, kernel_size=1)
    stock.load_state_dict(conv.state_dict())
    x = torch.rand(4, 3, 32, 32)
    assert torch.allclose(conv(x), stock(x), atol=1e-6)


def test_output_constraints_keep_range():
    x = torch.rand(8, 3, 32, 32) * 50  # far outside what a model trained on [0, 1] would see
    for mode in ("clamp", "sigmoid"):
        y = models.build("dense", output=mode)(x)
        assert y.min() >= 0 and y.max() <= 1
    with pytest.raises(ValueError, match="output constraint"):
        models.build("dense", output="tanh")


def test_unknown_model():
    with pytest.raises(ValueError, match="unknown model"):
        models.build("resnet")


@pytest.mark.parametrize("name", ["dense", "separable"])
def test_save_load_round_trip(tmp_path, name):
    model = models.build(name, output="clamp")
    path = models.save(model, tmp_path / "m.pt")
    loaded = models.load(path)
    assert not loaded.training and loaded.config == {"output": "clamp"}
    x = torch.rand(3, 3, 32, 32)
    assert torch.equal(loaded(x), model(x))
    assert type(models.load(path, name=name)) is type(model)


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved model"):
        models.load(tmp_path / "missing.pt")
    path = models.save(models.build("separable"), tmp_path / "sep.pt")
    with pytest.raises(ValueError, match="not 'dense'"):
        models.load(path, name="dense")
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a model file"):
        models.load(tmp_path / "other.pt")
    blob = torch.load(path, weights_only=True)
    blob["name"] = "dense"  # separable weights under another architecture's name
    torch.save(blob, tmp_path / "mislabelled.pt")
    with pytest.raises(ValueError, match="do not fit"):
        models.load(tmp_path / "mislabelled.pt")


@pytest.mark.parametrize("name", sorted(models.REGISTRY))
def test_every_model_says_what_input_it_takes(name):
    model = models.build(name)
    with pytest.raises(ValueError, match=r"pass x\[None\]"):
        model(torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match=r"\(N, 3, 32, 32\), got \(2, 3, 64, 64\)"):
        model(torch.rand(2, 3, 64, 64))
    with pytest.raises(TypeError, match="lib.core.data.to_float"):
        model(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))


OTHER = {"out_shape": (3, 24, 20)}  # the output of "resize(24, 20)", which keeps RGB


@pytest.mark.parametrize("name", sorted(models.REGISTRY))
def test_every_model_builds_for_another_output_and_saves(tmp_path, name):
    config = {**OTHER, "pipeline": "resize(24, 20)"} if name == "exact" else OTHER
    model = models.build(name, **config)
    x = torch.rand(2, 3, 32, 32)
    assert model(x).shape == (2, 3, 24, 20) and model.out_shape == (3, 24, 20)
    loaded = models.load(models.save(model, tmp_path / "m.pt"), name=name)
    assert loaded.config == {"output": "none", **config} and torch.equal(loaded(x), model(x))


def test_convolutions_are_sized_for_the_output():
    conv3 = models.build("conv3", out_shape=(2, 27, 26))  # shrinks 5 rows and 6 columns over two layers
    assert (conv3.conv1.kernel_size, conv3.conv2.kernel_size) == ((3, 4), (4, 4))
    assert conv3.conv1.out_channels == conv3.conv2.in_channels == conv3.conv2.out_channels == 2
    assert models.build("conv5", out_shape=(1, 16, 20)).conv.kernel_size == (17, 13)
    with pytest.raises(ValueError, match="cannot take 32x32 images to 36x36; use dense or separable"):
        models.build("conv5", out_shape=(1, 36, 36))  # "pad(2) | grayscale": larger than its input


def test_exact_is_its_pipelines_operator():
    with pytest.raises(ValueError, match=r"gives \(1, 28, 28\) images, not \(1, 16, 20\)"):
        models.build("exact", out_shape=(1, 16, 20))  # the target pipeline's operator, asked for another size
    turned = models.build("exact", pipeline="rot90 | grayscale")  # not separable: one matrix product
    assert not turned.separable and turned.weight.shape == (3072, 1024)
    x = torch.rand(4, 3, 32, 32)
    luma = torch.tensor([0.2989, 0.587, 0.114]).view(1, 3, 1, 1)
    assert (turned(x) - (x.rot90(1, (-2, -1)) * luma).sum(1, keepdim=True)).abs().max() < 1e-6


def test_load_refuses_files_that_are_not_models(tmp_path):
    junk = tmp_path / "notes.pt"
    junk.write_text("not a torch file")
    with pytest.raises(ValueError, match="not a model file written by lib.core.models.save"):
        models.load(junk)
    other = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), other)
    with pytest.raises(ValueError, match="not a model file written by lib.core.models.save"):
        models.load(other)


def test_every_family_says_what_it_is_and_can_do():
    """Callers ask a class, not a name: each family has a label and words, and its abilities hold for it."""
    for name, cls in models.REGISTRY.items():
        assert cls.label.startswith(name) and cls.words
        net = models.build(name)
        x = torch.rand(2, 3, 32, 32)
        if "linear" in cls.abilities:  # affine: f(a x + (1 - a) z) = a f(x) + (1 - a) f(z)
            with torch.no_grad():
                mixed = net(0.3 * x[:1] + 0.7 * x[1:])
                assert torch.allclose(mixed, 0.3 * net(x[:1]) + 0.7 * net(x[1:]), atol=1e-5)
        assert ("closed_form" in cls.abilities) == (hasattr(net, "set_linear") or hasattr(net, "fit_kernel"))
        if "learned" in cls.abilities:
            assert ("few_params" in cls.abilities) == (models.n_params(net) <= 10_000)
            if "any_shape" in cls.abilities:  # larger than the input, three channels
                assert models.build(name, out_shape=(3, 40, 36))(x).shape == (2, 3, 40, 36)
            else:
                with pytest.raises(ValueError):
                    models.build(name, out_shape=(3, 40, 36))
    assert models.having("learned", "separable") == ("banded", "separable")
    assert "exact" not in models.having("learned")
    with pytest.raises(ValueError, match="unknown abilities"):
        models.having("fast")


def test_a_family_without_its_facts_is_refused():
    with pytest.raises(TypeError, match="needs a label"):
        models.register("nameless")(type("Nameless", (torch.nn.Module,), {}))
    facts = {"label": "odd", "abilities": frozenset({"learned"}), "set_linear": lambda self, fit: {}}
    with pytest.raises(TypeError, match="closed_form"):
        models.register("odd")(type("Odd", (torch.nn.Module,), facts))
    assert "nameless" not in models.REGISTRY and "odd" not in models.REGISTRY


def test_a_family_must_say_what_it_is_in_words_and_a_set_of_abilities():
    with pytest.raises(TypeError, match="words"):
        models.register("wordless")(type("Wordless", (torch.nn.Module,), {"label": "w", "abilities": frozenset()}))
    with pytest.raises(TypeError, match="frozenset"):
        facts = {"label": "l", "words": "l", "abilities": ["learned"]}
        models.register("listed")(type("Listed", (torch.nn.Module,), facts))
    assert "wordless" not in models.REGISTRY and "listed" not in models.REGISTRY
