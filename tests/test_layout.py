"""The package's layers import one way: core before experiments before report (see lib/__init__.py)."""

import ast
import re
from pathlib import Path

import pytest

from lib.paths import ROOT

LAYERS = ("core", "experiments", "report")  # each may import only from the ones before it
BASICS = {"paths", "progress", "timing", "results", "deps"}  # beside the layers: any layer may use them


def _lib_imports(path: Path) -> set[str]:
    """The ``lib.<name>`` modules or packages a file imports (the first name after ``lib``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + ([f"{node.module}.{a.name}" for a in node.names] if node.module == "lib" else [])
        found |= {n.split(".")[1] for n in names if n.startswith("lib.")}
    return found


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_only_the_layers_before_it(layer):
    allowed = set(LAYERS[: LAYERS.index(layer) + 1]) | BASICS
    for path in sorted((ROOT / "lib" / layer).rglob("*.py")):  # its packages too (models/, engine/)
        assert _lib_imports(path) <= allowed, f"{path.relative_to(ROOT)} imports {_lib_imports(path) - allowed}"


def test_the_basics_import_no_layer():
    for name in BASICS:
        assert not _lib_imports(ROOT / "lib" / f"{name}.py") & set(LAYERS), name


def test_the_check_sees_a_wrong_arrow(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from lib.report import plots\nimport lib.experiments.bench\n")
    assert _lib_imports(bad) == {"report", "experiments"}


def test_no_module_over_300_lines():
    long = {
        str(p.relative_to(ROOT)): n for p in ROOT.glob("lib/**/*.py") if (n := len(p.read_text().splitlines())) > 300
    }
    assert not long


def test_the_package_exports_the_transform_and_declares_what_it_needs():
    import tomllib

    import lib
    from lib.core.transform import LearnedTransform

    assert lib.LearnedTransform is LearnedTransform  # from lib import LearnedTransform
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    needs = {re.split(r"[<>=!~ ]", d)[0] for d in project["project"]["dependencies"]}
    assert {"torch", "torchvision", "numpy"} <= needs
    pinned = {line.split("==")[0] for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line}
    assert needs <= pinned, needs - pinned  # every declared dependency is pinned for the report
    for package, files in project["tool"]["setuptools"]["package-data"].items():
        for name in files:  # shipped with a built package: engine.c is compiled at first use
            assert (ROOT / package.replace(".", "/") / name).is_file(), name


def _module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_at_load(path: Path, modules: set[str]) -> set[str]:
    """The lib modules a file imports when it is loaded: its top-level imports, not those inside functions (run
    later) or under ``if TYPE_CHECKING:`` (never run). ``from a import b`` counts ``a.b`` where that is a module."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef):
                break
            if isinstance(sub, ast.Import):
                found |= {a.name for a in sub.names}
            elif isinstance(sub, ast.ImportFrom) and sub.module:
                found |= {f"{sub.module}.{a.name}" if f"{sub.module}.{a.name}" in modules else sub.module
                          for a in sub.names}  # fmt: skip
    return found & modules


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` as a list of modules, or [] where there is none."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str]:
        state[m] = 1
        path.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                return path[path.index(n) :] + [n]
            if n not in state and (found := visit(n)):
                return found
        state[m] = 2
        path.pop()
        return []

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return []


def test_no_module_of_lib_imports_itself_round_a_cycle():
    files = sorted((ROOT / "lib").rglob("*.py"))
    modules = {_module_of(p) for p in files}
    graph = {_module_of(p): _imported_at_load(p, modules) - {_module_of(p)} for p in files}
    assert _cycle(graph) == []
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]  # the check sees one


def test_no_code_in_lib_core_branches_on_a_model_familys_name():
    """A model says what it can do (set_linear, fit_kernel, read_parts, ...); lib.core never asks its name."""
    from lib.core import models

    names = set(models.REGISTRY)
    for path in sorted((ROOT / "lib" / "core").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Compare):
                continue
            compared = [node.left, *node.comparators]
            literals = {c.value for c in compared if isinstance(c, ast.Constant)}
            literals |= {e.value for c in compared if isinstance(c, ast.Tuple | ast.Set | ast.List) for e in c.elts
                         if isinstance(e, ast.Constant)}  # fmt: skip
            assert not literals & names, f"{path.relative_to(ROOT)}:{node.lineno} compares with {literals & names}"
