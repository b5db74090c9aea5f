"""What ``06_ship`` comes to, as tables and in words, from its rows (``lib.experiments.shipping`` and
``lib.experiments.suite``, or ``results/onnx.csv`` and ``results/suite.csv`` read with numbers)."""

import math

PIPELINE_GRAPH = "the torchvision pipeline"  # how the pipeline's own exports' rows begin
PROBED = "exact"  # how the probed operator's rows begin: exported and checked, but not a learned model


def _missing(value) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def _exporter(graph: str) -> str:
    """ "dynamo exporter" for "the torchvision pipeline (dynamo exporter)"."""
    return graph.removeprefix(PIPELINE_GRAPH).strip(" ()")


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


def onnx_table(rows: list[dict]) -> list[dict]:
    """One row per graph that ran: its pipeline, input, worst error over the test images and every family (gray
    levels), share of test pixels on the pipeline's 8-bit value, ONNX Runtime's milliseconds for the test images and
    ``LearnedTransform``'s for the same map and input (blank for the pipeline's own export)."""

    def ms(value) -> str:
        return "-" if _missing(value) else f"{1e3 * value:.3g}"

    return [
        {"pipeline": r["pipeline"], "graph": r["graph"], "input": r["source"], "worst (gray)": f"{r['max_gray']:.2g}",
         "exact 8-bit %": f"{r['test_exact8_pct']:.3f}", "ONNX Runtime ms": ms(r["ort_s"]),
         "LearnedTransform ms": ms(r.get("torch_s"))}
        for r in rows if _missing(r.get("error"))
    ]  # fmt: skip


def summary(rows: list[dict]) -> str:
    """Markdown: one bullet per pipeline (how close its learned graphs are, the fastest against the pipeline's own
    export), then each exporter's error once, with the pipelines it failed on."""
    lines, failed = [], {}
    for v in verdicts(rows):
        f = v["fastest"]
        text = (f"- **{v['pipeline']}**: every learned graph within **{v['worst_gray']:.2g} gray levels** of the "
                f"torchvision pipeline on every test and synthetic pixel (the worst: `{v['worst']}`); the fastest, "
                f"`{f['graph']}` from {f['source']}, takes {1e3 * f['ort_s']:.3g} ms for the {f['n_images']:,} test "
                "images")  # fmt: skip
        if v["own"] is not None:
            o = v["own"]
            text += (f", the pipeline's own export ({_exporter(o['graph'])}, {o['max_gray']:.2g} gray levels off) "
                     f"{1e3 * o['ort_s']:.3g} ms: " + (f"**{v['speedup']:.1f}x** faster." if v["speedup"] >= 1 else
                     f"the pipeline's export is faster, the learned graph taking **{1 / v['speedup']:.1f}x** its "
                     "time."))  # fmt: skip
        else:
            text += "; no export of the pipeline itself ran."
        lines.append(text)
        for graph, error in v["failed"]:
            failed.setdefault((_exporter(graph), error), []).append(v["pipeline"])
    for (exporter, error), pipelines in failed.items():
        lines.append(f"- The {exporter} fails on {' and '.join(pipelines)}: `{error}`.")
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
    """ "35 / 4.5": how far OpenCV's and Pillow's versions of a suite case are from the pipeline, "-" where untimed."""
    return " / ".join("-" if _missing(r.get(f"{k}_gray")) else f"{r[f'{k}_gray']:.2g}" for k in ("opencv", "pillow"))


def suite_table(rows: list[dict]) -> list[dict]:
    """One row per accepted case of the suite (lib.experiments.suite): its sizes, the family fitted, its numbers and fit
    seconds, its worst pixel on photographs and noise against its tolerance, its speedup over the fastest user route
    with its fits cached (``results/suite.csv`` holds it with the fits and for a fresh transform's first call too), and
    how far OpenCV and Pillow are."""
    return [
        {"case": r["case"], "sizes": r["sizes"], "family": r["family"], "numbers": f"{int(r['numbers']):,}",
         "fit s": f"{r['fit_s']:.2f}", "worst (gray)": f"{max(r['photo_gray'], r['noise_gray']):.2g}",
         "tolerance": f"{r['tolerance_gray']:g}", "x fastest user route": f"{r['speedup']:.1f}x",
         "OpenCV / Pillow (gray off)": _libraries(r)}
        for r in rows if _missing(r.get("refused"))
    ]  # fmt: skip


def suite_summary(rows: list[dict], fits: list[dict]) -> str:
    """The suite's verdict (every accepted case within its tolerance and at least 3x the fastest user route, or which
    are not), the refusals, and the full-size fit times."""
    done = [r for r in rows if _missing(r.get("refused"))]
    over = [r["case"] for r in done if max(r["photo_gray"], r["noise_gray"]) > r["tolerance_gray"]]
    slow = [r["case"] for r in done if r["speedup"] < 3]
    within = f"Over their tolerance: {', '.join(over)}." if over else "Every accepted pipeline is within its tolerance."
    fast = (
        f"Below 3x the fastest user route: {', '.join(slow)}."
        if slow
        else "Each is at least 3x its fastest user route."
    )
    lines = [f"{within} {fast}"]
    lines += [f"- **{r['case']}**: refused. {r['refused']}" for r in rows if not _missing(r.get("refused"))]
    fit_text = "; ".join(f"{f['shape']} ({f['order']}, {f['method']}): {f['fit_s']:.2f} s" for f in fits)
    return "\n".join([*lines, "", f"Full-size ImageNet evaluation transform, fit times: {fit_text}."])
