"""The README's Python examples run as written, every name they use defined in them."""

import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_examples():
    assert BLOCKS, "no ```python block in README.md"


@pytest.mark.parametrize("code", BLOCKS, ids=lambda c: c.strip().splitlines()[-1][:40])
def test_a_readme_example_runs_as_written(code, tmp_path, monkeypatch, capsys):
    pytest.importorskip("onnxscript") if "export_onnx" in code else None
    monkeypatch.chdir(tmp_path)  # what it writes (a saved transform, an ONNX graph) lands here
    lines = [line[2:] if line.startswith("  ") else line for line in code.splitlines()]  # a list item's indent
    exec(compile("\n".join(lines), "README.md", "exec"), {"__name__": "readme"})  # noqa: S102
    written = set(os.listdir(tmp_path))
    for name in re.findall(r'"([\w.]+\.(?:pt|onnx))"', code):  # a graph per input size: name_CxHxW.onnx
        stem, suffix = name.rsplit(".", 1)
        assert any(re.fullmatch(rf"{stem}(_\d+x\d+x\d+)?\.{suffix}", f) for f in written), (name, written)
