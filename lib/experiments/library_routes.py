"""Every route written in another library, once: the target pipeline's steps and the suite's cases in OpenCV and in
Pillow, image by image, as a user of those libraries would write them. The benchmark (03) and the scaling study (05)
time the target's (``pillow_loop``, ``opencv_loop``, through lib.experiments.routes); the suite (06) its cases'.

Neither library is the torchvision pipeline: OpenCV's area resize and Pillow's bilinear filter differ from torchvision's
antialiased bilinear resize, and Pillow's 8-bit images round between steps. So each route is timed with its error
against the pipeline, and counts as faithful only within the case's tolerance (lib.experiments.suite). Inputs are
what a decoder gives: (H, W, 3) or (H, W) uint8 arrays for OpenCV, PIL images for Pillow, made before timing.
"""

import numpy as np
from PIL import Image

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)  # the ImageNet Normalize of lib.experiments.suite
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def short_side(h: int, w: int, size: int) -> tuple[int, int]:
    """(H, W) with the shorter side ``size`` and the longer scaled, truncated, as torchvision's Resize(int) does."""
    return (size, int(size * w / h)) if h <= w else (int(size * h / w), size)


def _centre(h: int, w: int, crop: int) -> tuple[int, int]:
    return int(round((h - crop) / 2.0)), int(round((w - crop) / 2.0))


def _chw(a: np.ndarray) -> np.ndarray:
    return a.transpose(2, 0, 1) if a.ndim == 3 else a[None]


def _normalize(a: np.ndarray) -> np.ndarray:
    return _chw((a.astype(np.float32) / 255 - MEAN) / STD)


def opencv(key: str):
    """The case ``key``'s steps in OpenCV, on one (H, W, C) or (H, W) uint8 array: a (C, H, W) float array."""
    import cv2  # optional: the routes are left out where OpenCV is missing

    area = cv2.INTER_AREA

    def imagenet(img):
        h, w = short_side(*img.shape[:2], 80)
        r = cv2.resize(img, (w, h), interpolation=area)
        top, left = _centre(h, w, 64)
        return _normalize(r[top : top + 64, left : left + 64])

    def gamma(img):
        r = cv2.resize(np.sqrt(img.astype(np.float32) / 255), (48, 48), interpolation=area)
        return cv2.cvtColor(r, cv2.COLOR_RGB2GRAY)[None]

    def clip(img):
        return _chw(np.clip((cv2.resize(img, (48, 48), interpolation=area) / 255 - 0.5) * 1.5 + 0.5, 0, 1))

    def turn(img):
        r = cv2.rotate(cv2.resize(img, (64, 48), interpolation=area), cv2.ROTATE_90_COUNTERCLOCKWISE)
        return _chw(r.astype(np.float32) / 255)

    steps = {
        "imagenet": imagenet,
        "normalize": lambda img: _normalize(cv2.resize(img, (48, 48), interpolation=area)),
        "gray": lambda img: cv2.resize(img[2:26, 2:26], (16, 16), interpolation=area)[None].astype(np.float32) / 255,
        "gamma": gamma,
        "clip": clip,
        "turn": turn,
    }
    return steps.get(key)


GAMMA_LUT = [round(255 * (v / 255) ** 0.5) for v in range(256)] * 3  # per band of an RGB image


def pillow(key: str):
    """The case ``key``'s steps in Pillow, on one PIL image: a (C, H, W) float array."""
    bilinear = Image.BILINEAR

    def imagenet(im):
        h, w = short_side(im.height, im.width, 80)
        top, left = _centre(h, w, 64)
        return _normalize(np.asarray(im.resize((w, h), bilinear).crop((left, top, left + 64, top + 64))))

    steps = {
        "imagenet": imagenet,
        "normalize": lambda im: _normalize(np.asarray(im.resize((48, 48), bilinear))),
        "gray": lambda im: np.asarray(im.crop((2, 2, 26, 26)).resize((16, 16), bilinear))[None] / np.float32(255),
        "gamma": lambda im: (
            np.asarray(im.point(GAMMA_LUT).resize((48, 48), bilinear).convert("L"))[None] / np.float32(255)
        ),
        "clip": lambda im: _chw(np.clip((np.asarray(im.resize((48, 48), bilinear)) / 255 - 0.5) * 1.5 + 0.5, 0, 1)),
        "turn": lambda im: _chw(np.asarray(im.resize((64, 48), bilinear).transpose(Image.ROTATE_90)) / np.float32(255)),
    }
    return steps.get(key)


def decoded(images) -> tuple[list[np.ndarray], list[Image.Image]]:
    """uint8 tensors (C, H, W) as a decoder gives them to each library: arrays (H, W, C) or (H, W), and PIL images."""
    arrays = [img.permute(1, 2, 0).numpy().squeeze(2) if img.shape[0] == 1 else img.permute(1, 2, 0).numpy()
              for img in images]  # fmt: skip
    return arrays, [Image.fromarray(a) for a in arrays]


def pillow_loop(hwc: np.ndarray, size: tuple[int, int] = (28, 28)) -> np.ndarray:
    """The target pipeline's steps in Pillow, image by image, on (N, h, w, 3) uint8: resize to ``size`` (H, W;
    Pillow's bilinear filter widens with the reduction, as an antialiased resize does), gray, both flips (a
    half turn): (N, H, W) uint8."""
    out = np.empty((len(hwc), *size), dtype=np.uint8)
    for i, img in enumerate(hwc):
        out[i] = np.asarray(Image.fromarray(img).resize(size[::-1], Image.BILINEAR).convert("L").rotate(180))
    return out


def opencv_loop(hwc: np.ndarray, size: tuple[int, int] = (28, 28), interpolation: str = "INTER_AREA") -> np.ndarray:
    """The target pipeline's steps in OpenCV, image by image, on (N, h, w, 3) uint8: ``cv2.resize`` to ``size`` (H, W)
    with ``interpolation`` (neither is torchvision's antialiased bilinear filter), ``cvtColor`` to gray, ``flip``
    both ways: (N, H, W) uint8."""
    import cv2  # optional: the routes are left out where OpenCV is missing

    how = getattr(cv2, interpolation)
    out = np.empty((len(hwc), *size), dtype=np.uint8)
    for i, img in enumerate(hwc):
        out[i] = cv2.flip(cv2.cvtColor(cv2.resize(img, size[::-1], interpolation=how), cv2.COLOR_RGB2GRAY), -1)
    return out
