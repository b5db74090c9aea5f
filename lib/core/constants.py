"""The numbers every part of the project shares, defined once: the gray-level scale, the shapes, the target.

Errors are reported in gray levels, the steps of an 8-bit image: an error of e in [0, 1] units is
``e * GRAY_LEVELS`` gray levels.
"""

GRAY_LEVELS = 255  # 8-bit images hold 256 values, 0..255: one gray level is 1/255 in [0, 1] units
HALF_GRAY = 0.5 / GRAY_LEVELS  # half the distance between two gray levels, in [0, 1] units: the rounding margin
IN_SHAPE = (3, 32, 32)  # a CIFAR-10 image: channels, height, width
OUT_SHAPE = (1, 28, 28)  # the target pipeline's output
TARGET = "resize(28,28) | grayscale | hflip | vflip"  # the target pipeline of the assignment (lib.core.spec)
