"""Writing results with the machine and library versions beside them, and reading results tables back."""

import csv
import datetime
import json
import math
import os
import platform
from pathlib import Path

import torch
import torchvision


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def vector_isa(cpuinfo: str | None = None) -> str:
    """The widest x86 vector instructions the CPU offers ("AVX-512", "AVX2", else "other"), read from
    ``cpuinfo`` (the text of /proc/cpuinfo, read when not given): the same code can run at very different
    speeds on the two kinds, so every timing names it."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines() if line.startswith("flags")), [])
    return "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "other"


def environment() -> dict:
    """Where and with what a result was measured."""
    cuda = torch.cuda.is_available()
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cpu_vector": vector_isa(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "torch_version": torch.__version__,
        "torchvision_version": torchvision.__version__,
        "python": platform.python_version(),
    }


def machine() -> str:
    """This machine in one line, for the caption of a timing: the CPU, its vector instructions, torch's threads
    and torch's version: "<CPU model> (AVX2, 8 threads), torch <version>"."""
    return f"{cpu_model()} ({vector_isa()}, {torch.get_num_threads()} threads), torch {torch.__version__}"


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no inf/nan
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def write_json(path: str | Path, data: dict) -> Path:
    """Write ``data`` as indented JSON, creating folders; non-finite floats become strings."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(data), indent=2) + "\n")
    return path


def _value(text: str):
    """CSV text as a number where it is one ("True"/"False" as booleans), else as it is."""
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def text_cell(row: dict, key: str) -> str:
    """A text cell of a row of :func:`read_csv` (or of pandas, which reads an empty cell as NaN): "" where it is empty
    or absent."""
    value = row.get(key)
    return value if isinstance(value, str) else ""


def read_csv(path: str | Path, numbers: bool = True) -> list[dict]:
    """The rows of a results table, with numbers as numbers (``numbers=False``: every cell as its text)."""
    with Path(path).open() as f:
        rows = list(csv.DictReader(f))
    return [{k: _value(v) for k, v in row.items()} for row in rows] if numbers else rows
