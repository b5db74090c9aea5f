"""Figures: six test examples side by side, and training curves against the threshold."""

import matplotlib.pyplot as plt
import torch
from matplotlib.colors import LogNorm

from lib.core.constants import GRAY_LEVELS, HALF_GRAY


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


def plot_roofline(points: dict[str, tuple[float, float]], peak_gflops: float, floor_s: float, n_images: int,
                  title: str = "", floor_label: str = "read floor: reading the input once"):  # fmt: skip
    """The roofline in time: seconds for ``n_images`` against MFLOPs per image, one point per model and
    route ({label in words: (mflops_per_image, seconds)}); the compute floor (FLOPs at the measured
    matrix-multiply peak) is the diagonal, the read floor the horizontal, and their maximum the best any
    model could do."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    lo = min(m for m, _ in points.values()) / 3
    hi = max(m for m, _ in points.values()) * 3
    grid = [lo * (hi / lo) ** (i / 50) for i in range(51)]
    compute = [m * 1e6 * n_images / (peak_gflops * 1e9) for m in grid]
    compute_label = f"compute floor: the FLOPs at the measured matrix-multiply peak ({peak_gflops:.0f} GFLOPS)"
    ax.plot(grid, compute, "k-", lw=1, label=compute_label)
    ax.axhline(floor_s, color="k", ls="-.", lw=1, label=f"{floor_label} ({floor_s * 1e3:.2g} ms)")
    ax.plot(grid, [max(c, floor_s) for c in compute], color="tab:green", lw=4, alpha=0.25,
            label="roofline: the larger of the two floors")  # fmt: skip
    for label, (m, t) in points.items():
        ax.plot([m], [t], "o", label=f"{label}: {t * 1e3:.3g} ms")
    ax.set(xscale="log", yscale="log", xlabel="MFLOPs per image",
           ylabel=f"seconds for {n_images:,} images (median)", title=title)  # fmt: skip
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


MAX_SERIES = 6  # most curves one panel shows: more cannot be told apart


CURVE_KEYS = {  # history keys in words, for axis labels
    "val_mae_gray": "mean |error|, validation (gray levels)", "val_max_gray": "max |error|, validation (gray levels)",
    "held_out_max_gray": "max |error|, held-out synthetic (gray levels)",
}  # fmt: skip


def plot_curves(histories: dict[str, list[dict]], keys: tuple[str, ...] = ("val_mae_gray",), title: str = "",
                x: str = "epoch", lines: dict[str, float] | None = None):  # fmt: skip
    """One curve per run (log scale) in a panel per history key, against ``x`` (``epoch`` or ``seconds``),
    with half a gray level and any other horizontal ``lines`` ({label: gray levels}). Labels are the keys of
    ``histories``: give them in words. At most six runs, each with two or more points: a one-step fit (a
    closed form) has no curve and belongs in a table."""
    if not 1 <= len(histories) <= MAX_SERIES:
        raise ValueError(f"plot_curves draws 1 to {MAX_SERIES} runs, got {len(histories)}: split them over figures")
    short = [label for label, h in histories.items() if len(h) < 2]
    if short:
        raise ValueError(f"runs with fewer than two points have no curve: {short}; show them in a table")
    fig, axes = plt.subplots(1, len(keys), figsize=(6.2 * len(keys), 4), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        for label, history in histories.items():
            ax.semilogy([h[x] for h in history], [h[key] for h in history], marker="o", ms=3, label=label)
        ax.axhline(HALF_GRAY * GRAY_LEVELS, color="k", ls="--", lw=1, label="half a gray level")
        for i, (label, value) in enumerate((lines or {}).items()):
            ax.axhline(value, color="k", ls=(":", "-.", (0, (1, 4)))[i % 3], lw=1, label=label)
        ax.set(xlabel="seconds" if x == "seconds" else x, ylabel=CURVE_KEYS.get(key, key.replace("_", " ")))
        ax.grid(True, which="both", alpha=0.3)
    axes[0][-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    if title:
        fig.suptitle(title)
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


def plot_errors(
    rows: list[dict], candidates: tuple[str, ...], title: str = "", within: float = HALF_GRAY * GRAY_LEVELS
):
    """Worst test pixel of each candidate (columns, ``row["candidate"]``) on each pipeline (rows), gray levels on a
    log colour scale, blank where the candidate was not fitted; a cell names its model where that is not the column's
    name (the closed form's family), and ``within`` is marked on the colour bar."""
    pipes = list(dict.fromkeys(r["pipeline"] for r in rows))
    grid = torch.full((len(pipes), len(candidates)), float("nan"))
    fig, ax = plt.subplots(figsize=(10, 0.5 * len(pipes) + 1.5))
    for r in rows:
        i, j = pipes.index(r["pipeline"]), candidates.index(r["candidate"])
        grid[i, j] = max(r["test_max_gray"], 1e-6)
        name = r["model"].removesuffix(" (closed form)")
        label = f"{r['test_max_gray']:.1g}" + ("" if name == candidates[j] else f"\n{name}")
        ax.text(j, i, label, ha="center", va="center", fontsize=7)
    shown = ax.imshow(grid.numpy(), cmap="RdYlGn_r", norm=LogNorm(1e-5, 300), aspect="auto")
    ax.set_xticks(range(len(candidates)), candidates, fontsize=8)
    ax.set_yticks(range(len(pipes)), pipes, fontsize=8)
    bar = fig.colorbar(shown, ax=ax, label="worst test pixel (gray levels)")
    bar.ax.axhline(within, color="black", linewidth=2)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_scaling(rows: list[dict], labels: dict[str, str], title: str = ""):
    """Two log-log panels over the input's side (``lib.experiments.scaling`` rows): microseconds per image of
    every route (learned models solid, a user's routes dashed, the read floor dotted), and the learned models'
    floating-point operations per image, with lines of slope 2 and 3 through their first points for scale."""
    fig, (ax_t, ax_f) = plt.subplots(1, 2, figsize=(12.5, 4.6))
    for route, label in labels.items():
        mine = sorted((r for r in rows if r["route"] == route), key=lambda r: r["side"])
        if not mine:
            continue
        sides = [r["side"] for r in mine]
        style = "-" if mine[0]["learned"] else (":" if route == "read_input" else "--")
        ax_t.plot(sides, [r["us_per_image"] for r in mine], style, marker="o", label=label)
        if mine[0]["learned"]:
            (line,) = ax_f.plot(sides, [r["mflops"] for r in mine], "-", marker="o", label=label)
            s0, f0 = sides[0], mine[0]["mflops"]
            for power, dash in ((2, (2, 2)), (3, (6, 2))):
                ax_f.plot(sides, [f0 * (s / s0) ** power for s in sides], color=line.get_color(), alpha=0.4,
                          dashes=dash, label=f"{label}: side^{power} from its first point")  # fmt: skip
    for ax, ylabel in ((ax_t, "microseconds per image"), (ax_f, "MFLOPs per image")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("input side (pixels; RGB side x side -> gray side/2 x side/2)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    ax_t.set_title("time per image")
    ax_f.set_title("arithmetic per image (learned models)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
