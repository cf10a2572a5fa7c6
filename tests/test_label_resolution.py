"""scripts/label_resolution.py: a label seen through a coarser map keeps wide changes and loses thin ones."""

import numpy as np

from conftest import load_script


def test_coarse_keeps_blocks_and_drops_thin_lines():
    coarse = load_script("label_resolution").coarse
    label = np.zeros((64, 64), np.uint8)
    label[8:40, 16:48] = 1  # a 32x32 building, aligned to the stride-4 grid
    assert np.array_equal(coarse(label, 1), label.astype(bool))
    block, seen = label.astype(bool), coarse(label, 4)
    lost = block & ~seen
    assert not (seen & ~block).any() and 0 < lost.sum() <= 4 * 3  # bilinear rounds corners
    assert not lost[12:36, 20:44].any()
    line = np.zeros((64, 64), np.uint8)
    line[:, 30] = 1  # a road one pixel wide: a quarter of each 4x4 cell, below 0.5 after pooling
    road = coarse(line, 4)
    assert not road.any() and road.shape == line.shape
    odd = coarse(np.ones((63, 65), np.uint8), 2)  # sizes that do not divide by the stride
    assert odd.all() and odd.shape == (63, 65)
