"""Helpers for the architecture, loss and stopping study (notebooks/02_architectures.ipynb)."""

import torch
from torch.utils.flop_counter import FlopCounterMode

from lib import models
from lib.metrics import GRAY_LEVELS
from lib.stopping import HALF_GRAY, TOLERANCE_GRAY
from lib.timing import measure
from lib.train import TrainConfig, TrainResult, seed_everything, train


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
    output: str = "none", progress: bool = False, held_out: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> tuple[torch.nn.Module, TrainResult]:  # fmt: skip
    """Build a model with the run's seed and train it."""
    seed_everything(cfg.seed)
    model = models.build(name, output=output)
    return model, train(model, x, y, vx, vy, cfg, progress=progress, held_out=held_out)


def rule_firings(history: list[dict], tolerance_gray: float = TOLERANCE_GRAY) -> dict[str, dict]:
    """When each stopping rule would first have fired in a run, and what was wrong then: the share of
    validation pixels at another 8-bit gray level than the pipeline's. The tolerance rule also needs the
    held-out images, where the run recorded them."""

    def worst(h: dict) -> float:
        return max(h["val_max_gray"], h.get("held_out_max_gray", 0.0))

    tests = {
        "mean": lambda h: h["val_mae_gray"] < HALF_GRAY * GRAY_LEVELS,
        "strict": lambda h: h["val_max_gray"] < HALF_GRAY * GRAY_LEVELS,
        f"tolerance ({tolerance_gray:g} gray levels)": lambda h: worst(h) < tolerance_gray,
    }
    out = {}
    for rule, met in tests.items():
        hit = next((h for h in history if met(h)), None)
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
