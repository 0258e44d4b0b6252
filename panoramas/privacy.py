"""Privacy: find faces and licence plates and blur them before anything is published.

The detectors are OpenCV's Haar cascades that ship inside opencv-python-headless (nothing is
downloaded). They search the band from 45° above to 54° below the horizon, where street-level
faces and plates are (the sky and the camera's own nadir are not searched), on a copy wrapped
past the right edge, so a face on the 360° seam is found and blurred on both sides of it.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

DETECT_MAX_WIDTH = 4096        # larger panoramas are searched at this width
BAND = (0.25, 0.80)            # rows searched, as shares of the height (elevation +45° .. -54°)
WRAP_SHARE = 1 / 16            # share of the width appended on the right for the seam
MARGIN = 0.2                   # blurred area = detected box grown by this share on every side
CASCADES = {  # kind: (file in cv2.data.haarcascades, detectMultiScale arguments)
    "face": ("haarcascade_frontalface_alt2.xml",
             {"scaleFactor": 1.15, "minNeighbors": 3, "minSize": (20, 20)}),
    "plate": ("haarcascade_russian_plate_number.xml",
              {"scaleFactor": 1.15, "minNeighbors": 5, "minSize": (24, 8)}),
}

_local = threading.local()


@dataclass(frozen=True)
class Box:
    """A detected face or plate, in pixels of the full image (x may run past the right edge)."""

    kind: str
    x: int
    y: int
    w: int
    h: int


def _classifiers() -> dict[str, cv2.CascadeClassifier]:
    """This thread's classifiers (OpenCV classifiers are not shared between threads)."""
    if not hasattr(_local, "classifiers"):
        loaded = {}
        for kind, (name, _) in CASCADES.items():
            classifier = cv2.CascadeClassifier(cv2.data.haarcascades + name)
            if classifier.empty():
                raise RuntimeError(f"OpenCV cascade {name} is missing from opencv")
            loaded[kind] = classifier
        _local.classifiers = loaded
    return _local.classifiers


def detect(rgb: np.ndarray) -> list[Box]:
    """Faces and plates in an equirectangular RGB image."""
    height, width = rgb.shape[:2]
    scale = min(1.0, DETECT_MAX_WIDTH / width)
    top, bottom = int(height * BAND[0]), int(height * BAND[1])
    gray = cv2.cvtColor(rgb[top:bottom], cv2.COLOR_RGB2GRAY)
    if scale < 1.0:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    wrap = int(gray.shape[1] * WRAP_SHARE)
    gray = cv2.equalizeHist(np.concatenate([gray, gray[:, :wrap]], axis=1))
    boxes = []
    for kind, classifier in _classifiers().items():
        found = classifier.detectMultiScale(gray, **CASCADES[kind][1])
        for x, y, w, h in found:
            boxes.append(Box(kind, int(x / scale), top + int(y / scale), int(w / scale) + 1,
                             int(h / scale) + 1))
    return boxes


def blur(rgb: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """A copy of the image with every box (grown by MARGIN) pixelated and blurred beyond use."""
    height, width = rgb.shape[:2]
    wrap = int(width * WRAP_SHARE) + 1
    out = np.concatenate([rgb, rgb[:, :wrap]], axis=1)
    for box in boxes:
        dx, dy = int(box.w * MARGIN), int(box.h * MARGIN)
        x0, y0 = max(0, box.x - dx), max(0, box.y - dy)
        x1, y1 = min(out.shape[1], box.x + box.w + dx), min(height, box.y + box.h + dy)
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        region = out[y0:y1, x0:x1]
        small = cv2.resize(region, (max(1, (x1 - x0) // 12), max(1, (y1 - y0) // 12)),
                           interpolation=cv2.INTER_AREA)
        coarse = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
        out[y0:y1, x0:x1] = cv2.GaussianBlur(coarse, (0, 0), max(2.0, (x1 - x0) / 10))
    seam = out[:, width:]
    result = out[:, :width].copy()
    changed = np.any(seam != rgb[:, :seam.shape[1]], axis=2)
    result[:, :seam.shape[1]][changed] = seam[changed]
    return result
