"""The report's headline: a few Markdown bullets read from one run's results, and the README's block that holds them.

:func:`lines` builds the bullets from :func:`lib.report.front.load`'s ``Results`` with the front page's own functions
(``fidelity``, ``speed_table``), so they say what the front page says. ``python -m lib.report.summary`` (``make
report``) writes them under ``## Headline`` at the top of ``reports/SUMMARY.md`` and, given ``--readme README.md``,
between the README's two markers (:data:`START`, :data:`END`): the README's numbers are written by code from the
results files, never typed, and ``tests/test_readme.py`` checks that they are the summary's.
"""

from pathlib import Path

from lib import paths
from lib.core.metrics import percent
from lib.report import front, front_text
from lib.report.front import Results

TITLE = "## Headline"
START = "<!-- headline: written by make report from the results files, as in reports/SUMMARY.md -->"
END = "<!-- /headline -->"

RECORDED_GPU = paths.ROOT / "results" / "gpu"  # what make bench-gpu recorded (committed), as the front page reads it


def _g(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}g}"


def lines(res: Results) -> list[str]:
    """The headline bullets: the final model and the baseline recipe's worst test pixel, the minimal model's speed
    against the fastest route a user would take instead, and the real pipelines ``LearnedTransform.fit`` took."""
    final, recipe = front.fidelity(res.final), front.fidelity(res.recipe)
    out = [
        f"- **Final model `{res.final.model}`** ({res.final.n_params:,} parameters): at most "
        f"**{_g(final['test_max_gray'])} gray levels** from the target pipeline on the {final['n_test']:,} CIFAR-10 "
        f"test images; {percent(final['test_exact8_pct'])}% of its pixels round to the pipeline's own 8-bit value.",
        f"- **Baseline recipe** (run `{res.recipe.run_name}`, model `{res.recipe.model}`, {res.recipe.n_params:,} "
        f"parameters): at most {_g(recipe['test_max_gray'], 3)} gray levels off on the same images "
        f"({percent(recipe['test_exact8_pct'])}% on the 8-bit value).",
    ]
    speed = front.cpu_speed(res)
    if speed is not None:
        env, t, user = res.bench_summary.environment, speed["transform"], speed["user"]
        out.append(
            f"- **Speed:** {t['route']} turns the {res.bench_summary.config.n_images:,} test images into the "
            f"pipeline's output in **{front.median_ms(t['ms'])} ms**, **{t['x baseline']}** the pipeline image by image"
            + (f" (the fastest route a user would take, {user['route'].removeprefix('user route: ')}: "
               f"{front.median_ms(user['ms'])} ms, {user['x baseline']})" if user else "")
            + f"; measured on {env.cpu or 'unknown CPU'} ({env.cpu_vector or '?'}, {env.torch_threads or '?'} "
            f"threads), {(env.date or '?')[:10]}."
        )  # fmt: skip
    out.append(f"- **{front_text.gpu_sentence(res)}**")
    found = front.suite_outcome(res.suite)
    if found["done"]:
        speed = "{:.1f}x-{:.1f}x".format(*found["speedups"])
        out.append(
            f"- **Pipelines users have:** `LearnedTransform.fit` fitted {len(found['done'])} of {len(res.suite)} real "
            f"pipelines, each at most {_g(found['worst_gray'])} gray levels off on photographs and noise, {speed} the "
            f"fastest route a user would take; refused: {', '.join(found['refused']) or 'none'}."
        )
    return out


def of_run(results_dir: str | Path, gpu_dir: str | Path | None = RECORDED_GPU) -> list[str]:
    """The headline bullets of a run's results (with the GPU rows recorded under ``gpu_dir``, as the front page reads
    them), or none while the run is incomplete (``front.load`` needs every notebook's results files)."""
    try:
        return lines(front.load(results_dir, gpu_dir))
    except FileNotFoundError:
        return []


def section(bullets: list[str]) -> list[str]:
    """The summary's headline section holding ``bullets`` (none for none)."""
    return [TITLE, "", *bullets, ""] if bullets else []


def read_section(text: str) -> list[str]:
    """The bullets of a summary's headline section (empty where it has none)."""
    rows = text.splitlines()
    if TITLE not in rows:
        return []
    body = rows[rows.index(TITLE) + 2 :]  # after the title and its blank line
    return body[: body.index("")] if "" in body else body


def read_block(text: str) -> list[str]:
    """The lines between the markers of a Markdown text (a ValueError where they are missing or out of order)."""
    rows = text.splitlines()
    if rows.count(START) != 1 or rows.count(END) != 1 or rows.index(START) > rows.index(END):
        raise ValueError(f"expected one line {START!r} and after it one line {END!r}: put them where the headline goes")
    return rows[rows.index(START) + 1 : rows.index(END)]


def write_block(path: str | Path, block: list[str]) -> bool:
    """Put ``block`` between the markers of the Markdown file ``path``, leaving the rest as it is; the file is
    rewritten only when its block changes (so that make sees no newer README). Returns whether it changed."""
    path = Path(path)
    text = path.read_text()
    try:
        old = read_block(text)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
    if old == block:
        return False
    rows = text.splitlines(keepends=True)
    bare = [row.rstrip("\r\n") for row in rows]
    new = [*rows[: bare.index(START) + 1], *(f"{line}\n" for line in block), *rows[bare.index(END) :]]
    path.write_text("".join(new))
    return True
