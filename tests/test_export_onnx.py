import pytest
import torch
from torchvision.transforms import v2

from lib.core import banded, models, spec
from lib.core.transform import LearnedTransform
from lib.experiments import shipping

ort = pytest.importorskip("onnxruntime", reason="ONNX Runtime is not installed here (pip install -r requirements.txt)")
pytest.importorskip("onnxscript", reason="the dynamo-based ONNX exporter needs onnxscript")

from lib.core import export_onnx  # noqa: E402  (after the skips: it needs the packages above at export time)


def _u8(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


MODELS = {
    "exact": lambda: models.build("exact"),
    "banded": lambda: banded.from_separable(models.build("exact")),
    "dense": lambda: models.build("dense", out_shape=(1, 16, 16)),
    "matrix": lambda: models.build("exact", pipeline="center_crop(24) | rot90 | grayscale"),  # one matrix
}


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("source", ["uint8", "float"])
def test_a_graph_is_plain_products_with_a_dynamic_batch_and_computes_the_model(name, source, tmp_path):
    net = MODELS[name]().eval()
    path = export_onnx.export(net, tmp_path / "g.onnx", source)
    ops = export_onnx.operators(path)
    assert "Resize" not in ops and "MatMul" in ops and ("Cast" in ops) == (source == "uint8")
    sess = export_onnx.session(path, threads=1)
    for n in (1, 5, 33):  # exported with a batch of 2: any batch runs
        x = _u8(n, seed=n)
        got = export_onnx.run(sess, x if source == "uint8" else x.float() / 255)
        with torch.no_grad():
            torch.testing.assert_close(got, net(x.float() / 255), rtol=1e-5, atol=2e-6)


def test_a_normalize_pipeline_exported_from_its_fitted_transform_matches_the_pipeline(tmp_path):
    pipeline = v2.Compose([v2.Resize((28, 28), antialias=True), v2.Grayscale(), v2.Normalize([0.48], [0.23])])
    t = LearnedTransform.fit(pipeline, in_shape=(3, 32, 32))
    sets = {"test": _u8(64), **shipping.family_sets(8)}
    targets = shipping.targets_of(pipeline, sets)
    rows = shipping.onnx_rows("normalize", {"banded": t.model}, sets, targets, tmp_path, repeats=1)
    assert [r["source"] for r in rows] == ["uint8", "float"]
    assert all(r["max_gray"] < 0.01 and r["ort_s"] > 0 and r["torch_s"] > 0 for r in rows), rows


def test_the_pipelines_own_exports_are_reported_not_raised():
    s = spec.parse("resize(28,28) | grayscale | hflip | vflip")
    sets = {"test": _u8(16)}
    rows = shipping.pipeline_rows("target", s.transform, sets, shipping.targets_of(s, sets), s.in_shape, repeats=1)
    assert [r["graph"] for r in rows] == ["the torchvision pipeline (TorchScript exporter)",
                                          "the torchvision pipeline (dynamo exporter)"]  # fmt: skip
    for r in rows:  # each either failed with its reason, or gave a graph with a Resize node that was run and scored
        assert r.get("error") or ("Resize" in r["operators"].split() and r["max_gray"] < 0.01 and r["ort_s"] > 0), r
    assert "upsample_bilinear2d_aa" in rows[0].get("error", "")  # torch 2.14: no antialiased resize in TorchScript


def test_a_model_export_does_not_know_is_refused(tmp_path):
    with pytest.raises(TypeError, match="not a model export knows"):
        export_onnx.export(models.build("conv5"), tmp_path / "x.onnx")
    with pytest.raises(ValueError, match="source is 'uint8' or 'float'"):
        export_onnx.export(models.build("exact"), tmp_path / "x.onnx", "int16")
    with pytest.raises(ValueError, match="output constraint"):
        export_onnx.export(models.build("separable", output="sigmoid"), tmp_path / "x.onnx")
