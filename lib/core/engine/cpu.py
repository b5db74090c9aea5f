"""The engine's CPU backend: ``engine.c`` compiled for this machine and for each plan's sizes, run over threads."""

import atexit
import ctypes
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from functools import cache
from pathlib import Path

import torch

from lib.core.constants import GRAY_LEVELS
from lib.core.engine.plan import DTYPES, Plan, Unavailable, check_batch
from lib.results import vector_isa

SOURCE = Path(__file__).with_name("engine.c")
FLAGS = ("-O3", "-march=native", "-shared", "-fPIC")
LANES = {"AVX-512": 16, "AVX2": 8, "other": 8}  # floats a vector, per instruction set (lib.results.vector_isa)
ROWS = 4  # output rows engine.c takes at a time (its ROWS)


def library(extra: tuple[str, ...] = (), plan: Plan | None = None) -> ctypes.CDLL:
    """engine.c, compiled for this machine and loaded, once per process, set of ``extra`` compiler flags
    (``("-mno-avx512f",)`` builds AVX2 code, 8-float vectors, on an AVX-512 CPU) and shape: with a ``plan``, a
    build whose sizes are that plan's constants (see engine.c), else the generic build."""
    lanes = LANES["AVX2"] if "-mno-avx512f" in extra else LANES.get(vector_isa(), 8)
    return _build(tuple(extra) + (_specialise(plan, lanes),) if plan is not None else tuple(extra), lanes)


def _specialise(plan: Plan, lanes: int) -> str:
    """The compiler flag that fixes ``plan``'s sizes in engine.c (and whether any column tap is gathered)."""
    (cin, h, w), (cout, ho, wo), (c0, c1) = plan.in_shape, plan.out_shape, plan.cols
    wide = int((column_plan(plan.c_idx, plan.c_wt, lanes)[0] < 0).any())
    sizes = {"cin": cin, "h": h, "w": w, "cout": cout, "nrows": len(plan.rows), "c0": c0, "c1": c1,
             "rt": len(plan.r_idx), "ho": ho, "ct": len(plan.c_idx), "wo": wo, "wide": wide,
             "use_lut": int(plan.lut is not None), "use_curve": int(plan.curve is not None),
             "use_perm": int(plan.perm is not None)}  # fmt: skip
    return "-DSPECIALISE=" + "".join(f"{k}={v};" for k, v in sizes.items())


@cache
def _build(extra: tuple[str, ...], lanes: int) -> ctypes.CDLL:
    cc = shlex.split(os.environ.get("CC", "")) or [shutil.which("cc") or shutil.which("gcc")]
    if cc[0] is None:
        raise Unavailable("no C compiler (cc or gcc) on this machine")
    folder = Path(tempfile.mkdtemp(prefix="engine-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # the loaded library outlives its file
    target = folder / "engine.so"
    try:
        done = subprocess.run([*cc, *FLAGS, *extra, f"-DLANES={lanes}", str(SOURCE), "-o", str(target)],
                              capture_output=True, text=True)  # fmt: skip
    except OSError as err:
        raise Unavailable(f"cannot run the C compiler {cc[0]}: {err}") from err
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit status {done.returncode}"
        raise Unavailable(f"{cc[0]} could not compile {SOURCE.name}: {last}")
    try:
        lib = ctypes.CDLL(str(target))
    except OSError as err:  # for example a temporary folder mounted noexec
        raise Unavailable(f"cannot load the compiled loop: {err}") from err
    p, i32, i64, f32 = ctypes.c_void_p, ctypes.c_int32, ctypes.c_int64, ctypes.c_float
    for name in ("band_u8_f32", "band_u8_u8", "band_f32_f32", "band_f32_u8"):
        fn = getattr(lib, name)
        fn.argtypes = [p, i64, i32, i32, i32, i32, p, p, p, i32, i32, i32, p, p, i32, i32, p, p, p, i32, i32, i32,
                       f32, f32, p, p, i32, f32, f32, p, p, p, p, p]  # fmt: skip
        fn.restype = None
    lib.lanes = lanes  # the vector width the column plan is laid out for
    named = [f for f in extra if not f.startswith("-DSPECIALISE")]
    lib.flags = ", ".join((" ".join((*FLAGS[:2], *named)), f"{lanes}-float vectors",
                           *(["sizes fixed"] if len(named) < len(extra) else [])))  # fmt: skip
    return lib


library.cache_clear = _build.cache_clear  # forget every build (a test that changes the compiler)


def column_plan(c_idx: torch.Tensor, c_wt: torch.Tensor, lanes: int) -> tuple[torch.Tensor, ...]:
    """The column taps (``c_idx``, ``c_wt``: (taps, outputs)) as engine.c reads them, for vectors of ``lanes``
    outputs: per vector and tap, the first input column its lanes read (base), each lane's offset from it (mask)
    and weight; lanes past the last output weigh 0. Where one tap's lanes spread over more than two vectors of
    inputs (a reduction by more than about 2x), the base is -1 and the mask holds each lane's own column."""
    taps, wo = c_idx.shape
    nv = -(-wo // lanes)
    idx = torch.zeros(taps, nv * lanes, dtype=torch.int64)
    wt = torch.zeros(taps, nv * lanes)
    idx[:, :wo], wt[:, :wo] = c_idx, c_wt
    idx, wt = idx.view(taps, nv, lanes).transpose(0, 1), wt.view(taps, nv, lanes).transpose(0, 1)  # (nv, taps, lanes)
    real = (torch.arange(nv * lanes).view(nv, 1, lanes) < wo) & (wt != 0)  # the lanes that read something
    base = torch.where(real, idx, idx.max() + 1).amin(dim=2).clamp(max=idx.max())  # (nv, taps): the lowest read
    mask = torch.where(real, idx - base[..., None], 0)
    wide = mask.amax(dim=2) >= 2 * lanes  # (nv, taps): gathered lane by lane
    mask = torch.where(wide[..., None], torch.where(real, idx, base[..., None]), mask)
    base = torch.where(wide, -1, base)
    return base.to(torch.int32).contiguous(), mask.to(torch.int32).contiguous(), wt.contiguous()


HUGE_PAGE = 2 << 20  # bytes in an x86 transparent huge page
MADV_HUGEPAGE = 14  # Linux's madvise advice


@cache
def _madvise():
    """libc's ``madvise``, or None where there is none (not Linux)."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    fn.argtypes, fn.restype = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int], ctypes.c_int
    return fn


def output(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """An empty output tensor whose whole huge pages the kernel is asked to back with huge pages before the loop
    writes them: a fresh 31 MB output took 8.0 ms to fill in 4 KiB pages (a page fault each), 1.2 ms advised,
    0.77 ms already mapped (the project's 2-core AVX-512 CPU). A refusal or a kernel without them changes nothing."""
    out = torch.empty(shape, dtype=dtype)
    if out.numel() * out.element_size() < 2 * HUGE_PAGE:
        return out
    madvise = _madvise()
    start = -(-out.data_ptr() // HUGE_PAGE) * HUGE_PAGE
    end = (out.data_ptr() + out.numel() * out.element_size()) // HUGE_PAGE * HUGE_PAGE
    if madvise is not None and end > start:
        madvise(start, end - start, MADV_HUGEPAGE)
    return out


_pools: dict[tuple[int, int], ThreadPoolExecutor] = {}


def _pool(threads: int) -> ThreadPoolExecutor:
    """One thread pool per process and size: a forked DataLoader worker makes its own (its parent's threads are
    not there)."""
    key = (os.getpid(), threads)
    if key not in _pools:
        _pools[key] = ThreadPoolExecutor(threads, thread_name_prefix="engine")
    return _pools[key]


class CpuLoop:
    """A plan run by ``engine.c`` on the CPU: (N, cin, h, w) uint8 or float32 -> (N, cout, ho, wo) float32 or uint8,
    the batch split over ``threads`` threads (torch's thread count at each call by default)."""

    name = "cpu-loop"

    def __init__(self, plan: Plan, threads: int | None = None, lib: ctypes.CDLL | None = None):
        self.plan, self.threads = plan.to("cpu"), threads
        self.lib = lib or library(plan=self.plan)
        short = {torch.uint8: "u8", torch.float32: "f32"}
        self._fns = {(i, o): getattr(self.lib, f"band_{short[i]}_{short[o]}") for i in DTYPES for o in DTYPES}
        self.label = f"C loop ({self.lib.flags}; {vector_isa()} CPU)"
        p = self.plan
        rows = p.rows
        c0, c1 = p.cols
        base, mask, c_wt = column_plan(p.c_idx, p.c_wt, self.lib.lanes)
        # uint8 pixels are levels: the mix takes 1/255 of them, unless a table has already turned them into values
        u8_mix = p.mix if p.lut is not None else p.mix / GRAY_LEVELS
        self._keep = (u8_mix, rows, base, mask, c_wt)  # what the loop reads beyond the plan stays alive
        ptr = lambda t: None if t is None else t.data_ptr()  # noqa: E731
        band = (rows.data_ptr(), len(rows), c0, c1, p.r_idx.data_ptr(), p.r_wt.data_ptr(), len(p.r_idx),
                p.out_shape[1], base.data_ptr(), mask.data_ptr(), c_wt.data_ptr(), len(p.c_idx), p.out_shape[2],
                int((base < 0).any()), *p.clamp, ptr(p.lut), ptr(p.curve), 0 if p.curve is None else len(p.curve),
                *p.curve_range, ptr(p.perm))  # fmt: skip
        cin, h, w = p.in_shape
        self._args = {  # everything but the images, the count, the scratch and the output, per input dtype
            torch.uint8: (cin, h, w, p.out_shape[0], u8_mix.data_ptr(), p.bias.data_ptr(), *band),
            torch.float32: (cin, h, w, p.out_shape[0], p.mix.data_ptr(), p.bias.data_ptr(), *band),
        }
        self._scratch = threading.local()
        in_px, out_px = cin * h * w, p.out_shape[0] * p.out_shape[1] * p.out_shape[2]
        bytes_per = {torch.uint8: 1, torch.float32: 4}
        self._per_image = {"in": {d: in_px * b for d, b in bytes_per.items()},  # bytes an image, by dtype
                           "out": {d: out_px * b for d, b in bytes_per.items()}}  # fmt: skip

    def _buffers(self) -> tuple[int, int]:
        """This thread's scratch (the mixed image and one row), made at its first call."""
        s = self._scratch
        if not hasattr(s, "ptrs"):
            _, h, w = self.plan.in_shape
            lanes = self.lib.lanes  # zeroed: the loop reads past what it wrote, with weight 0
            s.g, s.acc = torch.zeros(h * w + lanes), torch.zeros(ROWS * (w + 2 * lanes))
            s.ptrs = (s.g.data_ptr(), s.acc.data_ptr())
        return s.ptrs

    def __call__(self, x: torch.Tensor | list[torch.Tensor], out_dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The outputs (N, cout, ho, wo) for a batch (N, cin, h, w), or for a list of N images (cin, h, w) of one dtype,
        each contiguous: the loop reads each where it lies, without stacking them into one batch first."""
        ptrs = None
        if isinstance(x, (list, tuple)):
            _check_list(x, self.plan.in_shape, out_dtype)
            ptrs = torch.tensor([img.data_ptr() for img in x], dtype=torch.int64)
            n, dtype, x_ptr = len(x), x[0].dtype, 0
        else:
            check_batch(x, self.plan.in_shape, out_dtype)
            if x.device.type != "cpu":
                raise ValueError(f"the CPU loop takes images on the CPU, got {x.device}")
            n, dtype, x_ptr = x.shape[0], x.dtype, x.data_ptr()
        out = output((n, *self.plan.result_shape), out_dtype)
        fn, args = self._fns[(dtype, out_dtype)], self._args[dtype]
        per_image_in, per_image_out = self._per_image["in"][dtype], self._per_image["out"][out_dtype]
        out_ptr = out.data_ptr()

        def part(lo: int, hi: int) -> None:
            g, acc = self._buffers()
            at = (0, ptrs.data_ptr() + 8 * lo) if ptrs is not None else (x_ptr + lo * per_image_in, None)
            fn(at[0], hi - lo, *args, at[1], g, acc, out_ptr + lo * per_image_out)

        threads = min(self.threads or torch.get_num_threads(), n)
        if threads <= 1:
            part(0, n)
        else:  # the calling thread takes the first share, the pool's threads the others
            bounds = [n * i // threads for i in range(threads + 1)]
            others = [_pool(threads - 1).submit(part, lo, hi) for lo, hi in zip(bounds[1:-1], bounds[2:], strict=True)]
            try:
                part(0, bounds[1])
            finally:  # even on an interrupt: the pool's threads write into ``out`` and read ``x`` until they end
                wait(others)
            for f in others:
                f.result()
        return out


def _check_list(images: list, in_shape: tuple[int, int, int], out_dtype: torch.dtype) -> None:
    """Refuse a list the loop would misread, as check_batch refuses a batch: anything but contiguous CPU images
    (cin, h, w) of one dtype it reads, or an output dtype it does not write."""
    if out_dtype not in DTYPES:
        raise ValueError(f"out_dtype is torch.float32 or torch.uint8, got {out_dtype}")
    if not images:
        raise ValueError("expected a non-empty list of images")
    dtype = images[0].dtype if isinstance(images[0], torch.Tensor) else None
    for img in images:
        if not (isinstance(img, torch.Tensor) and img.dtype == dtype and dtype in DTYPES and img.device.type == "cpu"
                and tuple(img.shape) == tuple(in_shape) and img.is_contiguous()):  # fmt: skip
            raise ValueError(f"expected a list of contiguous CPU images {tuple(in_shape)}, all uint8 or all float32")
