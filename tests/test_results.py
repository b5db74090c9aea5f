import json
import math

from lib import results


def test_non_finite_values_become_strings_anywhere(tmp_path):
    path = results.write_json(
        tmp_path / "a" / "r.json", {"x": math.inf, "h": [{"v": math.nan}, 1.5], "t": (-math.inf,)}
    )
    assert json.loads(path.read_text()) == {"x": "inf", "h": [{"v": "nan"}, 1.5], "t": ["-inf"]}


def test_environment_names_the_machine():
    env = results.environment()
    assert env["cpu"] and env["torch_version"] and env["date"][:2] == "20"


def test_progress_goes_to_the_log_under_papermill(monkeypatch):
    import sys

    from tqdm.std import tqdm as text_tqdm

    from lib import progress

    monkeypatch.delenv("PROGRESS", raising=False)
    assert not progress.to_log()
    monkeypatch.setenv("PROGRESS", "log")
    with progress.bar(total=2, disable=False) as b:
        assert type(b) is text_tqdm and b.mininterval == progress.LOG_INTERVAL_S
        assert b.fp._wrapped is sys.__stderr__  # the process's own stderr, not the cell's captured one
