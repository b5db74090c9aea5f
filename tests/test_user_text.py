from lib.report import user_text


def _row(example, model, params, fit_s, photo, noise, in_shape="3x64x64", refused=""):
    return {"example": example, "in_shape": in_shape, "model": model, "params": params, "fit_s": fit_s,
            "photo_max_gray": photo, "noise_max_gray": noise, "refused": refused}  # fmt: skip


def test_the_summary_counts_what_was_learned_and_names_what_was_refused():
    rows = [_row("a", "exact", 0, 0.0, 1e-5, 1e-5), _row("a", "separable", 4100, 0.2, 6e-5, 5e-5),
            _row("a", "banded", 256, 0.21, 7e-5, 4e-5),
            _row("b", "separable", 50180, 4.7, 6e-5, 9e-5, "3x224x224"),
            _row("b", "banded", 896, 4.8, 6e-5, 5e-5, "3x224x224"),
            {"example": "c", "in_shape": "3x32x32", "model": "-", "refused": "'c' is random: use hflip."}]  # fmt: skip
    text = user_text.summary(rows)
    assert text.startswith("2 of the 3 examples are affine and row/column separable.")
    assert "at most 9e-05 gray levels" in text  # the worst of photographs and noise, learned models only
    assert "16x to 56x fewer parameters" in text and "4.8 s (b, 3x224x224 images)" in text
    assert text.endswith("- **c** (3x32x32): refused. 'c' is random: use hflip.")
