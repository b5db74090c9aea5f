"""What ``06_ship`` comes to, in words, from its rows (``lib.experiments.shipping``, or ``results/onnx.csv`` read
with numbers): per pipeline, how close the learned graphs are and how fast against the pipeline's own export."""

import math

PIPELINE_GRAPH = "the torchvision pipeline"  # how the pipeline's own exports' rows begin
PROBED = "exact"  # how the probed operator's rows begin: exported and checked, but not a learned model


def _missing(value) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def verdicts(rows: list[dict]) -> list[dict]:
    """Per pipeline: the models' graphs' worst error (the probed operator's included), the fastest learned graph and
    its ONNX Runtime seconds, the pipeline's exported graph that ran (if any) and its seconds, and the ratio; the
    exporters' errors."""
    out = []
    for name in dict.fromkeys(r["pipeline"] for r in rows):
        mine = [r for r in rows if r["pipeline"] == name]
        graphs = [r for r in mine if not str(r["graph"]).startswith(PIPELINE_GRAPH)]
        own = [r for r in mine if str(r["graph"]).startswith(PIPELINE_GRAPH)]
        ran = [r for r in own if _missing(r.get("error"))]
        learned = [r for r in graphs if not str(r["graph"]).startswith(PROBED)] or graphs
        fastest = min(learned, key=lambda r: r["ort_s"])
        best_own = min(ran, key=lambda r: r["ort_s"]) if ran else None
        worst = max(graphs, key=lambda r: r["max_gray"])
        out.append({
            "pipeline": name, "worst_gray": worst["max_gray"], "worst": worst["graph"], "fastest": fastest,
            "own": best_own, "speedup": best_own["ort_s"] / fastest["ort_s"] if best_own else None,
            "failed": [(r["graph"], r["error"]) for r in own if not _missing(r.get("error"))],
        })  # fmt: skip
    return out


def summary(rows: list[dict]) -> str:
    """Markdown, one paragraph per pipeline."""
    lines = []
    for v in verdicts(rows):
        f = v["fastest"]
        text = (f"- **{v['pipeline']}**: every model's graph within **{v['worst_gray']:.2g} gray levels** of the "
                f"torchvision pipeline on every test and synthetic pixel, from uint8 and from float input (the worst: "
                f"`{v['worst']}`). The "
                f"fastest learned graph, `{f['graph']}` from {f['source']}, ran the {f['n_images']:,} test images in "
                f"{1e3 * f['ort_s']:.3g} ms in ONNX Runtime (torch: {1e3 * f['torch_s']:.3g} ms).")  # fmt: skip
        if v["own"] is not None:
            o = v["own"]
            text += (f" The pipeline's own export ({o['graph'].removeprefix(PIPELINE_GRAPH).strip(' ()')}) runs, "
                     f"{o['max_gray']:.2g} gray levels off at worst, in {1e3 * o['ort_s']:.3g} ms: "
                     + (f"the learned graph is **{v['speedup']:.1f}x** faster." if v["speedup"] >= 1 else
                        f"it is faster, the learned graph taking **{1 / v['speedup']:.1f}x** its time."))  # fmt: skip
        else:
            text += " No export of the pipeline itself ran."
        for graph, error in v["failed"]:
            text += f" The {graph.removeprefix(PIPELINE_GRAPH).strip(' ()')}: `{error}`."
        lines.append(text)
    return "\n".join(lines)


def loader_summary(rows: list[dict]) -> str:
    """The DataLoader table (lib.experiments.shipping.loader_rows) in one paragraph: the learned transform on the
    collated batch against the pipeline as users set it up (image by image) and against the pipeline on the batch."""
    time = {(r["transform"].startswith("LearnedTransform"), r["arrangement"] != "image by image"): r["seconds"]
            for r in rows}  # fmt: skip
    worst = max(r["max_gray_vs_pipeline"] for r in rows)
    learned = time[(True, True)]
    return (
        f"One engine call per batch: the learned transform's loader is **{time[(False, False)] / learned:.1f}x** the "
        f"pipeline's as users set it up (image by image), and {time[(False, True)] / learned:.1f}x the pipeline on "
        f"each collated batch. Image by image the two are {time[(False, False)] / time[(True, False)]:.2f}x "
        f"apart: there the per-image calls, not the transform, take the time. Every arrangement is within "
        f"{worst:.2g} gray levels of the pipeline."
    )


def _libraries(r: dict) -> str:
    """ "; OpenCV and Pillow: ..." for a suite row that timed them, else ""."""
    done = [(name, r[f"{key}_s"], r[f"{key}_gray"]) for key, name in (("opencv", "OpenCV"), ("pillow", "Pillow"))
            if not _missing(r.get(f"{key}_s"))]  # fmt: skip
    if not done:
        return ""
    each = ", ".join(f"{name} {gray:.2g} gray levels off" for name, _, gray in done)
    return f"; {r['speedup_vs_libraries']:.1f}x the faster of {' and '.join(n for n, _, _ in done)} ({each})"


def suite_summary(rows: list[dict], fits: list[dict]) -> str:
    """What the suite of real pipelines shows (lib.experiments.suite): per accepted case its family, worst error against
    its tolerance and speedup over the fastest user route; the refusals; the full-size fit times."""
    done = [r for r in rows if not r.get("refused")]
    lines = []
    for r in done:
        within = max(r["photo_gray"], r["noise_gray"]) <= r["tolerance_gray"]
        lines.append(f"- **{r['case']}** ({r['sizes']}): `{r['family']}`, {r['numbers']:,} numbers, fitted in "
                     f"{r['fit_s']:.2f} s; worst {r['photo_gray']:.2g} gray levels on the photographs and "
                     f"{r['noise_gray']:.2g} on {'8-bit ' if r['on_levels'] else ''}noise "
                     f"({'within' if within else 'over'} {r['tolerance_gray']:g}); **{r['speedup']:.1f}x** the fastest "
                     f"user route ({r['speedup_with_fits']:.1f}x with the fits, {r['speedup_first_call']:.1f}x for a "
                     f"fresh transform's first call, compiling included)" + _libraries(r))  # fmt: skip
    lines += [f"- **{r['case']}**: refused. {r['refused']}" for r in rows if r.get("refused")]
    slow = [r["case"] for r in done if r["speedup"] < 3]
    verdict = ("Every accepted pipeline is at least 3x its fastest user route." if not slow else
               f"Below 3x the fastest user route: {', '.join(slow)}.")  # fmt: skip
    fit_text = "; ".join(f"{f['shape']} ({f['order']}, {f['method']}): {f['fit_s']:.2f} s" for f in fits)
    return "\n".join([*lines, "", verdict, "", f"Full-size ImageNet evaluation transform, fit times: {fit_text}."])
