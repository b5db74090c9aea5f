"""Teach a tiny network a fixed torchvision pipeline (CIFAR-10 -> 28x28 grayscale, flipped), and measure it.

The package is cut in three layers; each imports only from the ones before it (tests/test_layout.py):

- ``lib.core``: the domain, which knows nothing of notebooks or tables. ``constants`` (gray levels, shapes,
  the target pipeline); the pipelines: ``pipeline`` (the target), ``spec`` (any pipeline named by a string, or
  a user's callable with its input shape), ``probe`` (an affine pipeline's operator, read off by basis images
  or axis by axis) and ``classify`` (linear? affine? separable?); the images: ``data`` (CIFAR-10) and
  ``synthetic`` (images unlike photographs); the models: ``models`` (a package, one module per family),
  ``registry`` (building, saving, loading them by name), ``separable`` (row/column maps and their parts),
  ``banded`` (those maps on their support), ``cost`` (FLOPs and time); running and shipping them: ``engine``
  (a C loop, a Triton kernel, eager PyTorch), ``fitted`` (a table, curve, clamp or output order around a linear
  map), ``families`` and ``fitting`` (a user's pipeline read off by probing, the smallest family kept),
  ``transform`` (``LearnedTransform``, what a user imports) with ``images`` (its input checks), ``export_onnx``
  (ONNX graphs); fitting and scoring: ``losses``, ``stopping``, ``train`` (the loop) with ``optimizers`` (one
  strategy per optimizer), ``fit`` (closed forms, and alternating least squares for large images), ``moments``
  (second-moment statistics) and ``metrics`` (``score``, the one comparison).
- ``lib.experiments``: one module per question a notebook asks: ``designs`` and ``loss_study`` (02);
  ``routes`` (every benchmark route, declared once), ``bench`` with ``bench_config``, ``bench_jobs``,
  ``bench_run``, ``bench_records`` (a row and the summary as types, and their files) and ``bench_tables`` (03);
  ``generality`` and ``user_pipelines`` (04); ``scaling`` (05); ``shipping``, ``suite`` and ``library_routes`` (06).
- ``lib.report``: what a reader sees: ``records`` (the report's runs and the record each training run
  writes), ``summary`` (reports/SUMMARY.md) with ``headline`` (its first lines, also written into the README),
  ``plots`` and ``bench_plots`` (figures), ``front`` and ``front_text`` (the front
  page), and the prose built from numbers (``train_text``, ``designs_text``, ``bench_text``, ``pipelines_text``,
  ``user_text``).

The cut is there so that a change lands in one place, named by its folder: a model in ``core.models``, a pipeline
step in ``core.spec``, an optimizer in ``core.optimizers``, and every experiment sees it; ``report`` reads results
files and never trains, so the summary and the front page are rebuilt without running anything.

Beside them, for every layer: ``paths`` (every project path, and the name of every results file), ``results``
(results files with the machine they were measured on, and tables read back), ``progress`` (progress bars),
``timing`` (medians of repeated runs) and ``deps`` (the notebooks' dependencies and results files, for the Makefile).
"""

__all__ = ["LearnedTransform"]


def __getattr__(name: str):
    """``from lib import LearnedTransform``, imported when asked for: ``import lib`` alone (the Makefile's
    ``python -m lib.deps``) does not load torch."""
    if name == "LearnedTransform":
        from lib.core.transform import LearnedTransform

        return LearnedTransform
    raise AttributeError(f"module 'lib' has no attribute {name!r}")
