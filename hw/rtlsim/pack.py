"""AXI-Stream beats <-> integer tensors, the way FINN lays them out, vectorized with numpy.

A FINN stream carries a folded tensor (..., fold, elems): each beat holds `elems` integers of `bits` bits, element
0 in the least significant bits (FINN's npy_to_rtlsim_input packs the reversed innermost dimension as one hex
number), padded with zeros to the stream's byte-aligned width. Here a beat is `words` little-endian uint32 words,
which is how hw/rtlsim/harness.cpp reads and writes them.

When reading outputs only the `elems * bits` data bits count: RTL layers may sign-extend into the padding bits
where FINN's own packer writes zeros.
"""

from __future__ import annotations

import numpy as np


def words_per_beat(stream_bits: int) -> int:
    return (stream_bits + 31) // 32


def pack(values: np.ndarray, bits: int, stream_bits: int) -> np.ndarray:
    """values (beats, elems) integers -> (beats, words) uint32; negative values in two's complement."""
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"pack expects (beats, elems), got shape {values.shape}")
    beats, elems = values.shape
    if elems * bits > stream_bits:
        raise ValueError(f"{elems} x {bits} bits do not fit a {stream_bits}-bit stream")
    v = values.astype(np.int64)
    lo, hi = -(1 << (bits - 1)), (1 << bits) - 1
    if v.size and (v.min() < lo or v.max() > hi):
        raise ValueError(f"values in [{v.min()}, {v.max()}] do not fit {bits} bits")
    u = (v & ((1 << bits) - 1)).astype(np.uint64)
    shifts = np.arange(bits, dtype=np.uint64)
    bitplane = ((u[:, :, None] >> shifts) & np.uint64(1)).astype(np.uint8).reshape(beats, elems * bits)
    words = words_per_beat(stream_bits)
    padded = np.zeros((beats, words * 32), dtype=np.uint8)
    padded[:, : elems * bits] = bitplane
    packed = np.packbits(padded, axis=1, bitorder="little")
    return packed.view("<u4").reshape(beats, words)


def unpack(words: np.ndarray, elems: int, bits: int, signed: bool) -> np.ndarray:
    """(beats, words) uint32 -> (beats, elems) int64, reading only the elems * bits data bits."""
    words = np.ascontiguousarray(words, dtype="<u4")
    beats = words.shape[0]
    bitplane = np.unpackbits(words.view(np.uint8).reshape(beats, -1), axis=1, bitorder="little")
    bitplane = bitplane[:, : elems * bits].reshape(beats, elems, bits).astype(np.int64)
    values = (bitplane << np.arange(bits, dtype=np.int64)).sum(axis=2)
    if signed:
        values = np.where(values >= (1 << (bits - 1)), values - (1 << bits), values)
    return values
