"""Pipelines as objects: a wrapped callable is checked when it is wrapped, and not again."""

import pytest

from lib.core import spec
from lib.core.constants import TARGET


def test_a_wrapped_pipeline_is_checked_once_not_again_on_its_own_shape():
    calls = []

    def pipeline(x):
        calls.append(len(x))
        return x.mean(1, keepdim=True)

    s = spec.wrap(pipeline, (3, 8, 8))
    checked = len(calls)
    assert spec.on_shape(s, (3, 8, 8)) is s and spec.wrap(s, (3, 8, 8)) is s and len(calls) == checked
    assert spec.on_shape(s, (3, 16, 16)).out_shape == (1, 16, 16) and len(calls) > checked  # another shape: anew


def test_a_pipeline_is_parsed_once_and_edited_into_another():
    target = spec.parse(TARGET)
    assert spec.parse(TARGET.replace(" ", "")) is target  # the same text up to spaces: the same object
    assert spec.parse(TARGET, (3, 64, 64)) is not target
    assert target.without("hflip", "vflip").text == "resize(28,28) | grayscale"
    bigger = target.with_args("resize", 32, 32, in_shape=(3, 64, 64))
    assert bigger.text == "resize(32,32) | grayscale | hflip | vflip" and bigger.out_shape == (1, 32, 32)
    with pytest.raises(ValueError, match="no step blur"):
        target.without("blur")
    with pytest.raises(TypeError, match="steps are not known"):
        spec.wrap(lambda x: x, (3, 8, 8)).without("hflip")


def test_an_edited_argument_keeps_every_digit():
    blurred = spec.parse("blur(3, 0.5)").with_args("blur", 3, 0.123456789)
    assert blurred.text == "blur(3,0.123456789)" and blurred.steps == (("blur", (3.0, 0.123456789)),)
