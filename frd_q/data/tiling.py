"""Tile grids over images of any size, and stitching back.

A grid of `tile`-sized windows with `overlap` pixels shared between neighbours covers an axis of `length`; the last
window may run past the edge, so the image is padded to `padded_length` and the padding is masked out everywhere
(losses, metrics) and cropped from stitched outputs.
"""

from __future__ import annotations

import math

import numpy as np


def tile_starts(length: int, tile: int, overlap: int = 0) -> list[int]:
    """Start offsets of the windows covering [0, length) with the given overlap."""
    if not 0 <= overlap < tile:
        raise ValueError(f"overlap {overlap} must be in [0, tile={tile})")
    stride = tile - overlap
    n = max(1, math.ceil((length - overlap) / stride))
    return [i * stride for i in range(n)]


def padded_length(length: int, tile: int, overlap: int = 0) -> int:
    """Length after padding so that every window of `tile_starts` lies inside the image."""
    return tile_starts(length, tile, overlap)[-1] + tile


def pad_to(arr: np.ndarray, height: int, width: int, mode: str = "symmetric") -> np.ndarray:
    """Pad an (H, W, ...) array at the bottom/right to (height, width, ...)."""
    ph, pw = height - arr.shape[0], width - arr.shape[1]
    if ph == 0 and pw == 0:
        return arr
    widths = [(0, ph), (0, pw)] + [(0, 0)] * (arr.ndim - 2)
    return np.pad(arr, widths, mode=mode)


def tile_grid(height: int, width: int, tile: int, overlap: int = 0) -> list[tuple[int, int]]:
    """(y, x) offsets of all windows over an image, row-major."""
    return [(y, x) for y in tile_starts(height, tile, overlap) for x in tile_starts(width, tile, overlap)]


class Stitcher:
    """Accumulates per-tile float maps (C, tile, tile) and returns their average over the original image."""

    def __init__(self, height: int, width: int, tile: int, overlap: int = 0, channels: int = 1):
        self.height, self.width = height, width
        ph, pw = padded_length(height, tile, overlap), padded_length(width, tile, overlap)
        self.sum = np.zeros((channels, ph, pw), np.float64)
        self.count = np.zeros((ph, pw), np.int32)
        self.tile = tile

    def add(self, y: int, x: int, values: np.ndarray) -> None:
        t = self.tile
        self.sum[:, y : y + t, x : x + t] += values
        self.count[y : y + t, x : x + t] += 1

    def result(self) -> np.ndarray:
        out = self.sum / np.maximum(self.count, 1)
        return out[:, : self.height, : self.width].astype(np.float32)
