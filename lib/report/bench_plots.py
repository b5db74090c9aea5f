"""The benchmark's time figure: every route of ``lib.experiments.routes.ROUTES`` against batch or slice size.

Each route's family, colour, marker and (for a baseline drawn as a horizontal line) line style are
declared with the route; only the line of "the fastest route a user would take", which is no one route,
has its style here."""

import matplotlib.pyplot as plt

from lib.experiments.bench_records import BenchRow, fastest
from lib.experiments.routes import BATCHED, FAMILIES, LOOP, ROUTE, USER_BASELINES, model_label

USER_BEST_LINE = "--"  # the horizontal line of the fastest route a user would take, whichever it is


def plot_benchmark(rows: list[BenchRow], title: str = ""):
    """Seconds for all images against batch (or slice) size: a row of panels per device, a panel per
    model. In each panel a line per family of routes (``lib.experiments.routes.ROUTES``: DataLoader, fast path, fast
    path compiled, the learned transform, end to end), each point the best configuration of that family at that
    size (filled marker: from uint8 images; open: from float), and as horizontal lines the pipeline image
    by image (the assignment's baseline) and the fastest route a user would take instead."""
    devices = list(dict.fromkeys(r.device for r in rows))
    models = {d: list(dict.fromkeys(r.model for r in rows if r.device == d and ROUTE[r.method].family))
              for d in devices}  # fmt: skip
    ncols = max(1, *(len(m) for m in models.values()))
    fig, axes = plt.subplots(len(devices), ncols, figsize=(4.6 * ncols, 3.6 * len(devices) + 1.4), squeeze=False,
                             sharey="row", layout="constrained")  # fmt: skip
    n_images = rows[0].n_images
    legend: dict[str, object] = {}
    scaled = set()
    for ax_row, device in zip(axes, devices, strict=True):
        mine = [r for r in rows if r.device == device]
        references = _references(mine, device)
        for ax, model in zip(ax_row, models[device], strict=False):
            for family, first in FAMILIES.items():  # a family is drawn as its first route declares
                colour, marker = first.colour, first.marker
                best: dict[int, BenchRow] = {}
                for r in mine:
                    if r.model == model and ROUTE[r.method].family == family:
                        if r.batch_size not in best or r.median_s < best[r.batch_size].median_s:
                            best[r.batch_size] = r
                if not best:
                    continue
                sizes = sorted(best)
                (line,) = ax.plot(sizes, [best[b].median_s for b in sizes], color=colour, lw=1.2, label=family)
                for b in sizes:
                    uint8 = ROUTE[best[b].method].source == "uint8"
                    ax.plot([b], [best[b].median_s], marker=marker, ms=7 if marker == "*" else 5, color=colour,
                            mfc=colour if uint8 else "white", ls="none")  # fmt: skip
                    if best[b].timed < n_images:
                        scaled.add((family, b, best[b].timed))
                legend.setdefault(family, line)
            for label, (ls, seconds) in references.items():
                legend.setdefault(label, ax.axhline(seconds, color="k", ls=ls, lw=1, label=label))
            label = model_label(next(r for r in mine if r.model == model))
            ax.set(xscale="log", yscale="log", title=f"{label}\non {device}",
                   xlabel="batch size (DataLoader) or slice size (images)")  # fmt: skip
            ax.title.set_fontsize(9)
            ax.grid(True, which="both", alpha=0.3)
        ax_row[0].set_ylabel(f"seconds for {n_images:,} images (median)")
        for ax in ax_row[len(models[device]) :]:
            ax.axis("off")
    notes = ["Each point: the fastest configuration of its family at that size (DataLoader: over workers and "
             "pin_memory); filled marker: the route from uint8 images, open: from float."]  # fmt: skip
    for family, size, timed in sorted(scaled):
        notes.append(f"{family} at batch size {size}: timed on {timed:,} images, scaled to {n_images:,}.")
    order = [k for k in FAMILIES if k in legend] + [k for k in legend if k not in FAMILIES]  # lines first
    fig.legend([legend[k] for k in order], order, loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    fig.suptitle("\n".join(filter(None, [title, *dict.fromkeys(notes)])), fontsize=9)
    return fig


def _references(rows: list[BenchRow], device: str = "cpu") -> dict[str, tuple[str, float]]:
    """The horizontal lines of one device's panels: {label: (line style, seconds)} for the pipeline image
    by image (where timed; the baseline on the CPU), the fastest route a user would take, and the pipeline on the
    whole batch where that is not already the fastest and no image-by-image loop was timed."""
    out = {}
    loop = fastest(r for r in rows if r.method == LOOP.method)
    if loop is not None:
        out[LOOP.label if device == "cpu" else f"the pipeline image by image on {device}"] = (LOOP.line, loop.median_s)
    user = fastest(r for r in rows if r.method in USER_BASELINES)
    if user is not None:
        out[f"fastest route a user would take: {ROUTE[user.method].label}"] = (USER_BEST_LINE, user.median_s)
    batched = fastest(r for r in rows if r.method == BATCHED.method)
    if loop is None and batched is not None and (user is None or user.method != BATCHED.method):
        out[BATCHED.label] = (BATCHED.line, batched.median_s)
    return out
