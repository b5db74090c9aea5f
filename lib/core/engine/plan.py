"""The engine's plan: a separable map on its band, as every backend reads it, and the checks every backend makes."""

from dataclasses import dataclass, replace

import torch
from torch import nn

from lib.core.banded import Banded, from_separable
from lib.core.fitted import Fitted, Matrix
from lib.core.models import output_mode

CLAMPS = {"none": (-float("inf"), float("inf")), "clamp": (0.0, 1.0)}  # output constraints the plan holds
DTYPES = (torch.uint8, torch.float32)  # what the compiled backends read and write


class Unavailable(RuntimeError):
    """A compiled backend cannot run here (no working C compiler, no CUDA device) or cannot take this model."""


@dataclass(frozen=True)
class Plan:
    """What the compiled backends read: a separable map on its band, every tensor on one device.

    The tap tables are (taps, outputs): tap t of output row i reads input row ``r_idx[t, i]`` with weight
    ``r_wt[t, i]``; an output with fewer taps reads a listed row with weight 0. The same for the columns."""

    in_shape: tuple[int, int, int]  # (cin, h, w)
    out_shape: tuple[int, int, int]  # (cout, ho, wo)
    mix: torch.Tensor  # (cout, cin) float32, for float input in [0, 1]
    bias: torch.Tensor  # (cout,)
    r_idx: torch.Tensor  # (rt, ho) int32
    r_wt: torch.Tensor  # (rt, ho)
    c_idx: torch.Tensor  # (ct, wo) int32
    c_wt: torch.Tensor  # (ct, wo)
    clamp: tuple[float, float]  # the model's output clamp, (-inf, inf) for none
    lut: torch.Tensor | None = None  # (256,) float32: a table on the input's levels, before the mix (lib.core.fitted)
    curve: torch.Tensor | None = None  # (K,) float32: a curve on the output, before the clamp
    curve_range: tuple[float, float] = (0.0, 1.0)  # the curve's first and last points
    perm: torch.Tensor | None = None  # (cout * ho * wo,) int32: where output pixel k of an image is written
    permuted_shape: tuple[int, int, int] | None = None  # the output's shape after the permutation (a turn: W x H)

    @property
    def result_shape(self) -> tuple[int, int, int]:
        """The shape of one image's output: out_shape, or its permuted shape."""
        return self.permuted_shape or self.out_shape

    @property
    def rows(self) -> torch.Tensor:
        """The input rows the band reads, each once (int32): the only rows the CPU loop mixes."""
        return torch.unique(self.r_idx).to(torch.int32)

    @property
    def cols(self) -> tuple[int, int]:
        """The span [c0, c1) of input columns the band reads."""
        return int(self.c_idx.min()), int(self.c_idx.max()) + 1

    def to(self, device: str | torch.device) -> "Plan":
        names = ("mix", "bias", "r_idx", "r_wt", "c_idx", "c_wt", "lut", "curve", "perm")
        return replace(self, **{k: getattr(self, k).to(device) for k in names if getattr(self, k) is not None})


def plan_of(model: nn.Module) -> Plan:
    """The plan of ``model``'s map: a ``banded`` model's own taps, or the nonzero entries of any other separable
    map's A and B; for a fitted map (lib.core.fitted), its table, curve, clamp and output order with them.
    :class:`Unavailable` says why a model has none (not separable, a sigmoid output)."""
    if isinstance(model, Fitted):
        return _fitted_plan(model)
    mode = output_mode(model)
    if mode not in CLAMPS:
        raise Unavailable(f"the engine's loops clamp or leave the output; this model's output is {mode}")
    try:
        band = model if isinstance(model, Banded) else from_separable(model, 0.0, output=mode)
    except TypeError as err:
        raise Unavailable(f"{type(model).__name__} is not a separable map: {err}") from err
    with torch.no_grad():
        parts = band.read_parts()
        (r_idx, r_wt), (c_idx, c_wt) = band.taps()  # (outputs, taps)

    def tables(idx: torch.Tensor, wt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # a tap of weight 0 (a shorter support's padding) reads its output's first input, so that it widens
        # neither the rows the loop mixes nor the columns a vector of outputs reads
        idx = torch.where(wt != 0, idx, idx[:, :1]).detach()
        return idx.T.to("cpu", torch.int32).contiguous(), wt.detach().T.to("cpu", torch.float32).contiguous()

    (r_idx, r_wt), (c_idx, c_wt) = tables(r_idx, r_wt), tables(c_idx, c_wt)
    return Plan(
        in_shape=tuple(band.in_shape), out_shape=tuple(band.out_shape),
        mix=parts.gray.detach().to("cpu", torch.float32).contiguous(),
        bias=parts.bias.detach().to("cpu", torch.float32).contiguous(),
        r_idx=r_idx, r_wt=r_wt, c_idx=c_idx, c_wt=c_wt, clamp=CLAMPS[mode],
    )  # fmt: skip


def _fitted_plan(model: Fitted) -> Plan:
    if isinstance(model.linear, Matrix):
        raise Unavailable("the map is one dense matrix (not separable, nor a permutation of a separable map): "
                          "PyTorch's matrix product runs it")  # fmt: skip
    plan = plan_of(model.linear)
    if plan.clamp != CLAMPS["none"] and model.curve is not None:
        raise Unavailable("the loop takes the curve before the clamp; this map clamps first")
    extra = {}
    if model.table is not None:
        extra["lut"] = model.table.detach().to("cpu", torch.float32).contiguous()
    if model.curve is not None:
        extra |= {"curve": model.curve.detach().to("cpu", torch.float32).contiguous(), "curve_range": model.curve_range}
    if model.clamp is not None:
        lo, hi = plan.clamp
        extra["clamp"] = (max(lo, model.clamp[0]), min(hi, model.clamp[1]))
    if model.order is not None:  # the forward gathers output k from inner pixel order[k]; the loop scatters
        perm = torch.empty_like(model.order)
        perm[model.order] = torch.arange(len(model.order))
        extra |= {"perm": perm.to("cpu", torch.int32).contiguous(), "permuted_shape": tuple(model.out_shape)}
    return replace(plan, **extra)


def check_batch(x: torch.Tensor, in_shape: tuple[int, int, int], out_dtype: torch.dtype = torch.float32) -> None:
    """Refuse what the compiled loops would misread, saying what to pass: anything but a non-empty, contiguous
    (N, *in_shape) batch of uint8 or float32 images, or an output dtype other than those two."""
    if out_dtype not in DTYPES:
        raise ValueError(f"out_dtype is torch.float32 or torch.uint8, got {out_dtype}")
    if isinstance(x, torch.Tensor) and x.dtype in DTYPES and x.ndim == 4 and x.shape[1:] == in_shape and x.shape[0] \
            and x.is_contiguous():  # fmt: skip
        return  # the common case, checked without building the message
    want = "uint8 or float32 images (N, {}, {}, {})".format(*in_shape)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a tensor of {want}, got {type(x).__name__}")
    if x.dtype not in DTYPES:
        raise TypeError(f"expected {want}, got dtype {x.dtype}")
    if x.ndim != 4 or tuple(x.shape[1:]) != tuple(in_shape):
        raise ValueError(f"expected {want}, got shape {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"expected {want}, got an empty batch")
    if not x.is_contiguous():
        layout = "channels-last" if x.is_contiguous(memory_format=torch.channels_last) else "non-contiguous"
        raise ValueError(f"expected contiguous {want}, got a {layout} tensor: pass x.contiguous()")
