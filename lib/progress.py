"""Progress bars where a person watches, never in a stored report.

Interactively (JupyterLab with ipywidgets, or a terminal) ``bar`` is ``tqdm.auto``: a widget in a
notebook, text in a terminal. When ``PROGRESS=log`` is set in the environment, as ``make report`` does
for papermill, the bar writes to the process's own standard error instead of the cell's output: papermill
shows it in its log while the executed notebook, and the HTML made from it, stays free of progress text.
"""

import os
import sys

from tqdm import tqdm as text_tqdm
from tqdm.auto import tqdm as auto_tqdm

LOG_INTERVAL_S = 10.0  # seconds between updates in a log, where every update is a new line


def to_log() -> bool:
    """Whether progress goes to the log rather than to the notebook or terminal."""
    return os.environ.get("PROGRESS", "").lower() == "log"


def bar(*args, **kwargs):
    """A tqdm progress bar (same arguments) that never lands in a stored notebook under ``PROGRESS=log``."""
    if to_log():
        kwargs.setdefault("mininterval", LOG_INTERVAL_S)
        return text_tqdm(*args, file=sys.__stderr__, **kwargs)
    return auto_tqdm(*args, **kwargs)
