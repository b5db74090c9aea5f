import os

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
