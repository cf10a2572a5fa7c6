"""Bitemporal data: scanning roots, reading pairs with checks, tiling, augmentation, batching."""

from frd_q.data.dataset import LoadedPair, TileDataset, collate, load_pairs, scan_root, scan_sources, to_sample
from frd_q.data.io import PairRecord, read_image, read_label, read_pair

__all__ = [
    "LoadedPair", "PairRecord", "TileDataset", "collate", "load_pairs", "read_image", "read_label", "read_pair",
    "scan_root", "scan_sources", "to_sample",
]
