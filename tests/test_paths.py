import os

import pytest

from lib import paths


def test_shown_is_relative_to_the_project_root():
    assert paths.shown(paths.ROOT / "reports" / "x.csv") == os.path.join("reports", "x.csv")
    assert paths.shown("../shared/data") == os.path.join("..", "shared", "data")


def test_shown_does_not_follow_symbolic_links(tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target)
    assert paths.shown(link).endswith(os.path.join(tmp_path.name, "link"))
    assert "elsewhere" not in paths.shown(link)


def test_results_files_are_named_once_each_with_the_notebook_that_writes_it(tmp_path):
    files = [f.file for f in paths.RESULTS_FILES.values()]
    assert len(set(files)) == len(files) and "pipelines.csv" in files and "benchmark_summary.json" in files
    notebooks = {p.stem for p in (paths.ROOT / "notebooks").glob("*.ipynb")}
    assert {f.notebook for f in paths.RESULTS_FILES.values()} <= notebooks
    assert paths.results_file(tmp_path, "user_pipelines") == tmp_path / "user_pipelines.csv"
    assert paths.TRAIN_RECORD.format(run="separable") == "train_separable.json"
    with pytest.raises(KeyError, match="no results file 'pipeline'; the report's are architectures, losses"):
        paths.results_file(tmp_path, "pipeline")


def test_every_results_file_is_written_by_its_notebook_through_results_file():
    """A notebook writes its results files by name (``paths.results_file(..., "<name>")``, or a lib function that
    does), never by a file name typed in a cell (the parameters' comments say where the files go)."""
    import nbformat

    for name, f in paths.RESULTS_FILES.items():
        cells = nbformat.read(paths.ROOT / "notebooks" / f"{f.notebook}.ipynb", as_version=4).cells
        code = "\n".join(
            c.source for c in cells if c.cell_type == "code" and "parameters" not in c.metadata.get("tags", [])
        )
        assert f.file not in code, f"{f.notebook} types {f.file}"
        assert f'"{name}")' in code or f.notebook == "03_benchmark", f"{f.notebook} does not write {name}"
