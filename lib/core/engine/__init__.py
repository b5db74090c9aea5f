"""The one engine that runs a fitted separable map: whatever times or ships a model runs it through here.

A separable map, Y[o] = A (mix[o] . X + bias[o]) B^T, does little work when A and B are kept on their band: each
output pixel reads a few input rows and columns. :func:`plan_of` turns any model with separable parts
(``separable``, ``banded``, ``exact``, a probed operator; lib.core.separable) into a :class:`Plan`: the mix, the
bias, and for each output row and column the inputs it reads and their weights (only the nonzero entries of A
and B; for ``banded`` exactly its taps). A backend runs the plan:

- :class:`CpuLoop` (lib.core.engine.cpu): ``engine.c``, compiled at first use with the machine's C compiler
  (``cc -O3 -march=native``, and once more with each plan's sizes fixed) and loaded with ``ctypes``, from uint8
  or float images to float or uint8 (rounded as ``metrics.to_8bit`` rounds), any input size, 1 or more input
  and output channels, the batch split over torch's threads (ctypes releases the GIL), one thread pool and one
  scratch buffer per thread made once;
- :class:`TritonKernel` (lib.core.engine.cuda): one fused kernel on a CUDA device, the same plan;
- :class:`Eager`: the model's own PyTorch forward, for whatever the other two cannot take, with the reason.

:func:`backend_for` picks the fastest that takes the model on a device; ``LearnedTransform``, the benchmark,
the scaling study and the shipping page all call it, so each reports the speed of the same code.
"""

import warnings
from functools import cache

import torch
from torch import nn

from lib.core.constants import GRAY_LEVELS
from lib.core.engine.cpu import LANES, ROWS, CpuLoop, column_plan, library
from lib.core.engine.plan import CLAMPS, DTYPES, Plan, Unavailable, check_batch, plan_of
from lib.core.metrics import to_8bit
from lib.results import vector_isa

__all__ = ["CLAMPS", "DTYPES", "LANES", "ROWS", "CpuLoop", "Eager", "Plan", "Unavailable", "backend_for",
           "check_batch", "column_plan", "library", "plan_of", "vector_isa"]  # fmt: skip


class Eager:
    """The model's own PyTorch forward on float images, rounded to uint8 where asked: what runs where no compiled
    backend takes the model or the device (``reason`` says why)."""

    name = "eager"

    def __init__(self, model: nn.Module, reason: str = ""):
        self.model, self.reason = model, reason
        self.label = f"eager PyTorch ({reason})" if reason else "eager PyTorch"

    def __call__(self, x: torch.Tensor, out_dtype: torch.dtype = torch.float32) -> torch.Tensor:
        y = self.model(x.float() / GRAY_LEVELS if x.dtype == torch.uint8 else x.float())
        return to_8bit(y).to(torch.uint8) if out_dtype == torch.uint8 else y


def backend_for(model: nn.Module, device: str | torch.device = "cpu", threads: int | None = None,
                generic: bool = False):  # fmt: skip
    """The fastest backend that takes ``model`` on ``device``: the CPU loop or the CUDA kernel, else eager PyTorch
    with the reason (a ``RuntimeWarning`` says it once per reason). The CPU loop is built for the model's sizes
    (0.4-0.6 s a shape), or with ``generic`` runs the build that takes any size (compiled once per process)."""
    device = torch.device(device)
    try:
        plan = plan_of(model)
        if device.type == "cpu":
            return CpuLoop(plan, threads, library() if generic else None)
        if device.type == "cuda":
            try:
                from lib.core.engine.cuda import TritonKernel  # imports Triton, which only a CUDA run needs
            except ImportError as err:
                raise Unavailable(f"no Triton for the CUDA kernel: {err}") from err
            return TritonKernel(plan.to(device))
        raise Unavailable(f"no compiled backend for {device.type}")
    except Unavailable as err:
        _say_once(str(err))
        return Eager(model, str(err))


@cache
def _say_once(reason: str) -> None:
    warnings.warn(f"the engine runs eager PyTorch: {reason}", RuntimeWarning, stacklevel=3)
