"""A one-channel separable model as one hand-written loop over uint8 images (``lib/core/fused.c``), on CPU.

PyTorch runs the separable map as three passes over memory (gray mix, then two products), each a
library call on matrices too small to keep the vector units busy (28x32 by 32x32 per image). The loop
in ``fused.c`` takes one image at a time from its uint8 pixels to its output, with the gray image and
the intermediate product in the first-level cache and the products written for the machine's vectors.
The weights are the model's own; only the order of the arithmetic differs, by float rounding. A ``banded``
model runs as ``banded_u8``: the rows first, as a few multiply-adds of whole gray rows, then the columns as
a few permutes of each row's vectors, so the loop does the band's work (13.6 thousand FLOPs an image for the
target pipeline) instead of the full products' (114 thousand).

The source is compiled at first use with the machine's C compiler (``cc -O3 -march=native``) into a
temporary folder and loaded with ``ctypes``; ctypes releases the GIL, so a batch is split across
threads (torch's thread count). Its vector width and blocking follow the instruction set the CPU reports
(:data:`SHAPES`, detected by ``lib.results.vector_isa``, not assumed): sized for AVX-512's 32 registers, the
loop spills on AVX2's 16. Where no compiler works, :class:`Unavailable` says why.
"""

import atexit
import ctypes
import itertools
import os
import shlex
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import torch
from torch import nn

from lib.core.constants import IN_SHAPE
from lib.core.models import output_mode
from lib.core.separable import SeparableParts, parts_of
from lib.results import vector_isa

SOURCE = Path(__file__).with_name("fused.c")
FLAGS = ("-O3", "-march=native", "-shared", "-fPIC")
# (floats a vector, rows a block) per instruction set: BLOCK x 32/LANES accumulators and 32/LANES loaded
# vectors fit in the registers (32 on AVX-512, 16 on AVX2 and older)
SHAPES = {"AVX-512": (16, 4), "AVX2": (8, 2), "other": (8, 2)}
SIDE = 32  # fused.c handles 32x32 inputs and outputs of at most 32x32


class Unavailable(RuntimeError):
    """The fused loop cannot run here (no working C compiler) or for this model."""


def shape_for(isa: str | None = None) -> tuple[int, int]:
    """(vector width in floats, rows a block) for an instruction set, this CPU's by default."""
    return SHAPES.get(isa or vector_isa(), SHAPES["other"])


def library(lanes: int | None = None, block: int | None = None, extra: tuple[str, ...] = ()) -> ctypes.CDLL:
    """fused.c, compiled for this machine and loaded (once per process and build). ``lanes`` and ``block``
    default to :func:`shape_for` this CPU; ``extra`` compiler flags (``-mno-avx512f``) build other code."""
    default_lanes, default_block = shape_for()
    return _build(lanes or default_lanes, block or default_block, tuple(extra))


@cache  # keyed on the build itself, so the default and the same shape asked by name compile once
def _build(lanes: int, block: int, extra: tuple[str, ...]) -> ctypes.CDLL:
    defines = (f"-DLANES={lanes}", f"-DBLOCK={block}")
    cc = shlex.split(os.environ.get("CC", "")) or [shutil.which("cc") or shutil.which("gcc")]
    if cc[0] is None:
        raise Unavailable("no C compiler (cc or gcc) on this machine")
    folder = Path(tempfile.mkdtemp(prefix="fused-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # the loaded library outlives its file
    target = folder / "fused.so"
    try:
        done = subprocess.run([*cc, *FLAGS, *extra, *defines, str(SOURCE), "-o", str(target)], capture_output=True,
                              text=True)  # fmt: skip
    except OSError as err:
        raise Unavailable(f"cannot run the C compiler {cc[0]}: {err}") from err
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit status {done.returncode}"
        raise Unavailable(f"{cc[0]} could not compile {SOURCE.name}: {last}")
    try:
        lib = ctypes.CDLL(str(target))
    except OSError as err:  # for example a temporary folder mounted noexec
        raise Unavailable(f"cannot load the compiled loop: {err}") from err
    ptr = ctypes.c_void_p
    lib.separable_u8.argtypes = [ptr, ctypes.c_int64, ptr, ctypes.c_float, ptr, ptr, ctypes.c_int, ctypes.c_int, ptr]
    lib.separable_u8.restype = None
    i32, f32 = ctypes.c_int32, ctypes.c_float
    lib.banded_u8.argtypes = [ptr, ctypes.c_int64, ptr, f32, ctypes.c_int, ptr, ptr, ptr, ptr, ptr, i32, i32, ptr]
    lib.banded_u8.restype = None
    lib.band_any_u8.argtypes = [ptr, ctypes.c_int64, i32, i32, i32, ptr, f32, ptr, ptr, i32, i32, ptr, ptr, i32, i32,
                                ptr, ptr, ptr]  # fmt: skip
    lib.band_any_u8.restype = None
    lib.lanes = lanes  # the vector width the band's plan is laid out for
    return lib


library.cache_clear = _build.cache_clear  # forget every build (a test that changes the compiler)


def one_channel_parts(net) -> SeparableParts:
    """The parts (lib.core.separable) of a one-channel separable map without an output constraint: the
    ``separable`` model of one output channel, or the ``exact`` model or probed operator of such a pipeline."""
    try:
        parts = parts_of(net)
    except TypeError as err:
        raise Unavailable(f"{type(net).__name__} is not a one-channel separable map") from err
    if parts.out_shape[0] != 1:
        raise Unavailable(f"{type(net).__name__} is not a one-channel separable map")
    mode = output_mode(net)
    if mode != "none":
        raise Unavailable(f"the fused loop has no output constraint ({mode})")
    return parts


def _fits_32(parts: SeparableParts) -> bool:
    """Whether ``separable_u8`` and ``banded_u8`` take the map: CIFAR-10's images, outputs of at most 32x32."""
    shape = (parts.gray.shape[-1], parts.rows.shape[1], parts.cols.shape[1])
    return shape == IN_SHAPE and max(len(parts.rows), len(parts.cols)) <= SIDE


def band_plan(
    rows: torch.Tensor, cols: torch.Tensor, row_support: list[list[int]], col_support: list[list[int]], lanes: int
) -> dict[str, torch.Tensor]:
    """The arrays ``banded_u8`` reads (see fused.c), for A = ``rows`` (H, 32) and B = ``cols`` (W, 32) kept on
    their supports, for vectors of ``lanes`` floats. Every support is padded to the longest with zero weights;
    a band too wide for one permute of two vectors is refused."""
    k = max(map(len, row_support + col_support))
    row_idx = torch.zeros(len(rows), k, dtype=torch.int32)
    row_w = torch.zeros(len(rows), k)
    for i, support in enumerate(row_support):
        row_idx[i, : len(support)] = torch.tensor(support, dtype=torch.int32)
        row_w[i, : len(support)] = rows[i, support]
    nv = -(-len(cols) // lanes)
    base = torch.zeros(nv, k, dtype=torch.int32)
    mask = torch.zeros(nv, k, lanes, dtype=torch.int32)
    col_w = torch.zeros(nv, k, lanes)
    for v, t in itertools.product(range(nv), range(k)):
        outputs = range(v * lanes, min((v + 1) * lanes, len(cols)))
        lanes_in = [(lane, col_support[j][t]) for lane, j in enumerate(outputs) if t < len(col_support[j])]
        if not lanes_in:
            continue
        base[v, t] = lo = min(c for _, c in lanes_in)  # the loop reads z[lo : lo + 2 * lanes], inside its buffer
        for lane, c in lanes_in:
            if c - lo >= 2 * lanes:
                raise Unavailable(f"the band spreads over more than {2 * lanes} input columns per {lanes} outputs")
            mask[v, t, lane], col_w[v, t, lane] = c - lo, cols[v * lanes + lane, c]
    return {"k": k, "row_idx": row_idx, "row_w": row_w, "col_base": base, "col_mask": mask, "col_w": col_w}


class Fused:
    """``net`` (see :func:`one_channel_parts`) as the fused loop: uint8 (N, c, h, w) -> float (N, 1, H, W) on the
    CPU, the batch split across ``threads`` threads (torch's thread count by default). On CIFAR-10's 3x32x32
    images any such map runs (``separable_u8``, or ``banded_u8`` for a band); on any other size a banded one
    (``band_any_u8``)."""

    def __init__(self, net: nn.Module, threads: int | None = None, lib: ctypes.CDLL | None = None):
        parts = one_channel_parts(net)
        self.lib = lib or library()  # another build of fused.c (library(lanes, block, extra)) when given

        def f32(t: torch.Tensor) -> torch.Tensor:
            return t.detach().to("cpu", torch.float32).contiguous()

        cols = parts.cols
        self.gray = f32(parts.gray[0]) / 255  # the uint8 -> [0, 1] scaling folded into the channel weights
        self.bias = parts.bias[0].item()
        self.in_shape = (parts.gray.shape[-1], parts.rows.shape[1], cols.shape[1])
        self.out_hw = (len(parts.rows), len(cols))
        self.band = self.taps = None  # a banded model's plan: the loop then does the band's work only
        banded = hasattr(net, "row_support")
        if not _fits_32(parts):  # any other size: banded models only, through band_any_u8
            if not banded:
                raise Unavailable(f"the fused loop runs any separable map on {IN_SHAPE} images with outputs up "
                                  f"to {SIDE}x{SIDE}; this one ({self.in_shape} -> {self.out_hw}) only as a banded "
                                  f"model")  # fmt: skip
            (r_idx, r_wt), (c_idx, c_wt) = net.taps()  # band_any_u8 reads them as (taps, outputs): row t is tap t
            self.taps = {"r_idx": r_idx.T.to("cpu", torch.int32).contiguous(), "r_wt": f32(r_wt.T),
                         "c_idx": c_idx.T.to("cpu", torch.int32).contiguous(), "c_wt": f32(c_wt.T)}  # fmt: skip
        elif banded:
            self.band = band_plan(f32(parts.rows), f32(cols), net.row_support, net.col_support, self.lib.lanes)
        else:
            self.rows = f32(parts.rows)  # (H, 32)
            self.cols_t = f32(nn.functional.pad(cols.detach().T, (0, SIDE - len(cols))))  # (32, 32), zeros past W
        self.threads = threads or torch.get_num_threads()
        self.pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype != torch.uint8 or x.device.type != "cpu":
            raise TypeError(f"the fused loop takes uint8 images on the CPU, got {x.dtype} on {x.device}")
        if x.dim() != 4 or tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(f"expected uint8 images (N, {', '.join(map(str, self.in_shape))}), got shape "
                             f"{tuple(x.shape)}")  # fmt: skip
        x = x.contiguous()
        h, w = self.out_hw
        out = torch.empty(len(x), 1, h, w, dtype=torch.float32)  # what fused.c writes, whatever torch's default
        bounds = [len(x) * i // self.threads for i in range(self.threads + 1)]

        def part(lo: int, hi: int) -> None:
            if hi <= lo:
                return
            if self.taps is not None:
                c_in, in_h, in_w = self.in_shape
                g, acc = torch.empty(in_h * in_w), torch.empty(in_w)  # this thread's scratch
                t = self.taps
                self.lib.band_any_u8(x[lo:].data_ptr(), hi - lo, c_in, in_h, in_w, self.gray.data_ptr(), self.bias,
                                     t["r_idx"].data_ptr(), t["r_wt"].data_ptr(), len(t["r_idx"]), h,
                                     t["c_idx"].data_ptr(), t["c_wt"].data_ptr(), len(t["c_idx"]), w,
                                     g.data_ptr(), acc.data_ptr(), out[lo:].data_ptr())  # fmt: skip
            elif self.band is None:
                weights = (self.gray.data_ptr(), self.bias, self.cols_t.data_ptr(), self.rows.data_ptr())
                self.lib.separable_u8(x[lo:].data_ptr(), hi - lo, *weights, h, w, out[lo:].data_ptr())
            else:
                b = self.band
                plan = [b[key].data_ptr() for key in ("row_idx", "row_w", "col_base", "col_mask", "col_w")]
                self.lib.banded_u8(x[lo:].data_ptr(), hi - lo, self.gray.data_ptr(), self.bias, b["k"], *plan, h, w,
                                   out[lo:].data_ptr())  # fmt: skip

        if self.pool is None:
            part(0, len(x))
        else:
            list(self.pool.map(part, bounds[:-1], bounds[1:]))
        return out  # (N, 1, H, W)
