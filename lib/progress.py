"""Progress bars where a person watches, never in a stored report.

Interactively (JupyterLab with ipywidgets, or a terminal) ``bar`` is ``tqdm.auto``: a widget in a
notebook, text in a terminal. When the environment variable ``PROGRESS`` names a file, as ``make report``
does (``build/progress.log``), every bar appends its updates to that file instead: the executed notebook,
and the HTML made from it, stay free of progress text, and ``tail -f build/progress.log`` follows the run.
A file is needed because the kernel forwards everything written to its standard streams, even at the
file-descriptor level, into the cell's output.
"""

import os
from functools import cache
from pathlib import Path
from typing import TextIO

from tqdm import tqdm as text_tqdm
from tqdm.auto import tqdm as auto_tqdm

from lib import paths

LOG_INTERVAL_S = 10.0  # seconds between updates in a log file, where every update is a new line


def log_path() -> Path | None:
    """The file progress goes to, or None for interactive bars."""
    target = os.environ.get("PROGRESS", "")
    return paths.resolve(target) if target else None


@cache
def _open(path: Path) -> TextIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("a", buffering=1)  # line-buffered: the log is readable while the run goes on


def bar(*args, **kwargs):
    """A tqdm progress bar (same arguments) that writes to the ``PROGRESS`` file when one is set."""
    path = log_path()
    if path is not None:
        kwargs["mininterval"] = max(kwargs.get("mininterval", 0), LOG_INTERVAL_S)
        return text_tqdm(*args, file=_open(path), ascii=True, **kwargs)
    return auto_tqdm(*args, **kwargs)
