"""Models that map float images (N, 3, 32, 32) in [0, 1] to (N, 1, 28, 28), by name.

Every model checks its input: a batch of float images (N, 3, 32, 32). A single image (3, 32, 32) or
uint8 pixels are refused with a message saying what to pass (``x[None]``, ``lib.core.data.to_float``).
Every model takes ``out_shape`` (C, H, W; the target's by default) and ``in_shape`` (c, h, w; CIFAR-10's by
default): any can be built for another pipeline's images.

``dense`` is the minimal design; ``separable`` keeps only the structure the pipeline has
(grayscale is a 3-vector, resize and flips act on rows and columns separately); ``banded`` keeps only the
entries of that structure the resize's filter uses (lib.core.banded finds them).

The package holds one module per family, as ``torchvision.models`` does (``dense``, ``separable``, ``banded``,
``convs``, ``fc_large``, ``exact``; ``base`` for what they share); importing it registers every family with
``lib.core.registry``, whose functions are re-exported: callers build, save and load models from here.
"""

from lib.core.models.banded import Banded
from lib.core.models.base import DENSE_WEIGHTS, OUTPUTS, Conv1x1, FromUint8, OutputConstraint, in_chunks, output_mode
from lib.core.models.convs import Conv3, Conv5, ValidConvs
from lib.core.models.dense import Dense, gray_weights
from lib.core.models.exact import Exact
from lib.core.models.fc_large import FCLarge
from lib.core.models.separable import Separable
from lib.core.registry import FORMAT, REGISTRY, build, having, load, n_params, register, save

__all__ = [
    "DENSE_WEIGHTS", "FORMAT", "OUTPUTS", "REGISTRY", "Banded", "Conv1x1", "Conv3", "Conv5", "Dense", "Exact",
    "FCLarge", "FromUint8", "OutputConstraint", "Separable", "ValidConvs", "build", "gray_weights", "in_chunks",
    "having", "load", "n_params", "output_mode", "register", "save",
]  # fmt: skip
