"""Teach a tiny network a fixed torchvision pipeline (CIFAR-10 -> 28x28 grayscale, flipped), and measure it.

The package is cut in three layers; each imports only from the ones before it:

- ``lib.core``: the domain. The shared constants (``constants``: gray levels, shapes, the target
  pipeline), pipelines (``pipeline``: the target; ``spec``: any pipeline named by a string; ``probe`` and
  ``classify``: their operators read off by measurement), images (``data``: CIFAR-10; ``synthetic``:
  images unlike photographs), models (``models``, ``fused``: a compiled loop; ``cost``: FLOPs and time),
  and how they are fitted and scored (``losses``, ``stopping``, ``train``, ``fit``, ``moments``,
  ``metrics``).
- ``lib.experiments``: one module per question a notebook asks: ``designs`` (02), ``bench`` (03),
  ``generality`` (04).
- ``lib.report``: what a reader sees: ``plots`` and ``bench_plots`` (figures), ``results`` and ``summary``
  (results files and the plain-text summary), ``front`` (the front page) and the prose built from numbers
  (``train_text``, ``designs_text``, ``bench_text``).

Beside them: ``paths`` (every project path), ``progress`` (progress bars), ``timing`` (medians of repeated
runs) and ``deps`` (the notebooks' dependencies, for the Makefile).
"""
