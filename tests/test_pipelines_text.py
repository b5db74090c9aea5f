"""04_pipelines' answer in words, on hand-made rows of lib.experiments.generality.study."""

from lib.report import pipelines_text


def _rows(pipeline, out_shape, linear, separable, superposition, kronecker, models):
    """One row per (model, params, worst test pixel, exact 8-bit %, x loop, x batched), with the pipeline's probe."""
    probe = {"pipeline": pipeline, "out_shape": out_shape, "linear": linear, "separable": separable,
             "superposition_gray": superposition, "kronecker_ratio": kronecker}  # fmt: skip
    return [{**probe, "model": m, "params": p, "test_max_gray": e, "exact8_pct": x, "speedup_vs_loop": loop,
             "speedup_vs_batched": batched} for m, p, e, x, loop, batched in models]  # fmt: skip


SEPARABLE = _rows("resize(28,28) | grayscale | hflip | vflip", "1x28x28", True, True, 1e-4, 1e-9, [
    ("dense", 803604, 0.003, 99.99, 20.0, 1.5), ("separable", 1796, 0.002, 99.998, 40.0, 3.2),
    ("banded", 128, 0.002, 99.998, 60.0, 4.5), ("exact", 0, 1e-5, 100.0, 10.0, 0.8),
])  # fmt: skip
TURN = _rows("center_crop(24) | rot90 | grayscale", "1x24x24", True, False, 2e-4, 1.0, [
    ("dense", 1769475, 0.02, 99.9, 5.0, 0.9), ("separable", 1203, 35.2, 2.5, 30.0, 2.0),
    ("exact", 0, 1e-5, 100.0, 4.0, 0.7),
])  # fmt: skip
GAMMA = _rows("gamma(2.2) | grayscale | resize(28,28)", "1x28x28", False, None, 12.345, None, [
    ("dense", 803604, 20.0, 5.0, 20.0, 1.5), ("dense + clamp", 803604, 18.0, 6.0, 19.0, 1.4),
    ("curve + separable", 1845, 0.12, 98.5, 15.0, 1.2), ("table + separable", 2052, 0.001, 100.0, 14.0, 1.1),
])  # fmt: skip
FOLD = _rows("grayscale | resize(28,28) | solarize(0.7)", "1x28x28", False, None, 80.0, None, [
    ("dense", 803604, 120.0, 1.0, 20.0, 1.5), ("separable + curve", 1845, 3.5, 90.0, 15.0, 1.2),
    ("curve + separable", 1845, 60.0, 10.0, 15.0, 1.2),
])  # fmt: skip


def test_a_linear_separable_pipeline_names_its_smallest_model_within_half_a_level():
    pick = next(r for r in SEPARABLE if r["model"] == "banded")  # fewer parameters than separable; exact is no model
    assert pipelines_text.pipeline_line(SEPARABLE, pick) == (
        "- `resize(28,28) | grayscale | hflip | vflip` -> (1, 28, 28): linear, row/column separable. Smallest model "
        "within half a gray level: `banded`, 128 parameters, worst test pixel 0.002 levels, 99.998% exact at 8 bits, "
        "60.0x the pipeline image by image and 4.50x batched."
    )


def test_a_linear_pipeline_that_is_not_separable_gives_its_kronecker_ratio():
    pick = TURN[0]
    assert pipelines_text.pipeline_line(TURN, pick) == (
        "- `center_crop(24) | rot90 | grayscale` -> (1, 24, 24): linear, **not** separable (Kronecker ratio 1). "
        "Smallest model within half a gray level: `dense`, 1,769,475 parameters, worst test pixel 0.02 levels, "
        "99.90% exact at 8 bits, 5.0x the pipeline image by image and 0.90x batched."
    )


def test_a_non_linear_pipeline_gives_its_superposition_error():
    pick = next(r for r in GAMMA if r["model"] == "curve + separable")
    assert pipelines_text.pipeline_line(GAMMA, pick) == (
        "- `gamma(2.2) | grayscale | resize(28,28)` -> (1, 28, 28): **not linear** (superposition off by 12.3 gray "
        "levels). Smallest model within half a gray level: `curve + separable`, 1,845 parameters, worst test pixel "
        "0.12 levels, 98.50% exact at 8 bits, 15.0x the pipeline image by image and 1.20x batched."
    )


def test_a_pipeline_no_model_reaches_names_the_closest():
    assert pipelines_text.pipeline_line(FOLD, None) == (
        "- `grayscale | resize(28,28) | solarize(0.7)` -> (1, 28, 28): **not linear** (superposition off by 80 gray "
        "levels). No model reaches half a gray level: the closest, `separable + curve`, is 3.5 levels off at its "
        "worst pixel."
    )


def test_the_summary_picks_each_pipelines_model_and_counts_dense_within_the_fit_tolerance():
    text = pipelines_text.summary(SEPARABLE + TURN + GAMMA + FOLD)
    lines = text.split("\n")
    assert lines[0] == pipelines_text.pipeline_line(SEPARABLE, SEPARABLE[2])
    assert lines[1] == pipelines_text.pipeline_line(TURN, TURN[0])
    assert lines[2] == pipelines_text.pipeline_line(GAMMA, GAMMA[2])  # fewer parameters than the table
    assert lines[3] == pipelines_text.pipeline_line(FOLD, None)
    # dense is within 0.01 gray levels (lib.core.fitting.ACCEPT_GRAY) on the separable pipeline, not on the turn
    assert lines[4:] == [
        "",
        "Of 2 linear pipelines, `dense` fitted in closed form is within 0.01 gray levels on every test pixel for 1.",
    ]
