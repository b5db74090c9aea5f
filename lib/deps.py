"""The project files each notebook uses, as a make include: ``python -m lib.deps --out build/deps.mk``.

The Makefile reruns a notebook when its source or any project module it imports changes, directly or
through other modules. This reads the code cells of each notebook and every project module with
``ast`` (nothing is imported or run), follows the imports that resolve to a file under the project
root, and writes one make variable per notebook (``DEPS_<stem>``) or module (``DEPS_<dotted.name>``):
the module files, the ``__init__.py`` of every package on the way, and the non-Python files a module
names by a string constant beside it (``lib/core/engine/engine.c`` for ``lib/core/engine/cpu.py``). Every
listed file also gets a rule without a recipe, so that deleting a module reruns what used it instead of stopping make.
It also gives the Makefile's run graph the results files each notebook writes (``RESULTS_<stem>``) and a training
run's record as a pattern (``TRAIN_RECORD``), from :data:`lib.paths.RESULTS_FILES`, so that no file name is typed twice.

Only the standard library is used, so the system ``python3`` runs it before ``.venv`` exists. Imports
built at run time (``importlib.import_module(name)``) are not seen.
"""

import argparse
import ast
import json
import os
import re
import sys
from pathlib import Path

from lib.paths import RESULTS_FILES, ROOT, TRAIN_RECORD

MAGIC = re.compile(r"^(\s*)[%!]")  # IPython line magics and shell escapes: not Python


def _code_cells(notebook: Path) -> list[tuple[int, str]]:
    """(cell number from 1, source) of each code cell."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    sources = [(n, c.get("source", "")) for n, c in enumerate(cells, start=1) if c.get("cell_type") == "code"]
    return [(n, "".join(src) if isinstance(src, list) else src) for n, src in sources]


def _parse(source: str, where: str) -> ast.AST:
    try:
        return ast.parse(source)
    except SyntaxError as err:
        raise SyntaxError(f"{where}: cannot parse line {err.lineno}: {err.msg}; fix it or mark it as a magic") from err


def _parse_cell(source: str, where: str) -> ast.AST | None:
    """A code cell as Python; IPython magics and shell lines become ``pass`` only when the cell needs it
    (a line that starts with ``%`` may be Python: ruff puts a ``%`` operator first on a continued line)."""
    try:
        return ast.parse(source)
    except SyntaxError:
        pass
    cleaned = "\n".join(MAGIC.sub(r"\1pass  # ", line) for line in source.splitlines())
    try:
        return ast.parse(cleaned)
    except SyntaxError:
        if source.lstrip().startswith("%%"):
            return None  # a cell magic such as %%bash: its body is not Python
        return _parse(source, where)  # raises, naming the notebook and cell


def _imported_names(tree: ast.AST, package: str) -> set[str]:
    """Dotted names the tree may import: ``from a import b`` gives ``a`` and ``a.b`` (b may be a module).

    ``package`` is the package a relative import is taken from ("" for a notebook)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                if node.level - 1 > len(parts):
                    continue  # beyond the top package: Python would refuse it too
                base = ".".join(parts[: len(parts) - (node.level - 1)] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base:
                names.add(base)
            names.update(f"{base}.{alias.name}" if base else alias.name for alias in node.names if alias.name != "*")
    return names


def _module_file(root: Path, dotted: str) -> Path | None:
    """The file of a project module, or None when the name is not one (a third-party module, an attribute)."""
    path = root.joinpath(*dotted.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _files_of(root: Path, dotted: str) -> list[Path]:
    """The files importing ``dotted`` reads: each package's ``__init__.py`` down to the module's own file."""
    parts = dotted.split(".")
    files = [_module_file(root, ".".join(parts[: i + 1])) for i in range(len(parts))]
    return [f for f in files if f is not None]


def _named_files(tree: ast.AST, folder: Path) -> set[Path]:
    """Non-Python files beside a module that it names by a string constant (``"fused.c"``)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and 0 < len(node.value) < 256:
            if "/" in node.value or "\\" in node.value or node.value.endswith(".py"):
                continue
            candidate = folder / node.value
            if candidate.is_file():
                found.add(candidate)
    return found


def closure(root: Path, trees: list[ast.AST], package: str = "") -> list[Path]:
    """Every project file reached from the imports in ``trees``, following project modules transitively."""
    root = root.resolve()
    seen: set[Path] = set()
    todo = [(tree, package) for tree in trees]
    while todo:
        tree, pkg = todo.pop()
        for name in _imported_names(tree, pkg):
            for path in _files_of(root, name):
                if path in seen:
                    continue
                seen.add(path)
                module = ".".join(path.relative_to(root).with_suffix("").parts)
                if path.name == "__init__.py":
                    module = module.removesuffix(".__init__")
                    module_pkg = module
                else:
                    module_pkg = module.rpartition(".")[0]
                tree_of_module = _parse(path.read_text(encoding="utf-8"), str(path.relative_to(root)))
                seen.update(_named_files(tree_of_module, path.parent))
                todo.append((tree_of_module, module_pkg))
    return sorted(seen)


def notebook_dependencies(notebook: str | Path, root: str | Path = ROOT) -> list[Path]:
    """The project files a notebook's code cells import, directly or not, relative to ``root``."""
    root, notebook = Path(root).resolve(), Path(notebook)
    trees = [_parse_cell(src, f"{notebook.name}, cell {n}") for n, src in _code_cells(notebook)]
    return [p.relative_to(root) for p in closure(root, [t for t in trees if t is not None])]


def module_dependencies(module: str, root: str | Path = ROOT) -> list[Path]:
    """The files ``python -m <module>`` reads from the project: its own, its packages' and its imports'."""
    root = Path(root).resolve()
    if _module_file(root, module) is None:
        raise ModuleNotFoundError(f"{module} is not a module under {root.name}/: name one such as lib.report.summary")
    tree = ast.parse(f"import {module}")
    return [p.relative_to(root) for p in closure(root, [tree])]


def results_variables() -> list[str]:
    """``RESULTS_<notebook> := files``, the results files each notebook writes (:data:`lib.paths.RESULTS_FILES`, in
    its order), and ``TRAIN_RECORD``, the record of a training run as a make pattern (``train_%.json``)."""
    by_notebook: dict[str, list[str]] = {}
    for f in RESULTS_FILES.values():
        by_notebook.setdefault(f.notebook, []).append(f.file)
    lines = [f"RESULTS_{notebook} := {' '.join(files)}" for notebook, files in by_notebook.items()]
    return lines + [f"TRAIN_RECORD := {TRAIN_RECORD.format(run='%')}"]


def makefile(notebooks: list[Path], modules: list[str], root: str | Path = ROOT) -> str:
    """The make include: ``DEPS_<name> := files`` per notebook and module, the results files of each notebook
    (:func:`results_variables`), then a recipe-less rule per file."""
    deps = {Path(nb).stem: notebook_dependencies(nb, root) for nb in notebooks}
    deps.update({module: module_dependencies(module, root) for module in modules})
    lines = [f"# Written by `python -m lib.deps`, from the imports in {len(notebooks)} notebooks: do not edit", ""]
    lines += [f"DEPS_{name} := {' '.join(p.as_posix() for p in files)}" for name, files in deps.items()]
    lines += ["", "# the results files each notebook writes under results/ (lib.paths.RESULTS_FILES)"]
    lines += results_variables()
    every = sorted({p for files in deps.values() for p in files})
    lines += ["", "# a deleted file reruns what used it instead of stopping make (like gcc -MP)"]
    lines += [f"{p.as_posix()}:" for p in every]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m lib.deps", description=__doc__.split("\n\n")[0])
    p.add_argument("notebooks", nargs="*", type=Path, help="notebooks to scan (default: notebooks/*.ipynb)")
    p.add_argument("--module", action="append", default=[], help="also a module run as `python -m MODULE`")
    p.add_argument("--root", type=Path, default=ROOT, help="the project root (default: this checkout)")
    p.add_argument("--out", type=Path, help="the make include to write (default: standard output)")
    a = p.parse_args(argv)
    notebooks = a.notebooks or sorted((a.root / "notebooks").glob("*.ipynb"))
    text = makefile(notebooks, a.module, a.root)
    if a.out is None:
        sys.stdout.write(text)
        return
    a.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = a.out.with_name(a.out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, a.out)  # never a half-written include, even when two makes start at once


if __name__ == "__main__":
    main()
