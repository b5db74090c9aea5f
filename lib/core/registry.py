"""Models by name: the registry every model class joins, and building, saving and loading them.

A class joins with ``@register(name)``; :func:`build` makes one from its name and configuration, :func:`save`
writes the name, configuration and weights to one file and :func:`load` reads them back. The model classes
live in ``lib.core.models``, which re-exports these functions.

Each class says what it is and what it can do, so that no caller asks a model's name: ``label`` (how tables name
it), ``words`` (what it is, in a phrase) and ``abilities``, a set drawn from :data:`ABILITIES`; :func:`having`
lists the families with given abilities.
"""

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

REGISTRY: dict[str, type[nn.Module]] = {}
FORMAT = 1  # version of the saved-file layout
PLAIN = (str, int, float, bool, type(None), list, tuple)  # what a saved configuration may hold
ABILITIES = {
    "learned": "fitted or trained from data (an operator read off the pipeline is not)",
    "linear": "affine in its input",
    "separable": "a channel mix and a map on the rows and one on the columns: the engine's loops run it",
    "holds_target": "can represent the target pipeline exactly",
    "any_shape": "builds for any pipeline's output shape (out_shape), not only for outputs smaller than the input",
    "closed_form": "takes a least-squares fit (lib.core.fit): set_linear, or fit_kernel for one kernel",
    "few_params": "few parameters (thousands at most): Adam gets the larger learning rate",
}


def register(name: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Class decorator: make a model buildable and loadable by ``name``."""

    def add(cls: type[nn.Module]) -> type[nn.Module]:
        abilities = getattr(cls, "abilities", None)
        named = all(isinstance(getattr(cls, fact, None), str) for fact in ("label", "words"))
        if not named or not isinstance(abilities, frozenset) or not abilities <= set(ABILITIES):
            raise TypeError(f"{cls.__name__} needs a label, words and a frozenset of abilities among "
                            f"{sorted(ABILITIES)}")  # fmt: skip
        fits = hasattr(cls, "set_linear") or hasattr(cls, "fit_kernel")
        if fits != ("closed_form" in cls.abilities):
            raise TypeError(f"{cls.__name__}: closed_form is the ability of a class with set_linear or fit_kernel")
        REGISTRY[name] = cls
        cls.registry_name = name
        return cls

    return add


def having(*abilities: str) -> tuple[str, ...]:
    """The names of the families with every one of ``abilities``, in the order they joined."""
    unknown = set(abilities) - set(ABILITIES)
    if unknown:
        raise ValueError(f"unknown abilities {sorted(unknown)}; choose among {sorted(ABILITIES)}")
    return tuple(name for name, cls in REGISTRY.items() if set(abilities) <= cls.abilities)


def build(name: str, output: str = "none", **config) -> nn.Module:
    """A fresh model by registry name, with its output constraint and any model-specific options."""
    if name not in REGISTRY:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(REGISTRY)}")
    model = REGISTRY[name](output=output, **config)
    model.config = {"output": output, **config}
    return model


def n_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def blob(model: nn.Module) -> dict:
    """The model's registry name, configuration and weights as plain data (what :func:`save` writes)."""
    name = getattr(model, "registry_name", None)
    if name is None:
        raise TypeError(f"{type(model).__name__} is not a registered model; build it with lib.core.models.build")
    config = getattr(model, "config", {})
    code = [k for k, v in config.items() if not isinstance(v, PLAIN)]
    if code:
        raise TypeError(f"cannot save a {name!r} model whose {', '.join(code)} is code, not data (a wrapped pipeline): "
                        f"fit a separable or banded model to it and save that")  # fmt: skip
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return {"format": FORMAT, "name": name, "config": config, "state_dict": state}


def save(model: nn.Module, path: str | Path) -> Path:
    """Store the model's registry name, configuration and weights in one file."""
    data = blob(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(data, path)
    return path


def from_blob(data: dict, name: str | None = None, where: str = "the data") -> nn.Module:
    """The model :func:`blob` described, in eval mode; ``name``, when given, is the architecture it must hold."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{where} is not a model file written by lib.core.models.save")
    saved = data["name"]
    if name is not None and saved != name:
        raise ValueError(f"{where} holds a {saved!r} model, not {name!r}")
    if saved not in REGISTRY:
        raise ValueError(f"{where} holds unknown architecture {saved!r}; known: {sorted(REGISTRY)}")
    config = {k: tuple(v) if isinstance(v, list) else v for k, v in data["config"].items()}
    model = build(saved, **config)
    try:
        model.load_state_dict(data["state_dict"])
    except RuntimeError as err:
        raise ValueError(f"weights in {where} do not fit architecture {saved!r}: {err}") from err
    return model.eval()


def load(path: str | Path, name: str | None = None) -> nn.Module:
    """The saved model in eval mode. ``name``, when given, is the architecture the file must hold."""
    return from_blob(read(path), name, str(path))


def read(path: str | Path) -> object:
    """What a file written by torch.save holds (tensors and plain data only), with a clear error for anything else."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no saved model at {path}; train one first (notebooks/01_train.ipynb)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle, zip and weights_only errors all mean the same thing here
        raise ValueError(f"{path} is not a model file written by lib.core.models.save ({type(err).__name__})") from err
