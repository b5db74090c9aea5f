"""How long the report is: the text a reader of each HTML page sees, and the words of its prose.

``python -m lib.report.length`` prints both for every page of ``reports/``."""

import re
import sys
from pathlib import Path

from bs4 import BeautifulSoup

from lib import paths

MAX_CHARS = 60_000  # the whole report's text
MAX_FRONT_WORDS = 1_200  # the front page's prose


def _soup(page: Path) -> BeautifulSoup:
    soup = BeautifulSoup(Path(page).read_text(), "html.parser")
    for tag in soup(["script", "style"]):
        tag.decompose()
    return soup


def text_chars(page: Path) -> int:
    """Characters of visible text (tables, folded appendices and captions included), runs of space counted once."""
    return len(re.sub(r"\s+", " ", _soup(page).get_text(" ")).strip())


def prose_words(page: Path) -> int:
    """Words of prose: the rendered Markdown (written or generated), its tables and code blocks left out."""
    soup = _soup(page)
    for tag in soup.select(".jp-RenderedMarkdown table, .jp-RenderedMarkdown pre"):
        tag.decompose()
    return sum(len(block.get_text(" ").split()) for block in soup.select(".jp-RenderedMarkdown"))


def pages(folder: Path = paths.REPORTS) -> list[Path]:
    return sorted(Path(folder).glob("*.html"))


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else paths.REPORTS
    total = 0
    for page in pages(folder):
        chars = text_chars(page)
        total += chars
        print(f"{page.name:28s} {chars:7,d} characters {prose_words(page):6,d} words of prose")
    print(f"{'all pages':28s} {total:7,d} characters (at most {MAX_CHARS:,})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
