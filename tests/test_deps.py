"""The notebook dependency scanner behind build/deps.mk, on a tiny project of its own."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lib import deps, paths
from lib.paths import ROOT


def _notebook(path: Path, *cells: tuple[str, str]) -> Path:
    """A minimal .ipynb with (cell_type, source) cells; code sources as a list of lines, as Jupyter saves them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = {
        "nbformat": 4, "nbformat_minor": 5, "metadata": {},
        "cells": [
            {"cell_type": kind, "metadata": {}, "source": src.splitlines(keepends=True),
             **({"outputs": [], "execution_count": None} if kind == "code" else {})}
            for kind, src in cells
        ],
    }  # fmt: skip
    path.write_text(json.dumps(nb))
    return path


@pytest.fixture
def project(tmp_path) -> Path:
    """pkg: a imports b (absolute, inside a function), b imports c (relative), c names kernel.c and imports
    a back (a cycle); sub/deep is reached only through ``from pkg.sub import deep``; unused is imported by
    nobody, and other.py only from a markdown cell."""
    files = {
        "pkg/__init__.py": '"""the package"""\n',
        "pkg/a.py": "import os\n\n\ndef f():\n    from pkg import b\n\n    return b\n",
        "pkg/b.py": "from .c import thing\n",
        "pkg/c.py": 'import numpy as np\nfrom pkg import a\n\nthing = "kernel.c"\nlabel = "not_a_file.c"\n',
        "pkg/kernel.c": "int f(void) { return 0; }\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/deep.py": "from .. import c\n",
        "pkg/unused.py": "",
        "pkg/other.py": "",
        "pkg/summary.py": "from pkg.sub.deep import c\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def _names(paths: list[Path]) -> set[str]:
    return {p.as_posix() for p in paths}


def test_notebook_dependencies_are_the_transitive_closure(project):
    nb = _notebook(
        project / "notebooks" / "01_x.ipynb",
        ("markdown", "We could `import pkg.other`, but a markdown cell is not code."),
        ("code", "%matplotlib inline\nimport torch\nfrom pkg import a\n!ls"),
        ("code", "text = (\n    'n = %d'\n    % 3\n)"),  # a line starting with % that is Python
    )
    assert _names(deps.notebook_dependencies(nb, project)) == {
        "pkg/__init__.py", "pkg/a.py", "pkg/b.py", "pkg/c.py", "pkg/kernel.c",
    }  # fmt: skip


def test_subpackages_bring_their_init_and_relative_imports_resolve(project):
    nb = _notebook(project / "nb.ipynb", ("code", "from pkg.sub import deep"))
    assert _names(deps.notebook_dependencies(nb, project)) == {
        "pkg/__init__.py", "pkg/sub/__init__.py", "pkg/sub/deep.py",
        "pkg/c.py", "pkg/kernel.c", "pkg/a.py", "pkg/b.py",
    }  # fmt: skip


def test_a_cell_magic_is_skipped_and_a_syntax_error_names_the_cell(project):
    ok = _notebook(project / "ok.ipynb", ("code", "%%bash\nimport pkg.unused; echo $HOME"), ("code", "x = 1"))
    assert deps.notebook_dependencies(ok, project) == []
    bad = _notebook(project / "bad.ipynb", ("code", "x = 1"), ("code", "from pkg import (a"))
    with pytest.raises(SyntaxError, match=r"bad.ipynb, cell 2"):
        deps.notebook_dependencies(bad, project)


def test_makefile_has_one_variable_per_notebook_and_module_and_a_rule_per_file(project):
    nb = _notebook(project / "notebooks" / "02_y.ipynb", ("code", "import pkg.b"))
    text = deps.makefile([nb], ["pkg.summary"], project)
    lines = text.splitlines()
    assert "DEPS_02_y := pkg/__init__.py pkg/a.py pkg/b.py pkg/c.py pkg/kernel.c" in lines
    summary = next(line for line in lines if line.startswith("DEPS_pkg.summary := ")).split(" := ")[1].split()
    assert {"pkg/summary.py", "pkg/sub/deep.py", "pkg/sub/__init__.py"} <= set(summary)
    assert "pkg/kernel.c:" in lines and "pkg/unused.py:" not in lines
    with pytest.raises(ModuleNotFoundError, match="pkg.missing"):
        deps.makefile([nb], ["pkg.missing"], project)


def test_the_include_names_the_results_files_each_notebook_writes(project):
    """From lib.paths, whatever the project scanned: each notebook's files in one variable, and the training record
    as a make pattern."""
    nb = _notebook(project / "notebooks" / "02_y.ipynb", ("code", "import pkg.b"))
    lines = deps.makefile([nb], [], project).splitlines()
    assert "RESULTS_04_pipelines := pipelines.csv user_pipelines.csv" in lines
    assert "TRAIN_RECORD := train_%.json" in lines
    listed = [f for line in lines if line.startswith("RESULTS_") for f in line.split(" := ")[1].split()]
    assert sorted(listed) == sorted(f.file for f in paths.RESULTS_FILES.values())  # each file once
    assert lines.index("TRAIN_RECORD := train_%.json") < lines.index("pkg/__init__.py:")  # before the file rules


def test_the_makefile_takes_every_notebooks_results_files_from_the_include():
    """The run graph names no results file itself: each notebook that writes some lists them as RESULTS_<notebook>."""
    makefile = (ROOT / "Makefile").read_text()
    for notebook in {f.notebook for f in paths.RESULTS_FILES.values()}:
        assert re.search(rf"^OUT_{notebook} = \$\(call results-of,{notebook}\)", makefile, flags=re.M), notebook
    for f in paths.RESULTS_FILES.values():
        assert f.file not in makefile, f"the Makefile types {f.file}"


def test_main_writes_the_include(project, capsys):
    _notebook(project / "notebooks" / "03_z.ipynb", ("code", "from pkg import unused"))
    out = project / "build" / "deps.mk"
    deps.main(["--root", str(project), "--out", str(out)])
    assert "DEPS_03_z := pkg/__init__.py pkg/unused.py" in out.read_text().splitlines()
    assert not list(out.parent.glob("*.tmp"))
    deps.main(["--root", str(project)])
    assert capsys.readouterr().out == out.read_text()


def test_the_project_notebooks_follow_lib_through_its_modules():
    """On this checkout: 01_train imports lib.core.train itself, and lib.core.train's own imports come along."""
    found = _names(deps.notebook_dependencies(ROOT / "notebooks" / "01_train.ipynb", ROOT))
    assert {"lib/__init__.py", "lib/core/train.py", "lib/paths.py"} <= found
    assert all(name.startswith("lib/") for name in found)
    assert "lib/experiments/bench.py" not in found  # only 03_benchmark times the models


def test_runs_on_the_standard_library_alone():
    """The Makefile runs it with the system python3, before .venv exists: no third-party import on the way."""
    code = (
        "import sys; import lib.deps; "
        "print(sorted({m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names) - {'lib', '__main__'}))"
    )
    out = subprocess.run([sys.executable, "-S", "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
