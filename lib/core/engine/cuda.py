"""The engine's CUDA backend: one Triton kernel that runs a plan (lib.core.engine.Plan) from uint8 or float images
to float or uint8 output, in one pass over device memory.

Each program computes a tile of one output channel of one image. For output pixel (i, j) and input channel c it
reads the input pixels at (row tap t of i, column tap s of j) and weighs them by mix[o, c] r_wt[t, i] c_wt[s, j]:
the band's taps only, with no intermediate image written to memory (the few reads of neighbouring pixels hit the
caches). The bias is added as bias[o] (sum of i's row weights) (sum of j's column weights), which is where A and B
carry a constant image. uint8 output is rounded to the nearest level, ties to even, as ``metrics.to_8bit`` does.

With ``TRITON_INTERPRET=1`` set before Triton is imported, the same kernel runs on the CPU in Triton's
interpreter: the tests check it against the CPU loop there.
"""

import contextlib
import os

import torch
import triton
import triton.language as tl

from lib.core.engine.plan import Plan, Unavailable, check_batch

MAX_TILE = 1024  # outputs a program computes
# the kernel reads rt x ct input pixels an output pixel (the taps of its row times those of its column): a band's
# few, but for a dense separable map (every tap nonzero) that is every input pixel; above this it is refused
MAX_TAP_PAIRS = 256


@triton.jit
def _band_kernel(x_ptr, out_ptr, mix_ptr, bias_ptr, r_idx_ptr, r_wt_ptr, r_sum_ptr, c_idx_ptr, c_wt_ptr, c_sum_ptr,
                 lo, hi, scale, h, w, cout, ho, wo, rt, ct, lut_ptr, curve_ptr, ncurve, curve_lo, curve_scale,
                 perm_ptr, CIN: tl.constexpr, BH: tl.constexpr, BW: tl.constexpr, OUT_U8: tl.constexpr,
                 IN_U8: tl.constexpr, LUT: tl.constexpr, CURVE: tl.constexpr, PERM: tl.constexpr):  # fmt: skip
    plane = tl.program_id(0)  # image * cout + output channel
    img, o = plane // cout, plane % cout
    i = tl.program_id(1) * BH + tl.arange(0, BH)
    j = tl.program_id(2) * BW + tl.arange(0, BW)
    in_i, in_j = i < ho, j < wo
    inside = in_i[:, None] & in_j[None, :]
    x_img = x_ptr + img.to(tl.int64) * CIN * h * w
    acc = tl.zeros((BH, BW), dtype=tl.float32)
    for c in tl.static_range(CIN):
        m = tl.load(mix_ptr + o * CIN + c) * scale
        for t in range(rt):
            ri = tl.load(r_idx_ptr + t * ho + i, mask=in_i, other=0)
            rw = tl.load(r_wt_ptr + t * ho + i, mask=in_i, other=0.0) * m
            for s in range(ct):
                ci = tl.load(c_idx_ptr + s * wo + j, mask=in_j, other=0)
                cw = tl.load(c_wt_ptr + s * wo + j, mask=in_j, other=0.0)
                v = tl.load(x_img + c * h * w + ri[:, None] * w + ci[None, :], mask=inside, other=0)
                if LUT:  # the pixel's level's entry (a float pixel at its nearest level, ties to even)
                    if IN_U8:
                        level = v.to(tl.int32)
                    else:
                        q = tl.minimum(tl.maximum(v, 0.0), 1.0) * 255.0
                        k = tl.floor(q + 0.5)
                        k = tl.where((k - q == 0.5) & (k - 2.0 * tl.floor(k * 0.5) != 0.0), k - 1.0, k)
                        level = k.to(tl.int32)
                    v = tl.load(lut_ptr + level, mask=inside, other=0.0)
                else:
                    v = v.to(tl.float32)
                acc += (rw[:, None] * cw[None, :]) * v
    r_sum = tl.load(r_sum_ptr + i, mask=in_i, other=0.0)
    c_sum = tl.load(c_sum_ptr + j, mask=in_j, other=0.0)
    acc += tl.load(bias_ptr + o) * (r_sum[:, None] * c_sum[None, :])
    if CURVE:  # linear between ncurve equally spaced values, constant beyond (as engine.c)
        pos = tl.minimum(tl.maximum((acc - curve_lo) * curve_scale, 0.0), ncurve - 1.0)
        at = tl.minimum(pos.to(tl.int32), ncurve - 2)
        a = tl.load(curve_ptr + at, mask=inside, other=0.0)
        b = tl.load(curve_ptr + at + 1, mask=inside, other=0.0)
        acc = a + (pos - at.to(tl.float32)) * (b - a)
    acc = tl.minimum(tl.maximum(acc, lo), hi)
    if PERM:  # where each output lands in its image's output (a quarter turn, a transpose)
        k = tl.load(perm_ptr + (o * ho + i[:, None]) * wo + j[None, :], mask=inside, other=0)
        dst = out_ptr + img.to(tl.int64) * cout * ho * wo + k
    else:
        dst = out_ptr + plane.to(tl.int64) * ho * wo + i[:, None] * wo + j[None, :]
    if OUT_U8:
        q = tl.minimum(tl.maximum(acc * 255.0, -1.0), 256.0)
        r = tl.floor(q + 0.5)
        r = tl.where((r - q == 0.5) & (r - 2.0 * tl.floor(r * 0.5) != 0.0), r - 1.0, r)  # a tie goes to the even
        r = tl.minimum(tl.maximum(r, 0.0), 255.0)
        tl.store(dst, r.to(tl.uint8), mask=inside)
    else:
        tl.store(dst, acc, mask=inside)


def _tile(ho: int, wo: int) -> tuple[int, int]:
    """(rows, columns) of a program's tile: whole rows of a small output, else 64-wide strips."""
    bw = min(triton.next_power_of_2(wo), 64)
    bh = min(triton.next_power_of_2(ho), max(1, MAX_TILE // bw))
    return bh, bw


class TritonKernel:
    """A plan run by one Triton kernel on its device: (N, cin, h, w) uint8 or float32 -> (N, cout, ho, wo) float32
    or uint8. The plan's tensors live on the device; the sums of each output's row and column weights are made once."""

    name = "triton"

    def __init__(self, plan: Plan):
        if len(plan.r_idx) * len(plan.c_idx) > MAX_TAP_PAIRS:
            raise Unavailable(f"the map reads {len(plan.r_idx)} x {len(plan.c_idx)} input pixels an output pixel: the "
                              f"Triton kernel takes bands of at most {MAX_TAP_PAIRS} (keep the model on its band: "
                              f"lib.core.banded.from_separable)")  # fmt: skip
        if plan.mix.device.type != "cuda" and not _interpreted():
            raise Unavailable("the Triton kernel runs on a CUDA device (or in Triton's interpreter)")
        self.plan = plan
        self.r_sum = plan.r_wt.sum(0).contiguous()
        self.c_sum = plan.c_wt.sum(0).contiguous()
        self.label = "Triton kernel" + (" (interpreted)" if _interpreted() else "")

    def __call__(self, x: torch.Tensor, out_dtype: torch.dtype = torch.float32) -> torch.Tensor:
        p = self.plan
        check_batch(x, p.in_shape, out_dtype)
        if x.device != p.mix.device:
            raise ValueError(f"the images are on {x.device}, the kernel's plan on {p.mix.device}")
        (cin, h, w), (cout, ho, wo) = p.in_shape, p.out_shape
        out = torch.empty(len(x), *p.result_shape, dtype=out_dtype, device=x.device)
        bh, bw = _tile(ho, wo)
        grid = (len(x) * cout, triton.cdiv(ho, bh), triton.cdiv(wo, bw))
        scale = 1 / 255 if x.dtype == torch.uint8 and p.lut is None else 1.0  # a table's entries are values already
        none = self.r_sum  # stands in for an absent table, curve or order: the kernel never reads it
        lo, hi = p.curve_range
        ncurve = 0 if p.curve is None else len(p.curve)
        with torch.cuda.device(x.device) if x.device.type == "cuda" else contextlib.nullcontext():
            _band_kernel[grid](x, out, p.mix, p.bias, p.r_idx, p.r_wt, self.r_sum, p.c_idx, p.c_wt, self.c_sum,
                               p.clamp[0], p.clamp[1], scale, h, w, cout, ho, wo, len(p.r_idx), len(p.c_idx),
                               none if p.lut is None else p.lut, none if p.curve is None else p.curve, ncurve, lo,
                               (ncurve - 1) / (hi - lo) if hi > lo else 0.0, none if p.perm is None else p.perm,
                               CIN=cin, BH=bh, BW=bw, OUT_U8=out_dtype == torch.uint8, IN_U8=x.dtype == torch.uint8,
                               LUT=p.lut is not None, CURVE=p.curve is not None, PERM=p.perm is not None)  # fmt: skip
        return out


def _interpreted() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") == "1"
