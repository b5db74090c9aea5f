"""A page's configuration, folded away at its end: the HTML drops the parameter cells, and this shows their values."""

import ast
import html
import json
from collections.abc import Mapping
from pathlib import Path

from lib import paths


def parameter_names(notebook: str) -> list[str]:
    """The names the parameter cell (tagged ``parameters``) of ``notebooks/<notebook>.ipynb`` assigns, in order."""
    path = paths.ROOT / "notebooks" / f"{notebook}.ipynb"
    cells = json.loads(Path(path).read_text())["cells"]
    found = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(found) != 1:
        raise ValueError(f"{paths.shown(path)} has {len(found)} cells tagged parameters, not one")
    source = "".join(found[0]["source"])
    names = []
    for node in ast.parse(source).body:
        target = node.target if isinstance(node, ast.AnnAssign) else getattr(node, "targets", [None])[0]
        if isinstance(target, ast.Name):
            names.append(target.id)
    return names


def configuration(notebook: str, values: Mapping[str, object]) -> str:
    """HTML for a collapsed appendix: every parameter of ``notebook`` with the value this run used (``values``: the
    notebook's globals). What each one means is said beside it in the notebook's parameter cell."""
    names = parameter_names(notebook)
    missing = [n for n in names if n not in values]
    if missing:
        raise KeyError(f"no value for parameters {missing} of {notebook}")
    items = "; ".join(f"<code>{n}</code> = {html.escape(repr(values[n]))}" for n in names)
    return (
        f"<details><summary>Appendix: this run's configuration ({len(names)} parameters of "
        f"notebooks/{notebook}.ipynb, explained there)</summary><p>{items}</p></details>"
    )
