"""Every project path, from one place, independent of the current working directory."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"  # default data directory
CACHE = Path(os.environ.get("CIFAR_CACHE") or ROOT / "data" / "cache")  # decoded images, keyed on their source
BUILD = ROOT / "build"  # executed notebooks
REPORTS = ROOT / "reports"  # HTML reports
RESULTS = REPORTS / "results"  # JSON / CSV results
MODELS = REPORTS / "models"  # saved model weights


def resolve(path: str | Path) -> Path:
    """An absolute path; a relative one is taken from the project root, not the working directory."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else (ROOT / path).resolve()


def shown(path: str | Path) -> str:
    """``path`` as a reader should see it: relative to the project root (``../shared/data`` rather than
    this machine's absolute path), so that reports carry no machine-specific paths. Symbolic links are
    not followed: a ``../shared`` that links elsewhere is shown as ``../shared``."""
    path = Path(path).expanduser()
    return os.path.relpath(os.path.normpath(path if path.is_absolute() else ROOT / path), ROOT)
