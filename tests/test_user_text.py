from lib.report import user_text


def _row(example, model, params, fit_s, photo, noise, in_shape="3x64x64", out_shape="1x32x32", offset=0.0):
    return {"example": example, "in_shape": in_shape, "out_shape": out_shape, "offset_gray": offset, "model": model,
            "params": params, "fit_s": fit_s, "photo_max_gray": photo, "noise_max_gray": noise,
            "refused": ""}  # fmt: skip


ROWS = [
    _row("a", "separable", 4100, 0.2, 6e-5, 5e-5, offset=532.0),
    _row("a", "banded (closed form)", 256, 0.05, 7e-5, 4e-5),
    _row("b", "separable", 50180, 4.7, 6e-5, 9e-5, "3x224x224"),
    _row("b", "banded (closed form)", 896, 0.4, 6e-5, 5e-5, "3x224x224"),
    {"example": "c", "in_shape": "3x32x32", "model": "-", "refused": "'c' is random: use hflip."},
]  # fmt: skip


def test_the_table_puts_both_models_of_an_example_on_one_row():
    a, b = user_text.table(ROWS)
    assert a == {"example": "a", "shape": "3x64x64 -> 1x32x32", "|f(0)| (gray)": "532",
                 "separable: numbers, fit, worst": "4,100, 0.20 s, 6e-05",
                 "banded (c. f.): numbers, fit, worst": "256, 0.05 s, 7e-05"}  # fmt: skip
    assert b["shape"] == "3x224x224 -> 1x32x32" and b["separable: numbers, fit, worst"] == "50,180, 4.70 s, 9e-05"


def test_the_summary_says_how_exact_each_model_is_and_names_what_was_refused():
    text = user_text.summary(ROWS)
    assert text.startswith("Learned from images of its own shape, `separable` is at most 9e-05 gray levels off")
    assert "`banded (closed form)` is at most 7e-05 off with 16x to 56x fewer numbers" in text
    assert "The slowest fit took 4.7 s (`separable`, b)." in text
    assert text.endswith("- **c** (3x32x32): refused. 'c' is random: use hflip.")
