"""Figures: six test examples side by side, and training curves against the threshold."""

import matplotlib.pyplot as plt
import torch
from matplotlib.colors import LogNorm

from lib.metrics import GRAY_LEVELS
from lib.stopping import HALF_GRAY


def example_indices(n_images: int, n: int = 6, seed: int = 0) -> list[int]:
    """A fixed, seeded choice of ``n`` example images."""
    if n > n_images:
        raise ValueError(f"asked for {n} examples from {n_images} images")
    return torch.randperm(n_images, generator=torch.Generator().manual_seed(seed))[:n].tolist()


def plot_examples(x: torch.Tensor, y: torch.Tensor, preds, indices: list[int], title: str = "",
                  numbers: list[int] | None = None):  # fmt: skip
    """One row per image: the input (RGB), the pipeline's output, then for each model (``preds``: one
    prediction tensor, or {label: predictions} for several side by side) its output and its |difference|
    from the pipeline in gray levels (rows titled by ``numbers``, the images' numbers in their split, or by
    ``indices``). Every difference panel of the figure shares one logarithmic colour
    scale, with one colour bar, so that a model's errors can be compared with another's at a glance."""
    preds = preds if isinstance(preds, dict) else {"model": preds}
    ncols = 2 + 2 * len(preds)
    fig, axes = plt.subplots(len(indices), ncols, figsize=(2.05 * ncols + 1.2, 2.2 * len(indices)), squeeze=False)
    diffs = {label: _abs_diff(p[indices], y[indices]) for label, p in preds.items()}  # (n, H, W) gray levels
    norm = _diff_norm(torch.stack(list(diffs.values())))
    for r, (row, i) in enumerate(zip(axes, indices, strict=True)):
        _image(row[0], x[i], f"#{(numbers or indices)[r]}: input (RGB 32x32)")
        _image(row[1], y[i], f"pipeline ({'x'.join(map(str, y.shape[-2:]))})")
        for k, label in enumerate(preds):
            _image(row[2 + 2 * k], preds[label][i], label)
            shown = _diff_panel(row[3 + 2 * k], diffs[label][r], norm, "|difference|")
    _colour_bar(fig, axes, shown)
    if title:
        fig.suptitle(title)
    return fig


def _abs_diff(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """|pred - y| in gray levels, the largest over output channels: (..., H, W)."""
    return (pred - y).abs().amax(-3) * GRAY_LEVELS


DIFF_FLOOR = 1e-5  # gray levels: the bottom of the difference colour scale (float32 rounding lies above it)


def _diff_norm(diffs: torch.Tensor) -> LogNorm:
    top = max(diffs.max().item(), 10 * DIFF_FLOOR)
    return LogNorm(vmin=DIFF_FLOOR, vmax=top, clip=True)


def _image(ax, img: torch.Tensor, label: str, fontsize: int = 8) -> None:
    array, kw = _show(img)
    ax.imshow(array, **kw)
    ax.set_title(label, fontsize=fontsize)
    ax.axis("off")


def _diff_panel(ax, diff: torch.Tensor, norm: LogNorm, label: str, fontsize: int = 8):
    shown = ax.imshow(diff.clamp_min(DIFF_FLOOR).numpy(), cmap="magma", norm=norm)
    ax.set_title(f"{label}\nmax {diff.max().item():.2g} gray levels", fontsize=fontsize)
    ax.axis("off")
    return shown


def _colour_bar(fig, axes, shown) -> None:
    fig.tight_layout(rect=(0, 0, 0.9, 0.97))
    cax = fig.add_axes((0.915, 0.15, 0.015, 0.7))
    fig.colorbar(shown, cax=cax, label="|difference| (gray levels, log scale)")


def plot_history(history: list[dict], title: str = "", tolerance_gray: float | None = None,
                 fired_epoch: int | None = None):  # fmt: skip
    """Validation error per epoch on a log scale, with half a gray level (and the tolerance, when given)
    drawn, and the epoch where the stopping rule fired (when given) marked; held-out synthetic images get
    their own curve where the run recorded them."""
    epochs = [h["epoch"] for h in history]
    fig, (ax_err, ax_loss) = plt.subplots(1, 2, figsize=(11, 3.8))
    curves = {"val_mae_gray": "mean |error|, validation", "val_max_gray": "max |error|, validation",
              "held_out_max_gray": "max |error|, held-out synthetic"}  # fmt: skip
    for key, label in curves.items():
        if key in history[0]:
            ax_err.semilogy(epochs, [h[key] for h in history], marker="o", ms=3, label=label)
    ax_err.axhline(HALF_GRAY * GRAY_LEVELS, color="k", ls="--", lw=1, label="half a gray level")
    if tolerance_gray is not None:
        ax_err.axhline(tolerance_gray, color="k", ls=":", lw=1, label=f"tolerance ({tolerance_gray:g} gray levels)")
    if fired_epoch is not None:
        for ax in (ax_err, ax_loss):
            ax.axvline(fired_epoch, color="tab:green", lw=1.5, alpha=0.7, label=f"rule fired (epoch {fired_epoch})")
    ax_err.set(xlabel="epoch", ylabel="validation error (gray levels)", title="validation error")
    ax_err.legend(fontsize=8)
    ax_loss.semilogy(epochs, [h["loss"] for h in history], marker="o", ms=3)
    ax_loss.set(xlabel="epoch", ylabel="loss per image, summed over pixels\n([0, 1] units squared)",
                title="training loss")  # fmt: skip
    for ax in (ax_err, ax_loss):
        ax.grid(True, which="both", alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


BASELINE_STYLE = {
    "pipeline_loop": ":", "pipeline_batched": "--", "pipeline_uint8": (0, (5, 2, 1, 2)), "pillow_loop": (0, (1, 4)),
    "read_input": "-.", "read_uint8": (0, (3, 1, 1, 1, 1, 1)),
}  # fmt: skip


METHOD_MARKERS = {
    "dataloader": "s", "fast_path": "o", "fast_path_uint8": "^", "compiled": "D", "compiled_uint8": "v",
    "fused_uint8": "*", "end_to_end": "P",
}  # fmt: skip


def plot_benchmark(rows: list[dict], title: str = ""):
    """Seconds for all images against batch (or chunk) size, one panel per device, a line per model
    (colour) and method (marker) (DataLoader: best over workers and pinning), baselines and the read
    floors as horizontals."""
    devices = list(dict.fromkeys(r["device"] for r in rows))
    fig, axes = plt.subplots(1, len(devices), figsize=(8.5 * len(devices), 5), squeeze=False)
    models = dict.fromkeys(r["model"] for r in rows if r["method"] not in BASELINE_STYLE)
    colours = {m: f"C{i % 10}" for i, m in enumerate(models)}
    for ax, device in zip(axes[0], devices, strict=True):
        mine = [r for r in rows if r["device"] == device]
        lines: dict[tuple[str, str], dict[int, float]] = {}
        for r in mine:
            if r["method"] in BASELINE_STYLE:
                continue
            curve = lines.setdefault((r["model"], r["method"]), {})
            bs = int(r["batch_size"])
            curve[bs] = min(curve.get(bs, float("inf")), float(r["median_s"]))
        for (model, method), curve in sorted(lines.items()):
            sizes = sorted(curve)
            ax.plot(sizes, [curve[s] for s in sizes], color=colours[model], marker=METHOD_MARKERS.get(method, "o"),
                    ms=4, lw=1, label=f"{model} · {method.replace('_', ' ')}")  # fmt: skip
        for method, style in BASELINE_STYLE.items():
            found = [float(r["median_s"]) for r in mine if r["method"] == method]
            if found:
                ax.axhline(min(found), color="k", ls=style, lw=1, label=method.replace("_", " "))
        ax.set(xscale="log", yscale="log", xlabel="batch / chunk size (images)",
               ylabel=f"seconds for {int(mine[0]['n_images']):,} images (median)", title=device)  # fmt: skip
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_roofline(points: dict[str, tuple[float, float]], peak_gflops: float, floor_s: float, n_images: int,
                  title: str = "", floor_label: str = "read floor"):  # fmt: skip
    """The roofline in time: seconds for ``n_images`` against MFLOPs per image, one point per model
    ({label: (mflops_per_image, seconds)}); the compute floor (FLOPs at the measured matrix-multiply peak)
    is the diagonal, the read floor the horizontal, and their maximum the best any model could do."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    lo = min(m for m, _ in points.values()) / 3
    hi = max(m for m, _ in points.values()) * 3
    grid = [lo * (hi / lo) ** (i / 50) for i in range(51)]
    compute = [m * 1e6 * n_images / (peak_gflops * 1e9) for m in grid]
    ax.plot(grid, compute, "k-", lw=1, label=f"compute floor ({peak_gflops:.0f} GFLOPS matmul peak)")
    ax.axhline(floor_s, color="k", ls="-.", lw=1, label=f"{floor_label} ({floor_s * 1e3:.2g} ms)")
    ax.plot(grid, [max(c, floor_s) for c in compute], color="tab:green", lw=4, alpha=0.25, label="roofline")
    for label, (m, t) in points.items():
        ax.plot([m], [t], "o", label=f"{label}: {t * 1e3:.3g} ms")
    ax.set(xscale="log", yscale="log", xlabel="MFLOPs per image",
           ylabel=f"seconds for {n_images:,} images (median)", title=title)  # fmt: skip
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_curves(histories: dict[str, list[dict]], key: str = "val_mae_gray", title: str = ""):
    """One validation-error curve per run (log scale), with the half-gray-level threshold."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, history in histories.items():
        ax.semilogy([h["epoch"] for h in history], [h[key] for h in history], marker="o", ms=3, label=label)
    ax.axhline(HALF_GRAY * GRAY_LEVELS, color="k", ls="--", lw=1, label="half a gray level")
    ax.set(xlabel="epoch", ylabel=f"{key.replace('_', ' ')} (gray levels)", title=title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_maps(maps: dict[str, torch.Tensor], ncols: int = 3, title: str = "", symmetric: bool = True):
    """Heatmaps of matrices side by side (learned operators next to the exact one), each with a colour bar."""
    nrows = -(-len(maps) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.6 * nrows), squeeze=False)
    for ax, (label, m) in zip(axes.flat, maps.items(), strict=False):
        m = m.detach().double().cpu()
        lim = m.abs().max().item() or 1.0
        kw = {"cmap": "RdBu_r", "vmin": -lim, "vmax": lim} if symmetric else {"cmap": "viridis"}
        im = ax.imshow(m.numpy(), aspect="auto", interpolation="nearest", **kw)
        ax.set_title(label, fontsize=9)
        ax.set(xlabel="input index", ylabel="output index")
        fig.colorbar(im, ax=ax, fraction=0.046)
    for ax in list(axes.flat)[len(maps) :]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_gray_weights(weights: dict[str, torch.Tensor], title: str = "grayscale weights (scaled to sum 1)"):
    """Grouped bars of R, G, B weights per model."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    width = 0.8 / len(weights)
    for k, (label, w) in enumerate(weights.items()):
        ax.bar([c + k * width for c in range(3)], w.detach().double().cpu().numpy(), width, label=label)
    ax.set_xticks([c + 0.4 - width / 2 for c in range(3)], ["R", "G", "B"])
    ax.set(ylabel="weight", title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _show(img: torch.Tensor) -> tuple:
    """(array, imshow options) for a (C, H, W) image in [0, 1]: gray for one channel, RGB for three."""
    if img.shape[0] == 1:
        return img[0].clamp(0, 1).numpy(), {"cmap": "gray", "vmin": 0, "vmax": 1}
    return img.permute(1, 2, 0).clamp(0, 1).numpy(), {}


def plot_pipeline_examples(examples: list[tuple[str, str, torch.Tensor, torch.Tensor, torch.Tensor]], title: str = ""):
    """One row per (pipeline, model, input, pipeline output, model output): the input, both outputs at
    their own shape, and |difference| in gray levels on one logarithmic scale shared by every row."""
    fig, axes = plt.subplots(len(examples), 4, figsize=(10, 2.3 * len(examples)), squeeze=False)
    norm = _diff_norm(torch.stack([_abs_diff(pred, y).max() for _, _, _, y, pred in examples]))
    for row, (pipeline, model, x, y, pred) in zip(axes, examples, strict=True):
        _image(row[0], x, "input (RGB 32x32)", fontsize=7)
        _image(row[1], y, f"{pipeline}\n{'x'.join(map(str, y.shape))}", fontsize=7)
        _image(row[2], pred, model, fontsize=7)
        shown = _diff_panel(row[3], _abs_diff(pred, y), norm, "|difference|", fontsize=7)
    _colour_bar(fig, axes, shown)
    if title:
        fig.suptitle(title)
    return fig
