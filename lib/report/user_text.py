"""``04_pipelines``' section on pipelines a user already has, as a table and in words, from the rows of
``lib.experiments.user_pipelines.study``."""


def _g(v: float) -> str:
    return f"{v:.2g}"


def _worst(r: dict) -> float:
    return max(r["photo_max_gray"], r["noise_max_gray"])


def table(rows: list[dict]) -> list[dict]:
    """One row per learned example: its shapes and offset |f(0)|, then per model (``separable``, learned from
    images, and the closed form) its numbers, fit seconds and worst pixel on photographs and noise (gray levels)."""
    out = {}
    for r in (r for r in rows if not r.get("refused")):
        row = out.setdefault(r["example"], {"example": r["example"], "shape": f"{r['in_shape']} -> {r['out_shape']}",
                                            "|f(0)| (gray)": f"{r['offset_gray']:.3g}"})  # fmt: skip
        name = "separable" if r["model"] == "separable" else r["model"].removesuffix(" (closed form)") + " (c. f.)"
        row[f"{name}: numbers, fit, worst"] = f"{int(r['params']):,}, {r['fit_s']:.2f} s, {_g(_worst(r))}"
    return list(out.values())


def summary(rows: list[dict]) -> str:
    """How exactly the examples were learned and read off, the closed form's size against ``separable``'s and the
    slowest fit; then each refused example with the reason the library gave."""
    learned = [r for r in rows if not r.get("refused")]
    refused = [r for r in rows if r.get("refused")]
    lines = []
    if learned:
        seps = {r["example"]: r for r in learned if r["model"] == "separable"}
        closed = {r["example"]: r for r in learned if r["model"] != "separable"}
        ratios = [seps[e]["params"] / closed[e]["params"] for e in closed if e in seps and closed[e]["params"]]
        slowest = max(learned, key=lambda r: r["fit_s"])
        names = ", ".join(f"`{m}`" for m in sorted({r["model"] for r in closed.values()}))
        lines.append(
            f"Learned from images of its own shape, `separable` is at most {_g(max(map(_worst, seps.values())))} gray "
            f"levels off on every photograph and noise pixel scored; read off in closed form (c. f.), "
            f"{names} is at most {_g(max(map(_worst, closed.values())))} off with "
            f"{min(ratios):.0f}x to {max(ratios):.0f}x fewer numbers. The slowest fit took {slowest['fit_s']:.1f} s "
            f"(`{slowest['model']}`, {slowest['example']})."
        )
    lines += [f"- **{r['example']}** ({r['in_shape']}): refused. {r['refused']}" for r in refused]
    return "\n".join(lines)
