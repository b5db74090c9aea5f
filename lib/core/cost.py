"""What a model costs: floating-point operations per image and CPU seconds over an image set."""

import torch
from torch.utils.flop_counter import FlopCounterMode

from lib.core.constants import IN_SHAPE
from lib.core.models import in_chunks
from lib.timing import measure


def mflops(model: torch.nn.Module) -> float:
    """Floating-point operations of one forward pass on one image, in millions (counted by torch). A model
    that says its own count (``band_mflops``: ``banded``, whose eager forward multiplies its zeros too)
    gives that count: the arithmetic its design needs."""
    own = getattr(model, "band_mflops", None)
    if own is not None:
        return own()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.rand(1, *getattr(model, "in_shape", IN_SHAPE)))
    return counter.get_total_flops() / 1e6


def cpu_seconds(model: torch.nn.Module, x: torch.Tensor, repeats: int = 3, chunk: int = 4096) -> float:
    """Median CPU seconds for the model over all of ``x`` on the fast path (in-memory slices), timed
    frozen as lib.experiments.bench times models; the model's parameters are left as they were."""
    model = model.cpu().eval()
    flags = [p.requires_grad for p in model.parameters()]
    model.requires_grad_(False)

    def work():
        for _ in in_chunks(model, x, chunk):
            pass

    try:
        with torch.inference_mode():
            return measure(work, repeats=repeats, warmup=1).median
    finally:
        for p, flag in zip(model.parameters(), flags, strict=True):
            p.requires_grad_(flag)
