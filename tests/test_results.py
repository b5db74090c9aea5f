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
