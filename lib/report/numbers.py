"""Every number a page prints, traced to the results files it was read from.

``unexplained`` lists the numbers of a text that no value of the results files gives as printed: a value as it
is, as a percentage of a fraction, in milliseconds of seconds, or a ratio of two timings of one device (the
speedups), each rounded as the text rounds it (its significant digits, or its decimals). Dates, versions and numbers
inside words (``8-bit``, ``28x32``, ``AVX-512``) are not counted; ``allowed`` takes the numbers of the page's own
fixed prose.
"""

import csv
import itertools
import json
import re
from collections.abc import Iterable
from pathlib import Path

from bs4 import BeautifulSoup

NUMBER = re.compile(r"(?<![\w.\-/])(\d(?:[\d,]*\d)?(?:\.\d+)?(?:e-?\d+)?)(?=x?(?![\w.]\w|\w))")
NOT_COUNTED = re.compile(
    r"\d{4}-\d{2}-\d{2}(T[\d:+.]*)?|\d+\.\d+\.\d+\S*|\b\w*\d+x\d+\w*|(?<![\d.])[A-Za-z_]+-?\d+\w*|\b\d+-[A-Za-z]+"
)


def tokens(text: str) -> list[str]:
    """The numbers of ``text`` as printed, those inside dates, versions and words left out."""
    return NUMBER.findall(NOT_COUNTED.sub(" ", text))


def _leaves(value) -> Iterable[float]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield float(value)


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def values(folders: Iterable[Path]) -> set[float]:
    """Every number in the CSV and JSON files under ``folders``, the ratio and the sum of every two timings of one
    device, and the complement of every share."""
    found: set[float] = set()
    for folder in folders:
        for path in sorted(Path(folder).rglob("*.json")):
            found.update(_leaves(json.loads(path.read_text())))
        for path in sorted(Path(folder).rglob("*.csv")):
            with path.open() as f:
                rows = list(csv.DictReader(f))
            found.update(v for r in rows for v in map(_number, r.values()) if v is not None)
            timed = {}
            for r in rows:
                if _number(r.get("median_s") or "") is not None:
                    timed.setdefault(r.get("device"), []).append(float(r["median_s"]))
            for times in timed.values():
                pairs = list(itertools.combinations(set(times), 2))
                found.update(x / y for a, b in pairs for x, y in ((a, b), (b, a)) if y > 0)
                found.update(a + b for a, b in pairs)  # a floor: reading the input plus writing the output
    found |= {1 - v for v in found if 0 < v < 1}  # a share's complement: the wrong share of an exact one
    return {v for v in found if v == v}


def _shown_as(token: str, value: float) -> bool:
    """Whether ``value`` printed as ``token`` is printed (by significant digits or by decimals)."""
    plain = token.replace(",", "")
    target = float(plain)
    if "e" in plain:
        sig = len(plain.split("e")[0].replace(".", "").lstrip("0")) or 1
    else:
        sig = len(plain.replace(".", "").lstrip("0")) or 1
    decimals = len(plain.split(".")[1]) if "." in plain and "e" not in plain else 0
    return float(f"{value:.{sig}g}") == target or round(value, decimals) == target


def unexplained(text: str, found: set[float], allowed: Iterable[str] = ()) -> list[str]:
    """The numbers of ``text`` that no value of ``found`` gives as printed (scaled by 1, 100 or 1,000)."""
    allowed = set(allowed)
    missing = []
    for token in tokens(text):
        if token in allowed:
            continue
        target = float(token.replace(",", ""))
        near = [
            v
            for v in found
            for scale in (1, 100, 1000)
            if abs(v * scale - target) <= 0.051 * max(abs(target), 1e-12) + 1e-12
        ]
        if not any(_shown_as(token, v * scale) for v in near for scale in (1, 100, 1000)):
            missing.append(token)
    return missing


def page_text(nb) -> str:
    """What an executed notebook (an ``nbformat`` node) prints for a reader: its outputs' text, Markdown and HTML
    tables as text, without figures, styles or its fixed Markdown cells."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = out.get("data", {})
            parts.append(out.get("text", "") + data.get("text/markdown", ""))
            if "text/html" in data:
                soup = BeautifulSoup(data["text/html"], "html.parser")
                for tag in soup(["style", "script"]):
                    tag.decompose()
                parts.append(soup.get_text(" "))
            elif "text/markdown" not in data and "image/png" not in data:
                parts.append(data.get("text/plain", ""))
    return "\n".join(parts)
