"""The sentences of ``04_pipelines``' section on pipelines a user already has, from the rows of
``lib.experiments.user_pipelines.study``."""


def _g(v: float) -> str:
    return f"{v:.2g}"


def summary(rows: list[dict]) -> str:
    """How many examples were learned and how exactly, the smallest model's size against ``separable``'s, the
    slowest fit, and each refused example with the reason the library gave."""
    examples = list(dict.fromkeys(r["example"] for r in rows))
    learned = [r for r in rows if r["model"] in ("separable", "banded")]
    refused = [r for r in rows if r.get("refused")]
    lines = []
    if learned:
        worst = max(max(r["photo_max_gray"], r["noise_max_gray"]) for r in learned)
        slowest = max(learned, key=lambda r: r["fit_s"])
        bands = {r["example"]: r["params"] for r in learned if r["model"] == "banded"}
        seps = {r["example"]: r["params"] for r in learned if r["model"] == "separable"}
        ratio = min(seps[e] / bands[e] for e in bands if bands[e])
        lines.append(
            f"{len(bands)} of the {len(examples)} examples are affine and row/column separable. Fitted from images "
            f"of their own shape, `separable` and `banded` are at most {_g(worst)} gray levels from the pipeline on "
            f"every photograph and noise pixel scored; `banded` needs {ratio:.0f}x to "
            f"{max(seps[e] / bands[e] for e in bands if bands[e]):.0f}x fewer parameters than `separable`. The "
            f"slowest fit took {slowest['fit_s']:.1f} s ({slowest['example']}, {slowest['in_shape']} images)."
        )
    for r in refused:
        lines.append(f"- **{r['example']}** ({r['in_shape']}): refused. {r['refused']}")
    return "\n".join(lines)
