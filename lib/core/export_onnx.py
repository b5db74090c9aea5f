"""The learned transform as an ONNX graph: plain matrix products that every runtime executes exactly.

:func:`export` writes a model of ``lib.core.models`` (``separable``, ``banded``, ``dense``, or the probed operator
``exact``) as a graph with a dynamic batch dimension, taking uint8 or float images (N, C, H, W):

- uint8 input: a ``Cast`` to float (the 1/255 is folded into the weights that follow);
- the channel mix: a ``MatMul`` of the (C, c) mix with each image's (c, h w) pixels, and an ``Add`` of its bias;
- ``separable``, ``banded`` and a separable ``exact``: a ``MatMul`` by B^T (w x W) over every row of every image
  at once, then by A (H x h) (``banded`` exports its A and B with the zeros off its band: in a graph a dense
  product of these sizes is what every runtime does well);
- ``dense``: ``Reshape`` to (N C, h w), ``MatMul``, ``Add``, ``Reshape``; an ``exact`` that is one matrix the same
  on the whole (N, c h w) input.

On the project's 2-core CPU this order ran 11.7 ms for 10,000 float images in ONNX Runtime, where a 1x1 ``Conv``
for the mix and the products in the other order took 58.5 ms (a ``Conv`` of 3 channels into 1 is slow there, and
a ``Transpose`` of the output took 11 ms alone).

No ``Resize`` node: the antialiased resize that runtimes refuse or implement differently is in the weights.
Every reshape keeps the batch as -1, so the batch stays dynamic (an export that traced ``len(x)`` into a
reshape had its batch fixed to the example's). :func:`run` executes a graph with ONNX Runtime on the CPU,
and :func:`export_pipeline` tries the same for the torchvision pipeline itself, with either exporter, and
says what happened.
"""

import contextlib
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch
from torch import nn

from lib.core.constants import GRAY_LEVELS
from lib.core.fitted import Fitted, finish, look_up
from lib.core.models import output_mode
from lib.core.separable import parts_of
from lib.timing import measure

OPSET = 18


class Graph(nn.Module):
    """What :func:`export` writes: the model's arithmetic in ONNX's plainest operators (see the module's notes),
    from ``source`` images ("uint8" or "float"; for uint8 the 1/255 is folded into the first weights)."""

    def __init__(self, model: nn.Module, source: str = "uint8", out_dtype: torch.dtype = torch.float32):
        super().__init__()
        if source not in ("uint8", "float"):
            raise ValueError(f"source is 'uint8' or 'float', got {source!r}")
        if out_dtype not in (torch.float32, torch.uint8):
            raise ValueError(f"out_dtype is torch.float32 or torch.uint8, got {out_dtype}")
        self.u8_out = out_dtype == torch.uint8
        outer = model if isinstance(model, Fitted) else None  # a table, curve, clamp or order around the linear map
        model = model.linear if outer is not None else model
        for name in ("table", "curve", "order"):
            self.register_buffer(name, None if outer is None else getattr(outer, name))
        self.curve_range = None if outer is None else outer.curve_range
        self.clamp = None if outer is None else outer.clamp
        self.result_shape = tuple(outer.out_shape) if outer is not None else tuple(model.out_shape)
        mode = output_mode(model)
        if mode != "none":
            raise ValueError(f"models with an output constraint ({mode}) are not exported")
        self.source, self.in_shape, self.out_shape = source, tuple(model.in_shape), tuple(model.out_shape)
        scale = 1.0 / GRAY_LEVELS if source == "uint8" and self.table is None else 1.0  # a table gives values
        c_in = self.in_shape[0]
        try:
            parts = parts_of(model)
        except TypeError:
            parts = None
        if parts is not None:
            self.kind = "rows and columns"  # the graph's layout: a product on each side
            mix, bias = parts.gray.detach().float().view(-1, c_in), parts.bias.detach().float()
            self.register_buffer("rows", parts.rows.detach().float().contiguous())  # (H, h)
            self.register_buffer("cols_t", parts.cols.detach().float().T.contiguous())  # (w, W)
        elif hasattr(model, "linear") and hasattr(model, "gray"):  # dense: the mix, then one Linear per channel
            self.kind = "per channel"  # one Linear for each mixed channel
            mix, bias = model.gray.weight.detach().float()[:, :, 0, 0], model.gray.bias.detach().float()
            self.register_buffer("weight_t", model.linear.weight.detach().float().T.contiguous())  # (h w, H W)
            self.register_buffer("offset", model.linear.bias.detach().float())  # (H W,)
        elif hasattr(model, "weight") and hasattr(model, "offset"):  # exact, as one matrix
            self.kind = "one matrix"  # on the whole flattened image
            mix, bias = torch.eye(c_in), torch.zeros(c_in)  # unused: the matrix holds the mix
            self.register_buffer("weight_t", model.weight.detach().float() * scale)  # (c h w, C H W)
            self.register_buffer("offset", model.offset.detach().float().flatten())
        else:
            raise TypeError(f"{type(model).__name__} is not a model export knows (separable, banded, dense, exact)")
        self.register_buffer("mix", (mix * scale).contiguous())  # (C, c)
        self.register_buffer("bias", bias.view(-1, 1, 1).contiguous())  # (C, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.table is not None:  # a Gather of each pixel's level from the table
            x = look_up(self.table, x)
        y = self._linear(x.to(torch.float32))  # a Cast from uint8; nothing from float
        # the curve (two Gathers and a line between them), the clamp and the output order (a Gather), as Fitted does
        y = finish(y, self.curve, self.curve_range, self.clamp, self.order, self.result_shape)
        return torch.round(y * GRAY_LEVELS).clamp(0, GRAY_LEVELS).to(torch.uint8) if self.u8_out else y

    def _linear(self, x: torch.Tensor) -> torch.Tensor:
        c, h, w = self.out_shape
        c_in, h_in, w_in = self.in_shape
        if self.kind == "one matrix":
            return (torch.matmul(x.reshape(-1, c_in * h_in * w_in), self.weight_t) + self.offset).reshape(-1, c, h, w)
        # the channel mix as one product per image (in ONNX Runtime 5x faster than a 1x1 Conv here)
        g = torch.matmul(self.mix, x.reshape(-1, c_in, h_in * w_in)).reshape(-1, len(self.mix), h_in, w_in) + self.bias
        if self.kind == "rows and columns":  # B^T as one product over every row of every image, then A
            return torch.matmul(self.rows, torch.matmul(g, self.cols_t))  # (N, C, H, W)
        return (torch.matmul(g.reshape(-1, h_in * w_in), self.weight_t) + self.offset).reshape(-1, c, h, w)


def export(model: nn.Module, path: str | Path, source: str = "uint8", example_batch: int = 2,
           out_dtype: torch.dtype | None = None) -> Path | dict[str, Path]:  # fmt: skip
    """Write ``model`` as an ONNX graph (:class:`Graph`) to ``path``, its batch dynamic, with torch's dynamo-based
    exporter; uint8 output (rounded half to even, as ONNX's ``Round``) where ``out_dtype`` is ``torch.uint8``.
    Returns the path. ``model`` may be a ``LearnedTransform``, whose ``out_dtype`` is the default: one graph per
    input shape it holds (the map's weights depend on the input's size; only the batch is dynamic), at ``path``
    for one shape, else {"CxHxW": path with the shape added to its name}."""
    maps = getattr(model, "maps", None)
    if maps is not None:  # a LearnedTransform
        out_dtype = out_dtype or model.out_dtype
        if len(maps) == 1:
            return export(next(iter(maps.values())), path, source, example_batch, out_dtype)
        path = Path(path)
        return {key: export(m, path.with_name(f"{path.stem}_{key}{path.suffix}"), source, example_batch, out_dtype)
                for key, m in maps.items()}  # fmt: skip
    graph = Graph(model, source, out_dtype or torch.float32).eval()
    dtype = torch.uint8 if source == "uint8" else torch.float32
    example = torch.zeros(example_batch, *graph.in_shape, dtype=dtype)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _quiet():
        _dynamo_export(graph, example, path)
    return path


def _dynamo_export(module: nn.Module, example: torch.Tensor, path: Path) -> None:
    """``module`` (a ``forward(x)``) to ``path`` by torch's dynamo-based exporter, the batch of ``x`` dynamic."""
    torch.onnx.export(module, (example,), str(path), input_names=["images"], output_names=["output"],
                      dynamic_shapes={"x": {0: torch.export.Dim("batch")}}, dynamo=True, opset_version=OPSET,
                      verbose=False)  # fmt: skip


def operators(path: str | Path) -> list[str]:
    """The operator types of a graph's nodes, in order."""
    import onnx

    return [node.op_type for node in onnx.load(str(path)).graph.node]


def session(path: str | Path, threads: int | None = None):
    """An ONNX Runtime session for the graph on the CPU, with ``threads`` threads (torch's count by default)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run(sess, x: torch.Tensor) -> torch.Tensor:
    """The graph's output for images ``x`` (a CPU tensor of the graph's input dtype)."""
    name = sess.get_inputs()[0].name
    return torch.from_numpy(sess.run(None, {name: x.contiguous().numpy()})[0])


def seconds(sess, x: torch.Tensor, repeats: int = 3) -> float:
    """Median seconds of ONNX Runtime for all of ``x`` in one call (after one untimed call)."""
    feed = {sess.get_inputs()[0].name: x.contiguous().numpy()}
    return measure(lambda: sess.run(None, feed), repeats=repeats, warmup=1).median


@contextlib.contextmanager
def _quiet():
    """Warnings and the process's own standard output silenced: the TorchScript-based exporter prints the whole
    traced graph there, below Python's sys.stdout, when it fails."""
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile() as sink, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        os.dup2(sink.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


class _Calls(nn.Module):
    """A pipeline behind a ``forward(x)`` of one tensor (``v2.Compose.forward`` takes ``*inputs``)."""

    def __init__(self, pipeline: nn.Module):
        super().__init__()
        self.pipeline = pipeline

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pipeline(x)


def export_pipeline(pipeline: nn.Module, path: str | Path, in_shape: tuple[int, int, int], dynamo: bool) -> dict:
    """Try to export the torchvision ``pipeline`` (a module on float batches) to ``path`` with the dynamo-based
    exporter (``dynamo``) or the TorchScript-based one. {"ok": True, "seconds": export time, "operators": its
    node types} where it exports; {"ok": False, "error": the exception's type and first line} where it does not."""
    example, module = torch.rand(2, *in_shape), _Calls(pipeline).eval()
    start = time.perf_counter()
    try:
        with _quiet():
            if dynamo:
                _dynamo_export(module, example, Path(path))
            else:
                torch.onnx.export(module, (example,), str(path), input_names=["images"], output_names=["output"],
                                  dynamic_axes={"images": {0: "batch"}, "output": {0: "batch"}}, dynamo=False,
                                  opset_version=OPSET)  # fmt: skip
    except Exception as err:  # every exporter failure is a finding to report, not a crash
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        return {"ok": False, "error": f"{type(err).__name__}: {first}"[:300]}
    return {"ok": True, "seconds": time.perf_counter() - start, "operators": operators(path)}
