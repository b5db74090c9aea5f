import json

from lib.report import numbers


def test_tokens_leave_out_dates_versions_and_numbers_inside_words():
    text = "0.0025 gray, 99.99%, 15.0x, 28x32, AVX-512, 8-bit, 2026-12-07, torch 2.14.1+cu130, 6.56e-05, 1,349,600."
    assert numbers.tokens(text) == ["0.0025", "99.99", "15.0", "6.56e-05", "1,349,600"]


def test_a_number_is_explained_by_a_value_as_printed(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"max": 0.002462, "exact": 0.99994, "runs": [{"n": 1349600}]}))
    (tmp_path / "b.csv").write_text("device,method,median_s\ncpu,loop,1.0\ncpu,fast,0.0625\n")
    found = numbers.values([tmp_path])
    assert 16.0 in found and 1.0625 in found  # the ratio and the sum of two timings of one device
    text = "at most 0.0025 gray levels, 99.994% exact, 1,349,600 images, 16x, 62.5 ms, 1,000 ms"
    assert numbers.unexplained(text, found) == []
    # 99.994 rounds to 99.99 or to 100.0, never to 99.9
    assert numbers.unexplained("0.0026 gray levels, 99.9% exact, 17x", found) == ["0.0026", "99.9", "17"]
    assert numbers.unexplained("17x faster", found, allowed={"17"}) == []
