"""Property tests: any image size, tile and overlap is covered and reconstructs exactly."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from frd_q.data.tiling import Stitcher, pad_to, padded_length, tile_grid, tile_starts


@settings(max_examples=60, deadline=None)
@given(length=st.integers(1, 700), tile=st.integers(1, 300), data=st.data())
def test_windows_cover_axis(length, tile, data):
    overlap = data.draw(st.integers(0, tile - 1))
    starts = tile_starts(length, tile, overlap)
    assert starts[0] == 0 and starts[-1] + tile >= length
    assert all(b - a == tile - overlap for a, b in zip(starts, starts[1:]))
    assert len(starts) == 1 or starts[-1] < length  # no window lies entirely in the padding
    assert padded_length(length, tile, overlap) == starts[-1] + tile


@settings(max_examples=30, deadline=None)
@given(h=st.integers(1, 90), w=st.integers(1, 90), tile=st.sampled_from([8, 16, 32]), data=st.data())
def test_stitch_reconstructs(h, w, tile, data):
    overlap = data.draw(st.integers(0, tile - 1))
    img = np.random.default_rng(h * 1000 + w).random((h, w)).astype(np.float32)
    ph, pw = padded_length(h, tile, overlap), padded_length(w, tile, overlap)
    padded = pad_to(img, ph, pw)
    assert padded.shape == (ph, pw)
    st_ = Stitcher(h, w, tile, overlap)
    for y, x in tile_grid(h, w, tile, overlap):
        st_.add(y, x, padded[None, y : y + tile, x : x + tile])
    assert np.allclose(st_.result()[0], img, atol=1e-6)  # averaging equal float values: only rounding error
