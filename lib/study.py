"""Helpers for the architecture, loss and stopping study (notebooks/02_architectures.ipynb)."""

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from lib import models
from lib.solvers import raw_moments
from lib.stopping import HALF_GRAY
from lib.timing import measure
from lib.train import TrainConfig, TrainResult, seed_everything, train

SYNTHETIC = ("noise", "smooth")


def synthetic_images(kind: str, n: int, seed: int = 0) -> torch.Tensor:
    """Float images (n, 3, 32, 32) in [0, 1] that are not photographs.

    ``noise``: every pixel uniform and independent (a flat spectrum: every direction of the input space
    equally excited). ``smooth``: random fields, uniform noise on a coarse 2x2 to 16x16 grid blown up
    bilinearly, so that most energy sits at low spatial frequencies, as in natural images.
    """
    gen = torch.Generator().manual_seed(seed)
    if kind == "noise":
        return torch.rand(n, 3, 32, 32, generator=gen)
    if kind == "smooth":
        grids = torch.tensor([2, 4, 8, 16])[torch.randint(0, 4, (n,), generator=gen)]
        out = torch.empty(n, 3, 32, 32)
        for g in grids.unique().tolist():
            idx = (grids == g).nonzero().flatten()
            coarse = torch.rand(len(idx), 3, g, g, generator=gen)
            out[idx] = F.interpolate(coarse, size=(32, 32), mode="bilinear", align_corners=True)
        return out
    raise ValueError(f"unknown synthetic image kind {kind!r}; choose one of {SYNTHETIC}")


def mflops(model: torch.nn.Module) -> float:
    """Floating-point operations of one forward pass on one image, in millions (counted by torch)."""
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.rand(1, 3, 32, 32))
    return counter.get_total_flops() / 1e6


def cpu_seconds(model: torch.nn.Module, x: torch.Tensor, repeats: int = 3, chunk: int = 4096) -> float:
    """Median CPU seconds for the model over all of ``x`` on the fast path (in-memory slices), timed
    frozen as lib.bench times models; the model's parameters are left as they were."""
    model = model.cpu().eval()
    flags = [p.requires_grad for p in model.parameters()]
    model.requires_grad_(False)

    def work():
        for i in range(0, len(x), chunk):
            model(x[i : i + chunk])

    try:
        with torch.inference_mode():
            return measure(work, repeats=repeats, warmup=1).median
    finally:
        for p, flag in zip(model.parameters(), flags, strict=True):
            p.requires_grad_(flag)


def fit(
    name: str, x: torch.Tensor, y: torch.Tensor, vx: torch.Tensor, vy: torch.Tensor, cfg: TrainConfig,
    output: str = "none", progress: bool = False,
) -> tuple[torch.nn.Module, TrainResult]:  # fmt: skip
    """Build a model with the run's seed and train it."""
    seed_everything(cfg.seed)
    model = models.build(name, output=output)
    return model, train(model, x, y, vx, vy, cfg, progress=progress)


@torch.no_grad()
def lstsq_fc(x: torch.Tensor, y: torch.Tensor) -> torch.nn.Module:
    """The closed-form least-squares linear map from the whole input to the output (an ``fc_large``
    model), from the float64 normal equations: the best any linear model can do on these images."""
    m = raw_moments(x, y)
    d = len(m.xsum)
    xx = torch.empty(d + 1, d + 1, dtype=torch.float64)  # normal matrix of [x, 1]: the bias column
    xx[:d, :d], xx[:d, d], xx[d, :d], xx[d, d] = m.xx, m.xsum, m.xsum, m.n
    xy = torch.cat([m.yx.T, m.ysum[None]])  # (3073, 784)
    w = torch.linalg.lstsq(xx, xy, driver="gelsd").solution  # (3073, 784)
    model = models.build("fc_large")
    model.linear.weight.copy_(w[:-1].T)
    model.linear.bias.copy_(w[-1])
    return model.eval()


def rule_firings(history: list[dict]) -> dict[str, dict]:
    """When each stopping rule would first have fired in a run, and what was wrong then: the share of
    validation pixels at another 8-bit gray level than the pipeline's."""
    out = {}
    for rule, key in (("mean", "val_mae_gray"), ("strict", "val_max_gray")):
        hit = next((h for h in history if h[key] < HALF_GRAY * 255), None)
        out[rule] = {
            "epoch": hit and hit["epoch"],
            "seconds": hit and hit["seconds"],
            "wrong_level_pct": hit and 100 * (1 - hit["val_exact8"]),
            "val_max_gray": hit and hit["val_max_gray"],
            "val_mae_gray": hit and hit["val_mae_gray"],
        }
    return out


def gray_weights(model: torch.nn.Module) -> torch.Tensor:
    """A model's learned grayscale mix, scaled to sum to one (conv and later layers share a scale)."""
    w = model.gray.weight.detach().flatten().double()
    return w / w.sum()


def firing_text(firings: dict[str, dict]) -> str:
    """One sentence on when each rule fired and how many pixels were still wrong then."""
    parts = []
    for rule, f in firings.items():
        if f["epoch"] is None:
            parts.append(f"the {rule} rule never fired within the run")
        else:
            parts.append(
                f"the {rule} rule fired at epoch {f['epoch']} with {f['wrong_level_pct']:.2f}% of validation pixels "
                f"at a wrong 8-bit gray level and the worst pixel {f['val_max_gray']:.3g} gray levels off"
            )
    return "; ".join(parts) + "."
