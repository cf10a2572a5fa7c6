"""Beat packing agrees with FINN's own packer and round-trips, signed and unsigned."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hw.rtlsim.pack import pack, unpack, words_per_beat


@settings(max_examples=40, deadline=None)
@given(bits=st.integers(1, 17), elems=st.integers(1, 9), signed=st.booleans(), seed=st.integers(0, 2**16))
def test_pack_round_trips(bits, elems, signed, seed):
    rng = np.random.default_rng(seed)
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    x = rng.integers(lo, hi + 1, size=(5, elems))
    stream = (elems * bits + 7) // 8 * 8
    words = pack(x, bits, stream)
    assert words.shape == (5, words_per_beat(stream)) and words.dtype == np.uint32
    assert np.array_equal(unpack(words, elems, bits, signed), x)


@pytest.mark.parametrize("dt_name,signed", [("UINT4", False), ("INT4", True), ("INT17", True)])
def test_pack_matches_finn_layout(dt_name, signed):
    from finn.util.data_packing import npy_to_rtlsim_input
    from qonnx.core.datatype import DataType

    dt = DataType[dt_name]
    rng = np.random.default_rng(0)
    x = rng.integers(dt.min(), dt.max() + 1, size=(7, 6)).astype(np.float32)
    stream = (6 * dt.bitwidth() + 7) // 8 * 8
    finn_ints = npy_to_rtlsim_input(x, dt, stream)  # python ints, one per beat
    ours = pack(x.astype(np.int64), dt.bitwidth(), stream)
    as_ints = [sum(int(w) << (32 * i) for i, w in enumerate(row)) for row in ours]
    assert as_ints == [int(v) for v in finn_ints]


def test_unpack_ignores_sign_extended_padding():
    x = np.array([[-3, 2, -1]])
    words = pack(x, 5, 16)
    words[0, 0] |= 0xFFFF8000  # an RTL layer sign-extending into the padding bits
    assert np.array_equal(unpack(words, 3, 5, True), x)


def test_pack_rejects_values_that_do_not_fit():
    with pytest.raises(ValueError, match="fit"):
        pack(np.array([[16]]), 4, 8)
    with pytest.raises(ValueError, match="fit"):
        pack(np.array([[1, 2, 3]]), 4, 8)
