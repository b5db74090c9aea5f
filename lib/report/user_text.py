"""``04_pipelines``' section on pipelines a user already has, as a table and in words, from the rows of
``lib.experiments.user_pipelines.study``."""

from lib.core import metrics


def _worst(r: dict) -> float:
    return max(r["photo_max_gray"], r["noise_max_gray"])


def table(rows: list[dict]) -> list[dict]:
    """One row per example read off: its shapes and offset |f(0)|, the closed form's model, numbers and fit seconds,
    its worst pixel on photographs and noise (gray levels) and its share of photograph pixels on the 8-bit value."""
    return [
        {"example": r["example"], "shape": f"{r['in_shape']} -> {r['out_shape']}",
         "|f(0)| (gray)": f"{r['offset_gray']:.3g}", "model": r["model"], "numbers": f"{int(r['params']):,}",
         "fit s": f"{r['fit_s']:.2f}", "worst (gray)": f"{_worst(r):.2g}",
         "exact 8-bit": metrics.percent_sign(r["photo_exact8_pct"])}
        for r in rows if not r.get("refused")
    ]  # fmt: skip


def summary(rows: list[dict]) -> str:
    """How many examples were read off, how exactly and how fast; then each refused example with the library's
    reason."""
    done = [r for r in rows if not r.get("refused")]
    lines = []
    if done:
        lines.append(
            f"{len(done)} of {len(rows)} examples are read off in at most {max(r['fit_s'] for r in done):.2g} s, each "
            f"at most {max(map(_worst, done)):.2g} gray levels from its pipeline on every photograph and noise pixel "
            "scored."
        )
    lines += [f"- **{r['example']}** ({r['in_shape']}): refused. {r['refused']}" for r in rows if r.get("refused")]
    return "\n".join(lines)
