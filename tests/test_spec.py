"""Pipelines as objects: a wrapped callable is checked when it is wrapped, and not again."""

from lib.core import spec


def test_a_wrapped_pipeline_is_checked_once_not_again_on_its_own_shape():
    calls = []

    def pipeline(x):
        calls.append(len(x))
        return x.mean(1, keepdim=True)

    s = spec.wrap(pipeline, (3, 8, 8))
    checked = len(calls)
    assert spec.on_shape(s, (3, 8, 8)) is s and spec.wrap(s, (3, 8, 8)) is s and len(calls) == checked
    assert spec.on_shape(s, (3, 16, 16)).out_shape == (1, 16, 16) and len(calls) > checked  # another shape: anew
