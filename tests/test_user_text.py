from lib.report import user_text


def _row(example, params, fit_s, photo, noise, in_shape="3x64x64", out_shape="1x32x32", offset=0.0):
    return {"example": example, "in_shape": in_shape, "out_shape": out_shape, "offset_gray": offset,
            "model": "banded (closed form)", "params": params, "fit_s": fit_s, "photo_max_gray": photo,
            "photo_exact8_pct": 99.9991, "noise_max_gray": noise, "refused": ""}  # fmt: skip


ROWS = [
    _row("a", 256, 0.05, 7e-5, 4e-5, offset=532.0),
    _row("b", 896, 0.4, 6e-5, 9e-5, "3x224x224"),
    {"example": "c", "in_shape": "3x32x32", "model": "-", "refused": "'c' is random: use hflip."},
]  # fmt: skip


def test_the_table_has_a_row_per_example_read_off():
    a, b = user_text.table(ROWS)
    assert a == {"example": "a", "shape": "3x64x64 -> 1x32x32", "|f(0)| (gray)": "532", "model": "banded (closed form)",
                 "numbers": "256", "fit s": "0.05", "worst (gray)": "7e-05", "exact 8-bit": "99.999%"}  # fmt: skip
    assert b["shape"] == "3x224x224 -> 1x32x32" and b["worst (gray)"] == "9e-05"


def test_the_summary_says_how_exact_and_fast_and_names_what_was_refused():
    text = user_text.summary(ROWS)
    assert text.startswith("2 of 3 examples are read off in at most 0.4 s, each at most 9e-05 gray levels from its")
    assert text.endswith("- **c** (3x32x32): refused. 'c' is random: use hflip.")
