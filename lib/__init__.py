"""Teach a tiny network the CIFAR-10 -> 28x28 grayscale flip pipeline, and measure it.

One module per concern: ``data`` (loading and caching CIFAR-10), ``pipeline`` (the reference
transform), ``models``, ``losses``, ``stopping``, ``train``, ``metrics`` and ``plots``.
"""
