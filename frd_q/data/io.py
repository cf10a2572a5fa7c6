"""Reading one bitemporal pair from disk, with every check a bad file deserves.

Images: PNG, JPEG or TIFF read with Pillow, returned as uint8 (H, W, C). RGBA images lose their alpha band.
Labels: one band (or several identical bands); values must be a subset of {0, 1, 255} (any non-zero = change)
unless a threshold is given, then change = value > threshold. Every failure raises `DataError` naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from frd_q.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
LABEL_VALUES = (0, 1, 255)


@dataclass(frozen=True)
class PairRecord:
    """Where one bitemporal pair lives on disk."""

    dataset: str  #: dataset folder name ("" for a single-dataset root)
    name: str  #: file stem shared by A, B and label
    a: Path  #: time-1 image
    b: Path  #: time-2 image
    label: Path | None  #: change mask (None for unlabeled prediction)
    region: tuple[int, int, int, int] | None = None  #: (y0, y1, x0, x1): only this window of the images; None: all

    @property
    def key(self) -> str:
        """'<dataset>/<name>' (or just '<name>'), with '[y0:y1,x0:x1]' for a region: the form of split lists and reports."""
        key = f"{self.dataset}/{self.name}" if self.dataset else self.name
        if self.region is not None:
            y0, y1, x0, x1 = self.region
            key += f"[{y0}:{y1},{x0}:{x1}]"
        return key


def _open(path: Path) -> Image.Image:
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        img = Image.open(path)
        img.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise DataError(f"{path}: cannot read image ({e})") from None
    return img


def read_image(path: str | Path, channels: int = 3) -> np.ndarray:
    """Read an 8-bit image as (H, W, channels) uint8; raise DataError on any mismatch."""
    path = Path(path)
    img = _open(path)
    if img.mode in ("RGBA", "LA"):
        img = img.convert(img.mode[:-1])
    if img.mode in ("P", "1"):
        img = img.convert("RGB" if channels == 3 else "L")
    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        raise DataError(f"{path}: expected 8-bit pixels, got {arr.dtype} (mode {img.mode})")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.shape[2] != channels:
        kind = "grayscale" if arr.shape[2] == 1 else f"{arr.shape[2]}-band"
        raise DataError(f"{path}: {kind} image, but data.in_channels is {channels}")
    return np.ascontiguousarray(arr)


def read_label(path: str | Path, threshold: int | None = None) -> np.ndarray:
    """Read a change mask as (H, W) uint8 in {0, 1}; raise DataError on odd values or bands."""
    path = Path(path)
    arr = np.asarray(_open(path))
    if arr.ndim == 3:
        if arr.shape[2] == 4:
            arr = arr[:, :, :3]
        if not (arr == arr[:, :, :1]).all():
            raise DataError(f"{path}: label has {arr.shape[2]} differing bands; expected a single-band mask")
        arr = arr[:, :, 0]
    if arr.dtype == bool:
        return arr.astype(np.uint8)
    if threshold is not None:
        return (arr > threshold).astype(np.uint8)
    values = np.unique(arr)
    odd = [int(v) for v in values if int(v) not in LABEL_VALUES]
    if odd:
        shown = ", ".join(map(str, odd[:5])) + (" ..." if len(odd) > 5 else "")
        raise DataError(
            f"{path}: label values {shown} are not in {{0, 1, 255}}; set data.label_threshold "
            f"(change = value > threshold) to binarize such masks"
        )
    return (arr > 0).astype(np.uint8)


def read_pair(rec: PairRecord, channels: int = 3, threshold: int | None = None):
    """Load (a, b, label-or-None) of a pair (cut to its region) and check that their sizes agree."""
    a = read_image(rec.a, channels)
    b = read_image(rec.b, channels)
    if a.shape != b.shape:
        raise DataError(f"{rec.b}: size {b.shape[1]}x{b.shape[0]} differs from {rec.a} ({a.shape[1]}x{a.shape[0]})")
    label = None
    if rec.label is not None:
        label = read_label(rec.label, threshold)
        if label.shape != a.shape[:2]:
            raise DataError(
                f"{rec.label}: size {label.shape[1]}x{label.shape[0]} differs from {rec.a} ({a.shape[1]}x{a.shape[0]})"
            )
    if rec.region is not None:
        y0, y1, x0, x1 = rec.region
        if not (0 <= y0 < y1 <= a.shape[0] and 0 <= x0 < x1 <= a.shape[1]):
            raise DataError(f"{rec.a}: region rows {y0}:{y1}, columns {x0}:{x1} of {rec.key} lies outside the "
                            f"{a.shape[1]}x{a.shape[0]} image")
        a, b = a[y0:y1, x0:x1].copy(), b[y0:y1, x0:x1].copy()
        label = None if label is None else label[y0:y1, x0:x1].copy()
    return a, b, label


def find_image(folder: Path, stem: str) -> Path | None:
    """The file `<folder>/<stem>.<any image suffix>`, or None."""
    for suffix in IMAGE_SUFFIXES:
        for cand in (folder / (stem + suffix), folder / (stem + suffix.upper())):
            if cand.is_file():
                return cand
    return None
