"""The pipeline's own linear operator, read off the pipeline by probing it with basis images.

Every step is linear on float images: grayscale is a fixed 3-vector, the antialiased resize is a fixed
28x32 matrix on rows and another on columns, and the flips permute rows and columns. So the pipeline
is Y = R (w . X) C^T, and feeding it images with one channel, one row or one column switched on
reveals w, R and C without copying a single constant from torchvision's source.
"""

from dataclasses import dataclass

import torch

from lib.core.pipeline import make_targets


def separable_map(
    x: torch.Tensor, gray: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, bias: torch.Tensor | float = 0.0
) -> torch.Tensor:
    """Y = rows @ (gray . X + bias) @ cols^T: (N, 3, 32, 32) -> (N, 1, 28, 28).

    With ``gray`` of shape (C, 3) (and ``bias`` (C,)) the channels are mixed into C and each is mapped
    alike: (N, C, H, W). For one channel, the arrangement that ran fastest on the project's CPU: the gray
    mix as a matrix-vector product (faster than ``einsum`` eagerly, and fused with a uint8 conversion
    under ``torch.compile``), then one large product over every row of every image, then one batched
    product; under ``torch.compile`` the large product's columns are padded to whole vectors."""
    if gray.ndim == 2:
        bias = bias.view(1, -1, 1, 1) if isinstance(bias, torch.Tensor) else bias
        g = torch.einsum("oc,nchw->nohw", gray, x) + bias  # (N, C, 32, 32)
        return rows @ g @ cols.T  # (N, C, H, W)
    n, (h, w) = len(x), x.shape[2:]
    g = (gray.view(1, -1) @ x.flatten(2)).view(n, h, w) + bias  # (N, 32, 32); a (1, 3) matrix: FLOPs counted
    cols_t = _vector_padded(cols.T) if torch.compiler.is_compiling() else cols.T  # (32, W or a little more)
    y = (g.view(n * h, w) @ cols_t).view(n, h, cols_t.shape[1])[..., : len(cols)]  # (N, 32, W)
    return (rows @ y).unsqueeze(1)  # (N, 1, H, W)


def _vector_padded(m: torch.Tensor, lanes: int = 16) -> torch.Tensor:
    """``m`` with zero columns appended up to a multiple of ``lanes`` when that adds at most a quarter.

    On the project's CPU (AVX-512: 16 floats a vector) the compiled separable map ran about 1.1x faster
    with the (N * 32, 32) x (32, 28) product padded to 32 columns. Only the compiled model pads: the eager
    forward, whose operations torch's FLOP counter reads for the roofline, does the model's arithmetic
    and no more, so the padding's extra work counts against the model, not for it."""
    pad = -m.shape[1] % lanes
    return torch.nn.functional.pad(m, (0, pad)) if 0 < 4 * pad <= m.shape[1] else m


@dataclass
class Operator:
    """The pipeline as Y = rows @ (gray . X) @ cols^T."""

    gray: torch.Tensor  # (3,) grayscale weights
    rows: torch.Tensor  # (28, 32): resize + vertical flip
    cols: torch.Tensor  # (28, 32): resize + horizontal flip

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return separable_map(x, self.gray.to(x.dtype), self.rows.to(x.dtype), self.cols.to(x.dtype))

    def matrix(self) -> torch.Tensor:
        """The whole map as one (784, 3072) matrix acting on flattened (3, 32, 32) images."""
        spatial = torch.kron(self.rows, self.cols)  # (784, 1024)
        return torch.cat([w * spatial for w in self.gray], dim=1)


@torch.no_grad()
def probe() -> Operator:
    """Derive w, R and C from the pipeline itself, in float64 so the probes add no rounding."""
    eye3 = torch.eye(3, dtype=torch.float64)
    channel = eye3[:, :, None, None].expand(3, 3, 32, 32).float()  # image c: channel c all ones
    gray = make_targets(channel).double().mean(dim=(1, 2, 3))  # a constant stays constant under resize
    row_probe = torch.zeros(32, 3, 32, 32)
    col_probe = torch.zeros(32, 3, 32, 32)
    for i in range(32):
        row_probe[i, :, i, :] = 1  # row i on, in every channel
        col_probe[i, :, :, i] = 1
    total = gray.sum()
    rows = make_targets(row_probe).double()[:, 0, :, 0].T / total  # (28, 32): column 0 of each response
    cols = make_targets(col_probe).double()[:, 0, 0, :].T / total
    return Operator(gray, rows, cols)
